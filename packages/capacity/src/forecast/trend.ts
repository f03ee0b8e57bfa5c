import { seededRandom } from '@ops/core';
import { CapacityError } from '../errors.js';

/** A straight line through the data. */
export interface LinearTrend {
  /** Change of y per unit of x. */
  slope: number;
  /** y at x = 0. */
  intercept: number;
  /** Standard error of the slope, √(Σr²/(n−2) / Σ(x−x̄)²); `NaN` with fewer than 3 points. */
  slopeStandardError: number;
  /** Residual standard deviation √(Σr²/(n−2)). */
  residualStandardError: number;
  /** Coefficient of determination (1 for an exact line, 0 for a flat series). */
  rSquared: number;
  n: number;
  /** Mean of x (needed for prediction intervals). */
  xMean: number;
  /** Σ(x − x̄)². */
  sxx: number;
}

/** Kahan-compensated sum, as Prometheus' linearRegression. */
class KahanSum {
  sum = 0;
  compensation = 0;
  add(value: number): void {
    const corrected = value - this.compensation;
    const next = this.sum + corrected;
    this.compensation = next - this.sum - corrected;
    this.sum = next;
  }
}

function checkPairs(x: ArrayLike<number>, y: ArrayLike<number>, minimum: number): void {
  if (x.length !== y.length)
    throw new CapacityError('ARGUMENT_INVALID', `x and y differ in length (${x.length} vs ${y.length})`);
  if (x.length < minimum)
    throw new CapacityError('INSUFFICIENT_DATA', `a trend needs at least ${minimum} points, got ${x.length}`);
}

/**
 * Ordinary least squares, as Prometheus' `linearRegression` (`predict_linear`, `deriv`): Kahan-compensated sums,
 * `slope = (Σxy − ΣxΣy/n) / (Σx² − (Σx)²/n)`; a constant series (or constant x) gives slope 0, never NaN. Adds the
 * slope's standard error for uncertainty bands.
 *
 * @example
 * ```ts
 * const { slope } = olsTrend(timesInDays, diskUsedBytes); // bytes per day
 * ```
 */
export function olsTrend(x: ArrayLike<number>, y: ArrayLike<number>): LinearTrend {
  checkPairs(x, y, 2);
  const n = x.length;
  // Centre x on its first value for numerical stability with epoch-sized x (the intercept is shifted back).
  const x0 = x[0] as number;
  const sx = new KahanSum();
  const sy = new KahanSum();
  const sxy = new KahanSum();
  const sxx = new KahanSum();
  let constantY = true;
  for (let index = 0; index < n; index++) {
    const xi = (x[index] as number) - x0;
    const yi = y[index] as number;
    if (yi !== y[0]) constantY = false;
    sx.add(xi);
    sy.add(yi);
    sxy.add(xi * yi);
    sxx.add(xi * xi);
  }
  const covariance = sxy.sum - (sx.sum * sy.sum) / n;
  const variance = sxx.sum - (sx.sum * sx.sum) / n;
  const slope = constantY || variance === 0 ? 0 : covariance / variance;
  const xMeanShifted = sx.sum / n;
  const interceptShifted = sy.sum / n - slope * xMeanShifted;
  const intercept = interceptShifted - slope * x0;
  let residualSquares = 0;
  let totalSquares = 0;
  const yMean = sy.sum / n;
  for (let index = 0; index < n; index++) {
    const residual = (y[index] as number) - (interceptShifted + slope * ((x[index] as number) - x0));
    residualSquares += residual * residual;
    totalSquares += ((y[index] as number) - yMean) ** 2;
  }
  const residualStandardError = n > 2 ? Math.sqrt(residualSquares / (n - 2)) : Number.NaN;
  return {
    slope,
    intercept,
    slopeStandardError: n > 2 && variance > 0 ? residualStandardError / Math.sqrt(variance) : Number.NaN,
    residualStandardError,
    rSquared: totalSquares > 0 ? 1 - residualSquares / totalSquares : 1,
    n,
    xMean: xMeanShifted + x0,
    sxx: variance,
  };
}

/** Options of {@link theilSenTrend}. */
export interface TheilSenOptions {
  /** Above this many points, the median is taken over this many random pairs (seeded). Default 200,000 pairs. */
  maxPairs?: number;
  seed?: number;
}

/**
 * Theil–Sen estimator: the median of the slopes of all pairs (random pairs beyond `maxPairs`), the intercept the
 * median of `y − slope·x`. Robust to up to ~29% outliers — the step of a VACUUM or a log rotation does not bend it.
 */
export function theilSenTrend(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  options: TheilSenOptions = {},
): { slope: number; intercept: number; n: number } {
  checkPairs(x, y, 2);
  const { maxPairs = 200_000, seed = 1 } = options;
  const n = x.length;
  const total = (n * (n - 1)) / 2;
  const slopes: number[] = [];
  if (total <= maxPairs) {
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = (x[j] as number) - (x[i] as number);
        if (dx !== 0) slopes.push(((y[j] as number) - (y[i] as number)) / dx);
      }
    }
  } else {
    const random = seededRandom(seed);
    while (slopes.length < maxPairs) {
      const i = Math.floor(random() * n);
      const j = Math.floor(random() * n);
      const dx = (x[j] as number) - (x[i] as number);
      if (dx !== 0) slopes.push(((y[j] as number) - (y[i] as number)) / dx);
    }
  }
  const slope = slopes.length === 0 ? 0 : median(slopes);
  const offsets: number[] = [];
  for (let index = 0; index < n; index++) offsets.push((y[index] as number) - slope * (x[index] as number));
  return { slope, intercept: median(offsets), n };
}

/** Median of a list (sorts a copy). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
