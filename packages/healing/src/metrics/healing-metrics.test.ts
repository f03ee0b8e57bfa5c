import { createManualClock } from '@ops/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHealer } from '../engine/healer.js';
import { createHealingMetrics } from './healing-metrics.js';

describe('createHealingMetrics', () => {
  it('counts actions by result, episodes, escalations and budget denials on a prom-client registry, and removes them', async () => {
    const clock = createManualClock();
    const registry = new Registry();
    const healer = createHealer({
      clock,
      every: '10s',
      rules: [
        {
          name: 'stuck',
          when: (target) => target !== 'ok',
          for: '0s',
          targets: ['a', 'b', 'ok'],
          fleet: false,
          budget: { max: 1 },
          ladder: [
            {
              action: {
                kind: 'function',
                name: 'slow fix',
                run: (context) => context.clock.sleep(15_000),
              },
              settle: '1s',
              verify: { clearSamples: 1 },
            },
          ],
        },
      ],
    });
    const metrics = createHealingMetrics({ registry, healer });
    for (let index = 0; index < 120; index++) await clock.advanceAsync(1_000);
    const text = await registry.metrics();
    expect(text).toMatch(/ops_healing_actions_total\{rule="stuck",result="ok"\} 2/);
    expect(text).toMatch(/ops_healing_episodes_total\{rule="stuck"\} 2/);
    expect(text).toMatch(/ops_healing_escalations_total\{rule="stuck",reason="ladder-exhausted"\} 2/);
    expect(text).toMatch(/ops_healing_budget_denials_total\{rule="stuck"\} [1-9]/);
    expect(text).toMatch(/ops_healing_verifies_total\{rule="stuck",outcome="failed"\} 2/);
    metrics.remove();
    expect(await registry.metrics()).not.toContain('ops_healing_');
    await healer.stop();
  });
});
