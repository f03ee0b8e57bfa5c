import { seededRandom } from '@ops/core';

/** Result of {@link mannWhitneyU}. */
export interface MannWhitneyResult {
  /** U statistic of the first sample. */
  u: number;
  /** Normal approximation z score (tie- and continuity-corrected); positive when `b` tends to be larger. */
  z: number;
  /** Two-sided p-value. */
  pValue: number;
  /** One-sided p-value for "b is stochastically greater than a". */
  pGreater: number;
  /** One-sided p-value for "b is stochastically less than a". */
  pLess: number;
}

/** Standard normal cumulative distribution (Abramowitz–Stegun 7.1.26, absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Mann–Whitney U test (Wilcoxon rank-sum) of two independent samples, normal approximation with tie correction
 * and continuity correction. Distribution-free: fits skewed latency samples better than a t-test.
 *
 * @example
 * ```ts
 * mannWhitneyU(baselineMs, currentMs).pGreater < 0.05 // current is significantly slower
 * ```
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, pValue: 1, pGreater: 1, pLess: 1 };
  const all = [...a.map((value) => ({ value, group: 0 })), ...b.map((value) => ({ value, group: 1 }))].sort(
    (left, right) => left.value - right.value,
  );
  const n = all.length;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && (all[end + 1] as { value: number }).value === (all[start] as { value: number }).value) end++;
    const rank = (start + end + 2) / 2;
    const ties = end - start + 1;
    tieTerm += ties ** 3 - ties;
    for (let index = start; index <= end; index++) if ((all[index] as { group: number }).group === 0) rankSumA += rank;
    start = end + 1;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, pValue: 1, pGreater: 1, pLess: 1 };
  const sigma = Math.sqrt(variance);
  // U counts pairs where a beats b; b larger means U below its mean, so z is positive when b tends to be larger.
  const difference = mean - u;
  const z = (difference - Math.sign(difference) * 0.5) / sigma;
  const pGreater = 1 - normalCdf((difference - 0.5) / sigma);
  const pLess = normalCdf((difference + 0.5) / sigma);
  return {
    u,
    z,
    pValue: Math.min(1, 2 * Math.min(pGreater, pLess)),
    pGreater: Math.min(1, pGreater),
    pLess: Math.min(1, pLess),
  };
}

/** Linear-interpolated percentile (`p` in 0..100) of a sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const position = ((sorted.length - 1) * Math.min(100, Math.max(0, p))) / 100;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  return low + ((sorted[upper] as number) - low) * (position - lower);
}

/** Options of {@link bootstrapRatioInterval}. */
export interface BootstrapOptions {
  /** Statistic compared: a percentile 0..100. Default 50 (median). */
  percentile?: number;
  /** Resamples. Default 2,000. */
  iterations?: number;
  /** Confidence level. Default 0.95. */
  confidence?: number;
  /** PRNG seed. Default 1. */
  seed?: number;
}

/**
 * Percentile bootstrap confidence interval of `statistic(b) / statistic(a)` (e.g. current p95 over baseline p95).
 * An interval entirely above 1 means `b` is larger with the given confidence.
 */
export function bootstrapRatioInterval(
  a: readonly number[],
  b: readonly number[],
  options: BootstrapOptions = {},
): { low: number; high: number; estimate: number } {
  const { percentile: p = 50, iterations = 2_000, confidence = 0.95, seed = 1 } = options;
  const estimateA = percentile(a, p);
  const estimate = estimateA === 0 ? 1 : percentile(b, p) / estimateA;
  if (a.length === 0 || b.length === 0) return { low: estimate, high: estimate, estimate };
  const random = seededRandom(seed);
  const ratios: number[] = [];
  const resampleA = new Array<number>(a.length);
  const resampleB = new Array<number>(b.length);
  for (let iteration = 0; iteration < iterations; iteration++) {
    for (let index = 0; index < a.length; index++) resampleA[index] = a[Math.floor(random() * a.length)] as number;
    for (let index = 0; index < b.length; index++) resampleB[index] = b[Math.floor(random() * b.length)] as number;
    const base = percentile(resampleA, p);
    ratios.push(base === 0 ? 1 : percentile(resampleB, p) / base);
  }
  const tail = ((1 - confidence) / 2) * 100;
  return { low: percentile(ratios, tail), high: percentile(ratios, 100 - tail), estimate };
}
