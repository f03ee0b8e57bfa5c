import type { RegistryLike } from '@ops/core';
import type { SloSeries } from '../engine/slo-series.js';
import type { SloStatus } from '../engine/slo-status.js';
import type { SloTracker } from '../engine/slo-tracker.js';
import { seriesSourceOf, type SloSeriesSource } from '../engine/tracker-internals.js';
import { SloError } from '../errors.js';
import type { ResolvedSlo } from '../spec/slo-spec.js';

/**
 * What {@link registerSloMetrics} reads on every scrape.
 *
 * @deprecated Use {@link createSloMetrics} with the tracker: `createSloMetrics({ tracker, registry })`.
 */
export interface SloMetricsSource {
  registry: RegistryLike;
  tracker: unknown;
  series(): Array<{ slo: ResolvedSlo; series: SloSeries[]; status(series: SloSeries): SloStatus }>;
}

/** Options of {@link createSloMetrics}. */
export interface SloMetricsOptions {
  /** The tracker whose state is exported (one made by `createSloTracker`). */
  tracker: SloTracker;
  /** prom-client `Registry` the `ops_slo_*` metrics are registered on (typed structurally: prom-client stays optional). */
  registry: RegistryLike;
}

/** Handle of the metrics registered by {@link createSloMetrics}. */
export interface SloMetrics {
  /** Names of the registered metrics (the values of {@link SLO_METRIC_NAMES}). */
  readonly names: readonly string[];
  /** Unregisters the metrics from the registry. Idempotent. */
  remove(): void;
}

/** Names of the metrics an SLO tracker registers. */
export const SLO_METRIC_NAMES = {
  events: 'ops_slo_events_total',
  goodEvents: 'ops_slo_good_events_total',
  objective: 'ops_slo_objective_ratio',
  sli: 'ops_slo_sli_ratio',
  budgetRemaining: 'ops_slo_error_budget_remaining_ratio',
  burnRate: 'ops_slo_burn_rate',
  alertFiring: 'ops_slo_alert_firing',
} as const;

type MetricType = 'counter' | 'gauge';
interface MetricValue {
  value: number;
  labels: Record<string, string>;
}

/**
 * A metric in the shape prom-client's `Registry` reads (`name`, `help`, `type`, `get()`, `reset()`): built here so
 * `@ops/slo` needs no runtime import of prom-client — the registry the user passes does the formatting.
 */
function collectedMetric(name: string, help: string, type: MetricType, collect: () => MetricValue[]) {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    // `metric.name`, not `name`: for OpenMetrics the registry renames counters (drops `_total`) before collecting.
    get: async () => ({ name: metric.name, help, type, aggregator: 'sum' as const, values: collect() }),
    reset: () => undefined,
  };
  return metric;
}

/**
 * Registers the `ops_slo_*` metrics of a tracker on a prom-client registry and returns a handle to remove them.
 * Values are computed from the in-process state when the registry collects (`registry.metrics()`), so recording
 * never touches prom-client and a scrape always sees the current numbers. Counters carry one series per label set
 * (summing them gives the SLO total); gauges are skipped where they would be undefined (no events). prom-client is
 * only needed as the registry the caller passes.
 *
 * `createSloTracker({ registry })` calls it for you; call it yourself to export to another registry, or to add the
 * metrics later.
 *
 * @example
 * ```ts
 * const tracker = createSloTracker({ slos });
 * const metrics = createSloMetrics({ tracker, registry });
 * // on shutdown, or when the tracker is replaced
 * metrics.remove();
 * ```
 */
export function createSloMetrics(options: SloMetricsOptions): SloMetrics {
  const { tracker, registry } = options;
  const source = seriesSourceOf(tracker);
  if (!source) throw new SloError('ARGUMENT_INVALID', 'createSloMetrics: tracker must be made by createSloTracker');
  return registerOn(registry, source);
}

/**
 * Registers the `ops_slo_*` metrics from a source of SLO series.
 *
 * @deprecated Use {@link createSloMetrics}: `createSloMetrics({ tracker, registry })` returns a handle with
 * `remove()`. This wrapper registers the same metrics and drops the handle.
 */
export function registerSloMetrics(source: SloMetricsSource): void {
  registerOn(source.registry, () => source.series());
}

function registerOn(registry: RegistryLike, source: () => SloSeriesSource[]): SloMetrics {
  const labelsOf = (slo: ResolvedSlo, series: SloSeries) => ({ service: slo.service, slo: slo.name, ...series.labels });
  const perSeries =
    (fill: (out: MetricValue[], labels: Record<string, string>, series: SloSeries, status: () => SloStatus) => void) =>
    () => {
      const out: MetricValue[] = [];
      for (const entry of source()) {
        for (const series of entry.series) fill(out, labelsOf(entry.slo, series), series, () => entry.status(series));
      }
      return out;
    };
  const metrics = [
    collectedMetric(
      SLO_METRIC_NAMES.events,
      'Events recorded for the SLO (good and bad), per label set.',
      'counter',
      perSeries((out, labels, series) => {
        out.push({ labels, value: series.goodTotal + series.badTotal });
      }),
    ),
    collectedMetric(
      SLO_METRIC_NAMES.goodEvents,
      'Good events recorded for the SLO, per label set.',
      'counter',
      perSeries((out, labels, series) => {
        out.push({ labels, value: series.goodTotal });
      }),
    ),
    collectedMetric(SLO_METRIC_NAMES.objective, 'SLO objective as a ratio (0.999).', 'gauge', () =>
      source().map((entry) => ({
        labels: { service: entry.slo.service, slo: entry.slo.name },
        value: entry.slo.objective,
      })),
    ),
    collectedMetric(
      SLO_METRIC_NAMES.sli,
      'SLI over the SLO period (good/total); absent before the first event.',
      'gauge',
      perSeries((out, labels, _series, status) => {
        const sli = status().sli;
        if (sli !== null) out.push({ labels, value: sli });
      }),
    ),
    collectedMetric(
      SLO_METRIC_NAMES.budgetRemaining,
      'Error budget remaining over the SLO period (1 = untouched, negative = overspent).',
      'gauge',
      perSeries((out, labels, _series, status) => {
        out.push({ labels, value: status().budget.remainingRatio });
      }),
    ),
    collectedMetric(
      SLO_METRIC_NAMES.burnRate,
      'Error-budget burn rate per trailing window (1 = spending exactly the budget).',
      'gauge',
      perSeries((out, labels, _series, status) => {
        for (const window of status().windows)
          out.push({ labels: { ...labels, slo_window: window.window }, value: window.burnRate });
      }),
    ),
    collectedMetric(
      SLO_METRIC_NAMES.alertFiring,
      'Whether a burn-rate alert tier fires (1) or not (0).',
      'gauge',
      perSeries((out, labels, _series, status) => {
        for (const tier of status().tiers)
          out.push({ labels: { ...labels, slo_tier: tier.name, severity: tier.severity }, value: tier.firing ? 1 : 0 });
      }),
    ),
  ];
  // The names they are registered under (an OpenMetrics registry renames counters when it collects).
  const names = metrics.map((metric) => metric.name);
  for (const metric of metrics) registry.registerMetric(metric);
  let removed = false;
  return {
    names,
    remove() {
      if (removed) return;
      removed = true;
      // Only our own metrics: another one registered under the same name since is left alone.
      metrics.forEach((metric, index) => {
        const name = names[index] as string;
        if ((registry.getSingleMetric(name) as unknown) === metric) registry.removeSingleMetric(name);
      });
    },
  };
}
