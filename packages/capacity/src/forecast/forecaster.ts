import type { ForecastBand, IntervalOptions } from './holt-winters.js';

/** Where a regular series sits in time (needed by calendar effects and time-stamped output). */
export interface SeriesTime {
  /** Epoch ms of the first value. */
  startMs: number;
  /** Spacing of the values in ms. */
  stepMs: number;
}

/** A fitted model that forecasts the steps after its training data. */
export interface FittedForecast {
  /** Point forecasts for the next `horizon` steps. */
  forecast(horizon: number): number[];
  /** Point forecasts with a prediction band. */
  forecastInterval(horizon: number, options?: IntervalOptions): ForecastBand;
  /** A one-line description of the fitted model, e.g. `'HW(A,Ad,M) m=24 α=0.31 β=0.02 γ=0.11 φ=0.97'`. */
  readonly description: string;
}

/**
 * Something that fits a regular series and forecasts it: Holt-Winters, the multi-seasonal decomposition, seasonal
 * naive, or an adapter to another library. Backtests and reports take any `Forecaster`.
 */
export interface Forecaster {
  /** Name shown in backtests and reports. */
  readonly name: string;
  fit(values: ArrayLike<number>, time?: SeriesTime): FittedForecast;
}
