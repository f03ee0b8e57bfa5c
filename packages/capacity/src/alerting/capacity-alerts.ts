import {
  parseDuration,
  parseOpsAlert,
  systemClock,
  type AlertSeverity,
  type Clock,
  type Duration,
  type OpsAlert,
} from '@ops/core';
import type { BudgetStatus, TrendFinding } from '../planning/budget.js';
import type { Exhaustion } from '../planning/exhaustion.js';
import type { RightSizingFinding } from '../planning/right-sizing.js';
import type { CapacityReport } from '../report/capacity-report.js';

/** Options of {@link capacityAlerts}. */
export interface CapacityAlertsOptions {
  /** A report: its series' time to exhaustion and findings. */
  report?: CapacityReport;
  /** Times to exhaustion computed elsewhere. */
  exhaustion?: ReadonlyArray<{ resource: string; exhaustion: Exhaustion }>;
  budgets?: readonly BudgetStatus[];
  /** Storage and scaling findings (`storageFindings`, `scalingAnomalies`). */
  findings?: readonly TrendFinding[];
  /** Right-sizing findings (over-provisioned, idle, OOM). */
  rightSizing?: readonly RightSizingFinding[];
  /** Running out sooner than this is `critical`. Default `'7d'`. */
  criticalWithin?: Duration;
  /** Running out sooner than this is a `warning` (later: no alert). Default `'30d'`. */
  warnWithin?: Duration;
  /** Added to every alert's labels, e.g. `{ service: 'checkout' }`. */
  labels?: Record<string, string>;
  clock?: Clock;
}

const BUDGET_SEVERITY: Record<BudgetStatus['alerts'][number]['code'], AlertSeverity> = {
  QUOTA_EXHAUSTED: 'critical',
  PROJECTED_OVER_BUDGET: 'warning',
  QUOTA_APPROACHING: 'warning',
  DAILY_SPEND_OVER_BUDGET: 'warning',
};

/**
 * Turns capacity findings into core `OpsAlert`s for an `AlertSink` (`@ops/incident`, a webhook): a resource running
 * out within `criticalWithin` (critical) or `warnWithin` (warning), budget and quota alerts, storage growth, unexpected
 * scaling and right-sizing findings (info). Keys are stable (`capacity/exhaustion/<resource>`, …), so repeated
 * evaluations deduplicate into one incident.
 *
 * @example
 * ```ts
 * for (const alert of capacityAlerts({ report, labels: { service: 'checkout' } })) await sink(alert);
 * ```
 */
export function capacityAlerts(options: CapacityAlertsOptions): OpsAlert[] {
  const { clock = systemClock, labels = {} } = options;
  const now = clock.now();
  const criticalMs = parseDuration(options.criticalWithin ?? '7d', 'criticalWithin');
  const warnMs = parseDuration(options.warnWithin ?? '30d', 'warnWithin');
  const alerts: OpsAlert[] = [];
  const push = (
    key: string,
    severity: AlertSeverity,
    summary: string,
    extra: Record<string, string>,
    annotations: Record<string, string> = {},
  ) => {
    alerts.push(
      parseOpsAlert({
        key,
        status: 'firing',
        severity,
        summary: summary.slice(0, 1024),
        source: 'capacity',
        labels: { ...labels, ...extra },
        annotations,
        startsAt: Math.round(now),
      }),
    );
  };
  const exhaustion = [
    ...(options.exhaustion ?? []),
    ...(options.report?.series.flatMap((series) =>
      series.exhaustion ? [{ resource: series.name, exhaustion: series.exhaustion }] : [],
    ) ?? []),
  ];
  for (const { resource, exhaustion: entry } of exhaustion) {
    const earliest = entry.status === 'exhausted' ? now : entry.earliestMs;
    if (earliest === null) continue;
    const left = earliest - now;
    if (left > warnMs) continue;
    const severity: AlertSeverity = left <= criticalMs ? 'critical' : 'warning';
    const summary =
      entry.status === 'exhausted'
        ? `${resource} is at capacity (${entry.current.toPrecision(4)} of ${entry.capacity})`
        : `${resource} may run out by ${new Date(earliest).toISOString().slice(0, 10)} (${(left / 86_400_000).toFixed(1)} days)`;
    push(
      `capacity/exhaustion/${resource}`,
      severity,
      summary,
      { resource, alert: 'CapacityExhaustion' },
      { explanation: entry.explanation, expected: entry.atMs === null ? 'never' : new Date(entry.atMs).toISOString() },
    );
  }
  for (const budget of options.budgets ?? options.report?.budgets ?? []) {
    for (const alert of budget.alerts) {
      push(
        `capacity/budget/${budget.label}/${alert.code}${alert.code === 'DAILY_SPEND_OVER_BUDGET' ? `/${alert.at}` : ''}`,
        BUDGET_SEVERITY[alert.code],
        alert.message,
        { budget: budget.label, alert: alert.code },
      );
    }
  }
  for (const finding of [
    ...(options.findings ?? []),
    ...(options.report?.series.flatMap((series) => series.findings) ?? []),
  ]) {
    push(
      `capacity/finding/${finding.code}/${finding.message.split(' ')[0] ?? 'resource'}`,
      finding.code === 'UNEXPECTED_SCALING' ? 'warning' : 'info',
      finding.message,
      { alert: finding.code },
    );
  }
  for (const finding of options.rightSizing ?? options.report?.rightSizing?.findings ?? []) {
    push(
      `capacity/right-sizing/${finding.resource}/${finding.code}`,
      finding.code === 'OOM_SEEN' || finding.code === 'UNDER_PROVISIONED' ? 'warning' : 'info',
      finding.message,
      { resource: finding.resource, alert: finding.code },
    );
  }
  return alerts;
}
