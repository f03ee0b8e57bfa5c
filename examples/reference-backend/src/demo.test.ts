import { describe, expect, it } from 'vitest';
import { formatStep, runDemo } from './demo.js';

describe('demo scenario', () => {
  it('runs in-process with embedded defaults (no environment) and every step behaves as expected', async () => {
    const seen: string[] = [];
    const result = await runDemo({ environment: {}, onStep: (step) => seen.push(step.name) });

    const failed = result.steps.filter((step) => !step.ok).map((step) => `${step.name}: ${step.summary}`);
    expect(failed).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.store).toBe('memory');
    expect(result.cache).toBe('memory');
    expect(seen).toEqual(['start', 'traffic', 'ready', 'fault', 'recover', 'backup', 'restore', 'shutdown']);

    const fault = result.steps.find((step) => step.name === 'fault');
    const alerts = (fault?.data as { alerts: Array<{ slo: string; tier: string; type: string }> }).alerts;
    expect(alerts).toContainEqual(expect.objectContaining({ type: 'alert.firing', slo: 'notes/api-availability', tier: 'page-quick' }));
    expect(fault?.logs.some((line) => line.includes('SLO alert firing: notes/api-availability page-quick'))).toBe(true);

    const ready = result.steps.find((step) => step.name === 'ready');
    expect(ready?.data).toMatchObject({ status: 'warn', serviceId: 'notes' });
    expect(Object.keys((ready?.data as { checks: object }).checks)).toEqual(
      expect.arrayContaining(['notes-store:responseTime', 'memory:utilization', 'event-loop:eventLoopDelay', 'disk:utilization', 'backup-freshness:age']),
    );

    const recover = result.steps.find((step) => step.name === 'recover');
    expect((recover?.data as { resolved: Array<{ slo: string; tier: string }> }).resolved).toContainEqual(expect.objectContaining({ slo: 'notes/api-availability', tier: 'page-quick' }));
    expect(formatStep(result.steps[0]!, 0)).toMatch(/^✔ 1\. start/);
  });

  it('reports a configuration error naming the variable', async () => {
    await expect(runDemo({ environment: { DATABASE_URL: 'mysql://nope' } })).rejects.toThrow(/DATABASE_URL: expected a URL such as postgresql:\/\//);
  });
});
