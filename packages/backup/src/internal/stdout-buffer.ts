import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** The stdout buffer asked of coreutils' `stdbuf` (`-o`). */
export const STDOUT_BUFFER = '1M';

/** The executable `command` names: itself when it holds a slash, else the first match on PATH. */
export async function findExecutable(command: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : resolve(command)]
    : path
        .split(delimiter)
        .filter((directory) => directory !== '')
        .map((directory) => join(directory, command));
  for (const candidate of candidates) {
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

let stdbuf: Promise<string | undefined> | undefined;

/**
 * `file args…` run under coreutils' `stdbuf -o 1M`, so a tool that writes its stdout through C stdio (pg_dump: 4 KiB
 * at a time into a pipe or socket) writes 1 MiB at a time: a few hundred system calls per GB instead of a quarter
 * of a million, on the tool's side and the reader's. Only on Linux, where `stdbuf` is on PATH and `file` resolves to
 * an executable; otherwise the command as given (errors about a missing tool stay the spawn's own).
 */
export async function withLargeStdoutBuffer(
  file: string,
  args: readonly string[],
): Promise<{ file: string; args: string[]; buffered: boolean }> {
  if (process.platform !== 'linux') return { file, args: [...args], buffered: false };
  stdbuf ??= findExecutable('stdbuf');
  const [wrapper, tool] = await Promise.all([stdbuf, findExecutable(file)]);
  if (!wrapper || !tool) return { file, args: [...args], buffered: false };
  return { file: wrapper, args: ['-o', STDOUT_BUFFER, tool, ...args], buffered: true };
}
