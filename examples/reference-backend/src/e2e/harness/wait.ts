import { systemClock } from '@ops/core';

/** Options of {@link waitUntil}. */
export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between two reads. Default 250 ms. */
  intervalMs?: number;
}

/** Thrown by a `read` of {@link waitUntil} when waiting longer is pointless (the process died): fails at once. */
export class StopWaiting extends Error {}

/**
 * Reads until `read` returns something other than `undefined`, or fails after `timeoutMs` naming what it waited
 * for and what it saw last (the last value given to `seen`, or the last error thrown by `read`).
 */
export async function waitUntil<T>(
  description: string,
  read: (seen: (value: unknown) => void) => Promise<T | undefined> | T | undefined,
  options: WaitOptions,
): Promise<T> {
  const { timeoutMs, intervalMs = 250 } = options;
  const deadline = systemClock.monotonic() + timeoutMs;
  let last: unknown = 'nothing yet';
  const seen = (value: unknown) => {
    last = value;
  };
  for (;;) {
    try {
      const value = await read(seen);
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      last = error instanceof Error ? `error: ${error.message}` : error;
    }
    if (systemClock.monotonic() >= deadline) break;
    await systemClock.sleep(intervalMs);
  }
  const shown = typeof last === 'string' ? last : JSON.stringify(last);
  throw new Error(`gave up after ${timeoutMs} ms waiting for ${description}; last seen: ${shown.slice(0, 2_000)}`);
}

/** Pauses between rounds of a bounded loop. */
export function pause(ms: number): Promise<void> {
  return systemClock.sleep(ms);
}
