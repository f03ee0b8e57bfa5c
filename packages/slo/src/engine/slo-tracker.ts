import {
  createEmitter,
  createPeriodicTask,
  createSustainedCondition,
  parseDuration,
  silentLogger,
  systemClock,
  type Clock,
  type Duration,
  type EventListener,
  type EventSource,
  type Logger,
  type RegistryLike,
  type SustainedCondition,
} from '@ops/core';
import { STATUS_WINDOWS_MS, type AlertSeverity } from '../alerting/alert-tiers.js';
import { SloError } from '../errors.js';
import { createSloMetrics } from '../metrics/slo-metrics.js';
import { compileMatchers } from '../spec/label-matchers.js';
import {
  defineSlo,
  type CounterReference,
  type ResolvedAlertMeta,
  type ResolvedSlo,
  type SloSpec,
} from '../spec/slo-spec.js';
import { calendarPeriod } from '../windows/calendar-period.js';
import { COARSE_BUCKET_MS, SloSeries, coarseBucketsFor } from './slo-series.js';
import { computeStatus, type SloStatus } from './slo-status.js';
import { attachSeriesSource } from './tracker-internals.js';

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
  /** The SLO's alert name, labels and annotations of this severity (`alerting`, merged with `page` / `ticket`). */
  alert: ResolvedAlertMeta;
  /** When the transition happened: the time of the evaluation that saw it (epoch ms, the tracker's clock). */
  at: number;
  /** @deprecated Use `at` (the same value). */
  atMs: number;
}

/** Events a tracker emits. Every payload carries `at` (epoch ms). */
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
  /**
   * Registers `ops_slo_*` metrics on this prom-client `Registry` (values computed in `collect()`; typed structurally,
   * so prom-client stays an optional peer).
   */
  registry?: RegistryLike;
  /** Where the counters of `ratio` SLIs are read (a prom-client `Registry`). Default `registry`. */
  counterRegistry?: RegistryLike;
  /**
   * Evaluates alerts every this often (e.g. `'30s'`) on the clock, never overlapping (a tick that comes while an
   * evaluation still runs is skipped); without it call `evaluate()` yourself.
   */
  evaluateEvery?: Duration;
  /** Where warnings (infeasible tiers, label-set overflow), failed evaluations and throwing listeners go. Default silent. */
  logger?: Logger;
}

/** Events of one step of an SLO's history. */
export interface SloHistoryStep {
  startMs: number;
  endMs: number;
  good: number;
  bad: number;
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
export interface SloTracker extends EventSource<SloTrackerEvents> {
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
  /**
   * Good and bad events per step over the current period (from its start until now), for burn-down and error-ratio
   * charts: `steps` points (default 48), each a whole number of quarter hours.
   */
  history(name: string, options?: { labels?: Record<string, string>; steps?: number }): SloHistoryStep[];
  /** Label sets seen for SLO `name` (at most `maxLabelSets`, then `__other__`). */
  labelSets(name: string): Record<string, string>[];
  /**
   * Reads counters of ratio SLIs, feeds every tier of every label set (each a sustained condition with the tier's
   * `for`) with whether its burn rates are above the threshold now, and emits the tiers that started or stopped
   * firing.
   */
  evaluate(): Promise<void>;
  /**
   * Subscribes to alert transitions; returns the unsubscribe (safe to call twice). Listeners run synchronously in
   * subscription order; one that throws (or returns a promise that rejects) is logged and never breaks the tracker.
   */
  on<Name extends keyof SloTrackerEvents & string>(
    event: Name,
    listener: EventListener<SloTrackerEvents[Name]>,
  ): () => void;
  /**
   * Stops the evaluation loop (`evaluateEvery`) and resolves when an evaluation in progress has ended. Recording,
   * `status()` and `evaluate()` keep working.
   */
  close(): Promise<void>;
}

/** Marker value of overflowed label sets. */
export const OVERFLOW_LABEL_VALUE = '__other__';

class TrackedSlo implements SloRecorder {
  readonly slo: ResolvedSlo;
  readonly aggregate: SloSeries;
  readonly groups = new Map<string, SloSeries>();
  /** One sustained condition per alert tier (by name), per label set that has been evaluated. */
  readonly conditions = new Map<SloSeries, Map<string, SustainedCondition>>();
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
        else {
          // No latency at all is an event of another SLI type; a negative or NaN one is a bad value.
          throw new SloError(
            typeof latencyMs === 'number' ? 'ARGUMENT_INVALID' : 'SLI_MISMATCH',
            `SLO ${this.slo.id}: latency SLI events need latencyMs (a number >= 0)`,
          );
        }
      } else good = event.good !== false && latencyMs <= this.thresholdMs;
    } else if (this.isRatio) {
      throw new SloError(
        'SLI_MISMATCH',
        `SLO ${this.slo.id}: ratio SLIs read their prom-client counters; record() is not used`,
      );
    } else {
      if (typeof event.good !== 'boolean')
        throw new SloError('SLI_MISMATCH', `SLO ${this.slo.id}: availability events need good: true | false`);
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
      throw new SloError('ARGUMENT_INVALID', `SLO ${this.slo.id}: add() needs finite good/bad counts >= 0`);
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
        series = new SloSeries(
          Object.fromEntries(keys.map((name) => [name, OVERFLOW_LABEL_VALUE])),
          this.coarseBuckets,
        );
        this.groups.set(overflowKey, series);
      }
      if (!this.overflowWarned) {
        this.overflowWarned = true;
        this.logger.warn(
          { slo: this.slo.id, maxLabelSets: this.slo.maxLabelSets },
          'SLO label-set limit reached; further label sets are counted as __other__',
        );
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
      activeSince: this.activeSince(series),
      firingTiers: this.firingTiers(series),
    });
  }

  /** When each tier's condition became true, by tier name (tiers whose condition holds now). */
  activeSince(series: SloSeries): Map<string, number> {
    const since = new Map<string, number>();
    for (const [tier, condition] of this.conditions.get(series) ?? []) {
      if (condition.activeSince !== undefined) since.set(tier, condition.activeSince);
    }
    return since;
  }

  /** Tiers whose condition fires (also while `keepFiringFor` holds it after it cleared). */
  firingTiers(series: SloSeries): Set<string> {
    const firing = new Set<string>();
    for (const [tier, condition] of this.conditions.get(series) ?? [])
      if (condition.state === 'firing') firing.add(tier);
    return firing;
  }

  /** The tiers' conditions of `series`, created at its first evaluation. */
  conditionsOf(series: SloSeries, clock: Clock): Map<string, SustainedCondition> {
    let conditions = this.conditions.get(series);
    if (!conditions) {
      conditions = new Map(
        this.slo.tiers.map((tier) => [
          tier.name,
          createSustainedCondition({
            for: tier.forMs,
            keepFiringFor: tier.keepFiringForMs ?? 0,
            clock,
            logger: this.logger,
            name: `${this.slo.id} ${tier.name}`,
          }),
        ]),
      );
      this.conditions.set(series, conditions);
    }
    return conditions;
  }

  allSeries(): SloSeries[] {
    return [this.aggregate, ...this.groups.values()];
  }
}

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
  const evaluateEveryMs = evaluateEvery === undefined ? undefined : parseDuration(evaluateEvery, 'evaluateEvery');
  const tracked = options.slos.map(
    (spec) => new TrackedSlo('errorBudget' in spec ? spec : defineSlo(spec), clock, logger),
  );
  const byName = new Map<string, TrackedSlo>();
  for (const entry of tracked) {
    byName.set(entry.slo.id, entry);
    if (byName.has(entry.slo.name) && byName.get(entry.slo.name) !== entry)
      byName.set(entry.slo.name, undefined as unknown as TrackedSlo);
    else byName.set(entry.slo.name, entry);
    for (const warning of entry.slo.warnings) logger.warn({ slo: entry.slo.id }, warning);
  }
  const prometheusOnly = tracked.find((entry) => entry.slo.sli.type === 'events' || entry.slo.sli.type === 'raw');
  if (prometheusOnly) {
    throw new SloError(
      'SLO_INVALID',
      `SLO ${prometheusOnly.slo.id}: an ${prometheusOnly.slo.sli.type} SLI is a PromQL query that only Prometheus evaluates; use its rules, fetchSloStatus or createSloOverview with a Prometheus client`,
    );
  }
  const ratioWithoutRegistry = tracked.find((entry) => entry.isRatio && !counterRegistry);
  if (ratioWithoutRegistry) {
    throw new SloError(
      'SLO_INVALID',
      `SLO ${ratioWithoutRegistry.slo.id}: a ratio SLI reads prom-client counters; pass counterRegistry (or registry) to createSloTracker`,
    );
  }
  const events = createEmitter<SloTrackerEvents>({ logger, source: 'slo' });
  // The conditions read "now" from here: the time the evaluation started, as the status they are fed from (an
  // evaluation awaits counter reads, and the real clock moves meanwhile).
  let evaluationAtMs = clock.now();
  const evaluationClock: Clock = {
    now: () => evaluationAtMs,
    monotonic: () => clock.monotonic(),
    setTimeout: (callback, delayMs) => clock.setTimeout(callback, delayMs),
    setInterval: (callback, intervalMs) => clock.setInterval(callback, intervalMs),
    sleep: (delayMs, signal) => clock.sleep(delayMs, signal),
  };

  const lookup = (name: string): TrackedSlo => {
    const entry = byName.get(name);
    if (!entry) {
      const known = tracked.map((item) => item.slo.id).join(', ');
      if (byName.has(name))
        throw new SloError(
          'SLO_AMBIGUOUS',
          `SLO name ${JSON.stringify(name)} is ambiguous; use <service>/<name> (${known})`,
        );
      throw new SloError('SLO_NOT_FOUND', `unknown SLO ${JSON.stringify(name)}; known: ${known}`);
    }
    return entry;
  };

  const sampleCounters = async (entry: TrackedSlo, atMs: number) => {
    const sli = entry.slo.sli;
    if (sli.type !== 'ratio' || !counterRegistry) return;
    const read = async (reference: CounterReference): Promise<number | undefined> => {
      const metric = counterRegistry.getSingleMetric(reference.metric);
      if (!metric) return undefined;
      const matches = compileMatchers(reference.matchers);
      const data = await metric.get();
      let sum = 0;
      for (const value of data.values) {
        const labels = value.labels as Record<string, string | number>;
        if (matches(labels)) sum += value.value;
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

  /** Feeds each tier's condition of one label set and emits the tiers that started or stopped firing. */
  const evaluateSeries = (entry: TrackedSlo, series: SloSeries, atMs: number) => {
    const conditions = entry.conditionsOf(series, evaluationClock);
    const preliminary = entry.statusOf(series, atMs);
    const changed = new Map<string, 'alert.firing' | 'alert.resolved'>();
    for (const tier of preliminary.tiers) {
      evaluationAtMs = atMs;
      const transition = conditions.get(tier.name)?.update(tier.active);
      if (transition?.to === 'firing') changed.set(tier.name, 'alert.firing');
      else if (transition?.to === 'resolved') changed.set(tier.name, 'alert.resolved');
    }
    if (changed.size === 0) return;
    // Recomputed now that the conditions moved: `firing` in the payload's status agrees with the transition.
    const status = entry.statusOf(series, atMs);
    for (const tier of status.tiers) {
      const type = changed.get(tier.name);
      if (type === undefined || !events.has(type)) continue;
      events.emit(type, {
        type,
        slo: entry.slo.id,
        service: entry.slo.service,
        name: entry.slo.name,
        labels: { ...series.labels },
        tier: tier.name,
        severity: tier.severity,
        threshold: tier.threshold,
        burnRates: { long: tier.longBurnRate, short: tier.shortBurnRate, byWindow: status.burnRates },
        budget: {
          remainingRatio: status.budget.remainingRatio,
          consumedRatio: status.budget.consumedRatio,
          remainingBadEvents: status.budget.remainingBadEvents,
        },
        timeToExhaustionMs: status.timeToExhaustionMs,
        alert: entry.slo.alerts[tier.severity],
        at: atMs,
        atMs,
      });
    }
  };

  const evaluateAll = async (signal?: AbortSignal) => {
    const atMs = clock.now();
    for (const entry of tracked) {
      // Stopped (close()) between two SLOs: the rest waits for the next evaluation.
      if (signal?.aborted) return;
      await sampleCounters(entry, atMs);
      for (const series of entry.allSeries()) evaluateSeries(entry, series, atMs);
    }
  };

  const loop =
    evaluateEveryMs === undefined
      ? undefined
      : createPeriodicTask({
          name: 'slo-evaluation',
          every: evaluateEveryMs,
          clock,
          logger,
          run: (signal) => evaluateAll(signal),
        });

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
      return tracked.flatMap((entry) =>
        (statusOptions.perLabelSet ? entry.allSeries() : [entry.aggregate]).map((series) =>
          entry.statusOf(series, atMs),
        ),
      );
    },
    history(name, historyOptions = {}) {
      const entry = lookup(name);
      const atMs = clock.now();
      const period = entry.periodAt(atMs);
      const stepCount = Math.max(1, Math.min(500, historyOptions.steps ?? 48));
      const stepMs = Math.max(1, Math.ceil((atMs - period.startMs) / stepCount / COARSE_BUCKET_MS)) * COARSE_BUCKET_MS;
      return entry.findSeries(historyOptions.labels).stepCounts(period.startMs, atMs + 1, stepMs);
    },
    labelSets(name) {
      return [...lookup(name).groups.values()].map((series) => ({ ...series.labels }));
    },
    evaluate: () => evaluateAll(),
    on: events.on,
    close: async () => {
      await loop?.stop();
    },
  };

  attachSeriesSource(tracker, () =>
    tracked.map((entry) => ({
      slo: entry.slo,
      series: entry.hasGroups ? [...entry.groups.values()] : [entry.aggregate],
      status: (series: SloSeries) => entry.statusOf(series, clock.now()),
    })),
  );
  loop?.start();
  if (registry) createSloMetrics({ registry, tracker });
  return tracker;
}
