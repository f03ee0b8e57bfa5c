import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { TestkitError } from '../errors.js';
import { trackProcess } from '../process/cleanup-registry.js';
import {
  findFreePort,
  isProcessAlive,
  runCommand,
  sendSignal,
  terminateProcess,
  waitFor,
} from '../process/process-utilities.js';
import { describeError } from '../redact-url.js';
import { tempDir } from '../temp-dir.js';
import { pingRedis } from './redis-ping.js';

export const REDIS_INSTALL_HINT =
  'Install Redis (`apt-get install -y redis-server`, or run `bash scripts/services.sh` as root), ' +
  'or set OPS_TEST_REDIS_URL to a reachable server.';

/** A private redis-server; see {@link startThrowawayRedis}. */
export interface ThrowawayRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Loopback port, kept across {@link ThrowawayRedis.stop} / {@link ThrowawayRedis.start}. */
  port: number;
  /** PID of the running redis-server (updated by `start()`); `0` while stopped. */
  pid: number;
  /** The server's log file (removed by `dispose()`). */
  logFile: string;
  /** Freezes the server with SIGSTOP: connections stay open but nothing is answered (a hung dependency). */
  pause(): void;
  /** Lets a paused server continue with SIGCONT. */
  resume(): void;
  /** Ends the server (resuming it first if paused) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts the server again on the same port, empty. */
  start(): Promise<void>;
  /** Stops the server if needed and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * Starts a redis-server of its own on a free 127.0.0.1 port (`--daemonize yes` with a pidfile, nothing saved to
 * disk). Use it for fault tests: `pause()` makes every command hang until `resume()`, `stop()` makes connections
 * fail. The server is ended by PID on `dispose()` and when the test process exits (resumed first, so nothing is
 * left stopped).
 *
 * @example
 * ```ts
 * const redis = await startThrowawayRedis();
 * const client = new Redis(redis.url, { commandTimeout: 200 });
 * redis.pause();   // client.ping() now times out
 * redis.resume();  // and answers again
 * client.disconnect();
 * await redis.dispose();
 * ```
 */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const directory = await tempDir('redis');
  const pidFile = join(directory.path, 'redis.pid');
  const logFile = join(directory.path, 'redis.log');
  let port = 0;
  let pid = 0;
  let paused = false;
  let untrack: () => void = () => undefined;

  const startServer = async (): Promise<void> => {
    await rm(pidFile, { force: true });
    await runCommand(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--daemonize',
        'yes',
        '--pidfile',
        pidFile,
        '--dir',
        directory.path,
        '--logfile',
        logFile,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { timeoutMs: 10_000 },
    );
    const serverPid = await waitFor(
      async () => {
        const text = await readFile(pidFile, 'utf8').catch(() => '');
        const value = Number(text.trim());
        return value > 0 ? value : undefined;
      },
      { timeoutMs: 10_000, description: `redis-server writing ${pidFile}` },
    );
    untrack = trackProcess(serverPid, 'SIGTERM');
    try {
      await waitFor(
        async () => {
          if (!isProcessAlive(serverPid)) throw new Error('redis-server exited');
          await pingRedis(`redis://127.0.0.1:${port}`);
          return true;
        },
        { timeoutMs: 10_000, intervalMs: 25, description: `redis-server answering on 127.0.0.1:${port}` },
      );
    } catch (error) {
      await terminateProcess(serverPid);
      untrack();
      throw error;
    }
    pid = serverPid;
  };

  try {
    // Another process may take the probed port before redis-server binds it; try a few.
    let lastError: unknown;
    for (let attempt = 0; attempt < 5 && pid === 0; attempt += 1) {
      port = await findFreePort();
      try {
        await startServer();
      } catch (error) {
        lastError = error;
        if ((error as TestkitError).code === 'SERVICE_UNAVAILABLE') break;
      }
    }
    if (pid === 0) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      const unavailable = (lastError as TestkitError | undefined)?.code === 'SERVICE_UNAVAILABLE';
      throw new TestkitError(
        unavailable ? 'SERVICE_UNAVAILABLE' : 'SERVICE_FAILED',
        `Could not start a throwaway redis-server: ${describeError(lastError)}.` +
          (unavailable ? ` ${REDIS_INSTALL_HINT}` : '') +
          (log === '' ? '' : `\n${log.slice(-2_000)}`),
        { cause: lastError },
      );
    }
  } catch (error) {
    await directory.dispose();
    throw error;
  }

  let disposed = false;
  const handle: ThrowawayRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return pid;
    },
    logFile,
    pause() {
      if (pid === 0) throw new TestkitError('SERVICE_FAILED', 'the throwaway redis-server is not running');
      sendSignal(pid, 'SIGSTOP');
      paused = true;
    },
    resume() {
      if (pid === 0) return;
      sendSignal(pid, 'SIGCONT');
      paused = false;
    },
    async stop() {
      if (pid === 0) return;
      if (paused) handle.resume();
      await terminateProcess(pid, { signal: 'SIGTERM', timeoutMs: 10_000 });
      untrack();
      pid = 0;
    },
    async start() {
      if (disposed) throw new TestkitError('FIXTURE_DISPOSED', 'this throwaway redis-server was disposed');
      if (pid !== 0) return;
      await startServer();
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await handle.stop();
      await directory.dispose();
    },
  };
  return handle;
}
