import { CapacityError } from '../errors.js';

function check(actual: ArrayLike<number>, forecast: ArrayLike<number>): void {
  if (actual.length !== forecast.length || actual.length === 0) {
    throw new CapacityError(
      'ARGUMENT_INVALID',
      `actual and forecast must be non-empty and equal in length (${actual.length} vs ${forecast.length})`,
    );
  }
}

/**
 * Symmetric mean absolute percentage error in percent, `200/n · Σ |F − A| / (|A| + |F|)` (0 … 200); a pair where
 * both are 0 counts as a perfect forecast.
 */
export function smape(actual: ArrayLike<number>, forecast: ArrayLike<number>): number {
  check(actual, forecast);
  let sum = 0;
  for (let index = 0; index < actual.length; index++) {
    const a = actual[index] as number;
    const f = forecast[index] as number;
    const denominator = Math.abs(a) + Math.abs(f);
    if (denominator > 0) sum += Math.abs(f - a) / denominator;
  }
  return (200 * sum) / actual.length;
}

/** Mean absolute error. */
export function mae(actual: ArrayLike<number>, forecast: ArrayLike<number>): number {
  check(actual, forecast);
  let sum = 0;
  for (let index = 0; index < actual.length; index++)
    sum += Math.abs((actual[index] as number) - (forecast[index] as number));
  return sum / actual.length;
}

/**
 * Mean absolute scaled error (Hyndman & Koehler 2006): the forecast's MAE divided by the in-sample MAE of the
 * seasonal-naive forecast (lag `seasonLength`, 1 for none) on `training`. Below 1 beats seasonal naive in-sample.
 */
export function mase(
  actual: ArrayLike<number>,
  forecast: ArrayLike<number>,
  training: ArrayLike<number>,
  seasonLength = 1,
): number {
  check(actual, forecast);
  const lag = Math.max(1, seasonLength);
  if (training.length <= lag)
    throw new CapacityError('INSUFFICIENT_DATA', `MASE needs more than ${lag} training points, got ${training.length}`);
  let scale = 0;
  for (let index = lag; index < training.length; index++)
    scale += Math.abs((training[index] as number) - (training[index - lag] as number));
  scale /= training.length - lag;
  const error = mae(actual, forecast);
  return scale === 0 ? (error === 0 ? 0 : Number.POSITIVE_INFINITY) : error / scale;
}
