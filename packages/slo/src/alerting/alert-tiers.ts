/** Severity of an alert tier: `page` wakes someone up, `ticket` goes to the queue. */
export type AlertSeverity = 'page' | 'ticket';

/** Names of the four Workbook tiers. */
export type DefaultTierName = 'page-quick' | 'page-slow' | 'ticket-quick' | 'ticket-slow';

/** A multiwindow, multi-burn-rate alert tier, with windows in milliseconds. */
export interface AlertTier {
  /** Stable name, used as the `slo_tier` label (`'page-quick'`). */
  name: string;
  severity: AlertSeverity;
  /** Share of the period's error budget this tier spends in its long window before firing (2 = 2%). */
  budgetPercent: number;
  /** Long window, milliseconds. */
  longMs: number;
  /** Short window (usually long/12), milliseconds: makes the alert reset quickly after recovery. */
  shortMs: number;
  /** How long both windows must stay above the threshold before the tier fires (0 = at once). */
  forMs: number;
  /**
   * How long the tier keeps firing after its condition cleared (Prometheus `keep_firing_for`; 0 = resolves at the
   * first evaluation below the threshold). Optional: absent means 0.
   */
  keepFiringForMs?: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The Google SRE Workbook tiers (Table 5-8 plus its 24h/2h ticket): 2% of the budget in 1h (short 5m), 5% in 6h
 * (30m), 10% in 1d (2h), 10% in 3d (6h). Factors come from {@link burnRateThreshold}: 14.4 / 6 / 3 / 1 for 30 days.
 */
export const DEFAULT_ALERT_TIERS: readonly AlertTier[] = Object.freeze([
  { name: 'page-quick', severity: 'page', budgetPercent: 2, longMs: HOUR, shortMs: 5 * MINUTE, forMs: 0 },
  { name: 'page-slow', severity: 'page', budgetPercent: 5, longMs: 6 * HOUR, shortMs: 30 * MINUTE, forMs: 0 },
  { name: 'ticket-quick', severity: 'ticket', budgetPercent: 10, longMs: DAY, shortMs: 2 * HOUR, forMs: 0 },
  { name: 'ticket-slow', severity: 'ticket', budgetPercent: 10, longMs: 3 * DAY, shortMs: 6 * HOUR, forMs: 0 },
] satisfies AlertTier[]);

/** The burn-rate windows every status reports (milliseconds), shortest first: 5m 30m 1h 2h 6h 1d 3d. */
export const STATUS_WINDOWS_MS: readonly number[] = Object.freeze([
  5 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  6 * HOUR,
  DAY,
  3 * DAY,
]);

/** Longest window the in-process engine answers at one-minute resolution (3 days). */
export const MAX_ALERT_WINDOW_MS = 3 * DAY;

/**
 * Burn rate at which a tier fires: spending `budgetPercent`% of the budget of a `periodMs` period within `longMs`
 * means burning `budgetPercent/100 × periodMs / longMs` times faster than sustainable.
 *
 * @example
 * ```ts
 * burnRateThreshold({ budgetPercent: 2, longMs: 3_600_000 }, 30 * 86_400_000) // 14.4
 * ```
 */
export function burnRateThreshold(tier: Pick<AlertTier, 'budgetPercent' | 'longMs'>, periodMs: number): number {
  return ((tier.budgetPercent / 100) * periodMs) / tier.longMs;
}

/**
 * Relative margin a burn rate must clear above a tier's threshold: a tier is active when `burnRate > threshold × (1 +
 * 1e-6)`. Exact counts burning at exactly the threshold (0.1% errors at 99.9% against the 1× tier) are then
 * quiet both in-process and in Prometheus, where `rate()` float noise (relative ~1e-13) otherwise lands on both
 * sides of the threshold and makes the alert flap. One part per million is far above that noise and far below any
 * burn rate difference that matters.
 */
export const BURN_RATE_THRESHOLD_EPSILON = 1e-6;

/** Whether a burn rate is above a tier's threshold, with the {@link BURN_RATE_THRESHOLD_EPSILON} margin. */
export function exceedsThreshold(burnRate: number, threshold: number): boolean {
  return burnRate > threshold * (1 + BURN_RATE_THRESHOLD_EPSILON);
}

/**
 * Why a tier can never fire for an objective, or `undefined` when it can. The highest possible burn rate is
 * `1 / errorBudget` (every event bad), so a threshold at or above it is unreachable.
 */
export function tierInfeasibility(tier: AlertTier, periodMs: number, objective: number): string | undefined {
  const errorBudget = 1 - objective;
  const threshold = burnRateThreshold(tier, periodMs);
  const maximum = 1 / errorBudget;
  if (threshold * (1 + BURN_RATE_THRESHOLD_EPSILON) < maximum) return undefined;
  return (
    `tier ${tier.name} can never fire: its burn-rate threshold ${round(threshold)} needs an error ratio of ` +
    `${round(threshold * errorBudget * 100)}%, but with objective ${objective} the highest possible burn rate is ` +
    `${round(maximum)} (every event bad); disable the tier or lower its budgetPercent`
  );
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
