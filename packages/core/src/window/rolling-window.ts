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

/** The error of a `'good-bad'` window's `add()` given counts it cannot store (kept out of the hot path). */
const invalidGoodBadCounts = (counts: WindowCounts): OpsError => {
  if (counts.count !== undefined || counts.sum !== undefined) {
    return new OpsError(
      'ARGUMENT_INVALID',
      `add(counts): a 'good-bad' window stores good and bad only (count is good + bad); got ${counts.count === undefined ? 'sum' : 'count'}`,
    );
  }
  const [name, value] = Number.isFinite(counts.good ?? 0) ? ['bad', counts.bad] : ['good', counts.good];
  return new OpsError('ARGUMENT_INVALID', `add(counts): ${name} must be a finite number, got ${value}`);
};

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
  if (windowMs < bucketMs)
    throw new OpsError('ARGUMENT_INVALID', `window: must be at least one bucket (${bucketMs}ms), got ${windowMs}ms`);
  if (windowMs % bucketMs !== 0) {
    throw new OpsError(
      'ARGUMENT_INVALID',
      `window: must be a whole multiple of bucket (${bucketMs}ms), got ${windowMs}ms`,
    );
  }
  const bucketCount = windowMs / bucketMs;
  const fields = counters === 'all' ? ALL_FIELDS : GOOD_BAD_FIELDS;
  if (bucketCount > MAX_BUCKETS) {
    throw new OpsError(
      'ARGUMENT_INVALID',
      `bucket: ${bucketCount} buckets of ${bucketMs}ms would need ${Math.round((bucketCount * fields * 8) / 1024 / 1024)} MiB; use at most ${MAX_BUCKETS} buckets (a wider bucket)`,
    );
  }
  return new BucketRing(windowMs, bucketMs, counters, clock);
}

/**
 * The ring behind {@link createRollingWindow}: a class, so a window costs its `Float64Array` and a few fields
 * rather than a set of closures (it matters for `@ops/slo`, which keeps two windows per label set).
 *
 * In `'all'` mode every bucket carries its epoch index, so a stale bucket is recognised (and claimed) lazily in O(1).
 * In `'good-bad'` mode buckets carry no index: the ring holds the buckets `(head - bucketCount, head]`, where `head`
 * is the newest bucket the clock has reached at a write, and moving the head zeroes the slots it passes.
 */
class BucketRing implements RollingWindow {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly bucketCount: number;
  readonly counters: WindowCounters;
  readonly bucketBytes: number;
  readonly #clock: Clock;
  readonly #data: Float64Array;
  readonly #fields: number;
  readonly #tagged: boolean;
  #droppedLate = 0;
  // The newest bucket written ('all': the current bucket) and its time range and offset: most events land in it,
  // so they skip the division and the claim. In 'all' mode nothing else can take its slot before it ends (an event
  // for the same slot is a whole window older: dropped).
  #head = -Infinity;
  #headStart = Infinity;
  #headEnd = -Infinity;
  #headBase = 0;
  // Running totals of the query in progress.
  #count = 0;
  #sum = 0;
  #good = 0;
  #bad = 0;
  #min = Infinity;
  #max = -Infinity;

  constructor(windowMs: number, bucketMs: number, counters: WindowCounters, clock: Clock) {
    this.windowMs = windowMs;
    this.bucketMs = bucketMs;
    this.bucketCount = windowMs / bucketMs;
    this.counters = counters;
    this.#clock = clock;
    this.#tagged = counters === 'all';
    this.#fields = this.#tagged ? ALL_FIELDS : GOOD_BAD_FIELDS;
    this.#data = new Float64Array(this.bucketCount * this.#fields);
    this.bucketBytes = this.#data.byteLength;
    this.#clear();
  }

  get droppedLate(): number {
    return this.#droppedLate;
  }

  record(value = 1, options?: RecordOptions): void {
    if (!Number.isFinite(value))
      throw new OpsError('ARGUMENT_INVALID', `record(value): value must be a finite number, got ${value}`);
    const good = options?.good;
    const data = this.#data;
    if (this.#tagged) {
      const base = this.#slotFor(options?.at);
      if (base < 0) return;
      data[base + COUNT]! += 1;
      data[base + SUM]! += value;
      if (value < data[base + MIN]!) data[base + MIN] = value;
      if (value > data[base + MAX]!) data[base + MAX] = value;
      if (good === true) data[base + GOOD]! += 1;
      else if (good === false) data[base + BAD]! += 1;
      return;
    }
    if (good === undefined)
      throw new OpsError('ARGUMENT_INVALID', "record(value, options): options.good is required by a 'good-bad' window");
    const base = this.#slotFor(options?.at);
    if (base >= 0) data[good ? base + PAIR_GOOD : base + PAIR_BAD]! += 1;
  }

  add(counts: WindowCounts, at?: number): void {
    const data = this.#data;
    if (this.#tagged) {
      const { count = 0, sum = 0, good = 0, bad = 0 } = counts;
      assertFinite('add(counts): count', count);
      assertFinite('add(counts): sum', sum);
      assertFinite('add(counts): good', good);
      assertFinite('add(counts): bad', bad);
      const base = this.#slotFor(at);
      if (base < 0) return;
      data[base + COUNT]! += count;
      data[base + SUM]! += sum;
      data[base + GOOD]! += good;
      data[base + BAD]! += bad;
      return;
    }
    const good = counts.good ?? 0;
    const bad = counts.bad ?? 0;
    if (!Number.isFinite(good) || !Number.isFinite(bad) || counts.count !== undefined || counts.sum !== undefined)
      throw invalidGoodBadCounts(counts);
    const base = this.#slotFor(at);
    if (base < 0) return;
    data[base + PAIR_GOOD]! += good;
    data[base + PAIR_BAD]! += bad;
  }

  query(span?: Duration, end?: number): WindowSnapshot {
    const spanMs = span === undefined ? this.windowMs : parseDuration(span, 'span');
    const now = this.#clock.now();
    const last = this.#lastIndex(end, now);
    const first = last - this.#bucketsFor(spanMs) + 1;
    this.#startTotals();
    this.#accumulate(first, last, now);
    return this.#snapshot(first, last);
  }

  querySpans(spans: readonly Duration[], end?: number): WindowSnapshot[] {
    const now = this.#clock.now();
    const last = this.#lastIndex(end, now);
    const buckets = spans.map((span, index) => this.#bucketsFor(parseDuration(span, `spans[${index}]`)));
    // Shortest first: each span's totals are the previous span's plus the buckets just before it.
    const order = buckets.map((_, index) => index).sort((left, right) => buckets[left]! - buckets[right]!);
    const snapshots = new Array<WindowSnapshot>(spans.length);
    this.#startTotals();
    let taken = 0;
    for (const index of order) {
      const wanted = buckets[index]!;
      if (wanted > taken) this.#accumulate(last - wanted + 1, last - taken, now);
      taken = Math.max(taken, wanted);
      snapshots[index] = this.#snapshot(last - wanted + 1, last);
    }
    return snapshots;
  }

  reset(): void {
    this.#clear();
    this.#droppedLate = 0;
  }

  #clear(): void {
    const data = this.#data;
    if (this.#tagged) {
      for (let slot = 0; slot < this.bucketCount; slot++) this.#clearTagged(slot * ALL_FIELDS, -1);
    } else data.fill(0);
    this.#head = -Infinity;
    this.#headStart = Infinity;
    this.#headEnd = -Infinity;
  }

  #clearTagged(base: number, index: number): void {
    const data = this.#data;
    data[base + EPOCH] = index;
    data[base + COUNT] = 0;
    data[base + SUM] = 0;
    data[base + GOOD] = 0;
    data[base + BAD] = 0;
    data[base + MIN] = Infinity;
    data[base + MAX] = -Infinity;
  }

  #baseOf(index: number): number {
    const bucketCount = this.bucketCount;
    return (((index % bucketCount) + bucketCount) % bucketCount) * this.#fields;
  }

  /** Array offset of the bucket for `at`, claiming or clearing slots as needed, or -1 if too old (counted). */
  #slotFor(at: number | undefined): number {
    const now = this.#clock.now();
    const time = at === undefined || at > now ? now : at;
    if (time >= this.#headStart && now < this.#headEnd) return this.#headBase; // time <= now: both in the head bucket
    return this.#tagged ? this.#claimTagged(time, now) : this.#claimUntagged(time, now);
  }

  #claimTagged(time: number, now: number): number {
    const index = Math.floor(time / this.bucketMs);
    const nowIndex = Math.floor(now / this.bucketMs);
    if (index <= nowIndex - this.bucketCount) {
      this.#droppedLate++;
      return -1;
    }
    const base = this.#baseOf(index);
    const held = this.#data[base + EPOCH] as number;
    if (held !== index) {
      if (held > index) {
        this.#droppedLate++; // the slot already holds a newer bucket: this event is older than the window
        return -1;
      }
      this.#clearTagged(base, index);
    }
    if (index === nowIndex) this.#setHead(index, base);
    return base;
  }

  #claimUntagged(time: number, now: number): number {
    const nowIndex = Math.floor(now / this.bucketMs);
    const head = this.#head;
    if (nowIndex > head) {
      const data = this.#data;
      if (head === -Infinity || nowIndex - head >= this.bucketCount) data.fill(0);
      else {
        for (let index = head + 1; index <= nowIndex; index++) {
          const base = this.#baseOf(index);
          data[base + PAIR_GOOD] = 0;
          data[base + PAIR_BAD] = 0;
        }
      }
      this.#setHead(nowIndex, this.#baseOf(nowIndex));
    }
    const index = Math.floor(time / this.bucketMs);
    // A clock that went back leaves the head ahead of now: the ring still spans the window before the head.
    if (index <= this.#head - this.bucketCount) {
      this.#droppedLate++;
      return -1;
    }
    return index === this.#head ? this.#headBase : this.#baseOf(index);
  }

  #setHead(index: number, base: number): void {
    this.#head = index;
    this.#headStart = index * this.bucketMs;
    this.#headEnd = this.#headStart + this.bucketMs;
    this.#headBase = base;
  }

  #bucketsFor(spanMs: number): number {
    return Math.min(this.bucketCount, Math.max(1, Math.ceil(spanMs / this.bucketMs)));
  }

  #lastIndex(end: number | undefined, now: number): number {
    return Math.floor((end === undefined || end > now ? now : end) / this.bucketMs);
  }

  #startTotals(): void {
    this.#count = 0;
    this.#sum = 0;
    this.#good = 0;
    this.#bad = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
  }

  /** Adds the buckets with index in `[from, to]` that still hold data to the running totals. */
  #accumulate(from: number, to: number, now: number): void {
    const data = this.#data;
    const nowIndex = Math.floor(now / this.bucketMs);
    if (!this.#tagged) {
      // Buckets after the head were never written (their slots hold expired buckets); those before the newest of
      // head and now minus the window have expired.
      const low = Math.max(from, Math.max(this.#head, nowIndex) - this.bucketCount + 1);
      for (let index = Math.min(to, this.#head); index >= low; index--) {
        const base = this.#baseOf(index);
        this.#good += data[base + PAIR_GOOD]!;
        this.#bad += data[base + PAIR_BAD]!;
      }
      return;
    }
    const low = Math.max(from, nowIndex - this.bucketCount + 1);
    for (let index = to; index >= low; index--) {
      const base = this.#baseOf(index);
      // A slot may still hold a bucket older than the window (nothing overwrote it): skip it.
      if (data[base + EPOCH] !== index) continue;
      this.#count += data[base + COUNT]!;
      this.#sum += data[base + SUM]!;
      this.#good += data[base + GOOD]!;
      this.#bad += data[base + BAD]!;
      if (data[base + MIN]! < this.#min) this.#min = data[base + MIN]!;
      if (data[base + MAX]! > this.#max) this.#max = data[base + MAX]!;
    }
  }

  #snapshot(first: number, last: number): WindowSnapshot {
    const total = this.#tagged ? this.#count : this.#good + this.#bad;
    return {
      count: total,
      sum: this.#tagged ? this.#sum : total,
      good: this.#good,
      bad: this.#bad,
      min: this.#min === Infinity ? undefined : this.#min,
      max: this.#max === -Infinity ? undefined : this.#max,
      startMs: first * this.bucketMs,
      endMs: (last + 1) * this.bucketMs,
    };
  }
}
