// Runs one backup of a database in a fresh process and prints its peak RSS (for the memory benchmark).
// Usage: node backup-child.mjs <connectionString> <storageDirectory> <compression none|gzip> [recipient]
import { createLocalStorage, createPostgresSource, runBackup } from '@ops/backup';

const [connectionString, directory, compression, recipient] = process.argv.slice(2);
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);
const started = performance.now();
const manifest = await runBackup({
  job: 'bench-memory',
  storage: createLocalStorage({ directory }),
  sources: [createPostgresSource({ connectionString })],
  compression: compression === 'gzip' ? { algorithm: 'gzip', level: 1 } : { algorithm: 'none' },
  ...(recipient ? { encryption: { recipients: [recipient] } } : {}),
  verifyStored: false,
  lock: false,
});
clearInterval(sampler);
const usage = process.resourceUsage();
process.stdout.write(
  `${JSON.stringify({ state: manifest.state, error: manifest.error, plainBytes: manifest.plainBytes, storedBytes: manifest.storedBytes, seconds: (performance.now() - started) / 1000, maxRssBytes: usage.maxRSS * 1024, sampledPeakRssBytes: peakRss })}\n`,
);
