import { createRollingWindow, systemClock, type Clock, type RollingWindow } from '@ops/core';
import type { ResolvedWindow } from '../spec/slo-spec.js';

/** Resolution of the burn-rate (alert) windows: one bucket per minute. */
export const FINE_BUCKET_MS = 60_000;
/** Resolution of the SLO period: one bucket per quarter hour, so calendar periods in every time zone are exact. */
export const COARSE_BUCKET_MS = 900_000;
/** Minute buckets kept: three days (the longest alert window) plus the minute in progress. */
export const FINE_BUCKETS = 3 * 24 * 60 + 1;

/** Good and bad event counts of a span. */
export interface EventCounts {
  good: number;
  bad: number;
}

/** Number of quarter-hour buckets needed to answer a period query for `window`. */
export function coarseBucketsFor(window: ResolvedWindow): number {
  if (window.kind === 'rolling') return Math.ceil(window.lengthMs / COARSE_BUCKET_MS) + 1;
  // Longest calendar span: a 31-day month, a 7-day week or a 25-hour day, plus one bucket of slack.
  const longestMs =
    window.unit === 'month'
      ? 31 * 86_400_000 + 3_600_000
      : window.unit === 'week'
        ? 7 * 86_400_000 + 3_600_000
        : 25 * 3_600_000;
  return Math.ceil(longestMs / COARSE_BUCKET_MS) + 1;
}

/**
 * Good/bad event counts of one SLO label set, in two `'good-bad'` {@link RollingWindow}s of `@ops/core`: minute
 * buckets for the last three days (burn-rate windows) and quarter-hour buckets for the period. Recording is O(1)
 * and allocation-free; memory is `16 × (4,320 + period/15m)` bytes (about 115 KiB for 30 days) and never grows.
 *
 * The series' "now" is the latest time it has been written or asked about (`add`, `advanceTo`, the queries), not a
 * clock: events are placed by their own time, and only the newest one moves the windows forward.
 *
 * Events of the newest minute are summed in two fields and flushed into both windows (one `add()` each) when a later
 * minute starts or before a query: a minute bucket is also inside one quarter-hour bucket, so the counts are the
 * same as adding each event, and the common case costs one comparison and two additions.
 *
 * A burn-rate window of length `w` at `t` covers the minute in progress (the bucket containing `t`) and the `w/1m`
 * whole minutes before it: `[minuteStart(t) − w, t]`. On a minute boundary that is exactly Prometheus' range
 * `[t − w, t]` over counters scraped every minute (the same events, so the same ratio); between boundaries it is
 * longer by the part of the current minute that has passed, never shorter: its length is in `[w, w + 1m)`.
 * The period's quarter-hour buckets cover the bucket containing `t` and the `period/15m − 1` before it.
 */
export class SloSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Events ever recorded (monotonic, for exported counters). */
  goodTotal = 0;
  badTotal = 0;
  /** Events too old for both windows, dropped from them (still counted in the totals). */
  droppedLate = 0;
  readonly #fine: RollingWindow;
  readonly #coarse: RollingWindow;
  #nowMs = 0;
  /** The minute of `#nowMs` as `[start, end)`, and its events not yet added to the windows. */
  #pendingStartMs = 0;
  #pendingEndMs = FINE_BUCKET_MS;
  #pendingGood = 0;
  #pendingBad = 0;
  /** Reused argument of the windows' `add()`, so recording allocates nothing. */
  readonly #counts = { good: 0, bad: 0 };

  /**
   * @param coarseBuckets - quarter-hour buckets (see {@link coarseBucketsFor}).
   * @param fineBuckets - minute buckets; {@link FINE_BUCKETS} (3 days) unless the series is a throwaway empty one.
   */
  constructor(labels: Readonly<Record<string, string>>, coarseBuckets: number, fineBuckets = FINE_BUCKETS) {
    this.labels = labels;
    const clock: Clock = { ...systemClock, now: () => this.#nowMs };
    this.#fine = createRollingWindow({
      window: fineBuckets * FINE_BUCKET_MS,
      bucket: FINE_BUCKET_MS,
      counters: 'good-bad',
      clock,
    });
    this.#coarse = createRollingWindow({
      window: coarseBuckets * COARSE_BUCKET_MS,
      bucket: COARSE_BUCKET_MS,
      counters: 'good-bad',
      clock,
    });
  }

  /** Bytes held by the bucket arrays. */
  get bucketBytes(): number {
    return this.#fine.bucketBytes + this.#coarse.bucketBytes;
  }

  /** Adds `good` and `bad` events at `atMs`. */
  add(atMs: number, good: number, bad: number): void {
    this.goodTotal += good;
    this.badTotal += bad;
    if (atMs >= this.#pendingStartMs && atMs < this.#pendingEndMs) {
      this.#pendingGood += good;
      this.#pendingBad += bad;
      return;
    }
    if (atMs >= this.#pendingEndMs) {
      this.advanceTo(atMs);
      this.#pendingGood = good;
      this.#pendingBad = bad;
      return;
    }
    // A late event: kept if either window still covers it (an event of last week is in the period, not in 3 days).
    const counts = this.#counts;
    counts.good = good;
    counts.bad = bad;
    const fineDropped = this.#fine.droppedLate;
    const coarseDropped = this.#coarse.droppedLate;
    this.#fine.add(counts, atMs);
    this.#coarse.add(counts, atMs);
    if (this.#fine.droppedLate !== fineDropped && this.#coarse.droppedLate !== coarseDropped)
      this.droppedLate += good + bad;
  }

  /** Moves the series' now to `atMs`: buckets that fall out of the windows are forgotten. No-op if not later. */
  advanceTo(atMs: number): void {
    if (atMs <= this.#nowMs) return;
    if (atMs >= this.#pendingEndMs) {
      this.#flush();
      this.#pendingStartMs = Math.floor(atMs / FINE_BUCKET_MS) * FINE_BUCKET_MS;
      this.#pendingEndMs = this.#pendingStartMs + FINE_BUCKET_MS;
    }
    this.#nowMs = atMs;
  }

  /** Adds the pending events of the newest minute to both windows (while "now" is still in that minute). */
  #flush(): void {
    if (this.#pendingGood === 0 && this.#pendingBad === 0) return;
    const counts = this.#counts;
    counts.good = this.#pendingGood;
    counts.bad = this.#pendingBad;
    this.#pendingGood = 0;
    this.#pendingBad = 0;
    this.#fine.add(counts, this.#pendingStartMs);
    this.#coarse.add(counts, this.#pendingStartMs);
  }

  /**
   * Counts over the trailing windows `windowsMs` (multiples of a minute, at most 3 days) ending at the series' now
   * (`atMs` or later), in one pass over the minute buckets: `[minuteStart(now) − w, now]` each.
   */
  recentCounts(atMs: number, windowsMs: readonly number[]): EventCounts[] {
    this.advanceTo(atMs);
    this.#flush();
    // One bucket more than the window's minutes: the minute in progress (see the class comment).
    const spansMs = windowsMs.map((windowMs) => Math.round(windowMs / FINE_BUCKET_MS) * FINE_BUCKET_MS);
    const snapshots = this.#fine.querySpans(
      spansMs.map((spanMs) => (spanMs > 0 ? spanMs + FINE_BUCKET_MS : FINE_BUCKET_MS)),
    );
    return snapshots.map(({ good, bad }, index) => (spansMs[index]! > 0 ? { good, bad } : { good: 0, bad: 0 }));
  }

  /**
   * Counts per step of `stepMs` (a multiple of 15 minutes) from `startMs` (on a quarter hour) until `endMs`, from the
   * quarter-hour buckets still held: for the history of the current period (burn-down and error-ratio charts).
   */
  stepCounts(startMs: number, endMs: number, stepMs: number): Array<EventCounts & { startMs: number; endMs: number }> {
    this.#flush();
    const steps: Array<EventCounts & { startMs: number; endMs: number }> = [];
    for (let stepStart = startMs; stepStart < endMs; stepStart += stepMs) {
      const stepEnd = Math.min(stepStart + stepMs, endMs);
      const quarters = Math.floor((stepEnd - 1) / COARSE_BUCKET_MS) - Math.floor(stepStart / COARSE_BUCKET_MS) + 1;
      const { good, bad } = this.#coarse.query(quarters * COARSE_BUCKET_MS, stepEnd - 1);
      steps.push({ startMs: stepStart, endMs: stepEnd, good, bad });
    }
    return steps;
  }

  /**
   * Counts of the quarter-hour buckets from the one containing `startMs` through the one containing `endMs`
   * (clamped to the window). Calendar periods start on quarter-hour boundaries, so their counts are exact.
   */
  periodCounts(startMs: number, endMs: number): EventCounts {
    this.advanceTo(endMs);
    this.#flush();
    const quarters = Math.floor(endMs / COARSE_BUCKET_MS) - Math.floor(startMs / COARSE_BUCKET_MS) + 1;
    if (quarters <= 0) return { good: 0, bad: 0 };
    const { good, bad } = this.#coarse.query(quarters * COARSE_BUCKET_MS, endMs);
    return { good, bad };
  }
}
