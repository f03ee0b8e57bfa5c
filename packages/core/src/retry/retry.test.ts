import { describe, expect, it } from 'vitest';
import { OpsError } from '../errors/ops-error.js';
import { createManualClock } from '../time/clock.js';
import { createBackoff, parseRetryAfter } from './backoff.js';
import { createCircuitBreaker } from './circuit-breaker.js';
import { retry } from './retry.js';

const sequence = (values: number[]) => {
  let index = 0;
  return () => values[index++ % values.length]!;
};

describe('createBackoff', () => {
  it('none: initial × multiplier^attempt, capped', () => {
    const backoff = createBackoff({ initialDelay: '100ms', maxDelay: '1s', jitter: 'none' });
    expect(Array.from({ length: 6 }, () => backoff.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });

  it('full, equal and proportional jitter stay within their bands', () => {
    const full = createBackoff({ initialDelay: 1000, jitter: 'full', random: sequence([0.5]) });
    expect([full.next(), full.next()]).toEqual([500, 1000]);
    const equal = createBackoff({ initialDelay: 1000, jitter: 'equal', random: sequence([0, 0.999]) });
    expect(equal.next()).toBe(500);
    expect(equal.next()).toBeCloseTo(1999, 0);
    // kubelet CrashLoopBackOff: 10s doubling to 300s, plus up to 10% jitter, never above the cap
    const kubelet = createBackoff({
      initialDelay: '10s',
      maxDelay: '300s',
      jitter: 'proportional',
      jitterRatio: 0.1,
      random: sequence([1]),
    });
    const delays = Array.from({ length: 7 }, () => kubelet.next());
    expect(delays).toEqual([11_000, 22_000, 44_000, 88_000, 176_000, 300_000, 300_000]);
  });

  it('decorrelated jitter follows Polly V2 (t = attempt + rand, 2^t·tanh(√4t)) and is capped', () => {
    const backoff = createBackoff({
      initialDelay: 128,
      maxDelay: 30_000,
      jitter: 'decorrelated',
      random: sequence([0.5]),
    });
    const expected: number[] = [];
    let previous = 0;
    for (let attempt = 0; attempt < 12; attempt++) {
      const t = attempt + 0.5;
      const next = 2 ** t * Math.tanh(Math.sqrt(4 * t));
      expected.push(Math.min(((next - previous) * 128) / 1.4, 30_000));
      previous = next;
    }
    const actual = Array.from({ length: 12 }, () => backoff.next());
    expect(actual).toEqual(expected);
    expect(Math.max(...actual)).toBe(30_000);
  });

  it('refuses bad options, naming the field', () => {
    expect(() => createBackoff({ initialDelay: 0 })).toThrow(/initialDelay/);
    expect(() => createBackoff({ initialDelay: '1s', maxDelay: '10ms' })).toThrow(/maxDelay/);
    expect(() => createBackoff({ multiplier: 0.5 })).toThrow(/multiplier/);
    expect(() => createBackoff({ jitter: 'fulll' as never })).toThrow(/jitter must be one of/);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('retry', () => {
  const retryable = (message = 'busy') => new OpsError('SERVICE_UNAVAILABLE', message, { isRetryable: true });

  it('retries retryable failures with backoff on the clock, then succeeds', async () => {
    const clock = createManualClock();
    const waits: number[] = [];
    let calls = 0;
    const result = retry(
      async ({ attempt }) => {
        calls++;
        if (attempt < 3) throw retryable();
        return 'ok';
      },
      { clock, maxAttempts: 5, initialDelay: '1s', jitter: 'none', onRetry: (info) => waits.push(info.delayMs) },
    );
    await clock.advanceAsync(10_000);
    await expect(result).resolves.toBe('ok');
    expect(calls).toBe(3);
    expect(waits).toEqual([1000, 2000]);
  });

  it('stops at once on a non-retryable error, and rethrows the last error when attempts run out', async () => {
    const clock = createManualClock();
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new OpsError('ARGUMENT_INVALID', 'bad request');
        },
        { clock },
      ),
    ).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    expect(calls).toBe(1);

    const exhausted = retry(
      async ({ attempt }) => {
        throw retryable(`attempt ${attempt}`);
      },
      { clock, maxAttempts: 3, initialDelay: 10, jitter: 'none' },
    );
    const settled = exhausted.catch((error: unknown) => error);
    await clock.advanceAsync(1_000);
    expect(await settled).toMatchObject({ message: 'attempt 3' });
  });

  it('treats transient network errors as retryable and plain errors as not', async () => {
    const clock = createManualClock();
    let calls = 0;
    const result = retry(
      async () => {
        calls++;
        if (calls === 1) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        if (calls === 2) throw new Error('a bug');
        return 'never';
      },
      { clock, initialDelay: 10, jitter: 'none' },
    );
    const settled = result.catch((error: unknown) => error);
    await clock.advanceAsync(100);
    expect(await settled).toMatchObject({ message: 'a bug' });
    expect(calls).toBe(2);
  });

  it('honours Retry-After (at least that long), and gives up when it exceeds maxRetryAfter', async () => {
    const clock = createManualClock();
    const waits: number[] = [];
    let calls = 0;
    const result = retry(
      async () => {
        calls++;
        if (calls === 1) throw new OpsError('SERVICE_UNAVAILABLE', '429', { isRetryable: true, retryAfterMs: 7_000 });
        return 'ok';
      },
      { clock, initialDelay: 100, jitter: 'none', onRetry: (info) => waits.push(info.delayMs) },
    );
    await clock.advanceAsync(6_999);
    expect(calls).toBe(1);
    await clock.advanceAsync(1);
    await expect(result).resolves.toBe('ok');
    expect(waits).toEqual([7_000]);

    await expect(
      retry(
        async () => {
          throw new OpsError('SERVICE_UNAVAILABLE', '429', { isRetryable: true, retryAfterMs: 3_600_000 });
        },
        { clock, maxRetryAfter: '5m' },
      ),
    ).rejects.toMatchObject({ retryAfterMs: 3_600_000 });
  });

  it('does not start a wait that would pass the deadline; the deadline aborts a running attempt', async () => {
    const clock = createManualClock();
    let calls = 0;
    const result = retry(
      async () => {
        calls++;
        throw retryable(`attempt ${calls}`);
      },
      { clock, maxAttempts: 100, initialDelay: '1s', jitter: 'none', deadline: '5s' },
    );
    const settled = result.catch((error: unknown) => error);
    await clock.advanceAsync(10_000);
    // waits of 1 s and 2 s fit in 5 s (t = 3 s); the next 4 s wait would end at 7 s, so it stops after attempt 3.
    expect(await settled).toMatchObject({ message: 'attempt 3' });

    const hanging = retry(
      ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      {
        clock,
        deadline: '2s',
      },
    );
    const hangingSettled = hanging.catch((error: unknown) => error);
    await clock.advanceAsync(2_000);
    expect(await hangingSettled).toMatchObject({ code: 'CHECK_TIMEOUT' });
  });

  it('rejects with the signal reason when the caller aborts during a wait, without another attempt', async () => {
    const clock = createManualClock();
    const controller = new AbortController();
    let calls = 0;
    const result = retry(
      async () => {
        calls++;
        throw retryable();
      },
      { clock, signal: controller.signal, initialDelay: '10s', jitter: 'none', maxAttempts: 5 },
    );
    const settled = result.catch((error: unknown) => error);
    await clock.advanceAsync(1_000);
    controller.abort(new Error('shutting down'));
    expect(await settled).toMatchObject({ message: 'shutting down' });
    expect(calls).toBe(1);
    await expect(retry(async () => 1, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
  });
});

describe('createCircuitBreaker', () => {
  it('opens after N consecutive failures, refuses without calling, half-opens after the pause, closes on success', async () => {
    const clock = createManualClock();
    const breaker = createCircuitBreaker({ name: 'hooks', failureThreshold: 3, halfOpenAfter: '30s', clock });
    const transitions: string[] = [];
    breaker.on('circuit.opened', (event) => void transitions.push(`opened after ${event.failures}`));
    breaker.on('circuit.half-opened', () => void transitions.push('half-opened'));
    breaker.on('circuit.closed', () => void transitions.push('closed'));
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('down');
    };
    await expect(breaker.execute(failing)).rejects.toThrow('down');
    await expect(breaker.execute(async () => 'ok')).resolves.toBe('ok');
    expect(breaker.failures).toBe(0);
    for (let index = 0; index < 3; index++) await expect(breaker.execute(failing)).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    await clock.advanceAsync(10_000);
    await expect(breaker.execute(failing)).rejects.toMatchObject({
      code: 'CIRCUIT_OPEN',
      isRetryable: true,
      retryAfterMs: 20_000,
    });
    expect(calls).toBe(4);
    await clock.advanceAsync(20_000);
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(failing)).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    await clock.advanceAsync(30_000);
    await expect(breaker.execute(async () => 'back')).resolves.toBe('back');
    expect(breaker.state).toBe('closed');
    expect(transitions).toEqual(['opened after 3', 'half-opened', 'opened after 3', 'half-opened', 'closed']);
  });

  it('admits only halfOpenCalls trials at once; errors that are not failures do not count', async () => {
    const clock = createManualClock();
    const breaker = createCircuitBreaker({
      name: 'api',
      failureThreshold: 1,
      halfOpenAfter: 1_000,
      clock,
      isFailure: (error) => !(error instanceof TypeError),
    });
    await expect(breaker.execute(async () => Promise.reject(new TypeError('4xx')))).rejects.toThrow('4xx');
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(async () => Promise.reject(new Error('5xx')))).rejects.toThrow('5xx');
    await clock.advanceAsync(1_000);
    let release!: () => void;
    const trial = breaker.execute(() => new Promise<string>((resolve) => (release = () => resolve('ok'))));
    await expect(breaker.execute(async () => 'second')).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    release();
    await expect(trial).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    breaker.isolate();
    await expect(breaker.execute(async () => 'x')).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    breaker.reset();
    await expect(breaker.execute(async () => 'x')).resolves.toBe('x');
  });
});
