/**
 * The tests the canary guard decides with: a one-sided two-proportion z-test on error counts (Fisher's exact test
 * when the counts are small) and a one-sided Mann-Whitney U test on latency samples. Written here, from the
 * textbook definitions, so the guard has no statistics dependency.
 */

/** Standard normal CDF Φ(z), via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9). */
export function logGamma(x: number): number {
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = coefficients[0] as number;
  for (let index = 1; index < 9; index++) sum += (coefficients[index] as number) / (shifted + index);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

const logChoose = (n: number, k: number) => logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);

/** Result of a one-sided test that the canary is worse than the baseline. */
export interface TestResult {
  /** Which test was used. */
  test: 'two-proportion-z' | 'fisher-exact' | 'mann-whitney-u';
  /** The statistic (z for the z-test and Mann-Whitney; the canary's count for Fisher). */
  statistic: number;
  /** One-sided p-value: the probability of a result at least this bad for the canary if both were the same. */
  pValue: number;
}

/**
 * One-sided test that the canary's error proportion is higher than the baseline's. Uses the pooled two-proportion
 * z-test when every expected cell count is at least 5, else Fisher's exact test (hypergeometric upper tail).
 */
export function errorRateTest(
  canaryErrors: number,
  canaryTotal: number,
  baselineErrors: number,
  baselineTotal: number,
): TestResult {
  if (canaryTotal <= 0 || baselineTotal <= 0) return { test: 'two-proportion-z', statistic: 0, pValue: 1 };
  const total = canaryTotal + baselineTotal;
  const errors = canaryErrors + baselineErrors;
  const successes = total - errors;
  const smallest = Math.min(
    (canaryTotal * errors) / total,
    (baselineTotal * errors) / total,
    (canaryTotal * successes) / total,
    (baselineTotal * successes) / total,
  );
  if (smallest < 5) {
    // P(X ≥ canaryErrors), X ~ Hypergeometric(total, errors, canaryTotal).
    const upper = Math.min(errors, canaryTotal);
    const denominator = logChoose(total, canaryTotal);
    let pValue = 0;
    for (let x = canaryErrors; x <= upper; x++) {
      if (canaryTotal - x > successes) continue;
      pValue += Math.exp(logChoose(errors, x) + logChoose(successes, canaryTotal - x) - denominator);
    }
    return { test: 'fisher-exact', statistic: canaryErrors, pValue: Math.min(1, pValue) };
  }
  const pooled = errors / total;
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / canaryTotal + 1 / baselineTotal));
  const z = (canaryErrors / canaryTotal - baselineErrors / baselineTotal) / standardError;
  return { test: 'two-proportion-z', statistic: z, pValue: 1 - normalCdf(z) };
}

/**
 * One-sided Mann-Whitney U test that canary latencies tend to be larger than baseline ones (normal approximation
 * with tie correction and continuity correction; fine from ~20 samples per side).
 */
export function latencyTest(canary: readonly number[], baseline: readonly number[]): TestResult {
  const n1 = canary.length;
  const n2 = baseline.length;
  if (n1 === 0 || n2 === 0) return { test: 'mann-whitney-u', statistic: 0, pValue: 1 };
  const all: Array<{ value: number; canary: boolean }> = [];
  for (const value of canary) all.push({ value, canary: true });
  for (const value of baseline) all.push({ value, canary: false });
  all.sort((a, b) => a.value - b.value);
  const total = all.length;
  let canaryRankSum = 0;
  let tieTerm = 0;
  for (let start = 0; start < total;) {
    let end = start;
    while (end + 1 < total && (all[end + 1] as { value: number }).value === (all[start] as { value: number }).value)
      end++;
    const rank = (start + end + 2) / 2;
    const ties = end - start + 1;
    if (ties > 1) tieTerm += ties ** 3 - ties;
    for (let index = start; index <= end; index++)
      if ((all[index] as { canary: boolean }).canary) canaryRankSum += rank;
    start = end + 1;
  }
  const u = canaryRankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (total + 1 - tieTerm / (total * (total - 1)));
  if (variance <= 0) return { test: 'mann-whitney-u', statistic: 0, pValue: 1 };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { test: 'mann-whitney-u', statistic: z, pValue: 1 - normalCdf(z) };
}

/** The q-quantile (nearest rank) of the values; undefined when empty. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index];
}
