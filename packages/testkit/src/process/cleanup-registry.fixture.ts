// Child process for cleanup-registry.int.test.ts: starts real services, reports their PIDs and directories, then
// exits without disposing (`exit`, `pause-and-exit`) or waits to be killed (`wait`, `docker`).
import { useDockerEngine } from '../docker/docker-engine.js';
import { startThrowawayRedis } from '../redis/throwaway-redis.js';
import { tempDir } from '../temp-dir.js';

const mode = process.argv[2];
const pids: number[] = [];
const paths: string[] = [];
if (mode === 'docker') {
  const engine = await useDockerEngine();
  const container = await engine.runContainer();
  pids.push((await container.inspect()).State.Pid);
  paths.push(engine.socketPath.slice(0, engine.socketPath.lastIndexOf('/')));
} else {
  const redis = await startThrowawayRedis();
  const directory = await tempDir('cleanup-fixture');
  pids.push(redis.pid);
  paths.push(redis.logFile, directory.path);
  if (mode === 'pause-and-exit') redis.pause();
}
process.stdout.write(`${JSON.stringify({ pids, paths })}\n`);
if (mode === 'exit' || mode === 'pause-and-exit') process.exit(0);
setInterval(() => undefined, 1_000);
