import type { Signal } from '@ops/core';

/** The memory of the service's in-process caches, measured against a budget (see {@link createCacheMemory}). */
export interface CacheMemory {
  /** Bytes held now. */
  usedBytes(): number;
  readonly budgetBytes: number;
  /** `usedBytes / budgetBytes`. */
  ratio(): number;
  /** Retains `megabytes` more (real buffers): what the `memoryGrowthMb` fault does. */
  grow(megabytes: number): void;
  /** Drops everything cached; resolves with the bytes freed (healing's "clear caches" step). */
  clear(): number;
  /** A core `Signal` of the ratio, for the healing rule and capacity samples. */
  readonly signal: Signal;
}

/**
 * The in-process response cache's memory: real `Buffer`s, so a growth shows in the process's RSS too. The ratio to
 * the budget is the memory signal of the healing ladder, the `memory-budget` health check and load shedding.
 *
 * @example
 * ```ts
 * const memory = createCacheMemory({ budgetBytes: 64 * 1024 * 1024 });
 * memory.grow(60); // ratio ≈ 0.94
 * memory.clear();
 * ```
 */
export function createCacheMemory(options: { budgetBytes: number }): CacheMemory {
  const { budgetBytes } = options;
  let retained: Buffer[] = [];
  const usedBytes = () => retained.reduce((total, buffer) => total + buffer.byteLength, 0);
  const ratio = () => usedBytes() / budgetBytes;
  return {
    budgetBytes,
    usedBytes,
    ratio,
    grow(megabytes) {
      for (let index = 0; index < megabytes; index++) retained.push(Buffer.alloc(1024 * 1024, index % 251));
    },
    clear() {
      const freed = usedBytes();
      retained = [];
      return freed;
    },
    signal: { name: 'cache_memory_ratio', read: () => ratio() },
  };
}
