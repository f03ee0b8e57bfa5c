import type { OpsAlert } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { HealingError } from '../errors.js';
import { actionContext, manualClock } from './action-context.fixture.js';
import { escalate } from './escalate.js';
import { exitProcess } from './exit-process.js';
import { createFlags } from './flags.js';
import { runFunction } from './run-function.js';
import { runGc } from './run-gc.js';
import { setFlag } from './set-flag.js';

describe('runFunction', () => {
  it('calls the function with the context and reports what it returns', async () => {
    const seen: string[] = [];
    const action = runFunction(
      (context) => {
        seen.push(`${context.rule}/${context.target}`);
        return { detail: 'cleared' };
      },
      { name: 'clear caches' },
    );
    expect(action).toMatchObject({ kind: 'function', name: 'clear caches' });
    await expect(action.run(actionContext())).resolves.toEqual({ detail: 'cleared' });
    expect(seen).toEqual(['test-rule/process']);
  });

  it('fails the step when the function throws, and needs a name', async () => {
    const action = runFunction(
      () => {
        throw new Error('boom');
      },
      { name: 'broken' },
    );
    await expect(action.run(actionContext())).rejects.toThrow('boom');
    expect(() => runFunction(() => undefined, { name: '' })).toThrow(HealingError);
  });
});

describe('runGc', () => {
  it('runs global.gc when exposed and reports the heap, or skips with the reason', async () => {
    const saved = (globalThis as { gc?: () => void }).gc;
    try {
      delete (globalThis as { gc?: () => void }).gc;
      await expect(runGc().run(actionContext())).resolves.toEqual({
        skipped: 'global.gc is not exposed: start node with --expose-gc',
      });
      let calls = 0;
      (globalThis as { gc?: () => void }).gc = () => void (calls += 1);
      const outcome = await runGc().run(actionContext());
      expect(calls).toBe(1);
      expect(outcome?.data).toMatchObject({ heapUsedBefore: expect.any(Number), heapUsedAfter: expect.any(Number) });
    } finally {
      if (saved === undefined) delete (globalThis as { gc?: () => void }).gc;
      else (globalThis as { gc?: () => void }).gc = saved;
    }
  });
});

describe('exitProcess', () => {
  it('is terminal and exits with the code after the delay, on the injected clock', async () => {
    const clock = manualClock();
    const codes: number[] = [];
    const action = exitProcess({ code: 3, delay: '2s', exit: (code) => codes.push(code) });
    expect(action.terminal).toBe(true);
    const outcome = await action.run(actionContext({ clock }));
    expect(outcome?.detail).toBe('exiting with code 3 in 2000 ms');
    clock.advance(1_999);
    expect(codes).toEqual([]);
    clock.advance(1);
    expect(codes).toEqual([3]);
  });

  it('refuses an exit code outside 0–255', () => {
    expect(() => exitProcess({ code: 300 })).toThrow(/0–255/);
  });
});

describe('escalate', () => {
  it('sends a firing OpsAlert keyed by rule and target, trigger values redacted', async () => {
    const alerts: OpsAlert[] = [];
    const action = escalate(async (alert) => void alerts.push(alert), {
      severity: 'error',
      labels: { service: 'api' },
      runbookUrl: 'https://runbooks.internal/memory',
    });
    const clock = manualClock();
    const outcome = await action.run(
      actionContext({
        clock,
        target: 'api-1',
        trigger: { value: 0.91, threshold: 0.85, dsn: 'postgres://app:s3cret@db/app' },
      }),
    );
    expect(alerts).toHaveLength(1);
    const alert = alerts[0] as OpsAlert;
    expect(alert).toMatchObject({
      key: 'healing:test-rule:api-1',
      status: 'firing',
      severity: 'error',
      source: 'healing',
      labels: { service: 'api', rule: 'test-rule', target: 'api-1' },
      startsAt: clock.now(),
    });
    expect(alert.annotations).toMatchObject({
      episode_id: 'episode-1',
      trigger_value: '0.91',
      runbook_url: 'https://runbooks.internal/memory',
    });
    expect(JSON.stringify(alert)).not.toContain('s3cret');
    expect(outcome?.detail).toContain('escalated (error)');
  });

  it('fails the step when the sink rejects', async () => {
    const action = escalate(async () => {
      throw new Error('pager down');
    });
    await expect(action.run(actionContext())).rejects.toThrow('pager down');
  });
});

describe('createFlags / setFlag', () => {
  it('flips a flag the app reads, tells listeners, and reverts to the previous value', async () => {
    const flags = createFlags({ initial: { 'read-only': false } });
    const changes: Array<[string, unknown, unknown]> = [];
    flags.on('flag.changed', ({ name, value, previous }) => void changes.push([name, previous, value]));
    const action = setFlag(flags, 'read-only', true, { revertAfter: '15m' });
    expect(action).toMatchObject({ kind: 'set-flag', name: 'set read-only=true', revertAfterMs: 900_000 });
    await action.run(actionContext());
    expect(flags.isOn('read-only')).toBe(true);
    await action.revert?.(actionContext());
    expect(flags.get('read-only')).toBe(false);
    expect(changes).toEqual([
      ['read-only', false, true],
      ['read-only', true, false],
    ]);
  });

  it('keeps the flag while another episode still holds it, and unsets a flag that was unset', async () => {
    const flags = createFlags();
    const action = setFlag(flags, 'rate-limiting', 'strict');
    expect(action.revertAfterMs).toBeUndefined();
    await action.run(actionContext({ episodeId: 'a' }));
    await action.run(actionContext({ episodeId: 'b' }));
    await action.revert?.(actionContext({ episodeId: 'a' }));
    expect(flags.get('rate-limiting')).toBe('strict');
    await action.revert?.(actionContext({ episodeId: 'b' }));
    expect(flags.get('rate-limiting')).toBeUndefined();
    expect(flags.snapshot()).toEqual({});
    await expect(action.revert?.(actionContext({ episodeId: 'c' }))).resolves.toMatchObject({
      skipped: expect.stringContaining('not set by episode c'),
    });
  });

  it('refuses values that are not boolean, number or string', () => {
    const flags = createFlags();
    expect(() => flags.set('x', {} as unknown as boolean)).toThrow(/boolean, number or string/);
  });
});
