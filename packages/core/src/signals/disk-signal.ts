import { statfs } from 'node:fs/promises';
import { OpsError } from '../errors/ops-error.js';
import type { Signal } from './signal.js';

/** Options of {@link createDiskUsedRatioSignal}. */
export interface DiskUsedRatioSignalOptions {
  /** A path on the file system to measure, e.g. `'/var/lib/postgresql'`. */
  path: string;
  /** Signal name. Default `'disk_used_ratio'`. */
  name?: string;
}

/**
 * Used share of the file system holding `path`, as `df` computes it: `used / (used + available to unprivileged
 * users)`, where used = total blocks − free blocks. Reserved root blocks count as unavailable, so 1.0 is "full for
 * the application" even when root could still write.
 */
export function createDiskUsedRatioSignal(options: DiskUsedRatioSignalOptions): Signal {
  const { path, name = 'disk_used_ratio' } = options;
  if (typeof path !== 'string' || path === '')
    throw new OpsError('ARGUMENT_INVALID', 'path: expected a non-empty path');
  return {
    name,
    unit: 'ratio',
    async read() {
      let stats;
      try {
        stats = await statfs(path);
      } catch (error) {
        throw new OpsError(
          'SIGNAL_UNAVAILABLE',
          `${name}: cannot stat the file system of ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          { cause: error },
        );
      }
      const used = stats.blocks - stats.bfree;
      const usable = used + stats.bavail;
      if (usable <= 0)
        throw new OpsError('SIGNAL_UNAVAILABLE', `${name}: the file system of ${path} reports no usable blocks`);
      return used / usable;
    },
  };
}
