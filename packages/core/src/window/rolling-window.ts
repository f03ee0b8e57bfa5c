import { OpsError } from '../errors/ops-error.js';
import { systemClock, type Clock } from '../time/clock.js';
import { parseDuration, type Duration } from '../time/duration.js';

/** Options of {@link createRollingWindow}. */
export interface RollingWindowOptions {
  /** How much history is kept, e.g. `'30d'` or `'5m'`. Must be a whole multiple of `bucket`. */
  window: Duration;
  /** Width of one bucket, e.g. `'1h'` or `'10s'`: the granularity of queries. */
  bucket: Duration;
  /** Source of "now". Defaults to {@link systemClock}. */
  clock?: Clock;
}

/** Options of {@link RollingWindow.record}. */
export interface RecordOptions {
  /** `true` counts the event as good, `false` as bad; omitted counts neither. */
  good?: boolean;
  /** Epoch milliseconds of the event. Defaults to the clock's now; later than now is clamped to now. */
  at?: number;
}

/** Counts added in bulk by {@link RollingWindow.add}. Missing fields add nothing. */
export interface WindowCounts {
  count?: number;
  sum?: number;
  good?: number;
  bad?: number;
}

/**
 * The totals of a span of buckets. The span is bucket-aligned: it covers `[startMs, endMs)`, from the start of
 * the oldest bucket to the end of the newest (current, possibly partial) bucket.
 */
export interface WindowSnapshot {
  /** Number of events (`record` calls plus `add` counts). */
  count: number;
  /** Sum of recorded values. */
  sum: number;
  /** Events recorded as good. */
  good: number;
  /** Events recorded as bad. */
  bad: number;
  /** Smallest recorded value, `undefined` when nothing was recorded with `record()`. */
  min: number | undefined;
  /** Largest recorded value, `undefined` when nothing was recorded with `record()`. */
  max: number | undefined;
  /** Start of the oldest bucket in the span (epoch ms, inclusive). */
  startMs: number;
  /** End of the newest bucket in the span (epoch ms, exclusive). */
  endMs: number;
}

/**
 * Time-bucketed counters over a sliding window: count, sum, good/bad, min/max.
 *
 * Buckets are aligned to the Unix epoch (`floor(at / bucketMs)`), so two windows with the same bucket width agree
 * on bucket edges. `record` and `add` are O(1); `query` is O(buckets in the span). A bucket that has not been
 * written for a whole window is treated as empty, so long idle gaps need no cleanup.
 *
 * Memory: one `Float64Array` ring of 7 numbers per bucket — 56 bytes × `window / bucket`, e.g. a 30-day window of
 * 1-hour buckets is 720 buckets ≈ 40 KiB, a 5-minute window of 10-second buckets is 30 buckets ≈ 1.7 KiB.
 */
export interface RollingWindow {
  /** Length of the window in milliseconds. */
  readonly windowMs: number;
  /** Width of one bucket in milliseconds. */
  readonly bucketMs: number;
  /** Number of buckets kept (`windowMs / bucketMs`). */
  readonly bucketCount: number;
  /** How many `record`/`add` calls were dropped because their `at` was older than the window. */
  readonly droppedLate: number;
  /** Records one event: count += 1, sum += value (default 1), min/max updated, good or bad += 1 when given. */
  record(value?: number, options?: RecordOptions): void;
  /** Adds pre-aggregated counts into the bucket of `at` (default now). Does not touch min/max. */
  add(counts: WindowCounts, at?: number): void;
  /**
   * Totals of the last `span` (default the whole window) ending at `end` (default now), rounded up to whole buckets
   * and including the current bucket.
   */
  query(span?: Duration, end?: number): WindowSnapshot;
  /** Forgets every bucket and the `droppedLate` counter. */
  reset(): void;
}

const FIELDS = 7;
/** Upper bound on buckets per window (56 MB): beyond it a typo such as `bucket: '1ms'` would exhaust memory. */
const MAX_BUCKETS = 1_000_000;
const EPOCH = 0;
const COUNT = 1;
const SUM = 2;
const GOOD = 3;
const BAD = 4;
const MIN = 5;
const MAX = 6;

/**
 * Creates a {@link RollingWindow}.
 *
 * @throws OpsError `ARGUMENT_INVALID` when `bucket` is zero, larger than `window`, does not divide it, or would make
 * more than 1,000,000 buckets.
 *
 * @example
 * ```ts
 * const requests = createRollingWindow({ window: '5m', bucket: '10s' });
 * requests.record(latencyMs, { good: status < 500 });
 * const { good, count } = requests.query('1m');
 * const availability = count === 0 ? 1 : good / count;
 * ```
 */
export function createRollingWindow(options: RollingWindowOptions): RollingWindow {
  const { clock = systemClock } = options;
  const windowMs = parseDuration(options.window, 'window');
  const bucketMs = parseDuration(options.bucket, 'bucket');
  if (bucketMs <= 0) throw new OpsError('ARGUMENT_INVALID', `bucket: must be greater than 0, got ${bucketMs}ms`);
  if (windowMs < bucketMs) throw new OpsError('ARGUMENT_INVALID', `window: must be at least one bucket (${bucketMs}ms), got ${windowMs}ms`);
  if (windowMs % bucketMs !== 0) {
    throw new OpsError('ARGUMENT_INVALID', `window: must be a whole multiple of bucket (${bucketMs}ms), got ${windowMs}ms`);
  }
  const bucketCount = windowMs / bucketMs;
  if (bucketCount > MAX_BUCKETS) {
    throw new OpsError(
      'ARGUMENT_INVALID',
      `bucket: ${bucketCount} buckets of ${bucketMs}ms would need ${Math.round((bucketCount * FIELDS * 8) / 1024 / 1024)} MiB; use at most ${MAX_BUCKETS} buckets (a wider bucket)`,
    );
  }
  // One flat array, FIELDS numbers per bucket: [epoch bucket index, count, sum, good, bad, min, max].
  const data = new Float64Array(bucketCount * FIELDS);
  let droppedLate = 0;

  const clear = () => {
    for (let slot = 0; slot < bucketCount; slot++) {
      const base = slot * FIELDS;
      data[base + EPOCH] = -1;
      data[base + COUNT] = 0;
      data[base + SUM] = 0;
      data[base + GOOD] = 0;
      data[base + BAD] = 0;
      data[base + MIN] = Infinity;
      data[base + MAX] = -Infinity;
    }
  };
  clear();

  // The current bucket's time range and offset: most events land in it, so they skip the division and the claim.
  // Nothing else can take its slot before it ends (an event for the same slot is a whole window older: dropped).
  let currentStart = 0;
  let currentEnd = -Infinity;
  let currentBase = 0;

  /** Returns the array offset of the bucket for `at`, claiming the slot if it holds an older bucket, or -1 if too old. */
  const slotFor = (at: number | undefined): number => {
    const now = clock.now();
    const time = at === undefined || at > now ? now : at;
    if (time >= currentStart && now < currentEnd) return currentBase; // time <= now, so both are in the current bucket
    const index = Math.floor(time / bucketMs);
    if (index <= Math.floor(now / bucketMs) - bucketCount) return -1;
    const base = (index % bucketCount) * FIELDS;
    const held = data[base + EPOCH] as number;
    if (held !== index) {
      if (held > index) return -1; // the slot already holds a newer bucket: this event is older than the window
      data[base + EPOCH] = index;
      data[base + COUNT] = 0;
      data[base + SUM] = 0;
      data[base + GOOD] = 0;
      data[base + BAD] = 0;
      data[base + MIN] = Infinity;
      data[base + MAX] = -Infinity;
    }
    if (index === Math.floor(now / bucketMs)) {
      currentStart = index * bucketMs;
      currentEnd = currentStart + bucketMs;
      currentBase = base;
    }
    return base;
  };

  const window: RollingWindow = {
    windowMs,
    bucketMs,
    bucketCount,
    get droppedLate() {
      return droppedLate;
    },
    record(value = 1, recordOptions) {
      if (!Number.isFinite(value)) throw new OpsError('ARGUMENT_INVALID', `record(value): value must be a finite number, got ${value}`);
      const base = slotFor(recordOptions?.at);
      if (base < 0) {
        droppedLate++;
        return;
      }
      data[base + COUNT]! += 1;
      data[base + SUM]! += value;
      if (value < data[base + MIN]!) data[base + MIN] = value;
      if (value > data[base + MAX]!) data[base + MAX] = value;
      const good = recordOptions?.good;
      if (good === true) data[base + GOOD]! += 1;
      else if (good === false) data[base + BAD]! += 1;
    },
    add(counts, at) {
      const { count = 0, sum = 0, good = 0, bad = 0 } = counts;
      for (const [name, value] of [['count', count], ['sum', sum], ['good', good], ['bad', bad]] as const) {
        if (!Number.isFinite(value)) throw new OpsError('ARGUMENT_INVALID', `add(counts): ${name} must be a finite number, got ${value}`);
      }
      const base = slotFor(at);
      if (base < 0) {
        droppedLate++;
        return;
      }
      data[base + COUNT]! += count;
      data[base + SUM]! += sum;
      data[base + GOOD]! += good;
      data[base + BAD]! += bad;
    },
    query(span, end) {
      const spanMs = span === undefined ? windowMs : parseDuration(span, 'span');
      const now = clock.now();
      const endTime = end === undefined || end > now ? now : end;
      const buckets = Math.min(bucketCount, Math.max(1, Math.ceil(spanMs / bucketMs)));
      const last = Math.floor(endTime / bucketMs);
      const first = last - buckets + 1;
      let count = 0;
      let sum = 0;
      let good = 0;
      let bad = 0;
      let min = Infinity;
      let max = -Infinity;
      // Buckets older than the window may still sit in their slots (nothing overwrote them): skip them.
      const oldestRetained = Math.floor(now / bucketMs) - bucketCount + 1;
      for (let index = Math.max(first, oldestRetained); index <= last; index++) {
        const base = (((index % bucketCount) + bucketCount) % bucketCount) * FIELDS;
        if (data[base + EPOCH] !== index) continue;
        count += data[base + COUNT]!;
        sum += data[base + SUM]!;
        good += data[base + GOOD]!;
        bad += data[base + BAD]!;
        if (data[base + MIN]! < min) min = data[base + MIN]!;
        if (data[base + MAX]! > max) max = data[base + MAX]!;
      }
      return {
        count,
        sum,
        good,
        bad,
        min: min === Infinity ? undefined : min,
        max: max === -Infinity ? undefined : max,
        startMs: first * bucketMs,
        endMs: (last + 1) * bucketMs,
      };
    },
    reset() {
      clear();
      currentEnd = -Infinity;
      droppedLate = 0;
    },
  };
  return window;
}
