import { createManualClock, type CheckResult } from '@ops/core';
import { describe, expect, it } from 'vitest';
import {
  baselineRatioCondition,
  checkCondition,
  countCondition,
  functionCondition,
  perTargetCheck,
  thresholdCondition,
} from './conditions.js';

const signal = new AbortController().signal;

describe('healing conditions', () => {
  it('thresholdCondition: above/below with the values for the audit trail; a non-finite read is missing data', async () => {
    let value = 0.9;
    const when = thresholdCondition({ signal: { name: 'heap_ratio', read: () => value }, above: 0.85 });
    expect(when.description).toBe('heap_ratio > 0.85');
    expect(await when.sample('process', signal)).toEqual({
      active: true,
      value: 0.9,
      values: { value: 0.9, above: 0.85 },
    });
    value = 0.5;
    expect((await when.sample('process', signal))?.active).toBe(false);
    value = Number.NaN;
    expect(await when.sample('process', signal)).toBeUndefined();
    const low = thresholdCondition({
      signal: (target) => ({ name: target, read: () => (target === 'disk-a' ? 0.03 : 0.5) }),
      below: 0.05,
    });
    expect((await low.sample('disk-a', signal))?.active).toBe(true);
    expect((await low.sample('disk-b', signal))?.active).toBe(false);
  });

  it('countCondition: more than N events in the window, per target, forgotten as the window rolls', async () => {
    const clock = createManualClock();
    const failures = countCondition({ window: '1m', above: 5, clock });
    for (let index = 0; index < 6; index++) failures.record('db');
    failures.record('cache');
    expect((await failures.sample('db', signal))?.active).toBe(true);
    expect((await failures.sample('cache', signal))?.active).toBe(false);
    clock.advance(70_000);
    expect(failures.count('db')).toBe(0);
    expect((await failures.sample('db', signal))?.active).toBe(false);
  });

  it('baselineRatioCondition: missing until the baseline is learned, then value > ratio × baseline; anomalies stay out of the baseline', async () => {
    const clock = createManualClock();
    let p95 = 100;
    const slow = baselineRatioCondition({ signal: { name: 'p95', read: () => p95 }, ratio: 2, minSamples: 5, clock });
    for (let index = 0; index < 5; index++) {
      expect(await slow.sample('api', signal)).toBeUndefined();
      clock.advance(10_000);
    }
    expect((await slow.sample('api', signal))?.active).toBe(false);
    p95 = 250;
    for (let index = 0; index < 20; index++) {
      const sample = await slow.sample('api', signal);
      expect(sample?.active).toBe(true);
      expect(sample?.values?.['baseline']).toBe(100);
      clock.advance(10_000);
    }
  });

  it('checkCondition: a shared check or one per target; fail holds, pass and warn do not by default', async () => {
    const statuses: Record<string, CheckResult['status']> = { a: 'fail', b: 'warn' };
    const shared = checkCondition({ check: async (): Promise<CheckResult> => ({ status: 'fail', output: 'down' }) });
    expect(await shared.sample('x', signal)).toEqual({ active: true, values: { status: 'fail', output: 'down' } });
    const perTarget = checkCondition({
      check: perTargetCheck((target) => async () => ({ status: statuses[target]! })),
    });
    expect((await perTarget.sample('a', signal))?.active).toBe(true);
    expect((await perTarget.sample('b', signal))?.active).toBe(false);
    const warnToo = checkCondition({
      check: perTargetCheck((target) => async () => ({ status: statuses[target]! })),
      on: ['warn', 'fail'],
    });
    expect((await warnToo.sample('b', signal))?.active).toBe(true);
  });

  it('functionCondition: boolean or a full sample; undefined is missing data', async () => {
    const when = functionCondition((target) => (target === 'unknown' ? undefined : target === 'bad'));
    expect(await when.sample('bad', signal)).toEqual({ active: true });
    expect(await when.sample('good', signal)).toEqual({ active: false });
    expect(await when.sample('unknown', signal)).toBeUndefined();
  });
});
