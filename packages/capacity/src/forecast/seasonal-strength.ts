import { CapacityError } from '../errors.js';

/**
 * Strength of seasonality of one period, as defined by Wang, Smith & Hyndman (2006) and used by `forecast::nsdiffs`:
 * `F = max(0, 1 − Var(R) / Var(S + R))` over a classical decomposition (centred moving average of the period's
 * length as the trend, per-phase means of the detrended values as the season, the rest as the remainder).
 * 0 means no seasonal pattern, values near 1 a pattern much larger than the noise; 0.64 is the usual threshold above
 * which a series counts as seasonal.
 *
 * @example
 * ```ts
 * if (seasonalStrength(values, 288) >= 0.64) console.log('daily cycle (5-minute data)');
 * ```
 */
export function seasonalStrength(values: ArrayLike<number>, period: number): number {
  const n = values.length;
  if (!Number.isInteger(period) || period < 2)
    throw new CapacityError('ARGUMENT_INVALID', `period: expected an integer ≥ 2, got ${period}`);
  if (n < 2 * period)
    throw new CapacityError(
      'INSUFFICIENT_DATA',
      `seasonal strength of period ${period} needs ≥ ${2 * period} values, got ${n}`,
    );
  const prefix = new Float64Array(n + 1);
  for (let index = 0; index < n; index++) prefix[index + 1] = (prefix[index] as number) + (values[index] as number);
  const half = Math.floor(period / 2);
  // Detrended values (S + R) where the centred moving average (2×m MA for even m) is defined.
  const from = half;
  const to = n - half - 1;
  const detrended = new Float64Array(Math.max(0, to - from + 1));
  for (let t = from; t <= to; t++) {
    let trend: number;
    if (period % 2 === 1) trend = ((prefix[t + half + 1] as number) - (prefix[t - half] as number)) / period;
    else {
      if (t + half + 1 > n) break;
      const left = ((prefix[t + half] as number) - (prefix[t - half] as number)) / period;
      const right = ((prefix[t + half + 1] as number) - (prefix[t - half + 1] as number)) / period;
      trend = (left + right) / 2;
    }
    detrended[t - from] = (values[t] as number) - trend;
  }
  const sums = new Float64Array(period);
  const counts = new Float64Array(period);
  detrended.forEach((value, offset) => {
    const phase = (offset + from) % period;
    sums[phase] = (sums[phase] as number) + value;
    counts[phase] = (counts[phase] as number) + 1;
  });
  const profile = Array.from(sums, (sum, phase) =>
    (counts[phase] as number) > 0 ? sum / (counts[phase] as number) : 0,
  );
  const center = profile.reduce((total, value) => total + value, 0) / period;
  const remainder = Float64Array.from(
    detrended,
    (value, offset) => value - ((profile[(offset + from) % period] as number) - center),
  );
  const varianceDetrended = variance(detrended);
  if (!(varianceDetrended > 0)) return 0;
  return Math.max(0, 1 - variance(remainder) / varianceDetrended);
}

function variance(values: Float64Array): number {
  if (values.length < 2) return 0;
  let mean = 0;
  for (const value of values) mean += value;
  mean /= values.length;
  let sum = 0;
  for (const value of values) sum += (value - mean) ** 2;
  return sum / (values.length - 1);
}
