// Test helpers: run a script in process with captured output, or as a file with tsx the way a user does.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '@ops/core';

/** The package directory (examples/scripts). */
export const PACKAGE_DIRECTORY = fileURLToPath(new URL('../../', import.meta.url));

/** Captured stdout/stderr and the environment a script sees (only what the test gives it). */
export function captureIo(env: Record<string, string | undefined>): {
  io: CliIo;
  stdout(): string;
  stderr(): string;
} {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: (chunk: string) => (stderr += chunk) },
      env,
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

/** Result of a child process. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (bounded by `timeoutMs`) and resolves with its exit code and output; never rejects. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const { env = {}, cwd = PACKAGE_DIRECTORY, timeoutMs = 60_000 } = options;
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs `file` (relative to the package) with tsx, as `npx tsx src/x.ts …` does. */
export function runTsx(
  file: string,
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  const require = createRequire(import.meta.url);
  const tsxCli = require.resolve('tsx/cli');
  return runCommand(process.execPath, [tsxCli, file, ...args], options);
}
