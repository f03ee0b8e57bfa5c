import { seededRandom } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { checkPerformanceBudget, ratchetBaseline, type PerformanceBaseline } from './performance-budget.js';
import { bootstrapRatioInterval, mannWhitneyU, normalCdf } from './statistics.js';

function normalSamples(seed: number, count: number, mean: number, deviation: number): number[] {
  const random = seededRandom(seed);
  const out: number[] = [];
  for (let index = 0; index < count; index++) {
    const u = Math.max(random(), 1e-12);
    const v = random();
    out.push(mean + deviation * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

describe('statistics', () => {
  it('normalCdf matches tables', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 6);
  });

  it('Mann–Whitney U matches a hand-computed example', () => {
    // a = [1,2,3], b = [4,5,6]: ranks of a = 1+2+3 = 6, U = 6 − 6 = 0; mean 4.5, σ² = 9/12·7 = 5.25.
    const result = mannWhitneyU([1, 2, 3], [4, 5, 6]);
    expect(result.u).toBe(0);
    expect(result.z).toBeCloseTo((4.5 - 0.5) / Math.sqrt(5.25), 10);
    expect(result.pGreater).toBeCloseTo(1 - normalCdf(4 / Math.sqrt(5.25)), 10);
    expect(mannWhitneyU([5, 5, 5], [5, 5, 5]).pValue).toBe(1);
  });

  it('bootstrap interval of the median ratio brackets the truth', () => {
    const interval = bootstrapRatioInterval(normalSamples(1, 60, 100, 10), normalSamples(2, 60, 150, 10));
    expect(interval.low).toBeGreaterThan(1.4);
    expect(interval.high).toBeLessThan(1.6);
  });
});

describe('checkPerformanceBudget', () => {
  const baselineSamples = normalSamples(10, 30, 100, 15);
  const baseline: PerformanceBaseline = {
    metrics: {
      'api.p95': { unit: 'ms', better: 'lower', value: 100, samples: baselineSamples },
      'api.throughput': { unit: 'req/s', better: 'higher', value: 1_000, tolerancePercent: 5 },
    },
  };

  for (const method of ['mann-whitney', 'bootstrap'] as const) {
    it(`${method}: flags a real 30% slowdown`, () => {
      const current = { 'api.p95': { samples: normalSamples(11, 30, 130, 15) }, 'api.throughput': { value: 1_000 } };
      const result = checkPerformanceBudget({ baseline, current, method });
      expect(result.verdict).toBe('regression');
      expect(result.metrics[0]).toMatchObject({ verdict: 'regression', tested: true });
    });

    it(`${method}: does not flag the same distribution, nor a noisy run that merely looks 12% worse`, () => {
      const same = checkPerformanceBudget({
        baseline,
        current: { 'api.p95': { samples: normalSamples(12, 30, 100, 15) }, 'api.throughput': { value: 990 } },
        method,
      });
      expect(same.verdict).toBe('pass');
      // Six very noisy samples (σ = 60) whose median lands above the 10% tolerance: not significant.
      const noisy = [45, 100, 124, 130, 200, 64]; // median 112
      const noisyResult = checkPerformanceBudget({
        baseline,
        current: { 'api.p95': { samples: noisy }, 'api.throughput': { value: 1_000 } },
        method,
      });
      expect(noisyResult.metrics[0]?.worsePercent).toBeGreaterThan(10);
      expect(noisyResult.metrics[0]?.verdict).toBe('pass');
      expect(noisyResult.metrics[0]?.reason).toContain('not statistically significant');
    });
  }

  it('decides on the tolerance alone without samples, for higher-is-better metrics too', () => {
    const result = checkPerformanceBudget({
      baseline,
      current: { 'api.p95': { samples: baselineSamples }, 'api.throughput': { value: 940 } },
    });
    expect(result.metrics[1]).toMatchObject({ verdict: 'regression', tested: false, budgetUsedPercent: 120 });
    expect(
      checkPerformanceBudget({ baseline, current: { 'api.p95': { samples: baselineSamples } } }).metrics[1]?.verdict,
    ).toBe('missing');
  });

  it('tests a p95 metric fed with raw latencies on its 95th percentile (bootstrap)', () => {
    const requests = normalSamples(20, 400, 50, 10);
    const p95Baseline: PerformanceBaseline = {
      metrics: { 'api.latency.p95': { unit: 'ms', better: 'lower', value: 0, percentile: 95, samples: requests } },
    };
    p95Baseline.metrics['api.latency.p95']!.value = checkPerformanceBudget({
      baseline: p95Baseline,
      current: { 'api.latency.p95': { samples: requests } },
    }).metrics[0]!.current;
    // Same median, fatter tail: 10% of requests take 120 ms. The median barely moves, the p95 more than doubles.
    const tail = normalSamples(21, 400, 50, 10).map((value, index) => (index % 10 === 0 ? 120 : value));
    const result = checkPerformanceBudget({ baseline: p95Baseline, current: { 'api.latency.p95': { samples: tail } } });
    expect(result.metrics[0]).toMatchObject({ verdict: 'regression', tested: true });
    expect(result.metrics[0]?.interval?.low).toBeGreaterThan(1.1);
    const same = checkPerformanceBudget({
      baseline: p95Baseline,
      current: { 'api.latency.p95': { samples: normalSamples(22, 400, 50, 10) } },
    });
    expect(same.verdict).toBe('pass');
  });

  it('ratchets the baseline only on a significant improvement', () => {
    const faster = normalSamples(13, 30, 70, 10);
    const current = { 'api.p95': { samples: faster }, 'api.throughput': { value: 1_030 } };
    const result = checkPerformanceBudget({ baseline, current });
    expect(result.metrics.map((metric) => metric.verdict)).toEqual(['improvement', 'pass']);
    const next = ratchetBaseline(baseline, result, current);
    expect(next.metrics['api.p95']?.value).toBeCloseTo(result.metrics[0]?.current ?? 0, 10);
    expect(next.metrics['api.p95']?.samples).toEqual(faster);
    // Throughput +3% is below minImprovementPercent (5): unchanged. A regression never loosens the baseline.
    expect(next.metrics['api.throughput']).toEqual(baseline.metrics['api.throughput']);
    const worse = { 'api.p95': { samples: normalSamples(14, 30, 160, 10) }, 'api.throughput': { value: 1_000 } };
    expect(ratchetBaseline(baseline, checkPerformanceBudget({ baseline, current: worse }), worse)).toEqual(baseline);
  });
});
