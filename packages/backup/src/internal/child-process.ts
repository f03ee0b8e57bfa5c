import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { redactText } from '@ops/core';

/** A spawned child whose exit and stderr tail can be awaited. */
export interface TrackedChild {
  child: ChildProcess;
  /** Resolves when the child exits (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; spawnError?: Error }>;
}

/**
 * Spawns `file` with `args` (no shell), keeping the last `stderrLimit` bytes of stderr (redacted). Kills the child
 * with SIGTERM (then SIGKILL after 5 s) when `signal` aborts.
 */
export function spawnTracked(
  file: string,
  args: readonly string[],
  options: SpawnOptions & { signal?: AbortSignal | undefined; stderrLimit?: number } = {},
): TrackedChild {
  const { signal, stderrLimit = 16 * 1024, ...spawnOptions } = options;
  const child = spawn(file, [...args], { ...spawnOptions, stdio: spawnOptions.stdio ?? ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-stderrLimit);
  });
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    child.kill('SIGTERM');
    // eslint-disable-next-line no-restricted-globals -- a real timer on purpose: a child ignoring SIGTERM must die in 5 real seconds, even under a manual clock
    killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
    killTimer.unref();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
    spawnError?: Error;
  }>((resolve) => {
    let spawnError: Error | undefined;
    child.once('error', (error) => {
      spawnError = error;
      if (child.pid === undefined) finish(null, null);
    });
    const finish = (code: number | null, exitSignal: NodeJS.Signals | null) => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal: exitSignal, stderr: redactText(stderr.trim()), ...(spawnError ? { spawnError } : {}) });
    };
    child.once('close', finish);
  });
  return { child, exited };
}

/** A line in which a tool states its error (`pg_restore: error: …`, `ERROR:  relation … already exists`, `FATAL: …`). */
const ERROR_LINE = /\b(?:error|fatal|ERROR|FATAL|PANIC):/;

/**
 * Describes how a child ended, for error messages: `exit code 1: <stderr>` or `killed by SIGKILL`. When stderr has
 * lines stating an error, those (the first three) are the message: a tool's reason must not be pushed out by what
 * follows it (pg_restore prints the whole failed statement after its `ERROR:` line). Otherwise the last five lines.
 * The stderr was redacted when it was read.
 */
export function describeExit(result: {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  spawnError?: Error;
}): string {
  if (result.spawnError) return `could not start: ${result.spawnError.message}`;
  const how = result.signal ? `killed by ${result.signal}` : `exit code ${String(result.code)}`;
  if (!result.stderr) return how;
  const lines = result.stderr.split('\n');
  const errors = lines.filter((line) => ERROR_LINE.test(line)).slice(0, 3);
  return `${how}: ${(errors.length > 0 ? errors : lines.slice(-5)).map((line) => line.trim()).join(' | ')}`;
}
