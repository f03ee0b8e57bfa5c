import { describe, expect, it } from 'vitest';
import { syntheticSeries } from './index.js';

describe('syntheticSeries', () => {
  it('peaks at the daily ratio on weekdays and dips on weekends, reproducibly', () => {
    const { timestamps, values } = syntheticSeries({ length: 24 * 7, noiseRatio: 0 });
    expect(timestamps[1]! - timestamps[0]!).toBe(3_600_000);
    // Monday 14:00 UTC is the peak (150% of baseline), 02:00 the trough (baseline).
    expect(values[14]).toBeCloseTo(150, 9);
    expect(values[2]).toBeCloseTo(100, 9);
    // Saturday 14:00 is 70% of the weekday peak.
    expect(values[5 * 24 + 14]).toBeCloseTo(105, 9);
    expect(syntheticSeries({ length: 50, seed: 7 }).values).toEqual(syntheticSeries({ length: 50, seed: 7 }).values);
    expect(syntheticSeries({ length: 50, seed: 7 }).values).not.toEqual(
      syntheticSeries({ length: 50, seed: 8 }).values,
    );
  });

  it('grows by trendPerDay', () => {
    const { values } = syntheticSeries({
      length: 24 * 8 + 1,
      noiseRatio: 0,
      trendPerDay: 10,
      dailyPeakRatio: 1,
      weekendRatio: 1,
    });
    expect(values[24 * 8]! - values[0]!).toBeCloseTo(80, 9);
  });
});
