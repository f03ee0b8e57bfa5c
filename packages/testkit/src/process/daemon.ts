import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { request } from 'undici';

import { TestkitError } from '../errors.js';
import { describeError } from '../redact-url.js';
import type { TempDir } from '../temp-dir.js';
import { trackProcess } from './cleanup-registry.js';
import { findFreePort, terminateProcess, waitFor } from './process-utilities.js';

/** A server process started by {@link startDaemon}. */
export interface Daemon {
  url: string;
  port: number;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts `executable` as a child in its own process group on a free loopback port (retrying if another process
 * takes the port first), waits until `GET <readyPath>` answers 200, and tracks it for cleanup at exit.
 */
export async function startDaemon(options: {
  name: string;
  executable: string;
  args: (port: number) => string[];
  directory: TempDir;
  readyPath: string;
  readyTimeoutMs?: number;
}): Promise<Daemon> {
  const { name, executable, args, directory, readyPath, readyTimeoutMs = 30_000 } = options;
  const logFile = join(directory.path, `${name}.log`);
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await findFreePort();
    const log = openSync(logFile, 'a');
    const child = spawn(executable, args(port), { cwd: directory.path, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    let pid: number;
    try {
      pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid ?? 0));
        child.once('error', reject);
      });
    } catch (error) {
      throw new TestkitError('SERVICE_UNAVAILABLE', `${executable} could not be run: ${describeError(error)}`, {
        cause: error,
      });
    }
    const untrack = trackProcess(pid, 'SIGTERM');
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`${name} exited (${child.exitCode ?? child.signalCode})`);
          }
          const response = await request(`${url}${readyPath}`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
          await response.body.dump();
          return response.statusCode === 200 ? true : undefined;
        },
        { timeoutMs: readyTimeoutMs, intervalMs: 50, description: `${name} answering ${url}${readyPath}` },
      );
    } catch (error) {
      lastError = error;
      await terminateProcess(pid);
      untrack();
      continue;
    }
    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      pid,
      logFile,
      stop() {
        stopping ??= terminateProcess(pid, { signal: 'SIGTERM', timeoutMs: 10_000 }).then(untrack);
        return stopping;
      },
    };
  }
  const log = await readFile(logFile, 'utf8').catch(() => '');
  throw new TestkitError(
    'SERVICE_FAILED',
    `${name} did not become ready: ${describeError(lastError)}\n${log.slice(-2_000)}`,
    {
      cause: lastError,
    },
  );
}
