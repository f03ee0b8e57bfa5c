import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

import { TestkitError } from '../errors.js';

/**
 * The kernel's start time of a process (field 22 of `/proc/<pid>/stat`), used to tell a process we started from
 * an unrelated one that later got the same PID. `undefined` when the process does not exist.
 */
export function readProcessStartTime(pid: number): string | undefined {
  const stat = readProcStat(pid);
  if (stat === undefined) return undefined;
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function readProcStat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether a process exists and is not a zombie (a zombie no longer holds ports, files or locks). */
export function isProcessAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  if (stat !== undefined) {
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends a signal, ignoring "no such process". */
export function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Sleeps synchronously; only for exit hooks, where nothing asynchronous runs any more. */
export function sleepSync(milliseconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds);
}

/** Resolves after `milliseconds`. */
export function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Polls until a process has exited; returns whether it did within the time limit. */
export async function waitForProcessExit(pid: number, timeoutMs: number): Promise<boolean> {
  const attempts = Math.max(1, Math.ceil(timeoutMs / 50));
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (!isProcessAlive(pid)) return true;
    await delay(50);
  }
  return !isProcessAlive(pid);
}

/**
 * Ends a process by PID: `SIGCONT` (a stopped process cannot act on `SIGTERM`), then `signal`, then `SIGKILL` if it
 * is still alive after `timeoutMs`.
 */
export async function terminateProcess(
  pid: number,
  options: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
): Promise<void> {
  const { signal = 'SIGTERM', timeoutMs = 5_000 } = options;
  if (!isProcessAlive(pid)) return;
  sendSignal(pid, 'SIGCONT');
  sendSignal(pid, signal);
  if (await waitForProcessExit(pid, timeoutMs)) return;
  sendSignal(pid, 'SIGKILL');
  await waitForProcessExit(pid, 2_000);
}

/** PIDs of live processes whose command line contains `text` (never this process). */
export function findProcessesMentioning(text: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (commandLine.includes(text) && isProcessAlive(pid)) found.push(pid);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Result of {@link runCommand}. */
export interface CommandResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion without a shell. Rejects with a `TestkitError` carrying the program's stderr when it
 * exits non-zero or exceeds `timeoutMs`.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const { env = process.env, cwd, timeoutMs = 60_000 } = options;
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, ...(cwd === undefined ? {} : { cwd }) },
      (error, stdout, stderr) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const detail = stderr.trim() || stdout.trim() || error.message;
          reject(
            new TestkitError(
              code === 'ENOENT' ? 'SERVICE_UNAVAILABLE' : 'SERVICE_FAILED',
              `\`${[file, ...args].join(' ')}\` failed: ${detail}`,
              { cause: error },
            ),
          );
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (callers retry if another process takes it first). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a probe server'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * Polls `probe` until it returns a value other than `undefined`, at most `timeoutMs`; the last probe error (or
 * `description`) explains a timeout.
 */
export async function waitFor<Value>(
  probe: () => Promise<Value | undefined> | Value | undefined,
  options: { timeoutMs: number; intervalMs?: number; description: string },
): Promise<Value> {
  const { timeoutMs, intervalMs = 50, description } = options;
  const attempts = Math.max(1, Math.ceil(timeoutMs / intervalMs));
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await delay(intervalMs);
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new TestkitError('SERVICE_FAILED', `${description} did not happen within ${timeoutMs} ms${reason}`, {
    cause: lastError,
  });
}
