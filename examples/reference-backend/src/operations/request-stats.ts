import { systemClock, type Clock, type Signal } from '@ops/core';

/** Recent API requests: the P95 and request-rate signals of healing and capacity planning. */
export interface RequestStats {
  /** Records one finished API request. */
  record(durationMs: number, status: number): void;
  /** P95 duration (ms) of the requests in the window; `NaN` when there were none (missing data). */
  p95(): number;
  /** Requests per second over the window. */
  rate(): number;
  /** Share of 5xx answers in the window (0 when there were none). */
  errorRatio(): number;
  readonly p95Signal: Signal;
  readonly rateSignal: Signal;
}

/** How far past `maxEntries` the list may grow before it is trimmed back. */
const TRIM_SLACK = 1_024;

/**
 * Keeps the API requests of the last `windowMs` (on `clock`, so the demo's simulated time ages them) and answers
 * the P95, the rate and the error ratio over them. Bounded: the newest `maxEntries` are kept (trimmed in steps of
 * `TRIM_SLACK`, so recording stays O(1) amortised instead of copying the array on every request once it is full).
 */
export function createRequestStats(
  options: { clock?: Clock; windowMs?: number; maxEntries?: number } = {},
): RequestStats {
  const { clock = systemClock, windowMs = 5 * 60_000, maxEntries = 20_000 } = options;
  let entries: { at: number; durationMs: number; failed: boolean }[] = [];
  const recent = () => {
    const since = clock.now() - windowMs;
    if (entries.length > 0 && entries[0]!.at < since) entries = entries.filter((entry) => entry.at >= since);
    return entries.length > maxEntries ? entries.slice(-maxEntries) : entries;
  };
  const p95 = () => {
    const durations = recent()
      .map((entry) => entry.durationMs)
      .sort((a, b) => a - b);
    if (durations.length === 0) return Number.NaN;
    return durations[Math.min(durations.length - 1, Math.ceil(durations.length * 0.95) - 1)]!;
  };
  const rate = () => recent().length / (windowMs / 1000);
  return {
    record(durationMs, status) {
      entries.push({ at: clock.now(), durationMs, failed: status >= 500 });
      if (entries.length > maxEntries + TRIM_SLACK) entries = entries.slice(-maxEntries);
    },
    p95,
    rate,
    errorRatio() {
      const window = recent();
      return window.length === 0 ? 0 : window.filter((entry) => entry.failed).length / window.length;
    },
    p95Signal: { name: 'api_p95_ms', unit: 'ms', read: p95 },
    rateSignal: { name: 'api_requests_per_second', unit: 'rps', read: rate },
  };
}
