import { describe, expect, it } from 'vitest';
import { createManualClock, systemClock } from './clock.js';

describe('createManualClock', () => {
  it('starts at the given time and moves only when told', () => {
    const clock = createManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    expect(clock.monotonic()).toBe(0);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
    expect(clock.monotonic()).toBe(250);
    expect(createManualClock().now()).toBe(Date.UTC(2026, 0, 1));
  });

  it('fires timers in due order, ties in creation order, with now() at the due time', () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`b1@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`b2@${clock.now()}`), 20);
    clock.advance(25);
    expect(fired).toEqual(['a@10', 'b1@20', 'b2@20']);
    expect(clock.now()).toBe(25);
    clock.advance(5);
    expect(fired).toEqual(['a@10', 'b1@20', 'b2@20', 'c@30']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('repeats intervals at exact multiples and stops when cancelled', () => {
    const clock = createManualClock(0);
    const ticks: number[] = [];
    const handle = clock.setInterval(() => ticks.push(clock.now()), 100);
    clock.advance(350);
    expect(ticks).toEqual([100, 200, 300]);
    handle.cancel();
    handle.cancel();
    clock.advance(1_000);
    expect(ticks).toEqual([100, 200, 300]);
    expect(handle.unref()).toBe(handle);
  });

  it('fires a timer scheduled inside a callback in the same advance when it falls due', () => {
    const clock = createManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 10);
      clock.setTimeout(() => fired.push(clock.now()), 100);
    }, 10);
    clock.advance(50);
    expect(fired).toEqual([10, 20]);
    clock.advance(60);
    expect(fired).toEqual([10, 20, 110]);
  });

  it('lets a callback cancel a timer that is due in the same advance', () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    const later = clock.setTimeout(() => fired.push('later'), 20);
    clock.setTimeout(() => {
      fired.push('first');
      later.cancel();
    }, 10);
    clock.advance(100);
    expect(fired).toEqual(['first']);
  });

  it('refuses to go backwards or advance by a negative amount', async () => {
    const clock = createManualClock(1_000);
    expect(() => clock.set(999)).toThrow(/cannot move time backwards/);
    expect(() => clock.advance(-1)).toThrow(/ms must be >= 0/);
    await expect(clock.advanceAsync(Number.NaN)).rejects.toThrow(/ms must be >= 0/);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 500);
    clock.set(2_000);
    expect(fired).toEqual([1_500]);
    expect(clock.now()).toBe(2_000);
  });

  it('sleep resolves when time advances and rejects with the reason when aborted', async () => {
    const clock = createManualClock(0);
    let woke = false;
    const sleeping = clock.sleep(1_000).then(() => (woke = true));
    await clock.advanceAsync(999);
    expect(woke).toBe(false);
    await clock.advanceAsync(1);
    await sleeping;
    expect(woke).toBe(true);

    const controller = new AbortController();
    const aborted = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(clock.pendingTimers()).toBe(0);
    await expect(clock.sleep(10, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('advanceAsync lets async callbacks chain further timers', async () => {
    const clock = createManualClock(0);
    const steps: number[] = [];
    const loop = async () => {
      for (let index = 0; index < 3; index++) {
        await clock.sleep(100);
        steps.push(clock.now());
      }
    };
    const done = loop();
    await clock.advanceAsync(300);
    await done;
    expect(steps).toEqual([100, 200, 300]);
  });
});

describe('systemClock', () => {
  it('reads real time and runs real timers', async () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    const start = systemClock.monotonic();
    await systemClock.sleep(5);
    expect(systemClock.monotonic()).toBeGreaterThan(start);
    let fired = 0;
    await new Promise<void>((resolve) => {
      const handle = systemClock.setInterval(() => {
        fired++;
        if (fired === 2) {
          handle.cancel();
          resolve();
        }
      }, 1);
    });
    expect(fired).toBe(2);
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(sleeping).rejects.toThrow('cancelled');
  });
});
