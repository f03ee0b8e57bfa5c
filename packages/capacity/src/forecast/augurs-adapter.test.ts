import { describe, expect, it } from 'vitest';
import { syntheticSeries } from '../testing/synthetic-series.js';
import { backtest } from './backtest.js';
import { loadAugursForecasters } from './augurs-adapter.js';

describe('@bsull/augurs adapter (optional peer, installed as a dev dependency here)', () => {
  it('AutoETS and MSTL plug into backtests through the Forecaster interface', async () => {
    const augurs = await loadAugursForecasters();
    const { values } = syntheticSeries({ length: 24 * 7 * 5, trendPerDay: 1, seed: 12 });
    const ets = augurs.autoEts(24).fit(values.slice(0, 24 * 14));
    const band = ets.forecastInterval(24, { level: 0.9 });
    expect(band.mean).toHaveLength(24);
    expect(band.upper.every((upper, index) => upper >= band.mean[index]!)).toBe(true);
    const result = backtest(values, augurs.mstl([24, 168]), { horizon: 24, origins: 2, seasonLength: 24 });
    expect(result.forecaster).toBe('augurs MSTL(24,168)');
    expect(result.smape).toBeLessThan(result.baselineSmape);
  });
});
