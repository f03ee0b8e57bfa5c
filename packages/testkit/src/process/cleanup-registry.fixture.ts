// Child process for cleanup-registry.test.ts: starts a throwaway redis-server, reports it, then exits without
// disposing (`exit`) or waits to be killed (`wait`).
import { startThrowawayRedis } from '../redis/throwaway-redis.js';
import { tempDir } from '../temp-dir.js';

const mode = process.argv[2];
const redis = await startThrowawayRedis();
const directory = await tempDir('cleanup-fixture');
process.stdout.write(`${JSON.stringify({ pid: redis.pid, logFile: redis.logFile, directory: directory.path })}\n`);
if (mode === 'pause-and-exit') redis.pause();
if (mode === 'exit' || mode === 'pause-and-exit') process.exit(0);
setInterval(() => undefined, 1_000);
