import type { HealingAction } from './action.js';

/** Options of {@link runGc}. */
export interface RunGcOptions {
  /** Step name. Default `'garbage-collect'`. */
  name?: string;
}

/**
 * A step that runs a full garbage collection when Node exposes `global.gc` (`node --expose-gc`). Without it the
 * step is skipped with that reason (audited as skipped, not ok), so the ladder moves on.
 *
 * @example
 * ```ts
 * steps: [clearCaches, runGc(), reconnectRedis(redis)]
 * ```
 */
export function runGc(options: RunGcOptions = {}): HealingAction {
  const { name = 'garbage-collect' } = options;
  return {
    kind: 'gc',
    name,
    async run() {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (typeof gc !== 'function') {
        return { skipped: 'global.gc is not exposed: start node with --expose-gc' };
      }
      const before = process.memoryUsage();
      gc();
      const after = process.memoryUsage();
      const freedBytes = before.heapUsed - after.heapUsed;
      return {
        detail: `garbage-collected: heap ${Math.round(before.heapUsed / 1048576)} → ${Math.round(after.heapUsed / 1048576)} MiB`,
        data: { heapUsedBefore: before.heapUsed, heapUsedAfter: after.heapUsed, freedBytes, rss: after.rss },
      };
    },
  };
}
