import { parseDuration, systemClock, type Clock, type Duration } from '@ops/core';
import { CapacityError } from '../errors.js';
import type { ForecastBand } from '../forecast/holt-winters.js';
import { holtWintersForecaster } from '../forecast/model-selection.js';
import { multiSeasonalForecaster } from '../forecast/multi-seasonal.js';
import type { Forecaster } from '../forecast/forecaster.js';
import { olsTrend } from '../forecast/trend.js';
import { regularizeSeries, type Series } from '../inputs/series.js';
import type { BudgetStatus, TrendFinding } from '../planning/budget.js';
import { storageFindings } from '../planning/budget.js';
import { timeToExhaustion, type Exhaustion } from '../planning/exhaustion.js';
import { planGrowth, type GrowthPlan, type GrowthPlanOptions } from '../planning/growth-plan.js';
import type { RightSizingResult } from '../planning/right-sizing.js';
import { quantile } from '../planning/statistics.js';

/** One series to report on. */
export interface ReportSeriesInput {
  name: string;
  series: Series;
  /** Unit shown in tables and charts (`'%'`, `'rps'`, `'bytes'`). */
  unit?: string;
  /** A limit to compute the time to exhaustion against. */
  capacity?: number;
  /** Values are ratios (0.6 = 60%): shown as percentages. */
  ratio?: boolean;
  /** Add the storage rules ("> 10% weekly", "> threshold"). */
  storage?: { threshold?: number };
}

/** Options of {@link buildCapacityReport}. */
export interface CapacityReportOptions {
  title?: string;
  series: readonly ReportSeriesInput[];
  /** Forecast horizon. Default `'7d'`. */
  horizon?: Duration;
  /** Seasonal cycles to model when history allows (two full cycles). Default `['1d', '7d']`. */
  periods?: readonly Duration[];
  /** Band coverage. Default 0.95. */
  level?: number;
  /** History used for fitting: the most recent this much (statistics and profiles use everything). Default `'56d'`. */
  fitHistory?: Duration;
  /** Longer fitting histories are averaged down to at most this many points. Default 4,032 (two weeks at 5 min). */
  maxPoints?: number;
  /** Growth plan from one of the series (a per-replica utilization). */
  growth?: Omit<GrowthPlanOptions, 'utilization'> & { series: string };
  rightSizing?: RightSizingResult;
  budgets?: readonly BudgetStatus[];
  /** Called after each series is fitted (progress on long fits). */
  onProgress?: (done: number, total: number, name: string) => void;
  clock?: Clock;
}

/** Everything the report says about one series. */
export interface SeriesReport {
  name: string;
  unit: string;
  ratio: boolean;
  stepMs: number;
  stats: {
    count: number;
    mean: number;
    min: number;
    max: number;
    p95: number;
    last: number;
    trendPerDay: number;
    firstMs: number;
    lastMs: number;
  };
  /** Mean by UTC hour of week (Monday 00:00 = 0 … Sunday 23:00 = 167) ÷ overall mean; `null` where no data. */
  hourOfWeek: Array<number | null>;
  /** History actually plotted (the last part, averaged to the fitting resolution). */
  history: { timestamps: number[]; values: number[] };
  forecast: { model: string; stepMs: number; timestamps: number[] } & ForecastBand;
  capacity?: number;
  exhaustion?: Exhaustion;
  findings: TrendFinding[];
}

/** A capacity report: per-series statistics, profiles, forecasts with bands, exhaustion, plans and findings. */
export interface CapacityReport {
  title: string;
  generatedAtMs: number;
  horizonMs: number;
  series: SeriesReport[];
  growth?: GrowthPlan;
  rightSizing?: RightSizingResult;
  budgets?: BudgetStatus[];
  /** Every finding, one line each, most urgent first. */
  findings: string[];
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

function downsample(series: Series & { stepMs: number }, maxPoints: number): Series & { stepMs: number } {
  const factor = Math.ceil(series.values.length / maxPoints);
  if (factor <= 1) return series;
  const timestamps: number[] = [];
  const values: number[] = [];
  for (let start = 0; start + factor <= series.values.length; start += factor) {
    let sum = 0;
    for (let index = start; index < start + factor; index++) sum += series.values[index] as number;
    timestamps.push(series.timestamps[start] as number);
    values.push(sum / factor);
  }
  return { ...(series.name ? { name: series.name } : {}), timestamps, values, stepMs: series.stepMs * factor };
}

/** Picks the forecaster for a series: daily/weekly decomposition when there are two full cycles, else Holt by AICc. */
export function chooseForecaster(
  length: number,
  stepMs: number,
  periods: readonly number[],
  positive: boolean,
): Forecaster {
  const usable = periods
    .map((periodMs) => Math.round(periodMs / stepMs))
    .filter((steps) => steps >= 2 && length >= 2 * steps);
  if (usable.length > 0)
    return multiSeasonalForecaster({ periods: usable, mode: positive ? 'multiplicative' : 'additive' });
  return holtWintersForecaster({ variant: 'auto' });
}

/**
 * Builds the report `ops-capacity report` prints: for each series its statistics, hour-of-week profile, a forecast
 * with a band (daily + weekly decomposition when the history has two cycles, Holt by AICc otherwise), the time to
 * exhaustion when a capacity is given (first crossing of the upper band), storage findings; plus a growth plan,
 * right-sizing and budgets when given. Render it with `renderReportMarkdown`, `renderForecastSvg`,
 * `renderHeatmapSvg`, or `JSON.stringify`.
 */
export function buildCapacityReport(options: CapacityReportOptions): CapacityReport {
  const { clock = systemClock, level = 0.95, maxPoints = 4032 } = options;
  const horizonMs = parseDuration(options.horizon ?? '7d', 'horizon');
  const periodsMs = (options.periods ?? ['1d', '7d']).map((period) => parseDuration(period, 'periods'));
  const fitHistoryMs = parseDuration(options.fitHistory ?? '56d', 'fitHistory');
  if (options.series.length === 0) throw new CapacityError('ARGUMENT_INVALID', 'series: nothing to report on');
  const reports: SeriesReport[] = [];
  options.series.forEach((input, index) => {
    if (input.series.values.length < 3)
      throw new CapacityError(
        'INSUFFICIENT_DATA',
        `${input.name}: at least 3 points are needed, got ${input.series.values.length}`,
      );
    const full = regularizeSeries(input.series);
    const from = full.timestamps.findIndex(
      (at) => at > (full.timestamps[full.timestamps.length - 1] as number) - fitHistoryMs,
    );
    const recent =
      from > 0 ? { ...full, timestamps: full.timestamps.slice(from), values: full.values.slice(from) } : full;
    const regular = downsample(recent, maxPoints);
    const values = regular.values;
    const stepMs = regular.stepMs;
    const trend = olsTrend(regular.timestamps, values);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const hourSums = new Array<number>(168).fill(0);
    const hourCounts = new Array<number>(168).fill(0);
    input.series.timestamps.forEach((at, position) => {
      const date = new Date(at);
      const slot = ((date.getUTCDay() + 6) % 7) * 24 + date.getUTCHours();
      hourSums[slot] = (hourSums[slot] as number) + (input.series.values[position] as number);
      hourCounts[slot] = (hourCounts[slot] as number) + 1;
    });
    const rawMean = input.series.values.reduce((sum, value) => sum + value, 0) / input.series.values.length;
    const hourOfWeek = hourSums.map((sum, slot) =>
      (hourCounts[slot] as number) > 0 && rawMean !== 0 ? sum / (hourCounts[slot] as number) / rawMean : null,
    );
    const positive = values.every((value) => value > 0);
    const forecaster = chooseForecaster(values.length, stepMs, periodsMs, positive);
    const time = { startMs: regular.timestamps[0] as number, stepMs };
    const fitted = forecaster.fit(values, time);
    const steps = Math.max(1, Math.round(horizonMs / stepMs));
    const band = fitted.forecastInterval(steps, { level });
    const lastMs = regular.timestamps[regular.timestamps.length - 1] as number;
    const report: SeriesReport = {
      name: input.name,
      unit: input.unit ?? '',
      ratio: input.ratio ?? false,
      stepMs,
      stats: {
        count: input.series.values.length,
        mean: rawMean,
        min: Math.min(...input.series.values),
        max: Math.max(...input.series.values),
        p95: quantile(input.series.values, 0.95),
        last: input.series.values[input.series.values.length - 1] as number,
        trendPerDay: trend.slope * DAY_MS,
        firstMs: input.series.timestamps[0] as number,
        lastMs: input.series.timestamps[input.series.timestamps.length - 1] as number,
      },
      hourOfWeek,
      history: {
        timestamps: regular.timestamps.slice(-Math.max(steps * 3, 1)),
        values: values.slice(-Math.max(steps * 3, 1)),
      },
      forecast: {
        model: fitted.description,
        stepMs,
        timestamps: Array.from({ length: steps }, (_, h) => lastMs + (h + 1) * stepMs),
        ...band,
      },
      findings: [],
    };
    if (mean === 0) report.hourOfWeek = report.hourOfWeek.map(() => null);
    if (input.capacity !== undefined) {
      report.capacity = input.capacity;
      const seasonal = forecaster.name.startsWith('multi-seasonal');
      report.exhaustion = timeToExhaustion(
        { timestamps: regular.timestamps, values },
        seasonal
          ? {
              capacity: input.capacity,
              method: 'seasonal',
              forecaster,
              horizon: Math.max(horizonMs, 30 * DAY_MS),
              confidence: level,
            }
          : { capacity: input.capacity, confidence: level },
      );
    }
    if (input.storage)
      report.findings.push(
        ...storageFindings(input.series, {
          label: input.name,
          ...(input.storage.threshold === undefined ? {} : { threshold: input.storage.threshold }),
        }),
      );
    reports.push(report);
    options.onProgress?.(index + 1, options.series.length, input.name);
  });
  let growth: GrowthPlan | undefined;
  if (options.growth) {
    const source = reports.find((report) => report.name === options.growth?.series);
    const input = options.series.find((entry) => entry.name === options.growth?.series);
    if (!source || !input)
      throw new CapacityError(
        'ARGUMENT_INVALID',
        `growth.series: no series named ${JSON.stringify(options.growth.series)}`,
      );
    const { series: _series, ...plan } = options.growth;
    const hourOfWeekPeak = Math.max(...source.hourOfWeek.filter((value): value is number => value !== null));
    growth = planGrowth({
      ...plan,
      utilization: input.series.values,
      windowSize: Math.max(
        1,
        Math.round(
          HOUR_MS /
            (source.stats.count > 1
              ? (source.stats.lastMs - source.stats.firstMs) / (source.stats.count - 1)
              : HOUR_MS),
        ),
      ),
    });
    if (Number.isFinite(hourOfWeekPeak))
      growth.explanation.push(`busiest hour of week runs at ${(hourOfWeekPeak * 100).toFixed(0)}% of the average`);
  }
  const findings: string[] = [];
  for (const report of reports) {
    const exhaustion = report.exhaustion;
    if (
      exhaustion &&
      (exhaustion.status === 'exhausted' || exhaustion.status === 'growing' || exhaustion.status === 'uncertain') &&
      exhaustion.earliestMs !== null
    ) {
      findings.push(
        `${report.name}: ${exhaustion.status === 'exhausted' ? 'at capacity now' : `reaches ${exhaustion.capacity} as early as ${new Date(exhaustion.earliestMs).toISOString().slice(0, 10)}`} (${exhaustion.explanation})`,
      );
    }
    for (const finding of report.findings) findings.push(finding.message);
  }
  for (const finding of options.rightSizing?.findings ?? []) findings.push(finding.message);
  for (const budget of options.budgets ?? []) for (const alert of budget.alerts) findings.push(alert.message);
  return {
    title: options.title ?? 'Capacity report',
    generatedAtMs: clock.now(),
    horizonMs,
    series: reports,
    ...(growth ? { growth } : {}),
    ...(options.rightSizing ? { rightSizing: options.rightSizing } : {}),
    ...(options.budgets ? { budgets: [...options.budgets] } : {}),
    findings,
  };
}
