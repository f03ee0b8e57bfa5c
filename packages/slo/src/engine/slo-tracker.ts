import { parseDuration, silentLogger, systemClock, type Clock, type Duration, type Logger, type TimerHandle } from '@ops/core';
import type { Registry } from 'prom-client';
import { STATUS_WINDOWS_MS, type AlertSeverity } from '../alerting/alert-tiers.js';
import { SloError } from '../errors.js';
import { registerSloMetrics } from '../metrics/slo-metrics.js';
import { defineSlo, type CounterReference, type ResolvedSlo, type SloSpec } from '../spec/slo-spec.js';
import { calendarPeriod } from '../windows/calendar-period.js';
import { COARSE_BUCKET_MS, SloSeries, coarseBucketsFor } from './slo-series.js';
import { computeStatus, type SloStatus } from './slo-status.js';

/** One event for {@link SloRecorder.record}. */
export interface SloEvent {
  /** Outcome. Required for availability SLIs; for latency SLIs `good: false` (an error) is bad whatever the latency. */
  good?: boolean;
  /** Duration of the operation, for latency SLIs: good when `latencyMs <= threshold`. */
  latencyMs?: number;
  /** Values of the SLO's `groupBy` labels (others are ignored). */
  labels?: Readonly<Record<string, string>>;
  /** When it happened (epoch ms). Default `clock.now()`. */
  atMs?: number;
}

/** Payload of `alert.firing` and `alert.resolved`. */
export interface SloAlertEvent {
  type: 'alert.firing' | 'alert.resolved';
  /** `<service>/<name>`. */
  slo: string;
  service: string;
  name: string;
  labels: Record<string, string>;
  tier: string;
  severity: AlertSeverity;
  /** Burn rate both windows had to exceed. */
  threshold: number;
  burnRates: { long: number; short: number; byWindow: Record<string, number> };
  budget: { remainingRatio: number; consumedRatio: number; remainingBadEvents: number };
  timeToExhaustionMs: number | null;
  atMs: number;
}

/** Events a tracker emits. */
export interface SloTrackerEvents {
  'alert.firing': SloAlertEvent;
  'alert.resolved': SloAlertEvent;
}

/** Options of {@link createSloTracker}. */
export interface SloTrackerOptions {
  /** SLOs to track: specs (validated with `defineSlo`) or already resolved ones (from `loadSloFile`). */
  slos: ReadonlyArray<SloSpec | ResolvedSlo>;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** Registers `ops_slo_*` metrics on this prom-client registry (values computed in `collect()`). */
  registry?: Registry;
  /** Where the counters of `ratio` SLIs are read. Default `registry`. */
  counterRegistry?: Registry;
  /** Evaluates alerts on a timer every this often (e.g. `'30s'`); without it call `evaluate()` yourself. */
  evaluateEvery?: Duration;
  logger?: Logger;
}

/** Fast recording handle for one SLO (no name lookup per event). */
export interface SloRecorder {
  readonly slo: ResolvedSlo;
  /** Records one event in O(1) with no allocation (for SLOs without `groupBy`). */
  record(event: SloEvent): void;
  /** Records `good` and `bad` events at once (e.g. from a batch). */
  add(counts: { good?: number; bad?: number; labels?: Readonly<Record<string, string>>; atMs?: number }): void;
}

/** Tracks SLOs in-process: records events, answers status, evaluates alert tiers and emits transitions. */
export interface SloTracker {
  /** Resolved SLOs, in the order given. */
  readonly slos: readonly ResolvedSlo[];
  /** The recorder of SLO `name` (`'checkout'` or `'service/checkout'`). */
  get(name: string): SloRecorder;
  /** Records one event for SLO `name`. */
  record(name: string, event: SloEvent): void;
  /** Status of SLO `name` as a whole, or of one label set. */
  status(name: string, options?: { labels?: Record<string, string> }): SloStatus;
  /** Status of every SLO, and of each label set when `perLabelSet` is true. */
  statuses(options?: { perLabelSet?: boolean }): SloStatus[];
  /** Label sets seen for SLO `name` (at most `maxLabelSets`, then `__other__`). */
  labelSets(name: string): Record<string, string>[];
  /** Reads counters of ratio SLIs, evaluates every tier of every label set, emits transitions. */
  evaluate(): Promise<void>;
  /** Subscribes to alert transitions; returns the unsubscribe function. */
  on<Name extends keyof SloTrackerEvents>(event: Name, listener: (payload: SloTrackerEvents[Name]) => void): () => void;
  /** Stops the evaluation timer. */
  close(): void;
}

/** Marker value of overflowed label sets. */
export const OVERFLOW_LABEL_VALUE = '__other__';

interface AlertState {
  since: Map<string, number>;
  firing: Set<string>;
}

class TrackedSlo implements SloRecorder {
  readonly slo: ResolvedSlo;
  readonly aggregate: SloSeries;
  readonly groups = new Map<string, SloSeries>();
  readonly alertStates = new Map<SloSeries, AlertState>();
  readonly coarseBuckets: number;
  readonly thresholdMs: number;
  readonly isLatency: boolean;
  readonly isRatio: boolean;
  readonly hasGroups: boolean;
  readonly clock: Clock;
  readonly lastCounterValues = new Map<string, number>();
  overflowWarned = false;
  readonly logger: Logger;

  constructor(slo: ResolvedSlo, clock: Clock, logger: Logger) {
    this.slo = slo;
    this.clock = clock;
    this.logger = logger;
    this.coarseBuckets = coarseBucketsFor(slo.window);
    this.aggregate = new SloSeries({}, this.coarseBuckets);
    this.isLatency = slo.sli.type === 'latency';
    this.isRatio = slo.sli.type === 'ratio';
    this.thresholdMs = slo.sli.type === 'latency' ? slo.sli.thresholdMs : 0;
    this.hasGroups = slo.groupBy.length > 0;
  }

  record(event: SloEvent): void {
    let good: boolean;
    if (this.isLatency) {
      const latencyMs = event.latencyMs;
      if (typeof latencyMs !== 'number' || !(latencyMs >= 0)) {
        if (event.good === false) good = false;
        else throw new SloError(`SLO ${this.slo.id}: latency SLI events need latencyMs (a number >= 0)`);
      } else good = event.good !== false && latencyMs <= this.thresholdMs;
    } else if (this.isRatio) {
      throw new SloError(`SLO ${this.slo.id}: ratio SLIs read their prom-client counters; record() is not used`);
    } else {
      if (typeof event.good !== 'boolean') throw new SloError(`SLO ${this.slo.id}: availability events need good: true | false`);
      good = event.good;
    }
    const atMs = event.atMs ?? this.clock.now();
    const goodCount = good ? 1 : 0;
    this.aggregate.add(atMs, goodCount, 1 - goodCount);
    if (this.hasGroups) this.groupFor(event.labels).add(atMs, goodCount, 1 - goodCount);
  }

  add(counts: { good?: number; bad?: number; labels?: Readonly<Record<string, string>>; atMs?: number }): void {
    const good = counts.good ?? 0;
    const bad = counts.bad ?? 0;
    if (!(good >= 0 && bad >= 0 && Number.isFinite(good) && Number.isFinite(bad))) {
      throw new SloError(`SLO ${this.slo.id}: add() needs finite good/bad counts >= 0`);
    }
    const atMs = counts.atMs ?? this.clock.now();
    this.aggregate.add(atMs, good, bad);
    if (this.hasGroups) this.groupFor(counts.labels).add(atMs, good, bad);
  }

  groupFor(labels: Readonly<Record<string, string>> | undefined): SloSeries {
    const keys = this.slo.groupBy;
    let key = '';
    for (let index = 0; index < keys.length; index++) key += `${labels?.[keys[index] as string] ?? ''}\u0000`;
    let series = this.groups.get(key);
    if (series) return series;
    if (this.groups.size >= this.slo.maxLabelSets) {
      const overflowKey = keys.map(() => `${OVERFLOW_LABEL_VALUE}\u0000`).join('');
      series = this.groups.get(overflowKey);
      if (!series) {
        series = new SloSeries(Object.fromEntries(keys.map((name) => [name, OVERFLOW_LABEL_VALUE])), this.coarseBuckets);
        this.groups.set(overflowKey, series);
      }
      if (!this.overflowWarned) {
        this.overflowWarned = true;
        this.logger.warn({ slo: this.slo.id, maxLabelSets: this.slo.maxLabelSets }, 'SLO label-set limit reached; further label sets are counted as __other__');
      }
      return series;
    }
    series = new SloSeries(Object.fromEntries(keys.map((name) => [name, labels?.[name] ?? ''])), this.coarseBuckets);
    this.groups.set(key, series);
    return series;
  }

  findSeries(labels: Record<string, string> | undefined): SloSeries {
    if (labels === undefined || Object.keys(labels).length === 0) return this.aggregate;
    const key = this.slo.groupBy.map((name) => `${labels[name] ?? ''}\u0000`).join('');
    const series = this.groups.get(key);
    if (series) return series;
    // A label set never seen: an empty series (not stored, so asking cannot grow memory).
    return new SloSeries(Object.fromEntries(this.slo.groupBy.map((name) => [name, labels[name] ?? ''])), 2, 1);
  }

  windowsMs(): number[] {
    const set = new Set<number>(STATUS_WINDOWS_MS);
    for (const tier of this.slo.tiers) {
      set.add(tier.longMs);
      set.add(tier.shortMs);
    }
    set.add(this.slo.exhaustionWindowMs);
    return [...set].filter((windowMs) => windowMs > 0 && windowMs <= 3 * 86_400_000).sort((a, b) => a - b);
  }

  periodAt(atMs: number): SloStatus['period'] {
    const window = this.slo.window;
    if (window.kind === 'calendar') {
      const span = calendarPeriod(atMs, window.unit, window.timeZone);
      return { kind: 'calendar', startMs: span.startMs, endMs: span.endMs, lengthMs: span.endMs - span.startMs };
    }
    const buckets = Math.ceil(window.lengthMs / COARSE_BUCKET_MS);
    const startMs = (Math.floor(atMs / COARSE_BUCKET_MS) - buckets + 1) * COARSE_BUCKET_MS;
    return { kind: 'rolling', startMs, endMs: atMs, lengthMs: window.lengthMs };
  }

  statusOf(series: SloSeries, atMs: number): SloStatus {
    const period = this.periodAt(atMs);
    const windowsMs = this.windowsMs();
    return computeStatus(this.slo, {
      atMs,
      period,
      periodCounts: series.periodCounts(period.startMs, atMs),
      windowsMs,
      windowCounts: series.recentCounts(atMs, windowsMs),
      labels: { ...series.labels },
      droppedLateEvents: series.droppedLate,
      activeSince: this.alertStates.get(series)?.since ?? new Map(),
    });
  }

  allSeries(): SloSeries[] {
    return [this.aggregate, ...this.groups.values()];
  }
}

type Listener = (payload: SloAlertEvent) => void;

/**
 * Creates an in-process SLO tracker. Each SLO keeps fixed-size minute and quarter-hour rings per label set (about
 * 115 KiB for a 30-day window), so `record()` is O(1) and memory is bounded by `maxLabelSets`.
 *
 * @example
 * ```ts
 * const tracker = createSloTracker({
 *   slos: [{ service: 'shop', name: 'checkout', objective: 0.999, sli: { type: 'availability' } }],
 * });
 * tracker.record('checkout', { good: true });
 * tracker.status('checkout').budget.remainingRatio; // 1
 * ```
 */
export function createSloTracker(options: SloTrackerOptions): SloTracker {
  const { clock = systemClock, registry, counterRegistry = registry, evaluateEvery, logger = silentLogger } = options;
  const tracked = options.slos.map((spec) => new TrackedSlo('errorBudget' in spec ? spec : defineSlo(spec), clock, logger));
  const byName = new Map<string, TrackedSlo>();
  for (const entry of tracked) {
    byName.set(entry.slo.id, entry);
    if (byName.has(entry.slo.name) && byName.get(entry.slo.name) !== entry) byName.set(entry.slo.name, undefined as unknown as TrackedSlo);
    else byName.set(entry.slo.name, entry);
    for (const warning of entry.slo.warnings) logger.warn({ slo: entry.slo.id }, warning);
  }
  const listeners = new Map<string, Set<Listener>>();
  const ratioWithoutRegistry = tracked.find((entry) => entry.isRatio && !counterRegistry);
  if (ratioWithoutRegistry) {
    throw new SloError(`SLO ${ratioWithoutRegistry.slo.id}: a ratio SLI reads prom-client counters; pass counterRegistry (or registry) to createSloTracker`);
  }

  const lookup = (name: string): TrackedSlo => {
    const entry = byName.get(name);
    if (!entry) {
      const known = tracked.map((item) => item.slo.id).join(', ');
      throw new SloError(byName.has(name) ? `SLO name ${JSON.stringify(name)} is ambiguous; use <service>/<name> (${known})` : `unknown SLO ${JSON.stringify(name)}; known: ${known}`);
    }
    return entry;
  };

  const emit = (payload: SloAlertEvent) => {
    for (const listener of listeners.get(payload.type) ?? []) {
      try {
        listener(payload);
      } catch (error) {
        logger.error({ err: error, slo: payload.slo, tier: payload.tier }, 'SLO alert listener threw');
      }
    }
  };

  const sampleCounters = async (entry: TrackedSlo, atMs: number) => {
    const sli = entry.slo.sli;
    if (sli.type !== 'ratio' || !counterRegistry) return;
    const read = async (reference: CounterReference): Promise<number | undefined> => {
      const metric = counterRegistry.getSingleMetric(reference.metric);
      if (!metric) return undefined;
      const data = await metric.get();
      let sum = 0;
      for (const value of data.values) {
        const labels = value.labels as Record<string, string | number>;
        if (Object.entries(reference.matchers ?? {}).every(([name, expected]) => String(labels[name]) === expected)) sum += value.value;
      }
      return sum;
    };
    const delta = (key: string, value: number | undefined) => {
      if (value === undefined) return 0;
      const last = entry.lastCounterValues.get(key);
      entry.lastCounterValues.set(key, value);
      if (last === undefined) return value;
      return value >= last ? value - last : value; // a counter reset restarts from zero
    };
    const total = delta('total', await read(sli.total));
    if (sli.good) {
      const good = Math.min(delta('good', await read(sli.good)), total);
      entry.add({ good, bad: total - good, atMs });
    } else if (sli.bad) {
      const bad = Math.min(delta('bad', await read(sli.bad)), total);
      entry.add({ good: total - bad, bad, atMs });
    }
  };

  const tracker: SloTracker = {
    slos: tracked.map((entry) => entry.slo),
    get: lookup,
    record(name, event) {
      lookup(name).record(event);
    },
    status(name, statusOptions = {}) {
      const entry = lookup(name);
      return entry.statusOf(entry.findSeries(statusOptions.labels), clock.now());
    },
    statuses(statusOptions = {}) {
      const atMs = clock.now();
      return tracked.flatMap((entry) => (statusOptions.perLabelSet ? entry.allSeries() : [entry.aggregate]).map((series) => entry.statusOf(series, atMs)));
    },
    labelSets(name) {
      return [...lookup(name).groups.values()].map((series) => ({ ...series.labels }));
    },
    async evaluate() {
      const atMs = clock.now();
      for (const entry of tracked) {
        await sampleCounters(entry, atMs);
        for (const series of entry.allSeries()) {
          let state = entry.alertStates.get(series);
          if (!state) {
            state = { since: new Map(), firing: new Set() };
            entry.alertStates.set(series, state);
          }
          // Update "active since" first so `for` is measured from the first evaluation that saw the condition.
          const preliminary = entry.statusOf(series, atMs);
          for (const tier of preliminary.tiers) {
            if (tier.active) {
              if (!state.since.has(tier.name)) state.since.set(tier.name, atMs);
            } else state.since.delete(tier.name);
          }
          const status = entry.statusOf(series, atMs);
          for (const tier of status.tiers) {
            const wasFiring = state.firing.has(tier.name);
            if (tier.firing === wasFiring) continue;
            if (tier.firing) state.firing.add(tier.name);
            else state.firing.delete(tier.name);
            emit({
              type: tier.firing ? 'alert.firing' : 'alert.resolved',
              slo: entry.slo.id,
              service: entry.slo.service,
              name: entry.slo.name,
              labels: { ...series.labels },
              tier: tier.name,
              severity: tier.severity,
              threshold: tier.threshold,
              burnRates: { long: tier.longBurnRate, short: tier.shortBurnRate, byWindow: status.burnRates },
              budget: { remainingRatio: status.budget.remainingRatio, consumedRatio: status.budget.consumedRatio, remainingBadEvents: status.budget.remainingBadEvents },
              timeToExhaustionMs: status.timeToExhaustionMs,
              atMs,
            });
          }
        }
      }
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) {
        set = new Set();
        listeners.set(event, set);
      }
      set.add(listener as Listener);
      return () => set.delete(listener as Listener);
    },
    close() {
      timer?.cancel();
    },
  };

  let timer: TimerHandle | undefined;
  if (evaluateEvery !== undefined) {
    const intervalMs = parseDuration(evaluateEvery, 'evaluateEvery');
    let running = false;
    timer = clock
      .setInterval(() => {
        // A slow evaluation (counter reads) is not overlapped by the next tick; that tick is skipped.
        if (running) return;
        running = true;
        tracker
          .evaluate()
          .catch((error: unknown) => logger.error({ err: error }, 'SLO evaluation failed'))
          .finally(() => {
            running = false;
          });
      }, intervalMs)
      .unref();
  }
  if (registry) registerSloMetrics({ registry, tracker, series: () => tracked.map((entry) => ({ slo: entry.slo, series: entry.hasGroups ? [...entry.groups.values()] : [entry.aggregate], status: (series: SloSeries) => entry.statusOf(series, clock.now()) })) });
  return tracker;
}
