/** A handle returned by {@link Clock.setTimeout} / {@link Clock.setInterval}. */
export interface TimerHandle {
  /** Cancels the timer; safe to call more than once. */
  cancel(): void;
  /** Lets the process exit while the timer is pending (no-op on the manual clock). */
  unref(): TimerHandle;
}

/**
 * Source of time and timers. Production code uses {@link systemClock}; tests use {@link createManualClock} so
 * time-based behaviour is exercised without sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** A monotonic reading in milliseconds, for measuring elapsed time. */
  monotonic(): number;
  /** Calls `callback` once after `delayMs`. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Calls `callback` every `intervalMs`. */
  setInterval(callback: () => void, intervalMs: number): TimerHandle;
  /** Resolves after `delayMs`, or rejects with the signal's reason when `signal` aborts first. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}

function wrap(timer: NodeJS.Timeout, clear: (timer: NodeJS.Timeout) => void): TimerHandle {
  const handle: TimerHandle = {
    cancel: () => clear(timer),
    unref: () => {
      timer.unref();
      return handle;
    },
  };
  return handle;
}

function sleepWith(clock: Pick<Clock, 'setTimeout'>, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      handle.cancel();
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The real clock: `Date.now()`, `performance.now()` and Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (callback, delayMs) => wrap(setTimeout(callback, Math.max(0, delayMs)), clearTimeout),
  setInterval: (callback, intervalMs) => wrap(setInterval(callback, Math.max(1, intervalMs)), clearInterval),
  sleep: (delayMs, signal) => sleepWith(systemClock, delayMs, signal),
};

/** A {@link Clock} whose time only moves when the test says so. */
export interface ManualClock extends Clock {
  /**
   * Moves time forward by `ms`, firing due timers in order of their due time (ties in creation order). A timer
   * scheduled by a callback fires in the same call if it falls due within the advanced span.
   */
  advance(ms: number): void;
  /** Like {@link ManualClock.advance}, awaiting pending microtasks after each timer so async callbacks progress. */
  advanceAsync(ms: number): Promise<void>;
  /** Jumps to an absolute epoch time (must not go backwards), firing due timers. */
  set(epochMs: number): void;
  /** Number of timers still pending. */
  pendingTimers(): number;
}

interface ManualTimer {
  id: number;
  due: number;
  interval: number | undefined;
  callback: () => void;
  active: boolean;
}

/**
 * Creates a {@link ManualClock} starting at `startMs` (default 2026-01-01T00:00:00Z).
 *
 * @example
 * ```ts
 * const clock = createManualClock();
 * let fired = 0;
 * clock.setTimeout(() => fired++, 5_000);
 * clock.advance(5_000); // fired === 1
 * ```
 */
export function createManualClock(startMs = Date.UTC(2026, 0, 1)): ManualClock {
  let current = startMs;
  let nextId = 0;
  const timers = new Map<number, ManualTimer>();

  const schedule = (callback: () => void, delayMs: number, interval: number | undefined): TimerHandle => {
    const timer: ManualTimer = { id: nextId++, due: current + Math.max(0, delayMs), interval, callback, active: true };
    timers.set(timer.id, timer);
    const handle: TimerHandle = {
      cancel: () => {
        timer.active = false;
        timers.delete(timer.id);
      },
      unref: () => handle,
    };
    return handle;
  };

  const nextDue = (limit: number): ManualTimer | undefined => {
    let best: ManualTimer | undefined;
    for (const timer of timers.values()) {
      if (timer.due <= limit && (!best || timer.due < best.due || (timer.due === best.due && timer.id < best.id)))
        best = timer;
    }
    return best;
  };

  const fireOne = (target: number): boolean => {
    const timer = nextDue(target);
    if (!timer) return false;
    current = Math.max(current, timer.due);
    if (timer.interval === undefined) timers.delete(timer.id);
    else timer.due += Math.max(1, timer.interval);
    timer.callback();
    return true;
  };

  const clock: ManualClock = {
    now: () => current,
    monotonic: () => current - startMs,
    setTimeout: (callback, delayMs) => schedule(callback, delayMs, undefined),
    setInterval: (callback, intervalMs) => schedule(callback, Math.max(1, intervalMs), Math.max(1, intervalMs)),
    sleep: (delayMs, signal) => sleepWith(clock, delayMs, signal),
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`advance(ms): ms must be >= 0, got ${ms}`);
      const target = current + ms;
      while (fireOne(target)) {
        /* fire until nothing is due */
      }
      current = target;
    },
    async advanceAsync(ms) {
      if (!(ms >= 0)) throw new RangeError(`advanceAsync(ms): ms must be >= 0, got ${ms}`);
      const target = current + ms;
      await flushMicrotasks();
      while (fireOne(target)) await flushMicrotasks();
      current = target;
      await flushMicrotasks();
    },
    set(epochMs) {
      if (epochMs < current) throw new RangeError(`set(epochMs): cannot move time backwards (${epochMs} < ${current})`);
      clock.advance(epochMs - current);
    },
    pendingTimers: () => timers.size,
  };
  return clock;
}

async function flushMicrotasks(): Promise<void> {
  for (let index = 0; index < 10; index++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
