import { createManualClock } from '@ops/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHpaAutoscaler } from '../hpa/hpa-autoscaler.js';
import { timeToExhaustion } from '../planning/exhaustion.js';
import { createCapacityMetrics } from './capacity-metrics.js';

describe('createCapacityMetrics', () => {
  it('follows an autoscaler’s decisions and records time to exhaustion on the user’s registry', async () => {
    const registry = new Registry();
    const metrics = createCapacityMetrics({ registry });
    const hpa = createHpaAutoscaler({
      maxReplicas: 20,
      tolerance: 0,
      clock: createManualClock(0),
      seedInitialRecommendation: false,
    });
    const stop = metrics.track('api', hpa);
    hpa.decide({
      currentReplicas: 4,
      metrics: [{ type: 'external', name: 'queue', target: { averageValue: 10 }, value: 80 }],
    });
    const day = 86_400_000;
    const disk = { timestamps: [0, day, 2 * day, 3 * day], values: [100, 110, 120, 130] };
    metrics.recordExhaustion('disk', timeToExhaustion(disk, { capacity: 200 }));
    metrics.recordExhaustion(
      'flat',
      timeToExhaustion({ timestamps: disk.timestamps, values: [5, 5, 5, 5] }, { capacity: 10 }),
    );
    const text = await registry.metrics();
    expect(text).toContain('ops_capacity_desired_replicas{scaler="api"} 8');
    expect(text).toContain('ops_capacity_proposed_replicas{scaler="api"} 8');
    expect(text).toContain('ops_capacity_scale_recommendations_total{scaler="api",direction="up"} 1');
    expect(text).toContain('ops_capacity_exhaustion_seconds{resource="disk"} 604800');
    expect(text).toContain('ops_capacity_exhaustion_seconds{resource="flat"} +Inf');
    expect(text).toContain('ops_capacity_used_ratio{resource="disk"} 0.65');
    stop();
    hpa.decide({
      currentReplicas: 8,
      metrics: [{ type: 'external', name: 'queue', target: { averageValue: 10 }, value: 160 }],
    });
    expect(await registry.metrics()).toContain('ops_capacity_desired_replicas{scaler="api"} 8');
    metrics.remove();
    expect(await registry.metrics()).not.toContain('ops_capacity_');
  });
});
