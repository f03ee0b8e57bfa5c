import { z } from 'zod';
import { bootstrapRatioInterval, mannWhitneyU, percentile } from './statistics.js';

/** One metric of a stored baseline. */
export interface BaselineMetric {
  /** Unit for humans (`'ms'`, `'req/s'`, `'ratio'`). */
  unit: string;
  /** `'lower'` when smaller is better (latency, error rate), `'higher'` for throughput. */
  better: 'lower' | 'higher';
  /** The reference figure (e.g. p95 latency in ms). */
  value: number;
  /** Raw samples behind `value`, kept so later runs can be tested for significance. */
  samples?: number[];
  /** Allowed worsening in percent before a change counts (overrides the global tolerance). */
  tolerancePercent?: number;
  /**
   * Percentile (0..100) that summarises raw samples: `95` for a p95 metric fed with request latencies. Default 50.
   * Metrics with a percentile other than 50 are tested with the bootstrap (Mann–Whitney compares whole distributions).
   */
  percentile?: number;
}

/** A stored performance baseline (JSON file). */
export interface PerformanceBaseline {
  metrics: Record<string, BaselineMetric>;
}

/** A run's measurement of one metric: the figure, and its samples when there are several. */
export interface Measurement {
  /** Default: the median of `samples`. */
  value?: number;
  samples?: number[];
}

/** zod schema of a baseline file. */
export const performanceBaselineSchema = z.strictObject({
  metrics: z.record(
    z.string().min(1),
    z.strictObject({
      unit: z.string(),
      better: z.enum(['lower', 'higher']),
      value: z.number().finite(),
      samples: z.array(z.number().finite()).optional(),
      tolerancePercent: z.number().min(0).optional(),
      percentile: z.number().min(0).max(100).optional(),
    }),
  ),
});

/** zod schema of a measurements file: `{ metrics: { name: { value?, samples? } } }`. */
export const measurementsSchema = z.strictObject({
  metrics: z.record(
    z.string().min(1),
    z
      .strictObject({ value: z.number().finite().optional(), samples: z.array(z.number().finite()).min(1).optional() })
      .refine((value) => value.value !== undefined || value.samples !== undefined, {
        message: 'expected "value" or "samples"',
      }),
  ),
});

/** Options of {@link checkPerformanceBudget}. */
export interface PerformanceBudgetOptions {
  baseline: PerformanceBaseline;
  current: Record<string, Measurement>;
  /** Default allowed worsening, percent. Default 10. */
  tolerancePercent?: number;
  /** Significance level. Default 0.05. */
  alpha?: number;
  /** Fewer samples on either side than this: decide on the tolerance alone. Default 5. */
  minSamples?: number;
  /**
   * `'auto'` (default): Mann–Whitney U for median metrics, bootstrap for other percentiles; `'mann-whitney'`; or
   * `'bootstrap'` (confidence interval of the ratio of the metric's percentile).
   */
  method?: 'auto' | 'mann-whitney' | 'bootstrap';
  /** A significant improvement must also beat the baseline by this much to tighten it. Default 5. */
  minImprovementPercent?: number;
}

/** Verdict of one metric. */
export interface MetricVerdict {
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  baseline: number;
  current: number;
  /** Signed change in percent, positive = worse. */
  worsePercent: number;
  tolerancePercent: number;
  /** Share of the tolerance used, like an error budget (100 = at the limit). */
  budgetUsedPercent: number;
  /** Whether a significance test was possible (enough samples on both sides). */
  tested: boolean;
  /** p-value (Mann–Whitney) of the observed direction, when tested. */
  pValue?: number;
  /** Bootstrap interval of current/baseline, when that method ran. */
  interval?: { low: number; high: number };
  verdict: 'pass' | 'regression' | 'improvement' | 'missing';
  reason: string;
}

/** Result of {@link checkPerformanceBudget}. */
export interface PerformanceBudgetResult {
  /** `'regression'` when any metric regressed. */
  verdict: 'pass' | 'regression';
  metrics: MetricVerdict[];
}

function valueOf(measurement: Measurement, statistic = 50): number {
  return measurement.value ?? percentile(measurement.samples ?? [], statistic);
}

/**
 * Compares a run with a stored baseline. A metric regresses only when it is worse by more than its tolerance
 * **and** — when both sides have samples — the difference is statistically significant (one-sided Mann–Whitney U
 * below `alpha`, or a bootstrap interval of the ratio entirely beyond the tolerance). Noisy runs that merely look
 * worse pass; so do real but tolerated changes.
 *
 * @example
 * ```ts
 * const result = checkPerformanceBudget({ baseline, current: { 'api.p95': { samples: runMs } } });
 * process.exitCode = result.verdict === 'regression' ? 1 : 0;
 * ```
 */
export function checkPerformanceBudget(options: PerformanceBudgetOptions): PerformanceBudgetResult {
  const {
    baseline,
    current,
    tolerancePercent = 10,
    alpha = 0.05,
    minSamples = 5,
    method = 'auto',
    minImprovementPercent = 5,
  } = options;
  const metrics: MetricVerdict[] = [];
  for (const [name, reference] of Object.entries(baseline.metrics)) {
    const tolerance = reference.tolerancePercent ?? tolerancePercent;
    const measurement = current[name];
    if (!measurement) {
      metrics.push({
        name,
        unit: reference.unit,
        better: reference.better,
        baseline: reference.value,
        current: 0,
        worsePercent: 0,
        tolerancePercent: tolerance,
        budgetUsedPercent: 0,
        tested: false,
        verdict: 'missing',
        reason: 'not measured in this run',
      });
      continue;
    }
    const statistic = reference.percentile ?? 50;
    const value = valueOf(measurement, statistic);
    const metricMethod = method === 'auto' ? (statistic === 50 ? 'mann-whitney' : 'bootstrap') : method;
    const sign = reference.better === 'lower' ? 1 : -1;
    const worsePercent =
      reference.value === 0
        ? value === 0
          ? 0
          : sign * 100
        : (sign * (value - reference.value) * 100) / Math.abs(reference.value);
    const budgetUsedPercent =
      tolerance === 0 ? (worsePercent > 0 ? 100 : 0) : Math.max(0, (worsePercent / tolerance) * 100);
    const samplesBefore = reference.samples ?? [];
    const samplesNow = measurement.samples ?? [];
    const tested = samplesBefore.length >= minSamples && samplesNow.length >= minSamples;
    const verdict: MetricVerdict = {
      name,
      unit: reference.unit,
      better: reference.better,
      baseline: reference.value,
      current: value,
      worsePercent,
      tolerancePercent: tolerance,
      budgetUsedPercent,
      tested,
      verdict: 'pass',
      reason: '',
    };
    let significantWorse = true;
    let significantBetter = true;
    if (tested && metricMethod === 'mann-whitney') {
      const test = mannWhitneyU(samplesBefore, samplesNow);
      const pWorse = reference.better === 'lower' ? test.pGreater : test.pLess;
      const pBetter = reference.better === 'lower' ? test.pLess : test.pGreater;
      verdict.pValue = worsePercent >= 0 ? pWorse : pBetter;
      significantWorse = pWorse < alpha;
      significantBetter = pBetter < alpha;
    } else if (tested) {
      const interval = bootstrapRatioInterval(samplesBefore, samplesNow, {
        confidence: 1 - 2 * alpha,
        percentile: statistic,
      });
      verdict.interval = { low: interval.low, high: interval.high };
      const limit = 1 + (sign * tolerance) / 100;
      significantWorse = reference.better === 'lower' ? interval.low > limit : interval.high < limit;
      significantBetter = reference.better === 'lower' ? interval.high < 1 : interval.low > 1;
    }
    if (worsePercent > tolerance) {
      if (significantWorse) {
        verdict.verdict = 'regression';
        verdict.reason = tested
          ? `worse by ${round(worsePercent)}% (> ${tolerance}%) and significant`
          : `worse by ${round(worsePercent)}% (> ${tolerance}%); no samples to test significance`;
      } else {
        verdict.reason = `worse by ${round(worsePercent)}% but not statistically significant (noise)`;
      }
    } else if (-worsePercent >= minImprovementPercent && significantBetter) {
      verdict.verdict = 'improvement';
      verdict.reason = `better by ${round(-worsePercent)}%${tested ? ' and significant' : ''}`;
    } else {
      verdict.reason =
        worsePercent > 0 ? `worse by ${round(worsePercent)}%, within the ${tolerance}% tolerance` : 'within tolerance';
    }
    metrics.push(verdict);
  }
  return { verdict: metrics.some((metric) => metric.verdict === 'regression') ? 'regression' : 'pass', metrics };
}

/**
 * The quality ratchet: a new baseline where metrics that improved significantly take the run's figure and
 * samples; every other metric (regressed, noisy, merely tolerated) keeps the old baseline. Never loosens.
 */
export function ratchetBaseline(
  baseline: PerformanceBaseline,
  result: PerformanceBudgetResult,
  current: Record<string, Measurement>,
): PerformanceBaseline {
  const metrics: Record<string, BaselineMetric> = {};
  for (const [name, reference] of Object.entries(baseline.metrics)) {
    const verdict = result.metrics.find((metric) => metric.name === name);
    const measurement = current[name];
    if (verdict?.verdict === 'improvement' && measurement) {
      metrics[name] = {
        ...reference,
        value: valueOf(measurement, reference.percentile),
        ...(measurement.samples ? { samples: [...measurement.samples] } : {}),
      };
    } else {
      metrics[name] = reference;
    }
  }
  return { metrics };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
