import { OpsError } from '../errors/ops-error.js';
import { systemClock, type Clock } from '../time/clock.js';
import { parseDuration, type Duration } from '../time/duration.js';

/**
 * Which counters a {@link RollingWindow} stores per bucket.
 *
 * - `'all'`: count, sum, good, bad, min and max (56 bytes per bucket).
 * - `'good-bad'`: good and bad only (16 bytes per bucket), for SLO and error-rate windows. Snapshots report
 *   `count = good + bad`, `sum = count` and `min`/`max` as `undefined`.
 */
export type WindowCounters = 'all' | 'good-bad';

/** Options of {@link createRollingWindow}. */
export interface RollingWindowOptions {
  /** How much history is kept, e.g. `'30d'` or `'5m'`. Must be a whole multiple of `bucket`. */
  window: Duration;
  /** Width of one bucket, e.g. `'1h'` or `'10s'`: the granularity of queries. */
  bucket: Duration;
  /** Counters stored per bucket: `'all'` (default) or `'good-bad'` (a third of the memory). */
  counters?: WindowCounters;
  /** Source of "now". Defaults to {@link systemClock}. */
  clock?: Clock;
}

/** Options of {@link RollingWindow.record}. */
export interface RecordOptions {
  /** `true` counts the event as good, `false` as bad; omitted counts neither (required by `'good-bad'` windows). */
  good?: boolean;
  /** Epoch milliseconds of the event. Defaults to the clock's now; later than now is clamped to now. */
  at?: number;
}

/** Counts added in bulk by {@link RollingWindow.add}. Missing fields add nothing. */
export interface WindowCounts {
  /** Events to add to `count` (not accepted by `'good-bad'` windows, whose count is good + bad). */
  count?: number;
  /** Amount to add to `sum` (not accepted by `'good-bad'` windows). */
  sum?: number;
  /** Events to add to `good`. */
  good?: number;
  /** Events to add to `bad`. */
  bad?: number;
}

/**
 * The totals of a span of buckets. The span is bucket-aligned: it covers `[startMs, endMs)`, from the start of
 * the oldest bucket to the end of the newest (current, possibly partial) bucket.
 */
export interface WindowSnapshot {
  /** Number of events (`record` calls plus `add` counts); good + bad in a `'good-bad'` window. */
  count: number;
  /** Sum of recorded values; equal to `count` in a `'good-bad'` window. */
  sum: number;
  /** Events recorded as good. */
  good: number;
  /** Events recorded as bad. */
  bad: number;
  /** Smallest recorded value, `undefined` when nothing was recorded with `record()` or in a `'good-bad'` window. */
  min: number | undefined;
  /** Largest recorded value, `undefined` when nothing was recorded with `record()` or in a `'good-bad'` window. */
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
 * on bucket edges, and a bucket width that divides 15 minutes puts an edge on every local quarter hour of every
 * current IANA time zone (all UTC offsets are whole quarter hours): calendar days, weeks and months in any zone are
 * exact spans (`query(periodEnd - periodStart, end)`). `query` is O(buckets in the span); `querySpans` answers
 * several spans ending at the same time in one pass.
 *
 * `record` and `add` never allocate. In `'all'` mode each bucket carries its epoch index, so a bucket that has not
 * been written for a whole window is recognised as empty and both calls are O(1) in the worst case. In `'good-bad'`
 * mode buckets carry no index: the first call in a new bucket zeroes the buckets that expired since the previous
 * call, which is O(1) per elapsed bucket and at most one pass over the ring after an idle gap longer than the window.
 *
 * Memory: one `Float64Array` ring — 56 bytes per bucket in `'all'` mode (7 numbers), 16 bytes in `'good-bad'` mode
 * (2 numbers). A 30-day window of 1-hour buckets is 720 buckets ≈ 40 KiB (`'all'`) or 11 KiB (`'good-bad'`); three
 * days of 1-minute buckets in `'good-bad'` mode is 4,320 buckets ≈ 68 KiB. {@link RollingWindow.bucketBytes} says it.
 */
export interface RollingWindow {
  /** Length of the window in milliseconds. */
  readonly windowMs: number;
  /** Width of one bucket in milliseconds. */
  readonly bucketMs: number;
  /** Number of buckets kept (`windowMs / bucketMs`). */
  readonly bucketCount: number;
  /** The counters stored per bucket. */
  readonly counters: WindowCounters;
  /** Bytes held by the bucket ring (fixed at creation). */
  readonly bucketBytes: number;
  /** How many `record`/`add` calls were dropped because their `at` was older than the window. */
  readonly droppedLate: number;
  /**
   * Records one event: count += 1, sum += value (default 1), min/max updated, good or bad += 1 when given.
   * A `'good-bad'` window stores only the outcome and requires `good`.
   */
  record(value?: number, options?: RecordOptions): void;
  /** Adds pre-aggregated counts into the bucket of `at` (default now). Does not touch min/max. */
  add(counts: WindowCounts, at?: number): void;
  /**
   * Totals of the last `span` (default the whole window) ending at `end` (default now), rounded up to whole buckets
   * and including the current bucket.
   */
  query(span?: Duration, end?: number): WindowSnapshot;
  /**
   * Totals of several spans ending at the same `end` (default now), in the order given, in one pass over the buckets
   * of the longest span. Each snapshot equals `query(span, end)`.
   *
   * @example
   * ```ts
   * const [fiveMinutes, oneHour, sixHours] = errors.querySpans(['5m', '1h', '6h']);
   * ```
   */
  querySpans(spans: readonly Duration[], end?: number): WindowSnapshot[];
  /** Forgets every bucket and the `droppedLate` counter. */
  reset(): void;
}

/** Upper bound on buckets per window (56 MB): beyond it a typo such as `bucket: '1ms'` would exhaust memory. */
const MAX_BUCKETS = 1_000_000;
// Layout of one bucket in 'all' mode.
const ALL_FIELDS = 7;
const EPOCH = 0;
const COUNT = 1;
const SUM = 2;
const GOOD = 3;
const BAD = 4;
const MIN = 5;
const MAX = 6;
// Layout of one bucket in 'good-bad' mode.
const GOOD_BAD_FIELDS = 2;
const PAIR_GOOD = 0;
const PAIR_BAD = 1;

const assertFinite = (where: string, value: number) => {
  if (!Number.isFinite(value)) throw new OpsError('ARGUMENT_INVALID', `${where} must be a finite number, got ${value}`);
};

/**
 * Creates a {@link RollingWindow}.
 *
 * @throws OpsError `ARGUMENT_INVALID` when `bucket` is zero, larger than `window`, does not divide it, or would make
 * more than 1,000,000 buckets, or when `counters` is not `'all'` or `'good-bad'`.
 *
 * @example
 * ```ts
 * const requests = createRollingWindow({ window: '5m', bucket: '10s' });
 * requests.record(latencyMs, { good: status < 500 });
 * const { good, count } = requests.query('1m');
 * const availability = count === 0 ? 1 : good / count;
 *
 * // Good/bad only, a third of the memory: SLO periods and burn-rate windows.
 * const slo = createRollingWindow({ window: '30d', bucket: '15m', counters: 'good-bad' });
 * slo.record(1, { good: true });
 * ```
 */
export function createRollingWindow(options: RollingWindowOptions): RollingWindow {
  const { clock = systemClock, counters = 'all' } = options;
  if (counters !== 'all' && counters !== 'good-bad') {
    throw new OpsError('ARGUMENT_INVALID', `counters: expected 'all' or 'good-bad', got ${JSON.stringify(counters)}`);
  }
  const windowMs = parseDuration(options.window, 'window');
  const bucketMs = parseDuration(options.bucket, 'bucket');
  if (bucketMs <= 0) throw new OpsError('ARGUMENT_INVALID', `bucket: must be greater than 0, got ${bucketMs}ms`);
  if (windowMs < bucketMs) throw new OpsError('ARGUMENT_INVALID', `window: must be at least one bucket (${bucketMs}ms), got ${windowMs}ms`);
  if (windowMs % bucketMs !== 0) {
    throw new OpsError('ARGUMENT_INVALID', `window: must be a whole multiple of bucket (${bucketMs}ms), got ${windowMs}ms`);
  }
  const bucketCount = windowMs / bucketMs;
  const fields = counters === 'all' ? ALL_FIELDS : GOOD_BAD_FIELDS;
  if (bucketCount > MAX_BUCKETS) {
    throw new OpsError(
      'ARGUMENT_INVALID',
      `bucket: ${bucketCount} buckets of ${bucketMs}ms would need ${Math.round((bucketCount * fields * 8) / 1024 / 1024)} MiB; use at most ${MAX_BUCKETS} buckets (a wider bucket)`,
    );
  }
  const store = counters === 'all' ? createAllStore(bucketCount, bucketMs, clock) : createGoodBadStore(bucketCount, bucketMs, clock);
  const { data } = store;

  // Running totals of the query in progress (queries are synchronous, so one set serves every call).
  let count = 0;
  let sum = 0;
  let good = 0;
  let bad = 0;
  let min = Infinity;
  let max = -Infinity;
  const accumulate = (from: number, to: number, now: number) => {
    if (counters === 'good-bad') {
      const [low, high] = store.liveRange(from, to, now);
      for (let index = high; index >= low; index--) {
        const base = store.baseOf(index);
        good += data[base + PAIR_GOOD]!;
        bad += data[base + PAIR_BAD]!;
      }
      return;
    }
    const [low, high] = store.liveRange(from, to, now);
    for (let index = high; index >= low; index--) {
      const base = store.baseOf(index);
      // A slot may still hold a bucket older than the window (nothing overwrote it): skip it.
      if (data[base + EPOCH] !== index) continue;
      count += data[base + COUNT]!;
      sum += data[base + SUM]!;
      good += data[base + GOOD]!;
      bad += data[base + BAD]!;
      if (data[base + MIN]! < min) min = data[base + MIN]!;
      if (data[base + MAX]! > max) max = data[base + MAX]!;
    }
  };
  const startTotals = () => {
    count = 0;
    sum = 0;
    good = 0;
    bad = 0;
    min = Infinity;
    max = -Infinity;
  };
  const snapshot = (first: number, last: number): WindowSnapshot => {
    const total = counters === 'all' ? count : good + bad;
    return {
      count: total,
      sum: counters === 'all' ? sum : total,
      good,
      bad,
      min: min === Infinity ? undefined : min,
      max: max === -Infinity ? undefined : max,
      startMs: first * bucketMs,
      endMs: (last + 1) * bucketMs,
    };
  };
  const bucketsFor = (spanMs: number) => Math.min(bucketCount, Math.max(1, Math.ceil(spanMs / bucketMs)));
  const lastIndex = (end: number | undefined, now: number) => Math.floor((end === undefined || end > now ? now : end) / bucketMs);

  let record: RollingWindow['record'];
  let add: RollingWindow['add'];
  if (counters === 'all') {
    record = (value = 1, recordOptions) => {
      if (!Number.isFinite(value)) throw new OpsError('ARGUMENT_INVALID', `record(value): value must be a finite number, got ${value}`);
      const base = store.slotFor(recordOptions?.at);
      if (base < 0) return;
      data[base + COUNT]! += 1;
      data[base + SUM]! += value;
      if (value < data[base + MIN]!) data[base + MIN] = value;
      if (value > data[base + MAX]!) data[base + MAX] = value;
      const isGood = recordOptions?.good;
      if (isGood === true) data[base + GOOD]! += 1;
      else if (isGood === false) data[base + BAD]! += 1;
    };
    add = (counts, at) => {
      const { count: addCount = 0, sum: addSum = 0, good: addGood = 0, bad: addBad = 0 } = counts;
      assertFinite('add(counts): count', addCount);
      assertFinite('add(counts): sum', addSum);
      assertFinite('add(counts): good', addGood);
      assertFinite('add(counts): bad', addBad);
      const base = store.slotFor(at);
      if (base < 0) return;
      data[base + COUNT]! += addCount;
      data[base + SUM]! += addSum;
      data[base + GOOD]! += addGood;
      data[base + BAD]! += addBad;
    };
  } else {
    record = (value = 1, recordOptions) => {
      if (!Number.isFinite(value)) throw new OpsError('ARGUMENT_INVALID', `record(value): value must be a finite number, got ${value}`);
      const isGood = recordOptions?.good;
      if (isGood === undefined) throw new OpsError('ARGUMENT_INVALID', "record(value, options): options.good is required by a 'good-bad' window");
      const base = store.slotFor(recordOptions?.at);
      if (base < 0) return;
      data[base + (isGood ? PAIR_GOOD : PAIR_BAD)]! += 1;
    };
    add = (counts, at) => {
      if (counts.count !== undefined || counts.sum !== undefined) {
        throw new OpsError('ARGUMENT_INVALID', `add(counts): a 'good-bad' window stores good and bad only (count is good + bad); got ${counts.count === undefined ? 'sum' : 'count'}`);
      }
      const { good: addGood = 0, bad: addBad = 0 } = counts;
      assertFinite('add(counts): good', addGood);
      assertFinite('add(counts): bad', addBad);
      const base = store.slotFor(at);
      if (base < 0) return;
      data[base + PAIR_GOOD]! += addGood;
      data[base + PAIR_BAD]! += addBad;
    };
  }

  return {
    windowMs,
    bucketMs,
    bucketCount,
    counters,
    bucketBytes: data.byteLength,
    get droppedLate() {
      return store.droppedLate;
    },
    record,
    add,
    query(span, end) {
      const spanMs = span === undefined ? windowMs : parseDuration(span, 'span');
      const now = clock.now();
      const last = lastIndex(end, now);
      const first = last - bucketsFor(spanMs) + 1;
      startTotals();
      accumulate(first, last, now);
      return snapshot(first, last);
    },
    querySpans(spans, end) {
      const now = clock.now();
      const last = lastIndex(end, now);
      const buckets = spans.map((span, index) => bucketsFor(parseDuration(span, `spans[${index}]`)));
      // Shortest first: each span's totals are the previous span's plus the buckets just before it.
      const order = buckets.map((_, index) => index).sort((left, right) => buckets[left]! - buckets[right]!);
      const snapshots = new Array<WindowSnapshot>(spans.length);
      startTotals();
      let taken = 0;
      for (const index of order) {
        const wanted = buckets[index]!;
        if (wanted > taken) accumulate(last - wanted + 1, last - taken, now);
        taken = Math.max(taken, wanted);
        snapshots[index] = snapshot(last - wanted + 1, last);
      }
      return snapshots;
    },
    reset() {
      store.reset();
    },
  };
}

/** Bucket storage: where an event lands, which buckets a query may read. */
interface BucketStore {
  readonly data: Float64Array;
  readonly droppedLate: number;
  /** Array offset of the bucket for `at` (claiming or clearing as needed), or -1 when too old (counted as dropped). */
  slotFor(at: number | undefined): number;
  /** The bucket indexes in `[from, to]` that may hold data, as `[low, high]` (empty when `low > high`). */
  liveRange(from: number, to: number, now: number): readonly [number, number];
  /** Array offset of bucket `index`. */
  baseOf(index: number): number;
  reset(): void;
}

/** 'all' mode: every bucket carries its epoch index, so stale buckets are recognised lazily in O(1). */
function createAllStore(bucketCount: number, bucketMs: number, clock: Clock): BucketStore {
  const data = new Float64Array(bucketCount * ALL_FIELDS);
  let droppedLate = 0;
  const clearSlot = (base: number, index: number) => {
    data[base + EPOCH] = index;
    data[base + COUNT] = 0;
    data[base + SUM] = 0;
    data[base + GOOD] = 0;
    data[base + BAD] = 0;
    data[base + MIN] = Infinity;
    data[base + MAX] = -Infinity;
  };
  const clear = () => {
    for (let slot = 0; slot < bucketCount; slot++) clearSlot(slot * ALL_FIELDS, -1);
  };
  clear();
  // The current bucket's time range and offset: most events land in it, so they skip the division and the claim.
  // Nothing else can take its slot before it ends (an event for the same slot is a whole window older: dropped).
  let currentStart = 0;
  let currentEnd = -Infinity;
  let currentBase = 0;
  const baseOf = (index: number) => (((index % bucketCount) + bucketCount) % bucketCount) * ALL_FIELDS;
  const range: [number, number] = [0, 0];
  return {
    data,
    get droppedLate() {
      return droppedLate;
    },
    slotFor(at) {
      const now = clock.now();
      const time = at === undefined || at > now ? now : at;
      if (time >= currentStart && now < currentEnd) return currentBase; // time <= now, so both are in the current bucket
      const index = Math.floor(time / bucketMs);
      const nowIndex = Math.floor(now / bucketMs);
      if (index <= nowIndex - bucketCount) {
        droppedLate++;
        return -1;
      }
      const base = baseOf(index);
      const held = data[base + EPOCH] as number;
      if (held !== index) {
        if (held > index) {
          droppedLate++; // the slot already holds a newer bucket: this event is older than the window
          return -1;
        }
        clearSlot(base, index);
      }
      if (index === nowIndex) {
        currentStart = index * bucketMs;
        currentEnd = currentStart + bucketMs;
        currentBase = base;
      }
      return base;
    },
    liveRange(from, to, now) {
      range[0] = Math.max(from, Math.floor(now / bucketMs) - bucketCount + 1);
      range[1] = to;
      return range;
    },
    baseOf,
    reset() {
      clear();
      currentEnd = -Infinity;
      droppedLate = 0;
    },
  };
}

/**
 * 'good-bad' mode: two numbers per bucket and no index. The ring holds the buckets `(head - bucketCount, head]`,
 * where `head` is the newest bucket the clock has reached at a write; moving the head zeroes the slots it passes.
 */
function createGoodBadStore(bucketCount: number, bucketMs: number, clock: Clock): BucketStore {
  const data = new Float64Array(bucketCount * GOOD_BAD_FIELDS);
  let droppedLate = 0;
  let head = -Infinity;
  let headStart = Infinity;
  let headEnd = -Infinity;
  let headBase = 0;
  const baseOf = (index: number) => (((index % bucketCount) + bucketCount) % bucketCount) * GOOD_BAD_FIELDS;
  const advance = (nowIndex: number) => {
    if (head === -Infinity || nowIndex - head >= bucketCount) data.fill(0);
    else {
      for (let index = head + 1; index <= nowIndex; index++) {
        const base = baseOf(index);
        data[base + PAIR_GOOD] = 0;
        data[base + PAIR_BAD] = 0;
      }
    }
    head = nowIndex;
    headStart = nowIndex * bucketMs;
    headEnd = headStart + bucketMs;
    headBase = baseOf(nowIndex);
  };
  const range: [number, number] = [0, 0];
  return {
    data,
    get droppedLate() {
      return droppedLate;
    },
    slotFor(at) {
      const now = clock.now();
      const time = at === undefined || at > now ? now : at;
      if (time >= headStart && now < headEnd) return headBase; // time <= now, so both are in the head bucket
      const nowIndex = Math.floor(now / bucketMs);
      if (nowIndex > head) advance(nowIndex);
      const index = Math.floor(time / bucketMs);
      // A clock that went back leaves the head ahead of now: the ring still spans the window before the head.
      if (index <= head - bucketCount) {
        droppedLate++;
        return -1;
      }
      return index === head ? headBase : baseOf(index);
    },
    liveRange(from, to, now) {
      // Buckets after the head were never written (their slots still hold expired buckets); those before
      // the newest of head and now minus the window have expired.
      range[0] = Math.max(from, Math.max(head, Math.floor(now / bucketMs)) - bucketCount + 1);
      range[1] = Math.min(to, head);
      return range;
    },
    baseOf,
    reset() {
      data.fill(0);
      head = -Infinity;
      headStart = Infinity;
      headEnd = -Infinity;
      droppedLate = 0;
    },
  };
}
