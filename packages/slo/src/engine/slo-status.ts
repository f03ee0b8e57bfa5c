import { formatDuration } from '@ops/core';
import { burnRateThreshold, exceedsThreshold, type AlertSeverity } from '../alerting/alert-tiers.js';
import type { ResolvedSlo } from '../spec/slo-spec.js';
import type { EventCounts } from './slo-series.js';

/** Counts and rates of one trailing window. */
export interface WindowStatus {
  /** Window as a duration string (`'5m'`, `'1d'`). */
  window: string;
  windowMs: number;
  good: number;
  bad: number;
  /** `bad / (good + bad)`, 0 without events. */
  errorRatio: number;
  /** `errorRatio / errorBudget`, 0 without events. */
  burnRate: number;
}

/** State of one alert tier at the time of a status. */
export interface TierStatus {
  name: string;
  severity: AlertSeverity;
  budgetPercent: number;
  /** Burn rate both windows must exceed, from the budget percentage and the period length. */
  threshold: number;
  longWindow: string;
  shortWindow: string;
  longBurnRate: number;
  shortBurnRate: number;
  /** Both windows above the threshold × (1 + 1e-6) (and enough traffic), regardless of `for`. */
  active: boolean;
  /** Active for at least the tier's `for` (or within its `keepFiringFor` after it cleared). */
  firing: boolean;
  /** Held back by the low-traffic guard: the long window has fewer than `minEvents` events. */
  lowTraffic: boolean;
  /** `periodMs / threshold`: how long a full budget lasts at the threshold burn rate. */
  exhaustionMs: number;
}

/** Everything known about one SLO (one label set) at one instant. No field is ever NaN or infinite. */
export interface SloStatus {
  /** `<service>/<name>`. */
  id: string;
  service: string;
  name: string;
  /** Label set of this status (`{}` for the SLO as a whole). */
  labels: Record<string, string>;
  objective: number;
  /** When the status was computed (epoch ms). */
  atMs: number;
  /** The SLO period the budget covers: rolling (ends now) or the current calendar period. */
  period: { kind: 'rolling' | 'calendar'; startMs: number; endMs: number; lengthMs: number };
  /** Events in the period so far. */
  events: { good: number; bad: number; total: number };
  /** `good / total` over the period; `null` before the first event. */
  sli: number | null;
  /** `bad / total` over the period, 0 without events. */
  errorRatio: number;
  budget: {
    /** Allowed bad events so far: `errorBudget × total`. */
    allowedBadEvents: number;
    /** Bad events so far. */
    consumedBadEvents: number;
    /** `allowed − consumed`; negative when the budget is overspent. */
    remainingBadEvents: number;
    /** `errorRatio / errorBudget`: 1 = all spent, above 1 = overspent. */
    consumedRatio: number;
    /** `1 − consumedRatio`; may go negative. */
    remainingRatio: number;
  };
  /** Burn rate by window (`'5m'`, `'30m'`, `'1h'`, `'2h'`, `'6h'`, `'1d'`, `'3d'` and any tier window). */
  burnRates: Record<string, number>;
  windows: WindowStatus[];
  /**
   * Projected time until the budget is gone at the burn rate of `exhaustionWindow` (default 1h): `remaining × period /
   * burnRate`. 0 when already spent, `null` when nothing is burning.
   */
  timeToExhaustionMs: number | null;
  tiers: TierStatus[];
  /** Names of firing tiers. */
  firing: string[];
  /** Fewer events in the period than make one bad event affordable (`errorBudget × total < 1`). */
  lowTraffic: boolean;
  /** Events recorded with an `atMs` older than both rings (not in any window; still in the exported counters). */
  droppedLateEvents: number;
  warnings: string[];
}

/** Inputs of {@link computeStatus}. */
export interface StatusInputs {
  atMs: number;
  period: SloStatus['period'];
  periodCounts: EventCounts;
  /** Ascending windows (ms) and their counts. */
  windowsMs: readonly number[];
  windowCounts: readonly EventCounts[];
  labels: Record<string, string>;
  droppedLateEvents?: number;
  /** When each tier's condition became true (for `for`), by tier name. */
  activeSince?: ReadonlyMap<string, number>;
  /** Tiers whose sustained condition fires (kept firing by `keepFiringFor` after the burn rates dropped). */
  firingTiers?: ReadonlySet<string>;
}

function ratio(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

/**
 * Computes an {@link SloStatus} from counts with the reference formulas (Google SRE Workbook, occurrences
 * budgeting). Pure: the same inputs always give the same status.
 */
export function computeStatus(slo: ResolvedSlo, inputs: StatusInputs): SloStatus {
  const { errorBudget } = slo;
  const total = inputs.periodCounts.good + inputs.periodCounts.bad;
  const errorRatio = ratio(inputs.periodCounts.bad, total);
  const consumedRatio = errorRatio / errorBudget;
  const windows: WindowStatus[] = inputs.windowsMs.map((windowMs, index) => {
    const counts = inputs.windowCounts[index] ?? { good: 0, bad: 0 };
    const windowErrorRatio = ratio(counts.bad, counts.good + counts.bad);
    return {
      window: formatDuration(windowMs),
      windowMs,
      good: counts.good,
      bad: counts.bad,
      errorRatio: windowErrorRatio,
      burnRate: windowErrorRatio / errorBudget,
    };
  });
  const byMs = new Map(windows.map((window) => [window.windowMs, window]));
  const burnRates: Record<string, number> = {};
  for (const window of windows) burnRates[window.window] = window.burnRate;

  const periodMs = inputs.period.lengthMs;
  const tiers: TierStatus[] = slo.tiers.map((tier) => {
    const threshold = burnRateThreshold(tier, periodMs);
    const long = byMs.get(tier.longMs);
    const short = byMs.get(tier.shortMs);
    const longBurnRate = long?.burnRate ?? 0;
    const shortBurnRate = short?.burnRate ?? 0;
    const longEvents = (long?.good ?? 0) + (long?.bad ?? 0);
    const lowTraffic = longEvents < slo.minEvents;
    const active =
      !lowTraffic &&
      longEvents > 0 &&
      exceedsThreshold(longBurnRate, threshold) &&
      exceedsThreshold(shortBurnRate, threshold);
    const since = inputs.activeSince?.get(tier.name);
    const held = (tier.keepFiringForMs ?? 0) > 0 && inputs.firingTiers?.has(tier.name) === true;
    const firing = (active && (tier.forMs === 0 || (since !== undefined && inputs.atMs - since >= tier.forMs))) || held;
    return {
      name: tier.name,
      severity: tier.severity,
      budgetPercent: tier.budgetPercent,
      threshold,
      longWindow: formatDuration(tier.longMs),
      shortWindow: formatDuration(tier.shortMs),
      longBurnRate,
      shortBurnRate,
      active,
      firing,
      lowTraffic,
      exhaustionMs: periodMs / threshold,
    };
  });

  const exhaustionBurn = byMs.get(slo.exhaustionWindowMs)?.burnRate ?? 0;
  const remainingRatio = 1 - consumedRatio;
  let timeToExhaustionMs: number | null = null;
  if (remainingRatio <= 0 && total > 0) timeToExhaustionMs = 0;
  else if (exhaustionBurn > 0) timeToExhaustionMs = (remainingRatio * periodMs) / exhaustionBurn;

  return {
    id: slo.id,
    service: slo.service,
    name: slo.name,
    labels: inputs.labels,
    objective: slo.objective,
    atMs: inputs.atMs,
    period: inputs.period,
    events: { good: inputs.periodCounts.good, bad: inputs.periodCounts.bad, total },
    sli: total > 0 ? inputs.periodCounts.good / total : null,
    errorRatio,
    budget: {
      allowedBadEvents: errorBudget * total,
      consumedBadEvents: inputs.periodCounts.bad,
      remainingBadEvents: errorBudget * total - inputs.periodCounts.bad,
      consumedRatio,
      remainingRatio,
    },
    burnRates,
    windows,
    timeToExhaustionMs,
    tiers,
    firing: tiers.filter((tier) => tier.firing).map((tier) => tier.name),
    lowTraffic: errorBudget * total < 1,
    droppedLateEvents: inputs.droppedLateEvents ?? 0,
    warnings: slo.warnings,
  };
}
