import { describe, expect, it } from 'vitest';
import { createSloTestHarness } from './index.js';

describe('createSloTestHarness', () => {
  it('feeds synthetic traffic on a manual clock and collects alert transitions', async () => {
    const harness = createSloTestHarness({
      slos: [{ service: 'shop', name: 'checkout', objective: 0.999, sli: { type: 'availability' } }],
    });
    expect(await harness.feed('checkout', { duration: '1h', good: 100 })).toEqual([]);
    const fired = await harness.feed('checkout', { duration: '5m', good: 80, bad: 20 });
    expect(fired.map((alert) => [alert.type, alert.tier])).toContainEqual(['alert.firing', 'page-quick']);
    const resolved = await harness.feed('checkout', { duration: '10m', good: 100 });
    expect(resolved.map((alert) => [alert.type, alert.tier])).toContainEqual(['alert.resolved', 'page-quick']);
    expect(harness.clock.now()).toBe(Date.UTC(2026, 0, 1) + 75 * 60_000);
  });
});
