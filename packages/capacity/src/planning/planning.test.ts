import { seededRandom } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { holtWintersForecaster } from '../forecast/model-selection.js';
import { syntheticSeries } from '../testing/synthetic-series.js';
import { evaluateBudget, scalingAnomalies, storageFindings } from './budget.js';
import { createDecayingHistogram } from './decaying-histogram.js';
import { predictLinear, timeToExhaustion } from './exhaustion.js';
import { planGrowth } from './growth-plan.js';
import { recommendResources } from './right-sizing.js';
import { normalQuantile, studentTQuantile } from './statistics.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 5);

describe('statistics', () => {
  it('normal and Student t quantiles match the tables', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062, 3);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.3027, 3);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.2281, 3);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.0423, 3);
  });
});

describe('time to exhaustion', () => {
  const random = seededRandom(9);
  const days = 30;
  const disk = {
    timestamps: Array.from({ length: days * 24 }, (_, hour) => START + hour * HOUR),
    values: Array.from({ length: days * 24 }, (_, hour) => 200e9 + (hour / 24) * 5e9 + (random() - 0.5) * 2e9),
  };

  it('linear: 5 GB/day from 350 GB reaches 500 GB in about 30 days, with a band from the slope uncertainty', () => {
    const result = timeToExhaustion(disk, { capacity: 500e9 });
    expect(result.status).toBe('growing');
    expect(result.slopePerDay / 1e9).toBeCloseTo(5, 1);
    const daysLeft = (result.remainingMs as number) / DAY;
    expect(daysLeft).toBeGreaterThan(29.5);
    expect(daysLeft).toBeLessThan(31);
    expect(result.earliestMs!).toBeLessThan(result.atMs!);
    expect(result.latestMs!).toBeGreaterThan(result.atMs!);
    expect(result.usedRatio).toBeCloseTo(350e9 / 500e9, 2);
    expect(result.explanation).toContain('reaches 500000000000 in');
  });

  it('not growing, already exhausted, and a falling free-space series (node-mixin style)', () => {
    const shrinking = {
      timestamps: disk.timestamps,
      values: disk.timestamps.map((_, index) => 100 - index * 0.01 + (index % 2)),
    };
    expect(timeToExhaustion(shrinking, { capacity: 500 }).status).toBe('not-growing');
    // A flat series with noise: the slope is not distinguishable from 0, so no latest date.
    const flat = { timestamps: disk.timestamps, values: disk.timestamps.map((_, index) => 100 + (index % 2)) };
    const noisy = timeToExhaustion(flat, { capacity: 500 });
    expect(['uncertain', 'not-growing']).toContain(noisy.status);
    expect(noisy.latestMs).toBeNull();
    expect(timeToExhaustion(disk, { capacity: 300e9 }).status).toBe('exhausted');
    const free = { timestamps: disk.timestamps, values: disk.values.map((used) => 500e9 - used) };
    const falling = timeToExhaustion(free, { capacity: 0, direction: 'falling', window: '6h' });
    expect(['growing', 'uncertain']).toContain(falling.status);
    expect(falling.slopePerDay).toBeLessThan(0);
    // predict_linear(avail[6h], 24h) < 0 would not fire: 155 GB free, shrinking ~5 GB/day.
    const last6h = { timestamps: free.timestamps.slice(-6), values: free.values.slice(-6) };
    expect(predictLinear(last6h, '24h')).toBeGreaterThan(0);
  });

  it('robust (Theil–Sen): a VACUUM that freed 40 GB does not hide the growth', () => {
    const vacuumed = {
      timestamps: disk.timestamps,
      values: disk.values.map((value, index) => (index > disk.values.length - 48 ? value - 40e9 : value)),
    };
    const linear = timeToExhaustion(vacuumed, { capacity: 500e9 });
    const robust = timeToExhaustion(vacuumed, { capacity: 500e9, method: 'robust' });
    expect(robust.slopePerDay / 1e9).toBeCloseTo(5, 0);
    expect(linear.slopePerDay).toBeLessThan(robust.slopePerDay);
  });

  it('seasonal: the upper band of the daily peaks crosses first — days before the average does', () => {
    const series = syntheticSeries({
      length: 24 * 21,
      level: 40,
      trendPerDay: 1,
      dailyPeakRatio: 1.6,
      weekendRatio: 1,
      noiseRatio: 0.02,
      seed: 5,
    });
    const result = timeToExhaustion(series, {
      capacity: 120,
      method: 'seasonal',
      forecaster: holtWintersForecaster({ trend: 'additive', seasonal: 'multiplicative', seasonLength: 24 }),
      horizon: '60d',
    });
    expect(result.status).toBe('growing');
    const linear = timeToExhaustion(series, { capacity: 120 });
    expect(result.earliestMs!).toBeLessThan(linear.atMs!);
    // It crosses at a peak hour (around 14:00 UTC), not at night.
    const hour = new Date(result.earliestMs!).getUTCHours();
    expect(hour).toBeGreaterThanOrEqual(10);
    expect(hour).toBeLessThanOrEqual(18);
  });
});

describe('growth planning', () => {
  it('matches the worked example: n = 10, u_peak = 60%, 50% headroom → 9, 12, 14, 18; the naive script says 15, 19, 23, 30', () => {
    const plan = planGrowth({ currentReplicas: 10, utilization: { peak: 0.6 }, headroom: 0.5 });
    expect(plan.scenarios.map((scenario) => scenario.replicas)).toEqual([9, 12, 14, 18]);
    expect(plan.scenarios.map((scenario) => scenario.naiveReplicas)).toEqual([15, 19, 23, 30]);
    expect(plan.explanation.join('\n')).toContain('headroom on top of headroom');
    expect(plan.scenarios[3]!.peakUtilization).toBeCloseTo(12 / 18, 9);
  });

  it('plans from demand and per-replica capacity: 1,000 rps on 6 replicas of 250 rps each', () => {
    const plan = planGrowth({
      currentReplicas: 6,
      demand: { peak: 1000, perReplicaCapacity: 250 },
      headroom: 0.25,
      growth: [0, 0.25, 0.5, 1],
    });
    expect(plan.peakUtilization).toBeCloseTo(1000 / 1500, 12);
    // ceil(1000 × (1 + g) × 1.25 / 250): 5, 7, 8, 10
    expect(plan.scenarios.map((scenario) => scenario.replicas)).toEqual([5, 7, 8, 10]);
    expect(() => planGrowth({ currentReplicas: 6 })).toThrow(/needs utilization/);
  });

  it('sizes on the p95 of window maxima, applies the seasonal peak and spares, and shows when the script is short', () => {
    // Hourly windows of 60 one-minute samples: mostly 40%, with a 90% minute in every hour.
    const samples = Array.from({ length: 60 * 24 }, (_, minute) => (minute % 60 === 30 ? 0.9 : 0.4));
    const plan = planGrowth({
      currentReplicas: 4,
      utilization: samples,
      windowSize: 60,
      headroom: 0.2,
      growth: [0, 1],
      spareReplicas: 1,
      seasonalPeakRatio: 1.1,
    });
    expect(plan.peakUtilization).toBeCloseTo(0.9, 9);
    // ceil(4 × 0.9 × 1.1 × 1.2) + 1 = ceil(4.752) + 1 = 6
    expect(plan.scenarios[0]!.replicas).toBe(6);
    expect(plan.scenarios[0]!.naiveReplicas).toBe(5);
    expect(plan.explanation.at(-1)).toContain('short');
    expect(plan.meanUtilization!).toBeLessThan(0.41);
  });
});

describe('VPA-style right-sizing', () => {
  it('histogram: exponential buckets, percentile = end of the bucket that reaches the share', () => {
    const histogram = createDecayingHistogram({ maxValue: 1000, firstBucketSize: 0.01, halfLifeMs: DAY });
    for (let index = 0; index < 100; index++) histogram.addSample(index < 90 ? 0.5 : 2, 1, START);
    const p90 = histogram.percentile(0.9);
    const bucketOfHalf = Math.floor(Math.log((0.5 * 0.05) / 0.01 + 1) / Math.log(1.05));
    expect(p90).toBeCloseTo(histogram.bucketStart(bucketOfHalf + 1), 12);
    expect(p90).toBeGreaterThan(0.5);
    expect(p90).toBeLessThan(0.5 * 1.06);
    expect(histogram.percentile(0.95)).toBeGreaterThan(2);
  });

  it('decay: a sample two half-lives newer weighs four times as much; the reference shifts without overflow', () => {
    const histogram = createDecayingHistogram({ maxValue: 1000, firstBucketSize: 0.01, halfLifeMs: DAY });
    histogram.addSample(1, 4, START);
    histogram.addSample(3, 1, START + 2 * DAY);
    expect(histogram.percentile(0.49)).toBeLessThan(1.1);
    expect(histogram.percentile(0.51)).toBeGreaterThan(3);
    histogram.addSample(5, 1, START + 400 * DAY); // 2^400 would overflow without the shift
    expect(Number.isFinite(histogram.totalWeight)).toBe(true);
    expect(histogram.percentile(0.5)).toBeGreaterThan(5);
  });

  it('target p90 × 1.15, bounds widened by confidence: ×2 upper at one day of minute samples', () => {
    const samples = Array.from({ length: 1440 + 1 }, (_, minute) => ({
      atMs: START + minute * 60_000,
      value: 0.2 + (minute % 10) * 0.01,
    }));
    const advice = recommendResources({ cpu: { samples, requestCores: 2 } });
    expect(advice.confidence).toBeCloseTo(1, 2);
    const cpu = advice.cpu!;
    expect(cpu.target).toBeGreaterThan(0.28 * 1.15);
    expect(cpu.target).toBeLessThan(0.29 * 1.06 * 1.15);
    // upper = p95 × 1.15 × (1 + 1/c) with c ≈ 1: twice the margin-adjusted p95 (bucket end of 0.29).
    expect(cpu.upperBound).toBeGreaterThan(2 * 0.29 * 1.15 * 0.99);
    expect(cpu.upperBound).toBeLessThan(2 * 0.29 * 1.06 * 1.15);
    expect(cpu.action).toBe('update'); // 2 cores is above the upper bound
    expect(advice.findings.map((finding) => finding.code)).toContain('OVER_PROVISIONED');
    const overProvisioned = advice.findings.find((finding) => finding.code === 'OVER_PROVISIONED')!;
    expect(overProvisioned.reclaimable!).toBeCloseTo(2 - cpu.target, 9);
  });

  it('twelve hours of history triples the upper bound; a request inside the bounds or within 10% is kept', () => {
    const samples = Array.from({ length: 721 }, (_, minute) => ({ atMs: START + minute * 60_000, value: 0.5 }));
    const advice = recommendResources({ cpu: { samples, requestCores: 0.6 } });
    expect(advice.confidence).toBeCloseTo(0.5, 2);
    const cpu = advice.cpu!;
    expect(cpu.upperBound / cpu.target).toBeCloseTo(3, 1);
    expect(cpu.action).toBe('keep');
    expect(recommendResources({ cpu: { samples, requestCores: cpu.target * 1.05 } }).cpu!.reason).toContain(
      'within 10%',
    );
  });

  it('memory: one peak per day, OOM bumped (max(×1.2, +100 MB)), 250 MiB floor', () => {
    const memorySamples = Array.from({ length: 5 * 24 }, (_, hour) => ({
      atMs: START + hour * HOUR,
      value: (hour % 24 === 12 ? 600 : 300) * 2 ** 20,
    }));
    const advice = recommendResources({
      memory: {
        samples: memorySamples,
        requestBytes: 512 * 2 ** 20,
        ooms: [{ atMs: START + 4 * DAY + HOUR, value: 700 * 2 ** 20 }],
      },
    });
    const memory = advice.memory!;
    expect(memory.target).toBeGreaterThan(700 * 1.2 * 2 ** 20 * 1.15 * 0.99);
    expect(advice.findings.map((finding) => finding.code)).toContain('OOM_SEEN');
    const tiny = recommendResources({
      memory: {
        samples: [
          { atMs: START, value: 10e6 },
          { atMs: START + DAY, value: 12e6 },
        ],
      },
    });
    expect(tiny.memory!.target).toBe(250 * 2 ** 20);
    expect(tiny.memory!.action).toBe('set');
  });
});

describe("budgets and the runbooks' alerts", () => {
  const period = { startMs: Date.UTC(2026, 5, 1), endMs: Date.UTC(2026, 6, 1) };
  const hourly = (days: number, perHour: (day: number) => number) => ({
    timestamps: Array.from({ length: days * 24 }, (_, hour) => period.startMs + hour * HOUR),
    values: Array.from({ length: days * 24 }, (_, hour) => perHour(Math.floor(hour / 24))),
  });

  it('flags days above 120% of the daily budget and projects the month', () => {
    // Budget 3000 over 30 days = 100/day; day 5 spends 150.
    const usage = hourly(10, (day) => (day === 5 ? 150 : 90) / 24);
    const status = evaluateBudget({ usage, limit: 3000, period, label: 'spend' });
    expect(status.used).toBeCloseTo(90 * 9 + 150, 6);
    const daily = status.alerts.filter((alert) => alert.code === 'DAILY_SPEND_OVER_BUDGET');
    expect(daily.map((alert) => alert.at)).toEqual(['2026-06-06']);
    expect(daily[0]!.ratio).toBeCloseTo(1.5, 9);
    expect(status.projected).toBeGreaterThan(2600);
    expect(status.projected).toBeLessThan(3100);
  });

  it('AI API quota: a rising daily rate projects past the quota and says when', () => {
    const usage = hourly(20, (day) => (1000 + day * 100) / 24);
    const status = evaluateBudget({ usage, limit: 60_000, period, label: 'AI API tokens' });
    const codes = status.alerts.map((alert) => alert.code);
    expect(codes).toContain('QUOTA_APPROACHING');
    expect(codes).toContain('PROJECTED_OVER_BUDGET');
    expect(status.exhaustedAtMs!).toBeGreaterThan(Date.UTC(2026, 5, 21));
    expect(status.exhaustedAtMs!).toBeLessThan(period.endMs);
  });

  it('reads cumulative counters (with a reset)', () => {
    const usage = { timestamps: [0, 1, 2, 3].map((day) => period.startMs + day * DAY), values: [0, 100, 250, 50] };
    expect(evaluateBudget({ usage, limit: 1000, period, cumulative: true }).used).toBe(300);
  });

  it('storage growth > 10% weekly, size above a threshold, and unexpected scaling events', () => {
    const size = {
      timestamps: Array.from({ length: 14 }, (_, day) => START + day * DAY),
      values: Array.from({ length: 14 }, (_, day) => (day < 7 ? 9e9 : 10.5e9)),
    };
    const findings = storageFindings(size, { threshold: 10e9, label: 'database' });
    expect(findings.map((finding) => finding.code)).toEqual(['WEEKLY_GROWTH_HIGH', 'SIZE_ABOVE_THRESHOLD']);
    const replicas = { timestamps: [] as number[], values: [] as number[] };
    for (let day = 0; day < 6; day++) {
      for (let hour = 0; hour < 24; hour++) {
        replicas.timestamps.push(START + day * DAY + hour * HOUR);
        replicas.values.push(day === 5 ? 3 + (hour % 2) : hour < 12 ? 3 : 4);
      }
    }
    const anomalies = scalingAnomalies(replicas);
    expect(anomalies.map((finding) => finding.at)).toEqual(['2026-01-10']);
  });
});
