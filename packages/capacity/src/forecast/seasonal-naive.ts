import { seededRandom } from '@ops/core';
import { CapacityError } from '../errors.js';
import type { FittedForecast, Forecaster } from './forecaster.js';
import { quantileSorted } from './holt-winters.js';

/**
 * The seasonal-naive forecast: each future step repeats the value one season earlier (`seasonLength` 1: the last
 * value). The baseline every backtest compares against; its band resamples the in-sample seasonal differences.
 */
export function seasonalNaiveForecaster(seasonLength: number): Forecaster {
  if (!Number.isInteger(seasonLength) || seasonLength < 1)
    throw new CapacityError('ARGUMENT_INVALID', `seasonLength: expected an integer ≥ 1, got ${seasonLength}`);
  return {
    name: `seasonal-naive(${seasonLength})`,
    fit(values) {
      const y = Array.from(values);
      if (y.length < seasonLength)
        throw new CapacityError('INSUFFICIENT_DATA', `seasonal naive needs ${seasonLength} values, got ${y.length}`);
      const lastSeason = y.slice(y.length - seasonLength);
      const differences: number[] = [];
      for (let index = seasonLength; index < y.length; index++)
        differences.push((y[index] as number) - (y[index - seasonLength] as number));
      const forecast = (horizon: number) =>
        Array.from({ length: horizon }, (_, h) => lastSeason[h % seasonLength] as number);
      const fitted: FittedForecast = {
        description: `seasonal naive, lag ${seasonLength}`,
        forecast,
        forecastInterval(horizon, options = {}) {
          const { level = 0.95, paths = 1000, seed = 1 } = options;
          const mean = forecast(horizon);
          if (differences.length === 0) return { mean, lower: [...mean], upper: [...mean], level };
          const random = seededRandom(seed);
          const lower: number[] = [];
          const upper: number[] = [];
          for (let h = 0; h < horizon; h++) {
            // Errors accumulate once per season passed.
            const seasons = Math.floor(h / seasonLength) + 1;
            const draws = new Float64Array(paths);
            for (let path = 0; path < paths; path++) {
              let total = 0;
              for (let step = 0; step < seasons; step++)
                total += differences[Math.floor(random() * differences.length)] as number;
              draws[path] = (mean[h] as number) + total;
            }
            draws.sort();
            lower.push(quantileSorted(draws, (1 - level) / 2));
            upper.push(quantileSorted(draws, 1 - (1 - level) / 2));
          }
          return { mean, lower, upper, level };
        },
      };
      return fitted;
    },
  };
}
