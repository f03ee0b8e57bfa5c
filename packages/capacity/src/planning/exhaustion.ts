import { parseDuration, type Duration } from '@ops/core';
import { CapacityError } from '../errors.js';
import type { Forecaster } from '../forecast/forecaster.js';
import { olsTrend, theilSenTrend } from '../forecast/trend.js';
import { regularizeSeries, type Series } from '../inputs/series.js';
import { studentTQuantile } from './statistics.js';

/** Options of {@link timeToExhaustion}. */
export interface ExhaustionOptions {
  /** The limit: disk bytes, database size, pool size, quota. */
  capacity: number;
  /** `'rising'` (default): usage grows towards `capacity`; `'falling'`: a free amount shrinks towards `capacity` (e.g. 0). */
  direction?: 'rising' | 'falling';
  /**
   * `'linear'` (default): OLS over `window` with a band from the slope's uncertainty; `'robust'`: Theil–Sen slope
   * (steps from VACUUM or log rotation do not bend it); `'seasonal'`: the first time the forecast band of
   * `forecaster` crosses the capacity.
   */
  method?: 'linear' | 'robust' | 'seasonal';
  /** History used, e.g. `'6h'` (node-mixin) or `'30d'`. Default: all. */
  window?: Duration;
  /** Coverage of the band. Default 0.95. */
  confidence?: number;
  /** "Now" (epoch ms). Default the last time stamp. */
  nowMs?: number;
  /** Seasonal method: the model (e.g. `holtWintersForecaster({ variant: 'auto', seasonLength: 24 })`). */
  forecaster?: Forecaster;
  /** Seasonal method: how far to look. Default `'90d'`. */
  horizon?: Duration;
}

/** When a resource runs out. Times are epoch ms; `null` means "not within reach" (not growing, or beyond the horizon). */
export interface Exhaustion {
  /** `exhausted`: at or past capacity now; `growing`: crossing expected; `uncertain`: growing, but a flat trend is within the band; `not-growing`. */
  status: 'exhausted' | 'growing' | 'uncertain' | 'not-growing';
  method: 'linear' | 'robust' | 'seasonal';
  capacity: number;
  /** The fitted (or last) value now. */
  current: number;
  /** current ÷ capacity (for rising series). */
  usedRatio: number;
  /** Growth per day of the fitted trend (negative when falling). */
  slopePerDay: number;
  /** Expected crossing. */
  atMs: number | null;
  /** Earliest crossing within the band (steepest plausible slope, or the upper band). */
  earliestMs: number | null;
  /** Latest crossing within the band (`null` when a flat trend is plausible). */
  latestMs: number | null;
  /** atMs − now, in ms. */
  remainingMs: number | null;
  explanation: string;
}

const DAY_MS = 86_400_000;

/**
 * Time to exhaustion: when will this disk, database, pool or quota run out? Linear (Prometheus `predict_linear`
 * with the slope's confidence band, or the robust Theil–Sen slope) or seasonal (the first time the forecast's upper
 * band reaches capacity — the earliest plausible date for a series with daily peaks). Answers "not growing" when the
 * trend is flat or shrinking, and "uncertain" when a flat trend is within the band.
 *
 * @example
 * ```ts
 * const disk = timeToExhaustion(usedBytesSeries, { capacity: 500e9, window: '7d' });
 * if (disk.status === 'growing') console.log(new Date(disk.atMs!), 'earliest', new Date(disk.earliestMs!));
 * ```
 */
export function timeToExhaustion(series: Series, options: ExhaustionOptions): Exhaustion {
  const { capacity, direction = 'rising', method = 'linear', confidence = 0.95 } = options;
  if (!Number.isFinite(capacity))
    throw new CapacityError('ARGUMENT_INVALID', `capacity: expected a finite number, got ${capacity}`);
  const nowMs = options.nowMs ?? (series.timestamps[series.timestamps.length - 1] as number);
  const windowMs = options.window === undefined ? undefined : parseDuration(options.window, 'window');
  const sign = direction === 'rising' ? 1 : -1;
  const from = windowMs === undefined ? Number.NEGATIVE_INFINITY : nowMs - windowMs;
  const x: number[] = [];
  const y: number[] = [];
  series.timestamps.forEach((at, index) => {
    if (at >= from && at <= nowMs) {
      x.push(at);
      y.push(sign * (series.values[index] as number));
    }
  });
  if (x.length < 3)
    throw new CapacityError(
      'INSUFFICIENT_DATA',
      `time to exhaustion needs at least 3 points in the window, got ${x.length}`,
    );
  const limit = sign * capacity;
  const usedRatio = (value: number) =>
    direction === 'rising' ? value / capacity : capacity === 0 ? Number.NaN : capacity / value;
  const result = (
    partial: Omit<Exhaustion, 'method' | 'capacity' | 'remainingMs' | 'usedRatio' | 'current'> & {
      currentSigned: number;
    },
  ): Exhaustion => {
    const { currentSigned, ...rest } = partial;
    const current = sign * currentSigned;
    return {
      ...rest,
      current,
      method,
      capacity,
      usedRatio: usedRatio(current),
      remainingMs: rest.atMs === null ? null : Math.max(0, rest.atMs - nowMs),
    };
  };
  const format = (ms: number | null) =>
    ms === null ? 'never' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

  if (method === 'seasonal') {
    if (!options.forecaster) throw new CapacityError('ARGUMENT_INVALID', "method 'seasonal' needs a forecaster");
    const regular = regularizeSeries({ timestamps: x, values: y.map((value) => sign * value) });
    const horizonSteps = Math.max(1, Math.floor(parseDuration(options.horizon ?? '90d', 'horizon') / regular.stepMs));
    const fitted = options.forecaster.fit(regular.values, {
      startMs: regular.timestamps[0] as number,
      stepMs: regular.stepMs,
    });
    const band = fitted.forecastInterval(horizonSteps, { level: confidence });
    const lastAt = regular.timestamps[regular.timestamps.length - 1] as number;
    const first = (values: number[]) => {
      const index = values.findIndex((value) => sign * value >= limit);
      return index < 0 ? null : lastAt + (index + 1) * regular.stepMs;
    };
    const currentSigned = sign * (regular.values[regular.values.length - 1] as number);
    const trend = olsTrend(regular.timestamps, regular.values);
    if (currentSigned >= limit) {
      return result({
        status: 'exhausted',
        currentSigned,
        slopePerDay: trend.slope * DAY_MS,
        atMs: nowMs,
        earliestMs: nowMs,
        latestMs: nowMs,
        explanation: `already at ${format(nowMs)} past capacity ${capacity}`,
      });
    }
    const expected = first(band.mean);
    const earliest = first(direction === 'rising' ? band.upper : band.lower);
    const latest = first(direction === 'rising' ? band.lower : band.upper);
    const status = expected !== null ? 'growing' : earliest !== null ? 'uncertain' : 'not-growing';
    return result({
      status,
      currentSigned,
      slopePerDay: trend.slope * DAY_MS,
      atMs: expected,
      earliestMs: earliest,
      latestMs: latest,
      explanation:
        earliest === null
          ? `the ${Math.round(confidence * 100)}% band of ${fitted.description} stays below ${capacity} for ${format(lastAt + horizonSteps * regular.stepMs)}`
          : `${fitted.description}: the upper ${Math.round(confidence * 100)}% band first reaches ${capacity} at ${format(earliest)} (expected ${format(expected)})`,
    });
  }

  let slope: number;
  let intercept: number;
  let band: number;
  if (method === 'robust') {
    const fit = theilSenTrend(x, y);
    slope = fit.slope;
    intercept = fit.intercept;
    // Band: the OLS slope's standard error, applied around the robust slope.
    const ols = olsTrend(x, y);
    band = Number.isFinite(ols.slopeStandardError)
      ? studentTQuantile(1 - (1 - confidence) / 2, x.length - 2) * ols.slopeStandardError
      : 0;
  } else {
    const fit = olsTrend(x, y);
    slope = fit.slope;
    intercept = fit.intercept;
    band = Number.isFinite(fit.slopeStandardError)
      ? studentTQuantile(1 - (1 - confidence) / 2, x.length - 2) * fit.slopeStandardError
      : 0;
  }
  const currentSigned = intercept + slope * nowMs;
  const slopePerDay = sign * slope * DAY_MS;
  const crossing = (rate: number) => (rate > 0 ? nowMs + (limit - currentSigned) / rate : null);
  if (currentSigned >= limit) {
    return result({
      status: 'exhausted',
      currentSigned,
      slopePerDay,
      atMs: nowMs,
      earliestMs: nowMs,
      latestMs: nowMs,
      explanation: `the fitted value ${(sign * currentSigned).toPrecision(4)} is already past capacity ${capacity}`,
    });
  }
  const perDay = (rate: number) => `${(sign * rate * DAY_MS).toPrecision(3)}/day`;
  if (!(slope > 0)) {
    return result({
      status: 'not-growing',
      currentSigned,
      slopePerDay,
      atMs: null,
      earliestMs: crossing(slope + band),
      latestMs: null,
      explanation: `not growing (${perDay(slope)}${band > 0 ? `, ${Math.round(confidence * 100)}% band up to ${perDay(slope + band)}` : ''})`,
    });
  }
  const atMs = crossing(slope);
  const earliestMs = crossing(slope + band);
  const latestMs = crossing(slope - band);
  const days = (ms: number | null) => (ms === null ? '∞' : ((ms - nowMs) / DAY_MS).toFixed(1));
  return result({
    status: latestMs === null ? 'uncertain' : 'growing',
    currentSigned,
    slopePerDay,
    atMs,
    earliestMs,
    latestMs,
    explanation: `${method === 'robust' ? 'Theil–Sen' : 'OLS'} ${perDay(slope)} from ${(sign * currentSigned).toPrecision(4)}: reaches ${capacity} in ${days(atMs)} days (${Math.round(confidence * 100)}%: ${days(earliestMs)}–${days(latestMs)} days)`,
  });
}

/** Prometheus `predict_linear(v, Δ)`: the OLS value `horizonMs` after `nowMs` (default the last time stamp). */
export function predictLinear(series: Series, horizon: Duration, nowMs?: number): number {
  const fit = olsTrend(series.timestamps, series.values);
  const at = (nowMs ?? (series.timestamps[series.timestamps.length - 1] as number)) + parseDuration(horizon, 'horizon');
  return fit.intercept + fit.slope * at;
}
