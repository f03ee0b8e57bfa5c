import { createManualClock } from '@ops/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createSloTracker } from '../engine/slo-tracker.js';
import { SloError } from '../errors.js';
import { createSloMetrics, SLO_METRIC_NAMES } from './slo-metrics.js';

describe('SLO metrics', () => {
  it('computes counters and gauges in collect() from the in-process state', async () => {
    const clock = createManualClock(Date.UTC(2026, 5, 1));
    const registry = new Registry();
    const tracker = createSloTracker({
      clock,
      registry,
      slos: [
        { service: 'shop', name: 'checkout', objective: 0.999, sli: { type: 'availability' }, groupBy: ['route'] },
        { service: 'shop', name: 'idle', objective: 0.99, sli: { type: 'availability' } },
      ],
    });
    tracker.get('checkout').add({ good: 990, bad: 10, labels: { route: '/pay' } });
    const text = await registry.metrics();
    expect(text).toContain('ops_slo_events_total{service="shop",slo="checkout",route="/pay"} 1000');
    expect(text).toContain('ops_slo_good_events_total{service="shop",slo="checkout",route="/pay"} 990');
    expect(text).toContain('ops_slo_objective_ratio{service="shop",slo="checkout"} 0.999');
    expect(text).toMatch(
      /ops_slo_error_budget_remaining_ratio\{service="shop",slo="checkout",route="\/pay"\} -8\.99999/,
    );
    expect(text).toMatch(/ops_slo_burn_rate\{service="shop",slo="checkout",route="\/pay",slo_window="5m"\} 9\.99999/);
    // Burn rate 10: above page-slow's 6, below page-quick's 14.4.
    expect(text).toContain(
      'ops_slo_alert_firing{service="shop",slo="checkout",route="/pay",slo_tier="page-quick",severity="page"} 0',
    );
    expect(text).toContain(
      'ops_slo_alert_firing{service="shop",slo="checkout",route="/pay",slo_tier="page-slow",severity="page"} 1',
    );
    // The idle SLO: counters at 0, budget untouched, no SLI sample (it would be 0/0) and nothing non-finite.
    expect(text).toContain('ops_slo_events_total{service="shop",slo="idle"} 0');
    expect(text).toContain('ops_slo_error_budget_remaining_ratio{service="shop",slo="idle"} 1');
    expect(text).not.toMatch(/ops_slo_sli_ratio\{service="shop",slo="idle"/);
    expect(text).not.toMatch(/NaN|Inf/);
    // Values follow new events on the next scrape.
    tracker.get('checkout').add({ good: 1, labels: { route: '/pay' } });
    expect(await registry.metrics()).toContain('ops_slo_events_total{service="shop",slo="checkout",route="/pay"} 1001');
  });

  it('keeps a single _total suffix in the OpenMetrics exposition', async () => {
    // prom-client types the constructor without arguments, but it takes the content type.
    const registry = new (Registry as unknown as new (contentType: string) => Registry)(
      Registry.OPENMETRICS_CONTENT_TYPE,
    );
    const tracker = createSloTracker({
      registry,
      slos: [{ service: 'shop', name: 'checkout', objective: 0.999, sli: { type: 'availability' } }],
    });
    tracker.get('checkout').add({ good: 3 });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE ops_slo_events counter');
    expect(text).toContain('ops_slo_events_total{service="shop",slo="checkout"} 3');
    expect(text).not.toContain('_total_total');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it('createSloMetrics exports a tracker on another registry and remove() takes the metrics away again', async () => {
    const tracker = createSloTracker({
      slos: [{ service: 'shop', name: 'checkout', objective: 0.999, sli: { type: 'availability' } }],
    });
    tracker.get('checkout').add({ good: 5 });
    const registry = new Registry();
    const metrics = createSloMetrics({ tracker, registry });
    expect(metrics.names).toEqual(Object.values(SLO_METRIC_NAMES));
    expect(await registry.metrics()).toContain('ops_slo_events_total{service="shop",slo="checkout"} 5');
    metrics.remove();
    metrics.remove();
    expect(await registry.metrics()).not.toContain('ops_slo_');
    // Registered again after removal: no "already registered" error.
    createSloMetrics({ tracker, registry });
    expect(await registry.metrics()).toContain('ops_slo_good_events_total{service="shop",slo="checkout"} 5');
  });

  it('createSloMetrics refuses a tracker it cannot read', () => {
    const fake = { on: () => () => undefined } as unknown as Parameters<typeof createSloMetrics>[0]['tracker'];
    let caught: unknown;
    try {
      createSloMetrics({ tracker: fake, registry: new Registry() });
    } catch (error) {
      caught = error;
    }
    expect(SloError.hasCode(caught, 'ARGUMENT_INVALID')).toBe(true);
  });
});
