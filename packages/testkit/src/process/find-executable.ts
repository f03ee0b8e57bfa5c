import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const STANDARD_DIRECTORIES = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of the first executable named one of `names` on PATH or in the standard directories. */
export function findExecutable(names: readonly string[]): string | undefined {
  const directories = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...STANDARD_DIRECTORIES];
  for (const name of names) {
    for (const directory of directories) {
      const candidate = join(directory, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not here.
      }
    }
  }
  return undefined;
}
