import { withDeadline } from '@ops/core';
import { tempDir } from '@ops/testkit';
import { describe, expect, it } from 'vitest';
import { createHealth } from '../registry/health.js';
import { diskProbe, eventLoopProbe, functionProbe, memoryProbe, thresholdProbe } from './process-probes.js';

const run = <T>(work: (signal: AbortSignal) => Promise<T>) => withDeadline(work, { timeoutMs: 3_000 });

describe('process-local probes', () => {
  it('memoryProbe compares RSS and heap ratio with the limits', async () => {
    const mib = 1048576;
    expect(
      await run((signal) =>
        memoryProbe({ readRssBytes: () => 100 * mib, readHeapRatio: () => 0.5, maxRssBytes: 200 * mib })(signal),
      ),
    ).toMatchObject({ status: 'pass', observed: 100 * mib, observedUnit: 'bytes' });
    expect(
      await run((signal) =>
        memoryProbe({
          readRssBytes: () => 150 * mib,
          readHeapRatio: () => 0.5,
          warnRssBytes: 120 * mib,
          maxRssBytes: 200 * mib,
        })(signal),
      ),
    ).toMatchObject({ status: 'warn', output: 'RSS 150 MiB' });
    expect(
      await run((signal) => memoryProbe({ readRssBytes: () => 10 * mib, readHeapRatio: () => 0.97 })(signal)),
    ).toMatchObject({ status: 'fail', output: 'heap 97% of limit' });
    expect((await run((signal) => memoryProbe()(signal))).status).toBe('pass');
  });

  it('diskProbe reads the real file system and applies the ratios', async () => {
    const directory = await tempDir('health-disk');
    try {
      const real = await run((signal) => diskProbe({ path: directory.path })(signal));
      expect(real.observedUnit).toBe('ratio');
      expect(real.observed).toBeGreaterThanOrEqual(0);
      expect(real.observed).toBeLessThanOrEqual(1);
      expect(
        (await run((signal) => diskProbe({ path: directory.path, warnRatio: 0, failRatio: 1.01 })(signal))).status,
      ).toBe('warn');
      expect(
        (await run((signal) => diskProbe({ path: directory.path, warnRatio: 0, failRatio: 0 })(signal))).status,
      ).toBe('fail');
      await expect(
        run((signal) => diskProbe({ path: `${directory.path}/missing/deeper` })(signal)),
      ).rejects.toMatchObject({ code: 'SIGNAL_UNAVAILABLE' });
    } finally {
      await directory.dispose();
    }
  });

  it('thresholdProbe works on any signal', async () => {
    let depth = 10;
    const probe = thresholdProbe({
      signal: { name: 'queue_depth', unit: 'jobs', read: () => depth },
      warnAt: 100,
      failAt: 1_000,
    });
    expect(await run((signal) => probe(signal))).toMatchObject({ status: 'pass', observed: 10, observedUnit: 'jobs' });
    depth = 500;
    expect(await run((signal) => probe(signal))).toMatchObject({
      status: 'warn',
      output: 'queue_depth 500 jobs ≥ 100',
    });
    depth = 5_000;
    expect((await run((signal) => probe(signal))).status).toBe('fail');
  });

  it('eventLoopProbe sees a blocked loop', async () => {
    const probe = eventLoopProbe({ warnDelayMs: 50, failDelayMs: 10_000 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 30));
      const end = performance.now() + 150;
      while (performance.now() < end) {
        /* block the event loop on purpose */
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
      const result = await run((signal) => probe(signal));
      expect(result.status).toBe('warn');
      expect(result.observedUnit).toBe('ms');
      expect(probe.kind).toBe('local');
    } finally {
      probe.close();
    }
  });

  it('functionProbe takes booleans or results; local probes are allowed on live, dependency ones are not', async () => {
    expect(await run((signal) => functionProbe(() => false)(signal))).toEqual({
      status: 'fail',
      output: 'check returned false',
    });
    expect(await run((signal) => functionProbe(async () => ({ status: 'warn', output: 'slow' }))(signal))).toEqual({
      status: 'warn',
      output: 'slow',
    });
    const health = createHealth({ shutdown: { signals: [] } });
    health.register({ name: 'memory', check: memoryProbe(), tags: ['live'] });
    expect(() => health.register({ name: 'ai', check: functionProbe(() => true), tags: ['live'] })).toThrow(
      /cannot be tagged "live"/,
    );
    health.register({ name: 'self', check: functionProbe(() => true, { kind: 'local' }), tags: ['live'] });
    health.close();
  });
});
