import { describe, expect, it } from 'vitest';
import { OpsError, TimeoutError } from '../errors/ops-error.js';
import { createManualClock } from './clock.js';
import { withDeadline } from './deadline.js';

describe('withDeadline', () => {
  it('returns the work result and leaves no timer behind', async () => {
    const clock = createManualClock();
    expect(await withDeadline(async () => 42, { timeoutMs: 1_000, clock })).toBe(42);
    expect(await withDeadline(() => 'sync', { timeoutMs: 1_000, clock })).toBe('sync');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('settles at the deadline even if the work never settles, and aborts its signal', async () => {
    const clock = createManualClock();
    let workSignal: AbortSignal | undefined;
    const pending = withDeadline(
      (signal) => {
        workSignal = signal;
        return new Promise<never>(() => undefined);
      },
      { timeoutMs: 5_000, clock, label: 'check "db"' },
    );
    const outcome = pending.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await clock.advanceAsync(4_999);
    expect(workSignal?.aborted).toBe(false);
    await clock.advanceAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({
      code: 'CHECK_TIMEOUT',
      timeoutMs: 5_000,
      isRetryable: true,
      message: 'check "db" timed out after 5000ms',
    });
    expect(workSignal?.aborted).toBe(true);
    expect(workSignal?.reason).toBe(error);
  });

  it('rejects with the outer reason when the outer signal aborts, and cancels the timer', async () => {
    const clock = createManualClock();
    const controller = new AbortController();
    let workSignal: AbortSignal | undefined;
    const pending = withDeadline(
      (signal) => {
        workSignal = signal;
        return new Promise<never>(() => undefined);
      },
      { timeoutMs: 5_000, clock, signal: controller.signal },
    );
    await Promise.resolve();
    controller.abort(new Error('client went away'));
    await expect(pending).rejects.toThrow('client went away');
    expect(workSignal?.aborted).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('does not start the work when the outer signal is already aborted', async () => {
    let started = false;
    const reason = new OpsError('ABORTED', 'shutting down');
    await expect(
      withDeadline(
        () => {
          started = true;
          return 1;
        },
        { timeoutMs: 1_000, clock: createManualClock(), signal: AbortSignal.abort(reason) },
      ),
    ).rejects.toBe(reason);
    expect(started).toBe(false);
  });

  it('passes work errors through unchanged', async () => {
    const failure = new Error('boom');
    await expect(
      withDeadline(
        () => {
          throw failure;
        },
        { timeoutMs: 1_000, clock: createManualClock() },
      ),
    ).rejects.toBe(failure);
  });
});
