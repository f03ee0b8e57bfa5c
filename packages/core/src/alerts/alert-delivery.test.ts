import { describe, expect, it } from 'vitest';
import { OpsError } from '../errors/ops-error.js';
import { createRecordingLogger } from '../testing/recording-logger.js';
import { createManualClock } from '../time/clock.js';
import { createAlertDelivery } from './alert-delivery.js';
import type { OpsAlert } from './ops-alert.js';

const alert = (key: string, status: OpsAlert['status']): OpsAlert => ({
  key,
  status,
  severity: 'critical',
  summary: `${key} ${status}`,
  source: 'test',
  labels: {},
  annotations: {},
  startsAt: 0,
});

describe('createAlertDelivery', () => {
  it('keeps the order of one key while a sink fails and retries, and lets other keys pass', async () => {
    const clock = createManualClock();
    const delivered: string[] = [];
    let refuseFiringOfA = 2;
    const delivery = createAlertDelivery(
      async (sent) => {
        if (sent.key === 'a' && sent.status === 'firing' && refuseFiringOfA-- > 0) throw new Error('sink down');
        delivered.push(`${sent.key}:${sent.status}`);
      },
      { what: 'test', clock, retry: { initialDelay: 100, jitter: 'none' } },
    );
    delivery.send(alert('a', 'firing'));
    delivery.send(alert('a', 'resolved'));
    delivery.send(alert('b', 'firing'));
    await clock.advanceAsync(0);
    expect(delivered).toEqual(['b:firing']);
    await clock.advanceAsync(10_000);
    await delivery.idle();
    expect(delivered).toEqual(['b:firing', 'a:firing', 'a:resolved']);
  });

  it('gives up after maxAttempts or on a non-retryable OpsError, logs redacted, never throws', async () => {
    const clock = createManualClock();
    const logger = createRecordingLogger();
    const attempts: string[] = [];
    const delivery = createAlertDelivery(
      async (sent) => {
        attempts.push(sent.key);
        if (sent.key === 'final') throw new OpsError('ARGUMENT_INVALID', 'rejected for good');
        throw new Error('down, token=hunter2');
      },
      { what: 'test', clock, logger, retry: { maxAttempts: 3, initialDelay: 10, jitter: 'none' } },
    );
    delivery.send(alert('flaky', 'firing'));
    delivery.send(alert('final', 'firing'));
    await clock.advanceAsync(1_000);
    await delivery.idle();
    expect(attempts.filter((key) => key === 'flaky')).toHaveLength(3);
    expect(attempts.filter((key) => key === 'final')).toHaveLength(1);
    expect(logger.records.filter((record) => record.message === 'test alert delivery failed; retrying')).toHaveLength(
      2,
    );
    const failures = logger.records.filter((record) => record.message === 'test alert delivery failed');
    expect(failures).toHaveLength(2);
    expect(JSON.stringify(logger.records)).not.toContain('hunter2');
  });

  it('refuses a bad retry.maxAttempts, and a throwing logger breaks nothing', async () => {
    expect(() => createAlertDelivery(async () => undefined, { what: 'test', retry: { maxAttempts: 0 } })).toThrow(
      /retry\.maxAttempts must be an integer >= 1, got 0/,
    );
    const clock = createManualClock();
    let delivered = 0;
    const throwing = () => {
      throw new Error('logger down');
    };
    const delivery = createAlertDelivery(
      async () => {
        if (delivered++ === 0) throw new Error('once');
      },
      {
        what: 'test',
        clock,
        logger: { debug: throwing, info: throwing, warn: throwing, error: throwing },
        retry: { initialDelay: 10, jitter: 'none' },
      },
    );
    delivery.send(alert('a', 'firing'));
    await clock.advanceAsync(100);
    await delivery.idle();
    expect(delivered).toBe(2);
  });
});
