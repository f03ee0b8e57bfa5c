import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '@ops/core';
import { trackProcess } from '@ops/testkit';
import { StopWaiting, waitUntil } from './wait.js';

/** The reference backend's package directory (where `src/server.ts` and `slos.yaml` are). */
export const PACKAGE_DIRECTORY = fileURLToPath(new URL('../../..', import.meta.url));

/** A backend started by {@link startBackendProcess}: `src/server.ts` as its own Node.js process. */
export interface BackendProcess {
  /** `http://127.0.0.1:<port>` the process printed once it listened. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The `INSTANCE_ID` it was given (or `'default'`). */
  readonly instanceId: string;
  /** Where stdout and stderr are written (in the caller's temp dir). */
  readonly logFile: string;
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Its JSON log lines, parsed. */
  logLines(): Array<Record<string, unknown>>;
  /** Resolves once the process exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `true` until the process exited. */
  isRunning(): boolean;
  /** Sends `signal` to this process (by its PID) and waits until it exited. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Graceful stop: SIGTERM, and SIGKILL when it has not exited within `timeoutMs` (default 10 s). */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts `src/server.ts` (via tsx, as `pnpm start` does) with exactly `environment` (plus PATH and HOME), on a
 * free loopback port unless `PORT` is given, and waits until it printed its URL and `/health/live` answers.
 *
 * @example
 * ```ts
 * const backend = await startBackendProcess({ environment: { ADMIN_ENABLED: 'true' }, logDirectory: dir.path });
 * await backend.stop();
 * ```
 */
export async function startBackendProcess(options: {
  environment: Record<string, string>;
  logDirectory: string;
  readyTimeoutMs?: number;
}): Promise<BackendProcess> {
  const { environment, logDirectory, readyTimeoutMs = 45_000 } = options;
  const instanceId = environment['INSTANCE_ID'] ?? 'default';
  const logFile = join(logDirectory, `backend-${instanceId}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: PACKAGE_DIRECTORY,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      SHUTDOWN_DRAIN_DELAY: '0s',
      LOG_LEVEL: 'info',
      ...environment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const capture = (chunk: Buffer) => {
    const piece = chunk.toString();
    // Keep the last 4 MB in memory; the log file has everything.
    text = (text + piece).slice(-4_000_000);
    log.write(piece);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      untrack();
      log.end();
      resolve({ code, signal });
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the backend process: ${text}`);
  // Ended by PID at exit even when a test fails before its afterAll, or the worker itself is killed (testkit's watchdog).
  const untrack = trackProcess(pid, 'SIGKILL');
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  const kill = async (signal: NodeJS.Signals) => {
    if (isRunning()) process.kill(pid, signal);
    return exited;
  };
  let url: string;
  try {
    url = await waitUntil(
      `backend ${instanceId} (PID ${pid}) to print its URL`,
      (seen) => {
        if (!isRunning()) {
          throw new StopWaiting(
            `backend ${instanceId} exited (${child.exitCode ?? child.signalCode}) before it listened:\n${text.slice(-3_000)}`,
          );
        }
        seen(text.slice(-1_000));
        return /notes service on (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 50 },
    );
    await waitUntil(
      `backend ${instanceId} to answer ${url}/health/live`,
      async () => ((await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  } catch (error) {
    await kill('SIGKILL');
    throw error;
  }
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    instanceId,
    logFile,
    output: () => text,
    logLines: () =>
      text
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited,
    isRunning,
    kill,
    async stop(timeoutMs = 10_000) {
      if (!isRunning()) return;
      process.kill(pid, 'SIGTERM');
      const outcome = await Promise.race([
        exited,
        new Promise<'timeout'>((resolve) => {
          const timer = systemClock.setTimeout(() => resolve('timeout'), timeoutMs);
          void exited.then(() => timer.cancel());
        }),
      ]);
      if (outcome === 'timeout') await kill('SIGKILL');
    },
  };
}
