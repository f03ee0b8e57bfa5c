import { BackupError } from '../errors.js';
import type { StorageReadOptions } from './storage.js';

/**
 * Throws `ARGUMENT_INVALID` unless `start` and `end` of a read are whole, non-negative byte offsets with
 * `end >= start`, so every storage refuses the same bad ranges the same way.
 */
export function assertReadRange(options: Pick<StorageReadOptions, 'start' | 'end'>, storageName: string): void {
  const { start, end } = options;
  if (
    (start !== undefined && (!Number.isInteger(start) || start < 0)) ||
    (end !== undefined && (!Number.isInteger(end) || end < (start ?? 0)))
  ) {
    throw new BackupError(
      'ARGUMENT_INVALID',
      `${storageName}: invalid range start=${String(start)} end=${String(end)}`,
    );
  }
}
