import { CapacityError } from '../errors.js';
import { theilSenTrend } from '../forecast/trend.js';
import type { Series } from '../inputs/series.js';

const DAY_MS = 86_400_000;

/** A finding in the runbooks' words. */
export interface BudgetAlert {
  code: 'DAILY_SPEND_OVER_BUDGET' | 'PROJECTED_OVER_BUDGET' | 'QUOTA_APPROACHING' | 'QUOTA_EXHAUSTED';
  message: string;
  /** The day (UTC date) or time the alert is about. */
  at: string;
  ratio: number;
}

/** Options of {@link evaluateBudget}. */
export interface BudgetOptions {
  /**
   * Usage per sample (spend per hour, API calls per day, …): the amounts are summed. Use `cumulative: true` when
   * the series is a running total (a counter).
   */
  usage: Series;
  cumulative?: boolean;
  /** Budget or quota for the period (same unit as usage). */
  limit: number;
  /** Period start and end (epoch ms). Default: the UTC calendar month of `nowMs`. */
  period?: { startMs: number; endMs: number };
  /** Default: the last time stamp. */
  nowMs?: number;
  /** "Daily spending > 120% of budget": alert on days above this × limit ÷ days in period. Default 1.2. */
  dailyAlertRatio?: number;
  /** "Approaching the quota": alert when usage or the projection passes this share of the limit. Default 0.8. */
  quotaWarnRatio?: number;
  /** What is measured, for messages (`'spend'`, `'AI API tokens'`). Default `'usage'`. */
  label?: string;
}

/** The result of {@link evaluateBudget}. */
export interface BudgetStatus {
  label: string;
  limit: number;
  period: { startMs: number; endMs: number };
  /** Used so far in the period. */
  used: number;
  usedRatio: number;
  /** Linear share of the limit that should be used by now. */
  expectedByNow: number;
  /** End-of-period projection: used so far + recent daily rate (mean of the last 7 days, with its Theil–Sen trend) over the days left. */
  projected: number;
  projectedRatio: number;
  /** When the projection reaches the limit, if within the period. */
  exhaustedAtMs: number | null;
  /** Per UTC day of the period so far. */
  daily: Array<{ day: string; used: number; ratio: number }>;
  alerts: BudgetAlert[];
}

function monthOf(ms: number): { startMs: number; endMs: number } {
  const date = new Date(ms);
  return {
    startMs: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1),
    endMs: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1),
  };
}

/**
 * Usage or spend against a budget or quota for a period: used so far, the linear expectation, the end-of-period
 * projection (recent daily rate with its trend), the day it runs out, and the runbooks' alerts — "daily spending >
 * 120% of budget", "approaching the monthly quota", "projected over budget".
 *
 * @example
 * ```ts
 * const status = evaluateBudget({ usage: hourlySpend, limit: 3000, label: 'spend' });
 * for (const alert of status.alerts) console.log(alert.code, alert.message);
 * ```
 */
export function evaluateBudget(options: BudgetOptions): BudgetStatus {
  const { usage, limit, cumulative = false, dailyAlertRatio = 1.2, quotaWarnRatio = 0.8, label = 'usage' } = options;
  if (!(limit > 0)) throw new CapacityError('ARGUMENT_INVALID', `limit: expected > 0, got ${limit}`);
  if (usage.timestamps.length === 0) throw new CapacityError('INSUFFICIENT_DATA', 'usage: empty series');
  const nowMs = options.nowMs ?? (usage.timestamps[usage.timestamps.length - 1] as number);
  const period = options.period ?? monthOf(nowMs);
  const periodDays = (period.endMs - period.startMs) / DAY_MS;
  // Amounts per sample inside the period.
  const amounts: Array<{ atMs: number; amount: number }> = [];
  usage.timestamps.forEach((at, index) => {
    if (at < period.startMs || at > nowMs || at >= period.endMs) return;
    let amount = usage.values[index] as number;
    if (cumulative) {
      const previous = index > 0 ? (usage.values[index - 1] as number) : amount;
      amount = amount >= previous ? amount - previous : amount; // a counter reset starts over
      if (index === 0 || (usage.timestamps[index - 1] as number) < period.startMs) amount = 0;
    }
    amounts.push({ atMs: at, amount });
  });
  const used = amounts.reduce((sum, entry) => sum + entry.amount, 0);
  const dailyMap = new Map<string, number>();
  for (const entry of amounts) {
    const day = new Date(entry.atMs).toISOString().slice(0, 10);
    dailyMap.set(day, (dailyMap.get(day) ?? 0) + entry.amount);
  }
  const dailyBudget = limit / periodDays;
  const daily = [...dailyMap.entries()].map(([day, value]) => ({ day, used: value, ratio: value / dailyBudget }));
  const alerts: BudgetAlert[] = [];
  for (const entry of daily) {
    if (entry.ratio > dailyAlertRatio) {
      alerts.push({
        code: 'DAILY_SPEND_OVER_BUDGET',
        at: entry.day,
        ratio: entry.ratio,
        message: `${label} on ${entry.day} was ${entry.used.toFixed(2)}, ${(entry.ratio * 100).toFixed(0)}% of the daily budget ${dailyBudget.toFixed(2)} (alert above ${Math.round(dailyAlertRatio * 100)}%)`,
      });
    }
  }
  // Projection: the mean daily rate of the last 7 complete-or-current days, plus its trend.
  const recent = daily.slice(-7);
  const elapsedDays = Math.max(0, (nowMs - period.startMs) / DAY_MS);
  const remainingDays = Math.max(0, (period.endMs - nowMs) / DAY_MS);
  let rate = recent.length > 0 ? recent.reduce((sum, entry) => sum + entry.used, 0) / recent.length : 0;
  // A partial current day would understate the rate: use the elapsed-time rate when history is shorter than a day.
  if (elapsedDays < 1) rate = elapsedDays > 0 ? used / elapsedDays : 0;
  let slope = 0;
  // Theil–Sen: one unusual day (a spike the alerts already report) does not tilt the projection.
  if (recent.length >= 3)
    slope = theilSenTrend(
      recent.map((_, index) => index),
      recent.map((entry) => entry.used),
    ).slope;
  const projectedRemaining = Math.max(0, rate * remainingDays + (slope * remainingDays * remainingDays) / 2);
  const projected = used + projectedRemaining;
  let exhaustedAtMs: number | null = null;
  if (used >= limit) exhaustedAtMs = nowMs;
  else if (projected >= limit) {
    // Solve used + rate·d + slope·d²/2 = limit for the first d ≥ 0.
    const a = slope / 2;
    const gap = limit - used;
    const days =
      Math.abs(a) < 1e-12 ? gap / rate : (-rate + Math.sqrt(Math.max(0, rate * rate + 4 * a * gap))) / (2 * a);
    if (Number.isFinite(days) && days >= 0) exhaustedAtMs = nowMs + days * DAY_MS;
  }
  const expectedByNow = (limit * elapsedDays) / periodDays;
  if (used >= limit) {
    alerts.push({
      code: 'QUOTA_EXHAUSTED',
      at: new Date(nowMs).toISOString(),
      ratio: used / limit,
      message: `${label} ${used.toFixed(2)} has reached the limit ${limit}`,
    });
  } else if (used >= quotaWarnRatio * limit || projected >= quotaWarnRatio * limit) {
    alerts.push({
      code: 'QUOTA_APPROACHING',
      at: new Date(nowMs).toISOString(),
      ratio: Math.max(used, projected) / limit,
      message: `${label} at ${((used / limit) * 100).toFixed(0)}% of the limit, projected ${((projected / limit) * 100).toFixed(0)}% by ${new Date(period.endMs).toISOString().slice(0, 10)}`,
    });
  }
  if (projected > limit && used < limit) {
    alerts.push({
      code: 'PROJECTED_OVER_BUDGET',
      at: new Date(nowMs).toISOString(),
      ratio: projected / limit,
      message: `${label} projected at ${projected.toFixed(2)} (${((projected / limit) * 100).toFixed(0)}% of ${limit})${exhaustedAtMs === null ? '' : `, reaching the limit around ${new Date(exhaustedAtMs).toISOString().slice(0, 10)}`}`,
    });
  }
  return {
    label,
    limit,
    period,
    used,
    usedRatio: used / limit,
    expectedByNow,
    projected,
    projectedRatio: projected / limit,
    exhaustedAtMs,
    daily,
    alerts,
  };
}

/** A finding about growth or scaling behaviour. */
export interface TrendFinding {
  code: 'WEEKLY_GROWTH_HIGH' | 'SIZE_ABOVE_THRESHOLD' | 'UNEXPECTED_SCALING';
  message: string;
  at: string;
  value: number;
}

/**
 * The runbooks' storage rules: "storage growth > 10% weekly" (week-over-week, comparing the mean of the last 7
 * days with the 7 before) and "database size > 10 GB" (the latest value above `thresholdBytes`).
 */
export function storageFindings(
  series: Series,
  options: { weeklyGrowthRatio?: number; threshold?: number; label?: string } = {},
): TrendFinding[] {
  const { weeklyGrowthRatio = 0.1, threshold, label = 'storage' } = options;
  const findings: TrendFinding[] = [];
  const last = series.timestamps[series.timestamps.length - 1];
  if (last === undefined) return findings;
  const window = (from: number, to: number) => {
    const values = series.values.filter(
      (_, index) => (series.timestamps[index] as number) > from && (series.timestamps[index] as number) <= to,
    );
    return values.length > 0 ? values.reduce((sum, value) => sum + value, 0) / values.length : undefined;
  };
  const thisWeek = window(last - 7 * DAY_MS, last);
  const lastWeek = window(last - 14 * DAY_MS, last - 7 * DAY_MS);
  if (thisWeek !== undefined && lastWeek !== undefined && lastWeek > 0) {
    const growth = thisWeek / lastWeek - 1;
    if (growth > weeklyGrowthRatio) {
      findings.push({
        code: 'WEEKLY_GROWTH_HIGH',
        at: new Date(last).toISOString(),
        value: growth,
        message: `${label} grew ${(growth * 100).toFixed(1)}% week over week (> ${Math.round(weeklyGrowthRatio * 100)}%)`,
      });
    }
  }
  const latest = series.values[series.values.length - 1] as number;
  if (threshold !== undefined && latest > threshold) {
    findings.push({
      code: 'SIZE_ABOVE_THRESHOLD',
      at: new Date(last).toISOString(),
      value: latest,
      message: `${label} is ${latest.toPrecision(4)}, above ${threshold.toPrecision(4)}`,
    });
  }
  return findings;
}

/**
 * "Unexpected scaling events": days whose number of replica-count changes exceeds the usual (mean + 3 standard
 * deviations of the earlier days, and at least `minimumChanges`).
 */
export function scalingAnomalies(replicas: Series, options: { minimumChanges?: number } = {}): TrendFinding[] {
  const { minimumChanges = 4 } = options;
  const perDay = new Map<string, number>();
  for (let index = 0; index < replicas.values.length; index++) {
    const day = new Date(replicas.timestamps[index] as number).toISOString().slice(0, 10);
    if (!perDay.has(day)) perDay.set(day, 0);
    if (index > 0 && replicas.values[index] !== replicas.values[index - 1])
      perDay.set(day, (perDay.get(day) as number) + 1);
  }
  const days = [...perDay.entries()];
  const findings: TrendFinding[] = [];
  days.forEach(([day, changes], index) => {
    const earlier = days.slice(0, index).map(([, count]) => count);
    if (earlier.length < 3) return;
    const mean = earlier.reduce((sum, count) => sum + count, 0) / earlier.length;
    const deviation = Math.sqrt(earlier.reduce((sum, count) => sum + (count - mean) ** 2, 0) / earlier.length);
    if (changes >= minimumChanges && changes > mean + 3 * deviation) {
      findings.push({
        code: 'UNEXPECTED_SCALING',
        at: day,
        value: changes,
        message: `${changes} scaling events on ${day}, usually ${mean.toFixed(1)} ± ${deviation.toFixed(1)}`,
      });
    }
  });
  return findings;
}
