import { seededRandom } from '@ops/core';

/** Options of {@link syntheticSeries}. */
export interface SyntheticSeriesOptions {
  /** Number of points. */
  length: number;
  /** Spacing of the points in milliseconds. Default 3,600,000 (hourly). */
  stepMs?: number;
  /** Epoch ms of the first point. Default 2026-01-05T00:00:00Z (a Monday). */
  startMs?: number;
  /** Baseline level. Default 100. */
  level?: number;
  /** Growth of the baseline per day, in the series' units. Default 0. */
  trendPerDay?: number;
  /**
   * Daily profile as a multiplier of the baseline: peak multiplier at 14:00 UTC, trough at 02:00 UTC, cosine in
   * between. Default 1.5 (business hours at 150% of baseline), 1 for none.
   */
  dailyPeakRatio?: number;
  /** Multiplier on Saturdays and Sundays (UTC). Default 0.7, 1 for none. */
  weekendRatio?: number;
  /** Standard deviation of Gaussian noise as a fraction of the value. Default 0.02. */
  noiseRatio?: number;
  /** Seed of the noise. Default 1. */
  seed?: number;
}

/** A series of timestamps (epoch ms) and values. */
export interface SyntheticSeries {
  timestamps: number[];
  values: number[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * A reproducible traffic-like series: a (possibly growing) baseline times a daily business-hours profile times a
 * weekend dip, with seeded multiplicative noise. For tests of forecasts, exhaustion and growth plans.
 *
 * @example
 * ```ts
 * const { timestamps, values } = syntheticSeries({ length: 24 * 28, trendPerDay: 2 });
 * ```
 */
export function syntheticSeries(options: SyntheticSeriesOptions): SyntheticSeries {
  const {
    length,
    stepMs = HOUR_MS,
    startMs = Date.UTC(2026, 0, 5),
    level = 100,
    trendPerDay = 0,
    dailyPeakRatio = 1.5,
    weekendRatio = 0.7,
    noiseRatio = 0.02,
    seed = 1,
  } = options;
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const timestamps: number[] = [];
  const values: number[] = [];
  const amplitude = (dailyPeakRatio - 1) / (dailyPeakRatio + 1);
  for (let index = 0; index < length; index++) {
    const at = startMs + index * stepMs;
    const hour = (at % DAY_MS) / HOUR_MS;
    // Multiplier between (1 - a)·k and (1 + a)·k with peak/trough = dailyPeakRatio, normalised so the peak is the ratio.
    const daily = ((1 + amplitude * Math.cos(((hour - 14) / 24) * 2 * Math.PI)) * dailyPeakRatio) / (1 + amplitude);
    const weekday = new Date(at).getUTCDay();
    const weekly = weekday === 0 || weekday === 6 ? weekendRatio : 1;
    const base = level + (trendPerDay * (at - startMs)) / DAY_MS;
    timestamps.push(at);
    values.push(base * daily * weekly * (1 + noiseRatio * gaussian()));
  }
  return { timestamps, values };
}
