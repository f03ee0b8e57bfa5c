import { OpsError, type AlertSink, type CheckResult, type OpsAlert } from '@ops/core';
import { createManualClock, createRecordingAlertSink, createRecordingLogger } from '@ops/core/testing';
import { describe, expect, it } from 'vitest';
import { createHealth } from '../registry/health.js';
import { forwardHealthAlerts } from './forward-health-alerts.js';

function setup(options: { secrets?: string[] } = {}) {
  const clock = createManualClock();
  const logger = createRecordingLogger();
  const health = createHealth({
    clock,
    startReady: true,
    service: { serviceId: 'orders-api' },
    shutdown: { signals: [], exit: () => undefined },
    mode: { ttl: 1 },
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  const results = new Map<string, CheckResult>();
  const register = (name: string, critical = true) => {
    results.set(name, { status: 'pass' });
    health.register({ name, critical, check: async () => ({ ...(results.get(name) ?? { status: 'pass' }) }) });
  };
  // Sets a check's next result, runs it, and lets the deliveries (and their retry waits) finish.
  const step = async (name: string, result: CheckResult) => {
    results.set(name, result);
    await health.check(name);
    await clock.advanceAsync(30_000);
  };
  return { clock, logger, health, register, step };
}

describe('forwardHealthAlerts', () => {
  it('fires on fail with the mapped severity and resolves on recovery, same key and startsAt', async () => {
    const { clock, logger, health, register, step } = setup();
    const recording = createRecordingAlertSink();
    forwardHealthAlerts(health, recording.sink, { clock, logger });
    register('db');
    register('cache', false);
    await step('db', { status: 'pass' });
    expect(recording.alerts).toEqual([]);

    const failedAt = clock.now();
    await step('db', { status: 'fail', output: 'connection refused', observed: 812, observedUnit: 'ms' });
    await step('db', { status: 'fail', output: 'still refused' });
    expect(recording.alerts).toEqual<OpsAlert[]>([
      {
        key: 'health:orders-api:db',
        status: 'firing',
        severity: 'critical',
        summary: 'health check "db" of orders-api is failing: connection refused',
        source: 'health',
        labels: { service: 'orders-api', check: 'db' },
        annotations: { output: 'connection refused', observed: '812 ms' },
        startsAt: failedAt,
      },
    ]);

    const recoveredAt = clock.now();
    await step('db', { status: 'pass' });
    expect(recording.alerts[1]).toMatchObject({
      key: 'health:orders-api:db',
      status: 'resolved',
      severity: 'critical',
      startsAt: failedAt,
      endsAt: recoveredAt,
    });

    await step('cache', { status: 'fail', output: 'down' });
    expect(recording.alerts[2]).toMatchObject({
      key: 'health:orders-api:cache',
      status: 'firing',
      severity: 'error',
      labels: { service: 'orders-api', check: 'cache' },
    });
    // below minStatus ('fail'): a warning neither fires nor keeps the failure open
    await step('db', { status: 'warn' });
    await step('cache', { status: 'warn' });
    expect(recording.alerts.map((alert) => `${alert.key} ${alert.status}`)).toEqual([
      'health:orders-api:db firing',
      'health:orders-api:db resolved',
      'health:orders-api:cache firing',
      'health:orders-api:cache resolved',
    ]);
    expect(logger.records.filter((record) => record.level === 'error')).toEqual([]);
    health.close();
  });

  it("minStatus 'warn': a warning fires as 'warning', a failure after it updates the same alert", async () => {
    const { clock, health, register, step } = setup();
    const recording = createRecordingAlertSink();
    forwardHealthAlerts(health, recording.sink, { clock, minStatus: 'warn', service: 'checkout' });
    register('queue');
    const warnedAt = clock.now();
    await step('queue', { status: 'warn', output: 'backlog 900' });
    await step('queue', { status: 'fail', output: 'backlog 5000' });
    await step('queue', { status: 'pass' });
    expect(
      recording.alerts.map(({ key, status, severity, startsAt }) => ({ key, status, severity, startsAt })),
    ).toEqual([
      { key: 'health:checkout:queue', status: 'firing', severity: 'warning', startsAt: warnedAt },
      { key: 'health:checkout:queue', status: 'firing', severity: 'critical', startsAt: warnedAt },
      { key: 'health:checkout:queue', status: 'resolved', severity: 'critical', startsAt: warnedAt },
    ]);
    health.close();
  });

  it('retries a sink that fails twice, then delivers once; nothing is thrown into the health', async () => {
    const { clock, logger, health, register, step } = setup();
    const recording = createRecordingAlertSink();
    let attempts = 0;
    const sink: AlertSink = (alert) => {
      attempts++;
      return recording.sink(alert);
    };
    forwardHealthAlerts(health, sink, { clock, logger, retry: { random: () => 0.5 } });
    register('db');
    recording.failNext(2);
    await step('db', { status: 'fail', output: 'refused' });
    expect(attempts).toBe(3);
    expect(recording.alerts).toHaveLength(1);
    expect(logger.records.filter((record) => record.message === 'health alert delivery failed; retrying')).toHaveLength(
      2,
    );
    expect(logger.records.filter((record) => record.level === 'error')).toEqual([]);
    health.close();
  });

  it('gives up after the bounded attempts (default 5) and logs it; the health carries on', async () => {
    const { clock, logger, health, register, step } = setup();
    let attempts = 0;
    forwardHealthAlerts(
      health,
      async () => {
        attempts++;
        throw new Error('incident service unavailable');
      },
      { clock, logger },
    );
    register('db');
    await step('db', { status: 'fail' });
    expect(attempts).toBe(5);
    expect(logger.records.filter((record) => record.level === 'error')).toMatchObject([
      {
        message: 'health alert delivery failed',
        fields: { key: 'health:orders-api:db', status: 'firing', error: 'incident service unavailable' },
      },
    ]);
    expect((await health.ready()).status).toBe('fail');
    health.close();
  });

  it('a resolved alert is delivered after the firing one it ends, even while that one is retried', async () => {
    const { clock, health, register } = setup();
    const delivered: string[] = [];
    let failuresLeft = 1;
    forwardHealthAlerts(
      health,
      async (alert) => {
        if (failuresLeft-- > 0) throw new Error('busy');
        delivered.push(alert.status);
      },
      { clock, retry: { random: () => 0.5 } },
    );
    let status: CheckResult['status'] = 'fail';
    health.register({ name: 'db', check: async () => ({ status }) });
    await health.check('db'); // firing: first attempt rejected, the retry waits 50 ms
    status = 'pass';
    clock.advance(1);
    await health.check('db'); // resolved: queued behind the firing alert
    expect(delivered).toEqual([]);
    await clock.advanceAsync(1_000);
    expect(delivered).toEqual(['firing', 'resolved']);
    health.close();
  });

  it('a non-retryable OpsError from the sink is not retried; options.retry.maxAttempts is honoured', async () => {
    const { clock, logger, health, register, step } = setup();
    let attempts = 0;
    forwardHealthAlerts(
      health,
      async () => {
        attempts++;
        throw new OpsError('ARGUMENT_INVALID', 'alert refused: bad labels');
      },
      { clock, logger },
    );
    let otherAttempts = 0;
    forwardHealthAlerts(
      health,
      async () => {
        otherAttempts++;
        throw new Error('flaky');
      },
      { clock, retry: { maxAttempts: 2 } },
    );
    register('db');
    await step('db', { status: 'fail' });
    expect(attempts).toBe(1);
    expect(otherAttempts).toBe(2);
    expect(logger.records.filter((record) => record.level === 'error')).toHaveLength(1);
    health.close();
  });

  it('never leaks secrets into annotations or the summary; details are not forwarded', async () => {
    const { clock, health, register, step } = setup({ secrets: ['s3cr3t-pw'] });
    const recording = createRecordingAlertSink();
    forwardHealthAlerts(health, recording.sink, { clock });
    register('db');
    await step('db', {
      status: 'fail',
      output: 'connect to postgres://app:hunter2@db:5432/app failed: password s3cr3t-pw rejected',
      observed: 'redis://:hunter2@cache:6379',
      details: { token: 'tok-abcdef123456' },
    });
    expect(recording.alerts).toHaveLength(1);
    const text = JSON.stringify(recording.alerts);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('s3cr3t-pw');
    expect(text).not.toContain('tok-abcdef123456');
    expect(recording.alerts[0]?.annotations['output']).toContain('[REDACTED]');
    expect(Object.keys(recording.alerts[0]?.annotations ?? {}).sort()).toEqual(['observed', 'output']);
    health.close();
  });

  it('refuses a bad minStatus or retry.maxAttempts at once', () => {
    const { health } = setup();
    const recording = createRecordingAlertSink();
    expect(() => forwardHealthAlerts(health, recording.sink, { minStatus: 'pass' as 'warn' })).toThrow(
      expect.objectContaining({ code: 'ARGUMENT_INVALID' }),
    );
    expect(() => forwardHealthAlerts(health, recording.sink, { retry: { maxAttempts: 0 } })).toThrow(/maxAttempts/);
    health.close();
  });

  it('returns the unsubscribe: later changes are not forwarded', async () => {
    const { clock, health, register, step } = setup();
    const recording = createRecordingAlertSink();
    const stop = forwardHealthAlerts(health, recording.sink, { clock });
    register('db');
    stop();
    await step('db', { status: 'fail' });
    expect(recording.alerts).toEqual([]);
    health.close();
  });
});
