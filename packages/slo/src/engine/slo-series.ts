import type { ResolvedWindow } from '../spec/slo-spec.js';

/** Resolution of the burn-rate (alert) windows: one bucket per minute. */
export const FINE_BUCKET_MS = 60_000;
/** Resolution of the SLO period: one bucket per quarter hour, so calendar periods in every time zone are exact. */
export const COARSE_BUCKET_MS = 900_000;
/** Minute buckets kept: three days, the longest alert window. */
export const FINE_BUCKETS = 3 * 24 * 60;
const FINE_PER_COARSE = COARSE_BUCKET_MS / FINE_BUCKET_MS;

/** Good and bad event counts of a span. */
export interface EventCounts {
  good: number;
  bad: number;
}

/** Number of quarter-hour buckets needed to answer a period query for `window`. */
export function coarseBucketsFor(window: ResolvedWindow): number {
  if (window.kind === 'rolling') return Math.ceil(window.lengthMs / COARSE_BUCKET_MS) + 1;
  // Longest calendar span: a 31-day month, a 7-day week or a 25-hour day, plus one bucket of slack.
  const longestMs = window.unit === 'month' ? 31 * 86_400_000 + 3_600_000 : window.unit === 'week' ? 7 * 86_400_000 + 3_600_000 : 25 * 3_600_000;
  return Math.ceil(longestMs / COARSE_BUCKET_MS) + 1;
}

/**
 * Good/bad event counts of one SLO label set, in two rings of fixed size: minute buckets for the last three days
 * (burn-rate windows) and quarter-hour buckets for the period. Recording is O(1) and allocation-free; memory is
 * `16 × (4,320 + period/15m)` bytes (about 115 KiB for 30 days) and never grows.
 *
 * A window of length `w` ending at `t` covers the bucket containing `t` and the `w/bucket − 1` buckets before it.
 */
export class SloSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Events ever recorded (monotonic, for exported counters). */
  goodTotal = 0;
  badTotal = 0;
  /** Events too old for both rings, dropped from windows (still counted in the totals). */
  droppedLate = 0;
  readonly #fineGood: Float64Array;
  readonly #fineBad: Float64Array;
  readonly #fineCount: number;
  readonly #coarseGood: Float64Array;
  readonly #coarseBad: Float64Array;
  readonly #coarseCount: number;
  #headMinute = -1;
  #headQuarter = -1;
  #headFineSlot = 0;
  #headCoarseSlot = 0;

  /**
   * @param coarseBuckets - quarter-hour buckets (see {@link coarseBucketsFor}).
   * @param fineBuckets - minute buckets; {@link FINE_BUCKETS} (3 days) unless the series is a throwaway empty one.
   */
  constructor(labels: Readonly<Record<string, string>>, coarseBuckets: number, fineBuckets = FINE_BUCKETS) {
    this.labels = labels;
    this.#fineCount = fineBuckets;
    this.#fineGood = new Float64Array(fineBuckets);
    this.#fineBad = new Float64Array(fineBuckets);
    this.#coarseCount = coarseBuckets;
    this.#coarseGood = new Float64Array(coarseBuckets);
    this.#coarseBad = new Float64Array(coarseBuckets);
  }

  /** Bytes held by the bucket arrays. */
  get bucketBytes(): number {
    return 16 * (this.#fineCount + this.#coarseCount);
  }

  /** Adds `good` and `bad` events at `atMs`. */
  add(atMs: number, good: number, bad: number): void {
    const minute = Math.floor(atMs / FINE_BUCKET_MS);
    this.goodTotal += good;
    this.badTotal += bad;
    if (minute === this.#headMinute) {
      this.#fineGood[this.#headFineSlot]! += good;
      this.#fineBad[this.#headFineSlot]! += bad;
      this.#coarseGood[this.#headCoarseSlot]! += good;
      this.#coarseBad[this.#headCoarseSlot]! += bad;
      return;
    }
    if (minute > this.#headMinute) {
      this.advanceTo(atMs);
      this.#fineGood[this.#headFineSlot]! += good;
      this.#fineBad[this.#headFineSlot]! += bad;
      this.#coarseGood[this.#headCoarseSlot]! += good;
      this.#coarseBad[this.#headCoarseSlot]! += bad;
      return;
    }
    this.#addLate(minute, good, bad);
  }

  #addLate(minute: number, good: number, bad: number): void {
    let placed = false;
    if (minute > this.#headMinute - this.#fineCount) {
      const slot = minute % this.#fineCount;
      this.#fineGood[slot]! += good;
      this.#fineBad[slot]! += bad;
      placed = true;
    }
    const quarter = Math.floor(minute / FINE_PER_COARSE);
    if (quarter > this.#headQuarter - this.#coarseCount) {
      const slot = quarter % this.#coarseCount;
      this.#coarseGood[slot]! += good;
      this.#coarseBad[slot]! += bad;
      placed = true;
    }
    if (!placed) this.droppedLate += good + bad;
  }

  /** Moves the head to the bucket of `atMs`, clearing buckets that fall out of the rings. No-op if not later. */
  advanceTo(atMs: number): void {
    const minute = Math.floor(atMs / FINE_BUCKET_MS);
    if (minute <= this.#headMinute) return;
    const quarter = Math.floor(minute / FINE_PER_COARSE);
    if (this.#headMinute < 0 || minute - this.#headMinute >= this.#fineCount) {
      this.#fineGood.fill(0);
      this.#fineBad.fill(0);
    } else {
      for (let index = this.#headMinute + 1; index <= minute; index++) {
        const slot = index % this.#fineCount;
        this.#fineGood[slot] = 0;
        this.#fineBad[slot] = 0;
      }
    }
    if (this.#headQuarter < 0 || quarter - this.#headQuarter >= this.#coarseCount) {
      this.#coarseGood.fill(0);
      this.#coarseBad.fill(0);
    } else {
      for (let index = this.#headQuarter + 1; index <= quarter; index++) {
        const slot = index % this.#coarseCount;
        this.#coarseGood[slot] = 0;
        this.#coarseBad[slot] = 0;
      }
    }
    this.#headMinute = minute;
    this.#headQuarter = quarter;
    this.#headFineSlot = minute % this.#fineCount;
    this.#headCoarseSlot = quarter % this.#coarseCount;
  }

  /**
   * Counts over the trailing windows `windowsMs` (ascending, multiples of a minute, at most 3 days) ending at `atMs`,
   * in one backward pass over the minute ring.
   */
  recentCounts(atMs: number, windowsMs: readonly number[]): EventCounts[] {
    this.advanceTo(atMs);
    const endMinute = Math.max(this.#headMinute, Math.floor(atMs / FINE_BUCKET_MS));
    const out: EventCounts[] = [];
    let good = 0;
    let bad = 0;
    let taken = 0;
    for (const windowMs of windowsMs) {
      const buckets = Math.min(this.#fineCount, Math.round(windowMs / FINE_BUCKET_MS));
      for (; taken < buckets; taken++) {
        const minute = endMinute - taken;
        if (minute < 0 || this.#headMinute < 0) break;
        const slot = minute % this.#fineCount;
        good += this.#fineGood[slot] as number;
        bad += this.#fineBad[slot] as number;
      }
      out.push({ good, bad });
    }
    return out;
  }

  /**
   * Counts of the quarter-hour buckets from the one containing `startMs` through the one containing `endMs`
   * (clamped to the ring). Calendar periods start on quarter-hour boundaries, so their counts are exact.
   */
  periodCounts(startMs: number, endMs: number): EventCounts {
    this.advanceTo(endMs);
    if (this.#headQuarter < 0) return { good: 0, bad: 0 };
    const endQuarter = Math.floor(endMs / COARSE_BUCKET_MS);
    const startQuarter = Math.max(Math.floor(startMs / COARSE_BUCKET_MS), endQuarter - this.#coarseCount + 1, this.#headQuarter - this.#coarseCount + 1);
    let good = 0;
    let bad = 0;
    for (let quarter = Math.min(endQuarter, this.#headQuarter); quarter >= startQuarter; quarter--) {
      const slot = quarter % this.#coarseCount;
      good += this.#coarseGood[slot] as number;
      bad += this.#coarseBad[slot] as number;
    }
    return { good, bad };
  }
}
