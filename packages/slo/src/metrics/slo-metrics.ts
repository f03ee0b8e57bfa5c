import { Counter, Gauge, type Registry } from 'prom-client';
import type { SloSeries } from '../engine/slo-series.js';
import type { SloStatus } from '../engine/slo-status.js';
import type { ResolvedSlo } from '../spec/slo-spec.js';

/** What {@link registerSloMetrics} reads on every scrape. */
export interface SloMetricsSource {
  registry: Registry;
  tracker: unknown;
  series(): Array<{ slo: ResolvedSlo; series: SloSeries[]; status(series: SloSeries): SloStatus }>;
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

/**
 * Registers the `ops_slo_*` metrics. Values are computed from the in-process state in prom-client's `collect()`,
 * so recording never touches prom-client and a scrape always sees the current numbers. Counters carry one series
 * per label set (summing them gives the SLO total); gauges are skipped where they would be undefined (no events).
 */
export function registerSloMetrics(source: SloMetricsSource): void {
  const { registry } = source;
  const groupLabels = new Set<string>();
  for (const entry of source.series()) for (const name of entry.slo.groupBy) groupLabels.add(name);
  const base = ['service', 'slo'];
  const withGroups = [...base, ...groupLabels];
  const labelsOf = (slo: ResolvedSlo, series: SloSeries) => ({ service: slo.service, slo: slo.name, ...series.labels });

  new Counter({
    name: SLO_METRIC_NAMES.events,
    help: 'Events recorded for the SLO (good and bad), per label set.',
    labelNames: withGroups,
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of source.series()) for (const series of entry.series) this.inc(labelsOf(entry.slo, series), series.goodTotal + series.badTotal);
    },
  });
  new Counter({
    name: SLO_METRIC_NAMES.goodEvents,
    help: 'Good events recorded for the SLO, per label set.',
    labelNames: withGroups,
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of source.series()) for (const series of entry.series) this.inc(labelsOf(entry.slo, series), series.goodTotal);
    },
  });
  new Gauge({
    name: SLO_METRIC_NAMES.objective,
    help: 'SLO objective as a ratio (0.999).',
    labelNames: base,
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of source.series()) this.set({ service: entry.slo.service, slo: entry.slo.name }, entry.slo.objective);
    },
  });
  const statusGauge = (name: string, help: string, extra: string[], fill: (gauge: Gauge, labels: Record<string, string>, status: SloStatus) => void) =>
    new Gauge({
      name,
      help,
      labelNames: [...withGroups, ...extra],
      registers: [registry],
      collect() {
        this.reset();
        for (const entry of source.series()) {
          for (const series of entry.series) fill(this, labelsOf(entry.slo, series), entry.status(series));
        }
      },
    });
  statusGauge(SLO_METRIC_NAMES.sli, 'SLI over the SLO period (good/total); absent before the first event.', [], (gauge, labels, status) => {
    if (status.sli !== null) gauge.set(labels, status.sli);
  });
  statusGauge(SLO_METRIC_NAMES.budgetRemaining, 'Error budget remaining over the SLO period (1 = untouched, negative = overspent).', [], (gauge, labels, status) => {
    gauge.set(labels, status.budget.remainingRatio);
  });
  statusGauge(SLO_METRIC_NAMES.burnRate, 'Error-budget burn rate per trailing window (1 = spending exactly the budget).', ['slo_window'], (gauge, labels, status) => {
    for (const window of status.windows) gauge.set({ ...labels, slo_window: window.window }, window.burnRate);
  });
  statusGauge(SLO_METRIC_NAMES.alertFiring, 'Whether a burn-rate alert tier fires (1) or not (0).', ['slo_tier', 'severity'], (gauge, labels, status) => {
    for (const tier of status.tiers) gauge.set({ ...labels, slo_tier: tier.name, severity: tier.severity }, tier.firing ? 1 : 0);
  });
}
