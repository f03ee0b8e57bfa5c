import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHealthMetrics } from './health-metrics.js';

describe('createHealthMetrics', () => {
  it('returns a handle: record updates the series, remove unregisters them so they can be registered again', async () => {
    const registry = new Registry();
    const metrics = createHealthMetrics({ registry });
    metrics.record('db', { status: 'fail', rawStatus: 'fail', time: 0, durationMs: 12, timedOut: false }, 'pass');
    const text = await registry.metrics();
    expect(text).toContain('ops_health_check_status{check="db",status="fail"} 1');
    expect(text).toContain('ops_health_check_transitions_total{check="db",from="pass",to="fail"} 1');
    metrics.remove();
    expect(await registry.metrics()).not.toContain('ops_health_');
    const again = createHealthMetrics({ registry });
    again.setShuttingDown(true);
    expect(await registry.metrics()).toContain('ops_health_shutting_down 1');
    metrics.remove(); // the old handle leaves the new metrics alone
    expect(await registry.metrics()).toContain('ops_health_shutting_down 1');
  });
});
