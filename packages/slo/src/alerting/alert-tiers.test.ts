import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_TIERS, burnRateThreshold } from './alert-tiers.js';

const DAY = 86_400_000;

describe('burnRateThreshold', () => {
  it('gives the Workbook factors 14.4 / 6 / 3 / 1 for a 30-day period', () => {
    expect(DEFAULT_ALERT_TIERS.map((tier) => burnRateThreshold(tier, 30 * DAY))).toEqual([14.4, 6, 3, 1]);
  });

  it('recomputes factors from budget percentages for other periods (Sloth 28d golden values)', () => {
    const factors = DEFAULT_ALERT_TIERS.map((tier) => burnRateThreshold(tier, 28 * DAY));
    expect(factors[0]).toBeCloseTo(13.44, 10);
    expect(factors[1]).toBeCloseTo(5.6, 10);
    expect(factors[2]).toBeCloseTo(2.8, 10);
    expect(factors[3]).toBeCloseTo(0.9333333333, 9);
  });
});
