import { BackupError } from '../errors.js';

/**
 * Throws `ARGUMENT_INVALID` unless `key` is a safe relative POSIX key: not empty, not absolute, no backslash, no NUL,
 * no empty, `.` or `..` segment. Storages call it before touching anything, so a key can never escape the root.
 *
 * @example
 * ```ts
 * assertStorageKey('pg-main/20261122T030000Z-ab12cd/manifest.json'); // fine
 * assertStorageKey('../etc/passwd'); // throws
 * ```
 */
export function assertStorageKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0)
    throw new BackupError('ARGUMENT_INVALID', 'storage key must be a non-empty string');
  if (key.startsWith('/'))
    throw new BackupError('ARGUMENT_INVALID', `storage key ${JSON.stringify(key)} must be relative, not absolute`);
  if (key.includes('\\') || key.includes('\0'))
    throw new BackupError('ARGUMENT_INVALID', `storage key ${JSON.stringify(key)} must not contain a backslash or NUL`);
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new BackupError(
        'ARGUMENT_INVALID',
        `storage key ${JSON.stringify(key)} must not contain empty, "." or ".." segments`,
      );
    }
  }
}

/** Like {@link assertStorageKey} for list prefixes, which may also be empty or end with `/`. */
export function assertStoragePrefix(prefix: string): void {
  if (prefix === '') return;
  assertStorageKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
