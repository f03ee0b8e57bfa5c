import { describe, expect, it } from 'vitest';
import { loadNab } from '../internal/nab-data.js';
import { syntheticSeries } from '../testing/synthetic-series.js';
import { mae, mase, smape } from './accuracy.js';
import { backtest } from './backtest.js';
import { fitHoltWinters } from './holt-winters.js';
import { holtWintersForecaster, selectHoltWinters } from './model-selection.js';
import { decomposeSeasonal, multiSeasonalForecaster } from './multi-seasonal.js';
import { seasonalNaiveForecaster } from './seasonal-naive.js';
import { seasonalStrength } from './seasonal-strength.js';
import { olsTrend, theilSenTrend } from './trend.js';

describe('trends', () => {
  it('OLS follows Prometheus linearRegression: exact line, slope 0 for a constant series, epoch-sized x', () => {
    const x = [0, 1, 2, 3, 4].map((day) => 1.7e12 + day * 86_400_000);
    const line = olsTrend(x, [10, 12, 14, 16, 18]);
    expect(line.slope * 86_400_000).toBeCloseTo(2, 9);
    expect(line.intercept + line.slope * (x[0] as number)).toBeCloseTo(10, 6);
    expect(line.rSquared).toBeCloseTo(1, 12);
    const flat = olsTrend([1, 2, 3], [5, 5, 5]);
    expect(flat.slope).toBe(0);
    expect(Number.isNaN(flat.slope)).toBe(false);
  });

  it('the slope standard error matches the textbook formula', () => {
    // y = 1 + 2x + e with residuals (0.5, -1, 0.5, 0) around the least-squares line
    const x = [0, 1, 2, 3];
    const y = [1, 3, 5, 7].map((value, index) => value + ([0.5, -1, 0.5, 0] as number[])[index]!);
    const fit = olsTrend(x, y);
    const predicted = x.map((xi) => fit.intercept + fit.slope * xi);
    const residualSquares = y.reduce((sum, yi, index) => sum + (yi - predicted[index]!) ** 2, 0);
    expect(fit.slopeStandardError).toBeCloseTo(Math.sqrt(residualSquares / 2 / 5), 12);
  });

  it('Theil–Sen ignores the step of a VACUUM that drags OLS down', () => {
    const x = Array.from({ length: 30 }, (_, day) => day);
    const y = x.map((day) => 100 + 2 * day - (day >= 25 ? 40 : 0));
    expect(theilSenTrend(x, y).slope).toBeCloseTo(2, 9);
    expect(olsTrend(x, y).slope).toBeLessThan(1.2);
  });
});

describe('accuracy measures', () => {
  it('sMAPE, MAE and MASE on a hand-computed case', () => {
    expect(smape([100, 200], [110, 180])).toBeCloseTo(100 * (10 / 210 + 20 / 380), 10);
    expect(mae([1, 2, 3], [2, 2, 5])).toBe(1);
    // training diffs at lag 2: |3-1|, |4-2|, |5-3| → scale 2; MAE 1 → MASE 0.5
    expect(mase([6, 7], [5, 8], [1, 2, 3, 4, 5], 2)).toBe(0.5);
  });
});

describe('model choice, intervals and multiple seasonalities', () => {
  const hourly = syntheticSeries({ length: 24 * 7 * 4, trendPerDay: 1.5, seed: 3 });

  it('AICc prefers a multiplicative daily season on business-hours traffic over no season', () => {
    // seasonalThreshold 1: every variant competes on AICc alone.
    const selection = selectHoltWinters(hourly.values.slice(0, 24 * 14), { seasonLength: 24, seasonalThreshold: 1 });
    expect(selection.best.seasonal).not.toBe('none');
    const noSeason = selection.ranking.find((entry) => entry.seasonal === 'none' && entry.trend === 'none');
    expect(noSeason!.aicc).toBeGreaterThan(selection.best.aicc);
    expect(selection.ranking[0]!.aicc).toBe(selection.best.aicc);
  });

  it('a strong declared season keeps AICc from choosing a level-only model that forecasts the cycle away', () => {
    // 5-minute samples, 16 days from a Monday (a weekend dip inside), forecast the next Wednesday. At this
    // resolution a level-only model follows the daily cycle sample by sample and wins on one-step AICc.
    const series = syntheticSeries({ length: 288 * 17, stepMs: 300_000, trendPerDay: 2, noiseRatio: 0.03, seed: 1 });
    const training = series.values.slice(0, 288 * 16);
    const nextDay = series.values.slice(288 * 16);
    const aiccOnly = selectHoltWinters(training, { seasonLength: 288, seasonalThreshold: 1 });
    expect(aiccOnly.best.seasonal).toBe('none'); // the trap this guards against
    expect(smape(nextDay, aiccOnly.best.forecast(288))).toBeGreaterThan(15);

    const selection = selectHoltWinters(training, { seasonLength: 288 });
    expect(selection.seasonalStrength).toBeGreaterThan(0.8);
    expect(selection.best.seasonal).not.toBe('none');
    expect(smape(nextDay, selection.best.forecast(288))).toBeLessThan(5);
    const skipped = selection.ranking.filter((entry) => entry.skipped !== undefined);
    expect(skipped.map((entry) => entry.seasonal)).toEqual(['none', 'none', 'none']);
    expect(skipped[0]!.skipped).toMatch(/seasonal strength 0\.8\d ≥ 0\.64/);
  });

  it('seasonal strength: near 1 for a clear cycle, near 0 for noise, with clear errors for bad input', () => {
    const cycle = syntheticSeries({ length: 24 * 14, dailyPeakRatio: 2, weekendRatio: 1, noiseRatio: 0.01, seed: 5 });
    expect(seasonalStrength(cycle.values, 24)).toBeGreaterThan(0.95);
    const flat = syntheticSeries({ length: 24 * 14, dailyPeakRatio: 1, weekendRatio: 1, noiseRatio: 0.05, seed: 5 });
    expect(seasonalStrength(flat.values, 24)).toBeLessThan(0.3);
    expect(() => seasonalStrength(flat.values, 1)).toThrow(/period: expected an integer ≥ 2/);
    expect(() => seasonalStrength(flat.values.slice(0, 30), 24)).toThrow(/needs ≥ 48 values, got 30/);
  });

  it('prediction bands from simulated paths cover about their nominal share of what happened', () => {
    const series = syntheticSeries({
      length: 24 * 7 * 6,
      dailyPeakRatio: 1.5,
      weekendRatio: 1,
      noiseRatio: 0.05,
      seed: 11,
    });
    const training = series.values.slice(0, 24 * 7 * 5);
    const future = series.values.slice(24 * 7 * 5, 24 * 7 * 5 + 48);
    const model = fitHoltWinters(training, { seasonal: 'multiplicative', seasonLength: 24 });
    const band = model.forecastInterval(48, { level: 0.9, paths: 2000, seed: 5 });
    const inside = future.filter((value, index) => value >= band.lower[index]! && value <= band.upper[index]!).length;
    expect(inside / future.length).toBeGreaterThan(0.75);
    expect(
      band.upper.every((upper, index) => upper > band.mean[index]! && band.lower[index]! < band.mean[index]!),
    ).toBe(true);
    // Same seed, same band.
    expect(model.forecastInterval(5, { seed: 5 })).toEqual(model.forecastInterval(5, { seed: 5 }));
  });

  it('the decomposition recovers a daily ×1.5 peak and a weekend ×0.7 dip as separate ratios', () => {
    const series = syntheticSeries({ length: 24 * 7 * 6, noiseRatio: 0.01, seed: 2 });
    const decomposition = decomposeSeasonal(series.values, { periods: [24, 168] });
    expect(decomposition.mode).toBe('multiplicative');
    const daily = Array.from(decomposition.profiles[0]!, Math.exp);
    // Peak (14:00) over trough (02:00) of the daily profile ≈ 1.5.
    expect(daily[14]! / daily[2]!).toBeGreaterThan(1.4);
    expect(daily[14]! / daily[2]!).toBeLessThan(1.6);
    const weekly = Array.from(decomposition.profiles[1]!, Math.exp);
    // The series starts on a Monday: index 5 × 24 + 14 is Saturday afternoon, 2 × 24 + 14 Wednesday afternoon.
    expect(weekly[5 * 24 + 14]! / weekly[2 * 24 + 14]!).toBeGreaterThan(0.62);
    expect(weekly[5 * 24 + 14]! / weekly[2 * 24 + 14]!).toBeLessThan(0.78);
  });

  it('a forecaster with daily and weekly seasons knows Mondays: it beats the daily seasonal naive over a week', () => {
    const series = syntheticSeries({ length: 24 * 7 * 6, trendPerDay: 1, noiseRatio: 0.03, seed: 4 });
    const result = backtest(series.values, multiSeasonalForecaster({ periods: [24, 168] }), {
      horizon: 168,
      origins: 2,
      step: 24,
      seasonLength: 24,
    });
    expect(result.smape).toBeLessThan(result.baselineSmape * 0.5);
  });

  it('calendar effects: a learned month-end +40% is put back on future month-ends; a declared holiday ratio applies', () => {
    const stepMs = 3_600_000;
    const startMs = Date.UTC(2026, 0, 1);
    const length = 24 * 90;
    const values = Array.from({ length }, (_, index) => {
      const date = new Date(startMs + index * stepMs);
      const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
      const hour = date.getUTCHours();
      return 100 * (1 + 0.3 * Math.sin((hour / 24) * 2 * Math.PI)) * (date.getUTCDate() > lastDay - 2 ? 1.4 : 1);
    });
    const forecaster = multiSeasonalForecaster({
      periods: [24],
      calendar: { monthEnd: { days: 2 }, holidays: { dates: ['2026-04-03'], ratio: 0.5 } },
    });
    const fitted = forecaster.fit(values, { startMs, stepMs });
    expect(fitted.description).toMatch(/month-end ×1\.[34]/);
    const forecast = fitted.forecast(24 * 8); // Apr 1 – Apr 8
    const dayMean = (day: number) =>
      forecast.slice(day * 24, day * 24 + 24).reduce((sum, value) => sum + value, 0) / 24;
    expect(dayMean(2) / dayMean(4)).toBeGreaterThan(0.45); // Apr 3: declared holiday at 50%
    expect(dayMean(2) / dayMean(4)).toBeLessThan(0.55);
    expect(() => forecaster.fit(values)).toThrow(/series time/);
  });
});

describe('backtests on NAB data (rolling origin, sMAPE/MASE vs seasonal naive)', () => {
  it('nyc_taxi (30-minute): daily + weekly decomposition beats seasonal naive at 24 h and 7 d', () => {
    const taxi = loadNab('nyc_taxi.csv');
    expect(taxi.values).toHaveLength(10_320);
    const time = { startMs: taxi.timestamps[0]!, stepMs: taxi.stepMs };
    const forecaster = multiSeasonalForecaster({ periods: [48, 336] });
    const day = backtest(taxi.values.slice(0, 8000), forecaster, {
      horizon: 48,
      origins: 4,
      step: 336,
      seasonLength: 48,
      maxTrain: 336 * 8,
      time,
    });
    expect(day.smape).toBeLessThan(day.baselineSmape);
    expect(day.mase).toBeLessThan(1);
    const week = backtest(taxi.values.slice(0, 8000), forecaster, {
      horizon: 336,
      origins: 4,
      step: 336,
      seasonLength: 48,
      maxTrain: 336 * 8,
      time,
    });
    expect(week.smape).toBeLessThan(week.baselineSmape * 0.5);
    // And against the stronger weekly seasonal naive too.
    const weeklyNaive = backtest(taxi.values.slice(0, 8000), seasonalNaiveForecaster(336), {
      horizon: 336,
      origins: 4,
      step: 336,
      seasonLength: 48,
      maxTrain: 336 * 8,
    });
    expect(week.smape).toBeLessThan(weeklyNaive.smape);
  }, 60_000);

  it('nyc_taxi week-ahead bands from empirical h-step errors cover what happened and stay bounded', () => {
    const taxi = loadNab('nyc_taxi.csv');
    const originIndex = taxi.values.length - 336 * 3; // mid-January 2015, before the blizzard week
    const training = taxi.values.slice(originIndex - 336 * 8, originIndex);
    const actual = taxi.values.slice(originIndex, originIndex + 336);
    const band = multiSeasonalForecaster({ periods: [48, 336] })
      .fit(training)
      .forecastInterval(336, { level: 0.9 });
    const inside =
      actual.filter((value, index) => value >= band.lower[index]! && value <= band.upper[index]!).length /
      actual.length;
    expect(inside).toBeGreaterThan(0.8);
    const peak = band.mean.indexOf(Math.max(...band.mean));
    expect(band.upper[peak]! / band.mean[peak]!).toBeLessThan(2);
    expect(band.lower[peak]! / band.mean[peak]!).toBeGreaterThan(0.4);
  }, 60_000);

  it('EC2 CPU (5-minute): the AICc-chosen Holt-Winters beats seasonal naive over the next day', () => {
    const cpu = loadNab('ec2_cpu_utilization_5f5533.csv');
    const result = backtest(cpu.values, holtWintersForecaster({ variant: 'auto', seasonLength: 288 }), {
      horizon: 288,
      origins: 3,
      seasonLength: 288,
    });
    expect(result.smape).toBeLessThan(result.baselineSmape);
    expect(result.folds).toHaveLength(3);
  }, 60_000);
});
