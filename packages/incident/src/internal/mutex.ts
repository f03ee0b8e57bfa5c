/** A FIFO async mutex: `run` calls `work` when every earlier call has settled. */
export interface Mutex {
  run<T>(work: () => Promise<T>): Promise<T>;
}

/** Creates a {@link Mutex}. */
export function createMutex(): Mutex {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(work: () => Promise<T>): Promise<T> {
      const result = tail.then(work, work);
      tail = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    },
  };
}
