import { execFile } from 'node:child_process';
import { parseDuration, redactText, type Duration } from '@ops/core';
import { BackupError } from '../errors.js';

/** A command run before or after a backup. Runs without a shell: `command` is argv. */
export interface HookOptions {
  /** argv: `['/usr/local/bin/maintenance', 'on']`. No shell, so no quoting or injection issues. */
  command: readonly string[];
  /** Default `'30s'`; the hook is killed (SIGKILL) after it. */
  timeout?: Duration;
  /** `fail` (default) makes the backup fail when the hook fails; `continue` records a warning. */
  onError?: 'fail' | 'continue';
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/** What running a hook produced. */
export interface HookResult {
  command: string;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Last lines of stdout+stderr (redacted). */
  output: string;
}

/**
 * Runs one hook with `execFile` (no shell), a timeout and bounded output. Never throws for a failing command:
 * the caller applies `onError` (see {@link applyHookPolicy}).
 */
export function runHook(hook: HookOptions, environment: Record<string, string> = {}): Promise<HookResult> {
  const [file, ...args] = hook.command;
  if (!file) return Promise.reject(new BackupError('ARGUMENT_INVALID', 'hook command must have at least the program'));
  const timeoutMs = parseDuration(hook.timeout ?? '30s', 'hook timeout');
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 1024 * 1024,
        env: { ...process.env, ...environment, ...hook.env },
        ...(hook.cwd ? { cwd: hook.cwd } : {}),
        shell: false,
      },
      (error, stdout, stderr) => {
        const output = redactText(`${String(stdout)}${String(stderr)}`.trim().split('\n').slice(-10).join('\n'));
        const failure = error as
          (NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: number | string }) | null;
        const timedOut = failure?.killed === true && failure.signal === 'SIGKILL';
        resolve({
          command: hook.command.join(' '),
          ok: failure === null,
          exitCode: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
          signal: failure?.signal ?? null,
          timedOut,
          output: failure && typeof failure.code === 'string' ? `${failure.code}: ${failure.message}` : output,
        });
      },
    );
  });
}

/** Describes a failed hook in one line. */
export function describeHookFailure(result: HookResult, timeout: Duration | undefined): string {
  const how = result.timedOut
    ? `timed out after ${String(timeout ?? '30s')}`
    : result.exitCode !== null
      ? `exit code ${result.exitCode}`
      : result.signal
        ? `killed by ${result.signal}`
        : 'could not run';
  return `hook "${result.command}" ${how}${result.output ? `: ${result.output.split('\n').at(-1)}` : ''}`;
}

/**
 * Runs hooks in order. A failing `fail` hook stops the list and throws `HOOK_FAILED`; a failing `continue` hook adds
 * a warning. Resolves with the warnings.
 */
export async function runHooks(
  hooks: readonly HookOptions[],
  environment: Record<string, string> = {},
): Promise<string[]> {
  const warnings: string[] = [];
  for (const hook of hooks) {
    const result = await runHook(hook, environment);
    if (result.ok) continue;
    const message = describeHookFailure(result, hook.timeout);
    if ((hook.onError ?? 'fail') === 'fail') throw new BackupError('HOOK_FAILED', message);
    warnings.push(message);
  }
  return warnings;
}
