import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateAgeIdentity } from '@ops/backup';
import { stats, type BenchRow, type BenchSuite } from '../harness.js';
import { databaseUrl, ensureBenchDatabase } from './support/bench-databases.js';

const execFileAsync = promisify(execFile);
const child = join(dirname(fileURLToPath(import.meta.url)), 'support', 'backup-child.mjs');
const DATABASES = [
  { name: 'ops_bench_backup_100m', rows: 550_000, label: '100 MB database' },
  { name: 'ops_bench_backup_1g', rows: 7_000_000, label: '1 GB database' },
];
const SAMPLES = Number(process.env.OPS_BENCH_BACKUP_SAMPLES ?? 2);

const suite: BenchSuite = {
  name: 'backup-memory',
  description: `Peak RSS (getrusage maxRSS) of a fresh Node process running one @ops/backup runBackup of a PostgreSQL database (gzip 1 + age) into a local directory, for ~100 MB and ~1.27 GB databases; ${SAMPLES} samples each. Flat memory means streaming with backpressure.`,
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const { recipient } = generateAgeIdentity();
    for (const database of DATABASES) {
      const bytes = await ensureBenchDatabase(database.name, database.rows, (line) =>
        process.stderr.write(`${line}\n`),
      );
      const samples: number[] = [];
      let seconds = 0;
      for (let sample = 0; sample < SAMPLES; sample++) {
        const directory = await mkdtemp(join(tmpdir(), 'ops-bench-backup-memory-'));
        try {
          const { stdout } = await execFileAsync(
            process.execPath,
            [child, databaseUrl(database.name), directory, 'gzip', recipient],
            { maxBuffer: 1024 * 1024 },
          );
          const result = JSON.parse(stdout) as { state: string; error?: string; maxRssBytes: number; seconds: number };
          if (result.state !== 'completed') throw new Error(`backup ${result.state}: ${result.error}`);
          samples.push(result.maxRssBytes / 1024 / 1024);
          seconds = result.seconds;
        } finally {
          await rm(directory, { recursive: true, force: true });
        }
      }
      const summary = stats(samples);
      rows.push({
        group: 'Peak RSS of a backup process',
        metric: `${database.label} (${(bytes / 1e6).toFixed(0)} MB on disk)`,
        unit: 'MiB',
        ours: summary,
        higherIsBetter: false,
        target: '≤ 150 MiB, flat',
        met: summary.max <= 150,
        notes: `one run took ${seconds.toFixed(1)} s`,
      });
    }
    return rows;
  },
};

export default suite;
