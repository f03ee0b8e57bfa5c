import { describe, expect, it } from 'vitest';
import { createManualClock } from '../time/clock.js';
import { createRecordingLogger } from '../testing/recording-logger.js';
import { createPeriodicTask } from './periodic-task.js';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
};

describe('createPeriodicTask', () => {
  it('runs every N on the clock, first after one interval (or at once with runOnStart)', async () => {
    const clock = createManualClock();
    const starts: number[] = [];
    const task = createPeriodicTask({
      name: 't',
      every: '10s',
      clock,
      run: () => void starts.push(clock.now() - Date.UTC(2026, 0, 1)),
    });
    task.start();
    task.start();
    await clock.advanceAsync(35_000);
    expect(starts).toEqual([10_000, 20_000, 30_000]);
    await task.stop();
    await clock.advanceAsync(60_000);
    expect(starts).toHaveLength(3);
    expect(task.runs).toBe(3);

    const eager = createPeriodicTask({
      name: 'eager',
      every: '10s',
      clock,
      runOnStart: true,
      run: () => void starts.push(-1),
    });
    eager.start();
    await clock.advanceAsync(0);
    expect(starts.at(-1)).toBe(-1);
    await eager.stop();
  });

  it('never overlaps: a slow run delays the next instead of piling up behind it', async () => {
    const clock = createManualClock();
    let concurrent = 0;
    let maxConcurrent = 0;
    const starts: number[] = [];
    const task = createPeriodicTask({
      name: 'slow',
      every: '1s',
      clock,
      run: async (signal) => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        starts.push(clock.monotonic());
        await clock.sleep(3_500, signal).finally(() => concurrent--);
      },
    });
    task.start();
    await clock.advanceAsync(60_000);
    await task.stop();
    expect(maxConcurrent).toBe(1);
    // each run takes 3.5 s: the ticks it overran are skipped and the next run starts on the next whole second
    expect(starts.slice(0, 4)).toEqual([1_000, 5_000, 9_000, 13_000]);
    expect(starts).toHaveLength(15);
  });

  it('runNow is single-flight and restarts the interval from that run', async () => {
    const clock = createManualClock();
    const gate = deferred();
    let calls = 0;
    const task = createPeriodicTask({
      name: 'on-demand',
      every: '10s',
      clock,
      run: async () => {
        calls++;
        if (calls === 1) await gate.promise;
      },
    });
    task.start();
    await clock.advanceAsync(4_000);
    const first = task.runNow();
    const second = task.runNow();
    expect(task.running).toBe(true);
    expect(calls).toBe(1);
    gate.resolve();
    await Promise.all([first, second]);
    expect(calls).toBe(1);
    await clock.advanceAsync(9_999);
    expect(calls).toBe(1);
    await clock.advanceAsync(1);
    expect(calls).toBe(2);
    await task.stop();
  });

  it('records and logs failures without stopping the loop; timeout aborts a run', async () => {
    const clock = createManualClock();
    const logger = createRecordingLogger();
    const errors: unknown[] = [];
    let calls = 0;
    let abortedReason: unknown;
    const task = createPeriodicTask({
      name: 'flaky',
      every: '1s',
      timeout: '500ms',
      clock,
      logger,
      onError: (error) => errors.push(error),
      run: async (signal) => {
        calls++;
        if (calls === 1) throw new Error('boom https://user:secret@example.com');
        if (calls === 2) {
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          abortedReason = signal.reason;
          return new Promise<void>(() => {});
        }
      },
    });
    task.start();
    await clock.advanceAsync(1_000);
    expect(task.failures).toBe(1);
    await clock.advanceAsync(1_000);
    await clock.advanceAsync(500);
    expect(task.failures).toBe(2);
    expect(abortedReason).toMatchObject({ code: 'CHECK_TIMEOUT' });
    await clock.advanceAsync(1_000);
    expect(calls).toBe(3);
    expect(task.lastError).toBeUndefined();
    expect(errors).toHaveLength(2);
    expect(logger.text()).not.toContain('secret');
    await task.stop();
  });

  it('a user logger that throws never breaks the loop (no unhandled rejection)', async () => {
    const clock = createManualClock();
    const throwing = { debug: boom, info: boom, warn: boom, error: boom };
    function boom(): never {
      throw new Error('logger broke');
    }
    let calls = 0;
    const task = createPeriodicTask({
      name: 'x',
      every: '1s',
      clock,
      logger: throwing,
      onError: boom,
      run: () => {
        calls++;
        throw new Error('run failed');
      },
    });
    task.start();
    await clock.advanceAsync(3_000);
    expect(calls).toBe(3);
    expect(task.failures).toBe(3);
    await expect(task.runNow()).resolves.toBeUndefined();
    await task.stop();
  });

  it('stop aborts the run in flight and waits for it to end', async () => {
    const clock = createManualClock();
    let ended = false;
    const task = createPeriodicTask({
      name: 'stoppable',
      every: '1s',
      clock,
      runOnStart: true,
      run: async (signal) => {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        ended = true;
      },
    });
    task.start();
    await clock.advanceAsync(0);
    expect(task.running).toBe(true);
    await task.stop();
    expect(ended).toBe(true);
    expect(task.failures).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('jitter spreads intervals within [every, every × (1 + jitterRatio)]', async () => {
    const clock = createManualClock();
    const starts: number[] = [];
    const randoms = [0, 0.5, 0.999];
    let index = 0;
    const task = createPeriodicTask({
      name: 'jittered',
      every: '10s',
      jitterRatio: 0.2,
      clock,
      random: () => randoms[index++ % randoms.length]!,
      run: () => void starts.push(clock.monotonic()),
    });
    task.start();
    await clock.advanceAsync(40_000);
    await task.stop();
    expect(starts.slice(0, 3)).toEqual([10_000, 21_000, 32_998]);
  });

  it('refuses bad options, naming the field', () => {
    expect(() => createPeriodicTask({ name: 'x', every: 0, run: () => {} })).toThrow(/every must be > 0/);
    expect(() => createPeriodicTask({ name: 'x', every: '1s', jitterRatio: 2, run: () => {} })).toThrow(/jitterRatio/);
    expect(() => createPeriodicTask({ name: 'x', every: '1 sec', run: () => {} })).toThrow(/every/);
  });
});
