import { systemClock, type Clock } from '@ops/core';

/** A {@link Clock} that runs in real time but can be moved forward (see {@link createShiftableClock}). */
export interface ShiftableClock extends Clock {
  /** Moves `now()` and `monotonic()` forward by `ms` for good. Timers keep their real schedule. */
  skip(ms: number): void;
  /** Total milliseconds skipped so far. */
  readonly skippedMs: number;
}

/**
 * A real-time clock that can jump forward, like an NTP step. The demo uses it to let SLO windows and backup ages
 * pass in an instant (“ten minutes later…”) while timers — request deadlines, shutdown drain — stay real, so the
 * running service behaves exactly as in production.
 *
 * @example
 * ```ts
 * const clock = createShiftableClock();
 * clock.skip(10 * 60_000); // burn-rate windows now see ten quiet minutes
 * ```
 */
export function createShiftableClock(base: Clock = systemClock): ShiftableClock {
  let offsetMs = 0;
  return {
    now: () => base.now() + offsetMs,
    monotonic: () => base.monotonic() + offsetMs,
    setTimeout: (callback, delayMs) => base.setTimeout(callback, delayMs),
    setInterval: (callback, intervalMs) => base.setInterval(callback, intervalMs),
    sleep: (delayMs, signal) => base.sleep(delayMs, signal),
    skip(ms) {
      if (!(ms >= 0) || !Number.isFinite(ms))
        throw new RangeError(`skip(ms): ms must be a finite number >= 0, got ${ms}`);
      offsetMs += ms;
    },
    get skippedMs() {
      return offsetMs;
    },
  };
}
