import { createManualClock, type ManualClock, type OpsAlert, type Signal } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createFlags } from '../actions/flags.js';
import { runFunction } from '../actions/run-function.js';
import { createHealer, type Healer } from '../engine/healer.js';
import type { HealerEvents } from '../engine/healer-events.js';
import type { HealingRule } from '../engine/rule.js';
import { latencyLadder } from './latency-ladder.js';
import { memoryLadder } from './memory-ladder.js';
import { rollbackGuard } from './rollback-guard.js';

function run(rule: HealingRule, clock: ManualClock) {
  const alerts: OpsAlert[] = [];
  const healer: Healer = createHealer({
    rules: [rule],
    clock,
    every: '10s',
    random: () => 0,
    alerts: async (alert) => void alerts.push(alert),
  });
  const steps: HealerEvents['step.completed'][] = [];
  const closed: HealerEvents['episode.closed'][] = [];
  const escalated: HealerEvents['episode.escalated'][] = [];
  healer.on('step.completed', (event) => void steps.push(event));
  healer.on('episode.closed', (event) => void closed.push(event));
  healer.on('episode.escalated', (event) => void escalated.push(event));
  return {
    healer,
    alerts,
    steps,
    closed,
    escalated,
    async advance(ms: number) {
      for (let done = 0; done < ms; done += 1_000) await clock.advanceAsync(Math.min(1_000, ms - done));
    },
  };
}

const signalOf = (name: string, read: () => number): Signal => ({ name, read: async () => read() }) as Signal;

describe('memoryLadder', () => {
  it('memory > 85% for 10 minutes → clear caches; stops there when memory falls back', async () => {
    const clock = createManualClock();
    let memory = 0.9;
    const cleared: number[] = [];
    const rule = memoryLadder({
      signal: signalOf('heap_ratio', () => memory),
      clearCaches: () => {
        cleared.push(clock.now());
        memory = 0.5;
      },
    });
    expect(rule.ladder.map((step) => step.action.name)).toEqual(['clear caches', 'garbage-collect']);
    const harness = run(rule, clock);
    try {
      await harness.advance(9 * 60_000);
      expect(cleared).toEqual([]);
      await harness.advance(3 * 60_000);
      expect(cleared).toHaveLength(1);
      expect(harness.closed.map((event) => event.outcome)).toEqual(['healed']);
    } finally {
      await harness.healer.stop();
    }
  });

  it('walks clear caches → gc → restart connections, then escalates when memory stays high', async () => {
    const clock = createManualClock();
    const restarted: string[] = [];
    const rule = memoryLadder({
      signal: signalOf('heap_ratio', () => 0.95),
      for: '1m',
      settle: '5s',
      clearCaches: runFunction(() => undefined, { name: 'clear caches' }),
      restartConnections: [runFunction(() => void restarted.push('ws'), { name: 'restart websockets' })],
    });
    const harness = run({ ...rule, backoff: { initialDelay: '10s', maxDelay: '10s' } }, clock);
    try {
      await harness.advance(15 * 60_000);
      expect(harness.steps.map((event) => [event.action, event.result])).toEqual([
        ['clear caches', 'ok'],
        ['garbage-collect', expect.stringMatching(/ok|skipped/)],
        ['restart websockets', 'ok'],
      ]);
      expect(restarted).toEqual(['ws']);
      expect(harness.escalated).toEqual([expect.objectContaining({ reason: 'ladder-exhausted' })]);
      expect(harness.alerts[0]).toMatchObject({ status: 'firing', source: 'healing' });
    } finally {
      await harness.healer.stop();
    }
  });
});

describe('latencyLadder', () => {
  it('P95 > 2× its learned baseline for 5 minutes → rate limiting on, reverted later', async () => {
    const clock = createManualClock();
    let p95 = 100;
    const flags = createFlags({ initial: { 'rate-limiting': false } });
    flags.on('flag.changed', ({ value }) => {
      if (value === true) p95 = 110;
    });
    const rule = latencyLadder({
      p95: signalOf('p95_ms', () => p95),
      flags,
      rateLimitFor: '15m',
      baselineWindow: '10m',
      clock,
    });
    const harness = run(rule, clock);
    try {
      await harness.advance(10 * 60_000); // learn the baseline (≈ 100 ms)
      p95 = 250;
      await harness.advance(4 * 60_000);
      expect(flags.get('rate-limiting')).toBe(false);
      await harness.advance(2 * 60_000);
      expect(flags.get('rate-limiting')).toBe(true);
      expect(harness.steps[0]).toMatchObject({ action: 'set rate-limiting=true', result: 'ok' });
      await harness.advance(16 * 60_000);
      expect(flags.get('rate-limiting')).toBe(false);
    } finally {
      await harness.healer.stop();
    }
  });
});

describe('rollbackGuard', () => {
  it('rolls a bad 10% canary back once, through the healer, and never promotes it', async () => {
    const clock = createManualClock();
    const rolledBack: string[] = [];
    const promoted: unknown[] = [];
    const canary = rollbackGuard({
      clock,
      rollback: runFunction((context) => void rolledBack.push(context.target), { name: 'rollout undo' }),
      onPromote: (verdict) => void promoted.push(verdict),
    });
    const harness = run(canary, clock);
    try {
      canary.guard.start();
      for (let second = 0; second < 240; second += 10) {
        for (let request = 0; request < 100; request++) {
          const isCanary = request % 10 === 0;
          canary.guard.record(isCanary ? 'canary' : 'baseline', {
            ok: isCanary ? request % 20 !== 0 : true,
            latencyMs: 100,
          });
        }
        await harness.advance(10_000);
      }
      expect(rolledBack).toEqual(['deploy']);
      expect(canary.guard.rolledBack).toBe(true);
      expect(harness.closed).toEqual([expect.objectContaining({ outcome: 'healed', target: 'deploy' })]);
      expect(promoted).toEqual([]);
    } finally {
      await harness.healer.stop();
    }
  });

  it('promotes a good canary after 5 minutes and never rolls it back', async () => {
    const clock = createManualClock();
    const rolledBack: string[] = [];
    let promotions = 0;
    const canary = rollbackGuard({
      clock,
      rollback: runFunction(() => void rolledBack.push('x'), { name: 'rollout undo' }),
      onPromote: () => void (promotions += 1),
    });
    const harness = run(canary, clock);
    try {
      canary.guard.start();
      for (let second = 0; second < 400; second += 10) {
        for (let request = 0; request < 100; request++)
          canary.guard.record(request % 10 === 0 ? 'canary' : 'baseline', {
            ok: request !== 55,
            latencyMs: 100 + (request % 7),
          });
        await harness.advance(10_000);
      }
      expect(promotions).toBe(1);
      expect(canary.guard.last?.decision).toBe('promote');
      expect(rolledBack).toEqual([]);
    } finally {
      await harness.healer.stop();
    }
  });
});
