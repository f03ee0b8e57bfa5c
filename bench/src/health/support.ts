// Shared pieces of the @ops/health benchmarks (not a suite: the runner only loads *.bench.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/** What one autocannon run measured. */
export interface LoadResult {
  requestsPerSecond: number;
  p99Ms: number;
  p50Ms: number;
  maxMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Runs autocannon against `url` (loopback only) and returns the figures. */
export async function load(
  url: string,
  options: { connections: number; durationSeconds: number; overallRate?: number; timeoutSeconds?: number },
): Promise<LoadResult> {
  if (!/^http:\/\/(127\.0\.0\.1|\[::1\])[:/]/.test(url)) throw new Error(`benchmarks only talk to loopback: ${url}`);
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: options.timeoutSeconds ?? 10,
    ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
  });
  return {
    requestsPerSecond: result.requests.average,
    p99Ms: result.latency.p99,
    p50Ms: result.latency.p50,
    maxMs: result.latency.max,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** A server running in a child process (so the load generator does not share its event loop). */
export interface ChildServer {
  url: string;
  child: ChildProcess;
  /** CPU time (user + system, µs) the child used so far and the requests it received (servers that count them). */
  usage(): Promise<{ cpuMicros: number; requests: number }>;
  stop(): Promise<void>;
}

/** Forks `servers/<script>.ts` with tsx; the child sends `{ port }` over IPC when it listens. */
export async function startChildServer(script: string, environment: Record<string, string>): Promise<ChildServer> {
  const file = fileURLToPath(new URL(`./servers/${script}.ts`, import.meta.url));
  const child = fork(file, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...environment },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 30 s`)), 30_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve((message as { port: number }).port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    usage: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${script} did not answer 'usage' within 10 s`)), 10_000);
        child.once('message', (message) => {
          clearTimeout(timer);
          resolve(message as { cpuMicros: number; requests: number });
        });
        child.send('usage');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
