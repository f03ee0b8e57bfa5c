import { formatDuration } from '@ops/core';
import { stringify } from 'yaml';
import { BURN_RATE_THRESHOLD_EPSILON, STATUS_WINDOWS_MS, burnRateThreshold } from '../alerting/alert-tiers.js';
import { SLO_METRIC_NAMES } from '../metrics/slo-metrics.js';
import { SloError } from '../errors.js';
import { renderSelector, type LabelMatchers } from '../spec/label-matchers.js';
import { renderWindowQuery, type CounterReference, type ResolvedSlo } from '../spec/slo-spec.js';

/** A Prometheus recording rule. */
export interface RecordingRule {
  record: string;
  expr: string;
  labels: Record<string, string>;
}

/** A Prometheus alerting rule. */
export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A rule group of a Prometheus rule file. */
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<RecordingRule | AlertingRule>;
}

/** A Prometheus rule file (`groups:`). */
export interface RuleFile {
  groups: RuleGroup[];
}

/** Options of {@link generatePrometheusRules}. */
export interface PrometheusRulesOptions {
  /** Evaluation interval of the groups, e.g. `'30s'`. Default: the server's global interval. */
  interval?: string;
  /**
   * Keep each SLO's `groupBy` labels (e.g. `route`) in the recorded series, so error ratios, budgets and alerts are
   * per label set (one alert per route) instead of for the SLO as a whole. Default `false`.
   */
  perLabelSet?: boolean;
  /** Name of the alert every tier raises (tiers are told apart by `slo_tier`). Default `'SloErrorBudgetBurn'`. */
  alertName?: string;
}

/** Names of the recorded series. The window is a label (`slo_window`), never part of a name. */
export const RECORDED_SERIES = {
  badRate: 'ops_slo:bad_events:rate',
  totalRate: 'ops_slo:total_events:rate',
  errorRatio: 'ops_slo:error_ratio',
  objective: 'ops_slo:objective:ratio',
  errorBudget: 'ops_slo:error_budget:ratio',
  periodSeconds: 'ops_slo:period:seconds',
  budgetRemaining: 'ops_slo:error_budget_remaining:ratio',
  currentBurnRate: 'ops_slo:current_burn_rate:ratio',
  periodBurnRate: 'ops_slo:period_burn_rate:ratio',
  info: 'ops_slo_info',
} as const;

/** Prints a number for PromQL with at most 12 significant digits (`1 - 0.999` → `0.001`). */
function number(value: number): string {
  return String(Number(value.toPrecision(12)));
}

/** A duration in the largest single Prometheus unit that divides it (`30d`, `6h`, `5m`), or mixed units. */
export function promDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return formatDuration(ms);
}

function selector(metric: string, matchers: LabelMatchers): string {
  return renderSelector(metric, matchers);
}

function rate(reference: CounterReference, window: string, by: readonly string[]): string {
  const grouping = by.length > 0 ? ` by (${by.join(', ')})` : '';
  return `sum${grouping}(rate(${selector(reference.metric, reference.matchers ?? {})}[${window}]))`;
}

/**
 * The PromQL of bad and total event rates of an SLO over `window`. `events` SLIs give their own queries with
 * `{{.window}}` filled in (`by` does not apply: the queries carry their own grouping); a `raw` SLI has no events and
 * throws (use {@link rawErrorRatioExpression}).
 */
export function sliExpressions(
  slo: ResolvedSlo,
  window: string,
  by: readonly string[] = [],
): { bad: string; total: string } {
  const sli = slo.sli;
  if (sli.type === 'events')
    return {
      bad: `(${renderWindowQuery(sli.errorQuery, window).trim()})`,
      total: `(${renderWindowQuery(sli.totalQuery, window).trim()})`,
    };
  if (sli.type === 'raw')
    throw new SloError('SLO_INVALID', `SLO ${slo.id}: a raw SLI has an error ratio only, no event rates`);
  if (sli.type === 'ratio') {
    const total = rate(sli.total, window, by);
    if (sli.bad) return { bad: rate(sli.bad, window, by), total };
    return { bad: `(${total} - ${rate(sli.good as CounterReference, window, by)})`, total };
  }
  const matchers = { service: slo.service, slo: slo.name };
  const total = rate({ metric: SLO_METRIC_NAMES.events, matchers }, window, by);
  const good = rate({ metric: SLO_METRIC_NAMES.goodEvents, matchers }, window, by);
  return { bad: `(${total} - ${good})`, total };
}

/**
 * The PromQL error ratio of a `raw` SLI over `window`, NaN dropped (`>= -Inf` is false for NaN, so zero traffic gives
 * no sample instead of a NaN one).
 */
export function rawErrorRatioExpression(slo: ResolvedSlo, window: string): string {
  if (slo.sli.type !== 'raw') throw new SloError('SLO_INVALID', `SLO ${slo.id}: not a raw SLI`);
  return `(${renderWindowQuery(slo.sli.errorRatioQuery, window).trim()}) >= -Inf`;
}

/** Length used for the period in rules: the rolling window, or 1d/7d/30d for calendar windows. */
export function rulePeriodMs(slo: ResolvedSlo): number {
  return slo.window.kind === 'rolling' ? slo.window.lengthMs : slo.window.nominalMs;
}

function groupName(slo: ResolvedSlo): string {
  return `ops-slo-${slo.service}-${slo.name}`;
}

/**
 * Generates Prometheus rules from SLOs (Sloth-compatible shapes, traffic-weighted periods):
 *
 * - recording rules per window (5m 30m 1h 2h 6h 1d 3d, tier windows): bad and total event rates recorded
 *   separately, and their ratio guarded against zero traffic (`total > 0`, so never NaN);
 * - the period: `avg_over_time` of the 5m bad and total rates, whose ratio weights every 5 minutes by its traffic;
 * - meta rules: objective, error budget, period, budget remaining, current and period burn rate, `ops_slo_info`;
 * - one multiwindow alert per tier (`slo_tier`, `severity`, `exhaustion` labels; `for` when the tier has one),
 *   with the low-traffic guard when `minEvents > 0`.
 *
 * Calendar windows cannot be expressed in PromQL; their rules use a rolling 1d/7d/30d period.
 */
export function generatePrometheusRules(slos: readonly ResolvedSlo[], options: PrometheusRulesOptions = {}): RuleFile {
  const { interval, alertName = 'SloErrorBudgetBurn', perLabelSet = false } = options;
  return {
    groups: slos.map((slo) => {
      const periodMs = rulePeriodMs(slo);
      const period = promDuration(periodMs);
      const base = { slo_service: slo.service, slo_name: slo.name, ...slo.labels };
      const sel = (window: string) =>
        selector('', { slo_service: slo.service, slo_name: slo.name, slo_window: window });
      const windows = new Set<number>(STATUS_WINDOWS_MS);
      for (const tier of slo.tiers) {
        windows.add(tier.longMs);
        windows.add(tier.shortMs);
      }
      const rules: Array<RecordingRule | AlertingRule> = [];
      const fiveMinutes = sel('5m');
      if (slo.sli.type === 'raw') {
        // No events: the ratio per window, and the period as the (unweighted) average of the 5m ratios.
        for (const windowMs of [...windows].sort((a, b) => a - b)) {
          const window = promDuration(windowMs);
          rules.push({
            record: RECORDED_SERIES.errorRatio,
            expr: rawErrorRatioExpression(slo, window),
            labels: { ...base, slo_window: window },
          });
        }
        if (!windows.has(periodMs)) {
          rules.push({
            record: RECORDED_SERIES.errorRatio,
            expr: `avg_over_time(${RECORDED_SERIES.errorRatio}${fiveMinutes}[${period}])`,
            labels: { ...base, slo_window: period },
          });
        }
      } else {
        for (const windowMs of [...windows].sort((a, b) => a - b)) {
          const window = promDuration(windowMs);
          const { bad, total } = sliExpressions(slo, window, perLabelSet ? slo.groupBy : []);
          const labels = { ...base, slo_window: window };
          rules.push({ record: RECORDED_SERIES.badRate, expr: bad, labels });
          rules.push({ record: RECORDED_SERIES.totalRate, expr: total, labels });
        }
        rules.push({
          record: RECORDED_SERIES.badRate,
          expr: `avg_over_time(${RECORDED_SERIES.badRate}${fiveMinutes}[${period}])`,
          labels: { ...base, slo_window: period },
        });
        rules.push({
          record: RECORDED_SERIES.totalRate,
          expr: `avg_over_time(${RECORDED_SERIES.totalRate}${fiveMinutes}[${period}])`,
          labels: { ...base, slo_window: period },
        });
        for (const windowMs of [...windows, periodMs].sort((a, b) => a - b)) {
          const window = promDuration(windowMs);
          if (windowMs === periodMs && windows.has(periodMs)) continue;
          rules.push({
            record: RECORDED_SERIES.errorRatio,
            expr: `${RECORDED_SERIES.badRate}${sel(window)} / (${RECORDED_SERIES.totalRate}${sel(window)} > 0)`,
            labels: { ...base, slo_window: window },
          });
        }
      }
      const budget = number(slo.errorBudget);
      const errorRatio = (window: string) => `max without (slo_window) (${RECORDED_SERIES.errorRatio}${sel(window)})`;
      rules.push(
        { record: RECORDED_SERIES.objective, expr: `vector(${number(slo.objective)})`, labels: base },
        { record: RECORDED_SERIES.errorBudget, expr: `vector(${budget})`, labels: base },
        { record: RECORDED_SERIES.periodSeconds, expr: `vector(${number(periodMs / 1000)})`, labels: base },
        { record: RECORDED_SERIES.currentBurnRate, expr: `${errorRatio('5m')} / ${budget}`, labels: base },
        { record: RECORDED_SERIES.periodBurnRate, expr: `${errorRatio(period)} / ${budget}`, labels: base },
        { record: RECORDED_SERIES.budgetRemaining, expr: `1 - ${errorRatio(period)} / ${budget}`, labels: base },
        {
          record: RECORDED_SERIES.info,
          expr: 'vector(1)',
          labels: {
            ...base,
            slo_objective: number(slo.objective),
            slo_period: period,
            slo_window_kind: slo.window.kind,
            slo_sli: slo.sli.type,
          },
        },
      );
      for (const tier of slo.tiers) {
        const factor = number(burnRateThreshold(tier, periodMs));
        const long = promDuration(tier.longMs);
        const short = promDuration(tier.shortMs);
        // The margin keeps float noise of rate() at exactly the threshold from flapping (see BURN_RATE_THRESHOLD_EPSILON).
        const above = `> (${factor} * ${budget}) * ${number(1 + BURN_RATE_THRESHOLD_EPSILON)}`;
        let expr = `(\n  ${errorRatio(long)} ${above}\nand\n  ${errorRatio(short)} ${above}\n)`;
        if (slo.minEvents > 0 && slo.sli.type !== 'raw') {
          expr += `\nand\n  max without (slo_window) (${RECORDED_SERIES.totalRate}${sel(long)}) * ${number(tier.longMs / 1000)} >= ${slo.minEvents}`;
        }
        const exhaustion = formatDuration(Math.round(periodMs / Number(factor) / 60_000) * 60_000);
        const meta = slo.alerts[tier.severity];
        rules.push({
          alert: meta.name ?? alertName,
          expr,
          ...(tier.forMs > 0 ? { for: promDuration(tier.forMs) } : {}),
          ...((tier.keepFiringForMs ?? 0) > 0 ? { keep_firing_for: promDuration(tier.keepFiringForMs ?? 0) } : {}),
          labels: {
            ...base,
            severity: tier.severity,
            slo_tier: tier.name,
            slo_window_long: long,
            slo_window_short: short,
            exhaustion,
            ...meta.labels,
          },
          annotations: {
            summary: `${slo.service}/${slo.name} is burning its error budget ${factor}× too fast (${tier.name})`,
            description:
              `Error ratio over ${long} and ${short} is above ${factor} × ${budget}: at this rate ${tier.budgetPercent}% of the ` +
              `${period} budget goes in ${long} and all of it within ${exhaustion}. Objective ${number(slo.objective)}.`,
            ...meta.annotations,
          },
        });
      }
      return { name: groupName(slo), ...(interval ? { interval } : {}), rules };
    }),
  };
}

/**
 * Renders {@link generatePrometheusRules} as a YAML rule file for `rule_files:`, `promtool check rules` or a
 * `PrometheusRule` resource's `spec`.
 *
 * @example
 * ```ts
 * await writeFile('slo-rules.yaml', renderPrometheusRules(await loadSloFile('slos.yaml')));
 * ```
 */
export function renderPrometheusRules(slos: readonly ResolvedSlo[], options: PrometheusRulesOptions = {}): string {
  return stringify(generatePrometheusRules(slos, options), { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Options of {@link generatePrometheusRuleManifest}. */
export interface PrometheusRuleManifestOptions extends PrometheusRulesOptions {
  /** `metadata.name` of the resource. */
  name: string;
  /** `metadata.namespace`; omitted when not given (the namespace of `kubectl apply`). */
  namespace?: string;
  /** `metadata.labels`, e.g. the label your Prometheus' `ruleSelector` matches (`{ release: 'prometheus' }`). */
  labels?: Record<string, string>;
}

/** A Prometheus Operator `PrometheusRule` resource (`monitoring.coreos.com/v1`). */
export interface PrometheusRuleManifest {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PrometheusRule';
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: RuleFile;
}

/**
 * Wraps {@link generatePrometheusRules} in a Prometheus Operator `PrometheusRule` manifest for Kubernetes: the rule
 * groups are its `spec`.
 *
 * @example
 * ```ts
 * const manifest = generatePrometheusRuleManifest(slos, { name: 'shop-slos', namespace: 'monitoring', labels: { release: 'prometheus' } });
 * ```
 */
export function generatePrometheusRuleManifest(
  slos: readonly ResolvedSlo[],
  options: PrometheusRuleManifestOptions,
): PrometheusRuleManifest {
  const { name, namespace, labels, ...ruleOptions } = options;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name,
      ...(namespace === undefined ? {} : { namespace }),
      ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
    },
    spec: generatePrometheusRules(slos, ruleOptions),
  };
}

/** Renders {@link generatePrometheusRuleManifest} as YAML (one document; join several with `---`). */
export function renderPrometheusRuleManifest(
  slos: readonly ResolvedSlo[],
  options: PrometheusRuleManifestOptions,
): string {
  return stringify(generatePrometheusRuleManifest(slos, options), { lineWidth: 0, aliasDuplicateObjects: false });
}
