import { describe, expect, it } from 'vitest';
import { errorRateTest, latencyTest, logGamma, normalCdf, quantile } from './statistics.js';

describe('canary statistics', () => {
  it('normalCdf matches known values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 5);
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 5);
    expect(normalCdf(3)).toBeCloseTo(0.99865, 5);
  });

  it('logGamma gives factorials', () => {
    expect(Math.exp(logGamma(6))).toBeCloseTo(120, 6);
    expect(logGamma(101)).toBeCloseTo(363.73937555556347, 6); // ln(100!)
  });

  it('two-proportion z-test: 30/500 vs 20/1000 is significant, 11/1000 vs 10/1000 is not', () => {
    const worse = errorRateTest(30, 500, 20, 1000);
    expect(worse.test).toBe('two-proportion-z');
    // p1 = 0.06, p2 = 0.02, pooled = 50/1500: z = 0.04 / sqrt(0.0333·0.9667·(1/500 + 1/1000)) ≈ 4.068
    expect(worse.statistic).toBeCloseTo(4.068, 3);
    expect(worse.pValue).toBeLessThan(0.001);
    expect(errorRateTest(11, 1000, 10, 1000).pValue).toBeGreaterThan(0.3);
    // A canary better than the baseline is never "worse".
    expect(errorRateTest(1, 1000, 30, 1000).pValue).toBeGreaterThan(0.99);
  });

  it("uses Fisher's exact test for small counts (the lady tasting tea: 3 of 4 → p = 17/70)", () => {
    // 8 cups, 4 with milk first; picking 3 of the 4 correctly or better: (16 + 1) / 70.
    const result = errorRateTest(3, 4, 1, 4);
    expect(result.test).toBe('fisher-exact');
    expect(result.pValue).toBeCloseTo(17 / 70, 6);
  });

  it('Mann-Whitney U: shifted latencies are significant, identical ones are not', () => {
    const baseline = Array.from({ length: 200 }, (_, index) => 100 + (index % 50));
    const slower = baseline.map((value) => value + 15);
    expect(latencyTest(slower, baseline).pValue).toBeLessThan(0.001);
    const same = latencyTest(baseline, baseline);
    expect(same.pValue).toBeGreaterThan(0.4);
    expect(latencyTest([], baseline).pValue).toBe(1);
  });

  it('Mann-Whitney U matches the textbook U for a small example', () => {
    // canary {3, 5, 8}, baseline {1, 2, 4}: ranks of canary 3, 5, 6 → R = 14, U = 14 − 6 = 8 of 9.
    const result = latencyTest([3, 5, 8], [1, 2, 4]);
    // z = (8 − 4.5 − 0.5) / sqrt(9·7/12)
    expect(result.statistic).toBeCloseTo(3 / Math.sqrt(63 / 12), 6);
  });

  it('quantile is nearest-rank', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(
      quantile(
        Array.from({ length: 100 }, (_, index) => index + 1),
        0.95,
      ),
    ).toBe(95);
    expect(quantile([], 0.95)).toBeUndefined();
  });
});
