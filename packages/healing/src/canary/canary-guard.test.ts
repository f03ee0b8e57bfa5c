import { describe, expect, it } from 'vitest';
import { actionContext, manualClock } from '../actions/action-context.fixture.js';
import { runFunction } from '../actions/run-function.js';
import { createCanaryGuard, type CanaryVerdict } from './canary-guard.js';
import { canaryRollbackCondition, guardedRollback } from './canary-rollback.js';

/** A deterministic pseudo-random source (mulberry32), so scenarios are reproducible. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Traffic {
  canaryErrorRate: number;
  baselineErrorRate: number;
  canaryLatencyMs: number;
  baselineLatencyMs: number;
}

/**
 * The seed scenario: a 10% canary. Every 10 s of simulated time, 200 requests are split 10/90, recorded, and the
 * guard evaluated (the healer's tick). Stops at the first final decision or after `minutes`.
 */
function simulate(traffic: Traffic, minutes = 10, options: Parameters<typeof createCanaryGuard>[0] = {}) {
  const clock = manualClock();
  const promoted: CanaryVerdict[] = [];
  const guard = createCanaryGuard({ clock, onPromote: (verdict) => void promoted.push(verdict), ...options });
  const next = random(42);
  guard.start();
  let verdict = guard.evaluate();
  for (let tick = 0; tick < minutes * 6 && !verdict.final; tick++) {
    for (let request = 0; request < 200; request++) {
      const arm = next() < 0.1 ? 'canary' : 'baseline';
      const errorRate = arm === 'canary' ? traffic.canaryErrorRate : traffic.baselineErrorRate;
      const latency = arm === 'canary' ? traffic.canaryLatencyMs : traffic.baselineLatencyMs;
      guard.record(arm, { ok: next() >= errorRate, latencyMs: latency * (0.5 + next()) });
    }
    clock.advance(10_000);
    verdict = guard.evaluate();
  }
  return { verdict, promoted, guard, clock };
}

describe('createCanaryGuard: 10% canary for 5 minutes', () => {
  it('auto-promotes a canary as good as the baseline once the 5-minute window has passed', () => {
    const { verdict, promoted } = simulate({
      canaryErrorRate: 0.01,
      baselineErrorRate: 0.01,
      canaryLatencyMs: 200,
      baselineLatencyMs: 200,
    });
    expect(verdict.decision).toBe('promote');
    expect(verdict.elapsedMs).toBe(300_000);
    expect(verdict.canary.requests).toBeGreaterThan(250);
    expect(promoted).toHaveLength(1);
    expect(verdict.reasons[0]).toMatch(/^no regression after 300 s/);
  });

  it('rolls back a canary whose error rate is above 5% — statistics catch it before the 2-minute threshold', () => {
    const { verdict, promoted } = simulate({
      canaryErrorRate: 0.12,
      baselineErrorRate: 0.01,
      canaryLatencyMs: 200,
      baselineLatencyMs: 200,
    });
    expect(verdict.decision).toBe('rollback');
    expect(verdict.elapsedMs).toBeLessThan(300_000);
    expect(verdict.tests.errorRate?.pValue).toBeLessThan(0.05);
    expect(verdict.reasons.join('\n')).toMatch(/canary error rate .* vs baseline/);
    expect(promoted).toEqual([]);
  });

  it('rolls back on the runbook threshold alone (error rate > 5% for 2 min) when both arms are equally bad', () => {
    const { verdict } = simulate(
      { canaryErrorRate: 0.2, baselineErrorRate: 0.2, canaryLatencyMs: 200, baselineLatencyMs: 200 },
      10,
    );
    expect(verdict.decision).toBe('rollback');
    expect(verdict.reasons).toEqual([expect.stringMatching(/^canary error rate .* > 5\.0% for 120 s$/)]);
    // 2 minutes of breach, measured from the first tick with data.
    expect(verdict.elapsedMs).toBeGreaterThanOrEqual(120_000);
    expect(verdict.elapsedMs).toBeLessThanOrEqual(140_000);
  });

  it('rolls back on P95 > 2000 ms for 5 minutes, and on a significantly slower canary', () => {
    const slowBoth = simulate(
      { canaryErrorRate: 0, baselineErrorRate: 0, canaryLatencyMs: 2500, baselineLatencyMs: 2500 },
      10,
    );
    expect(slowBoth.verdict.decision).toBe('rollback');
    expect(slowBoth.verdict.reasons).toEqual([expect.stringMatching(/^canary P95 \d+ ms > 2000 ms for 300 s$/)]);

    const slower = simulate({ canaryErrorRate: 0, baselineErrorRate: 0, canaryLatencyMs: 600, baselineLatencyMs: 300 });
    expect(slower.verdict.decision).toBe('rollback');
    expect(slower.verdict.tests.latency?.test).toBe('mann-whitney-u');
    expect(slower.verdict.reasons.join('\n')).toMatch(/× baseline/);
  });

  it('holds while the canary has fewer than minSamples requests, even after the window', () => {
    const { verdict } = simulate(
      { canaryErrorRate: 0.01, baselineErrorRate: 0.01, canaryLatencyMs: 200, baselineLatencyMs: 200 },
      6,
      { minSamples: 5_000 },
    );
    expect(verdict.decision).toBe('hold');
    expect(verdict.final).toBe(false);
    expect(verdict.reasons[0]).toMatch(/^waiting for 5000 requests per arm/);
  });

  it('does not roll back on a small but significant increase below minErrorRateIncrease', () => {
    const { verdict } = simulate(
      { canaryErrorRate: 0.004, baselineErrorRate: 0.001, canaryLatencyMs: 200, baselineLatencyMs: 200 },
      10,
      { minErrorRateIncrease: 0.01 },
    );
    expect(verdict.decision).toBe('promote');
  });
});

describe('canaryRollbackCondition / guardedRollback', () => {
  it('is active while the guard says rollback, and clears once the wrapped rollback ran', async () => {
    const { guard } = simulate({
      canaryErrorRate: 0.3,
      baselineErrorRate: 0.01,
      canaryLatencyMs: 200,
      baselineLatencyMs: 200,
    });
    const condition = canaryRollbackCondition(guard);
    const signal = new AbortController().signal;
    const sample = await condition.sample('deploy', signal);
    expect(sample).toMatchObject({ active: true, values: { decision: 'rollback' } });
    const undone: string[] = [];
    const rollback = guardedRollback(
      guard,
      runFunction((context) => void undone.push(context.target), { name: 'rollout undo' }),
    );
    expect(rollback).toMatchObject({ kind: 'function', name: 'rollout undo' });
    await rollback.run(actionContext({ target: 'deploy' }));
    expect(undone).toEqual(['deploy']);
    expect((await condition.sample('deploy', signal))?.active).toBe(false);
  });
});
