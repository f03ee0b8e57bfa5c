import { CapacityError } from '../errors.js';
import { mae, mase, smape } from './accuracy.js';
import type { Forecaster, SeriesTime } from './forecaster.js';
import { seasonalNaiveForecaster } from './seasonal-naive.js';

/** Options of {@link backtest}. */
export interface BacktestOptions {
  /** Steps forecast from each origin. */
  horizon: number;
  /** Number of forecast origins, the last one `horizon` before the end. Default 4. */
  origins?: number;
  /** Distance between origins in steps. Default `horizon`. */
  step?: number;
  /** Season length of the seasonal-naive baseline and of the MASE scale. Default 1. */
  seasonLength?: number;
  /** Train on at most this many values before each origin (a sliding window). Default: everything before it. */
  maxTrain?: number;
  /** Series time, passed to the forecaster (calendar effects). */
  time?: SeriesTime;
}

/** One forecast origin of a backtest. */
export interface BacktestFold {
  /** Index of the first forecast value. */
  origin: number;
  smape: number;
  mase: number;
  mae: number;
  baselineSmape: number;
  baselineMase: number;
}

/** The result of {@link backtest}. */
export interface BacktestResult {
  forecaster: string;
  baseline: string;
  horizon: number;
  folds: BacktestFold[];
  /** Means over the folds. */
  smape: number;
  mase: number;
  baselineSmape: number;
  baselineMase: number;
  /** 1 − sMAPE / baseline sMAPE: above 0 beats seasonal naive. */
  skill: number;
}

/**
 * Rolling-origin evaluation (Tashman 2000): for each origin, fit on the values before it, forecast `horizon`
 * steps, score against what happened (sMAPE, MASE with the in-sample seasonal-naive scale, MAE), and score the
 * seasonal-naive forecast from the same origin alongside.
 */
export function backtest(values: ArrayLike<number>, forecaster: Forecaster, options: BacktestOptions): BacktestResult {
  const { horizon, origins = 4, seasonLength = 1, maxTrain } = options;
  const step = options.step ?? horizon;
  const y = Array.from(values);
  if (!Number.isInteger(horizon) || horizon < 1)
    throw new CapacityError('ARGUMENT_INVALID', `horizon: expected an integer ≥ 1, got ${horizon}`);
  const firstOrigin = y.length - horizon - (origins - 1) * step;
  if (firstOrigin < 2 * seasonLength + 1)
    throw new CapacityError(
      'INSUFFICIENT_DATA',
      `${origins} origins with horizon ${horizon} and step ${step} leave too little training data`,
    );
  const baseline = seasonalNaiveForecaster(seasonLength);
  const folds: BacktestFold[] = [];
  for (let fold = 0; fold < origins; fold++) {
    const origin = firstOrigin + fold * step;
    const from = maxTrain === undefined ? 0 : Math.max(0, origin - maxTrain);
    const training = y.slice(from, origin);
    const actual = y.slice(origin, origin + horizon);
    const time = options.time
      ? { startMs: options.time.startMs + from * options.time.stepMs, stepMs: options.time.stepMs }
      : undefined;
    const forecast = forecaster.fit(training, time).forecast(horizon);
    const naive = baseline.fit(training).forecast(horizon);
    folds.push({
      origin,
      smape: smape(actual, forecast),
      mase: mase(actual, forecast, training, seasonLength),
      mae: mae(actual, forecast),
      baselineSmape: smape(actual, naive),
      baselineMase: mase(actual, naive, training, seasonLength),
    });
  }
  const average = (pick: (fold: BacktestFold) => number) =>
    folds.reduce((sum, fold) => sum + pick(fold), 0) / folds.length;
  const result = {
    forecaster: forecaster.name,
    baseline: baseline.name,
    horizon,
    folds,
    smape: average((fold) => fold.smape),
    mase: average((fold) => fold.mase),
    baselineSmape: average((fold) => fold.baselineSmape),
    baselineMase: average((fold) => fold.baselineMase),
  };
  return { ...result, skill: result.baselineSmape > 0 ? 1 - result.smape / result.baselineSmape : 0 };
}
