import { describe, expect, it } from 'vitest';
import { createRecordingLogger } from '../testing/recording-logger.js';
import { createManualClock } from '../time/clock.js';
import { createSustainedMonitor } from './sustained-monitor.js';

const START = Date.UTC(2026, 0, 1);

describe('createSustainedMonitor', () => {
  it('samples the signal on the clock and fires after the condition held for `for`', async () => {
    const clock = createManualClock(START);
    const values = [0.5, 0.9, 0.95, 0.92, 0.97, 0.4, 0.3];
    let reads = 0;
    const monitor = createSustainedMonitor({
      signal: { name: 'cpu', unit: 'ratio', read: () => values[reads++] ?? 0 },
      when: (value) => value > 0.85,
      for: '30s',
      every: '15s',
      clock,
    });
    const seen: string[] = [];
    monitor.on((transition) =>
      seen.push(`${transition.from}->${transition.to}@${(transition.at - START) / 1000}s=${transition.value}`),
    );
    monitor.start();
    monitor.start(); // idempotent: one schedule
    await clock.advanceAsync(15_000 * values.length);
    await monitor.stop();
    expect(reads).toBe(values.length);
    // pending at 30s (0.9), 45s held 15s, 60s held 30s → firing; 90s false → resolved; 105s → inactive
    expect(seen).toEqual([
      'inactive->pending@30s=0.9',
      'pending->firing@60s=0.92',
      'firing->resolved@90s=0.4',
      'resolved->inactive@105s=0.3',
    ]);
    expect(monitor.lastValue).toBe(0.3);
    await clock.advanceAsync(60_000);
    expect(reads).toBe(values.length);
  });

  it('counts a failing read as a sample error, logs it redacted and leaves the condition unchanged', async () => {
    const clock = createManualClock(START);
    const logger = createRecordingLogger();
    let fail = false;
    const monitor = createSustainedMonitor({
      signal: {
        name: 'remote',
        read: () => {
          if (fail) throw new Error('connect ECONNREFUSED postgres://app:hunter2@db:5432/app');
          return 10;
        },
      },
      when: (value) => value > 5,
      for: 0,
      every: '10s',
      clock,
      logger,
    });
    expect(await monitor.sample()).toMatchObject({ ok: true, value: 10, active: true, transition: { to: 'firing' } });
    fail = true;
    const outcome = await monitor.sample();
    expect(outcome.ok).toBe(false);
    expect(monitor.state).toBe('firing');
    expect(monitor.sampleErrors).toBe(1);
    expect(logger.records[0]).toMatchObject({ level: 'warn', fields: { condition: 'remote', signal: 'remote' } });
    expect(logger.text()).toContain('[REDACTED]');
    expect(logger.text()).not.toContain('hunter2');
  });

  it('treats a non-finite value as a sample error', async () => {
    const monitor = createSustainedMonitor({
      signal: { name: 'nan', read: () => Number.NaN },
      when: () => true,
      for: 0,
      every: '1s',
      clock: createManualClock(START),
    });
    const outcome = await monitor.sample();
    expect(outcome.ok).toBe(false);
    expect(monitor.state).toBe('inactive');
    expect(monitor.sampleErrors).toBe(1);
  });

  it('aborts a read that outlives readTimeout and does not overlap reads', async () => {
    const clock = createManualClock(START);
    let started = 0;
    let abortedReads = 0;
    const monitor = createSustainedMonitor({
      signal: {
        name: 'hanging',
        read: (abortSignal) =>
          new Promise<number>(() => {
            started++;
            abortSignal?.addEventListener('abort', () => abortedReads++);
          }),
      },
      when: () => true,
      for: 0,
      every: '10s',
      readTimeout: '25s',
      clock,
    });
    monitor.start();
    await clock.advanceAsync(10_000); // read 1 starts
    await clock.advanceAsync(20_000); // ticks at 20s and 30s are skipped while read 1 hangs
    expect(abortedReads).toBe(0);
    await clock.advanceAsync(5_000); // at 35s read 1 times out; the next read waits for the 40s tick
    expect(started).toBe(1);
    expect(abortedReads).toBe(1);
    expect(monitor.sampleErrors).toBe(1);
    await clock.advanceAsync(5_000); // tick at 40s starts read 2
    expect(started).toBe(2);
    await monitor.stop(); // aborts read 2 without counting it as an error
    await clock.advanceAsync(0);
    expect(abortedReads).toBe(2);
    expect(monitor.sampleErrors).toBe(1);
    expect(monitor.state).toBe('inactive');
  });
});
