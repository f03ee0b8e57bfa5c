import type { CheckResult, Logger } from '@ops/core';
import { createManualClock, createRecordingAlertSink, createRecordingLogger } from '@ops/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forwardHealthAlerts } from '../alerts/forward-health-alerts.js';
import { createHealthHandler } from '../http/health-handler.js';
import { createHealth } from './health.js';

// A user's logger or listener must never take the service down, and the `secrets` option reaches every line.
const throwingLogger: Logger = {
  debug: () => {
    throw new Error('logger debug broke');
  },
  info: () => {
    throw new Error('logger info broke');
  },
  warn: () => {
    throw new Error('logger warn broke');
  },
  error: () => {
    throw new Error('logger error broke');
  },
};

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a throwing logger or listener', () => {
  it('a logger whose warn() throws does not break the poller: no unhandled rejection, polling goes on', async () => {
    const clock = createManualClock();
    const health = createHealth({ clock, logger: throwingLogger, startReady: true, shutdown: { signals: [] } });
    let status: CheckResult['status'] = 'pass';
    let calls = 0;
    health.register({ name: 'db', check: async () => ((calls += 1), { status }), mode: { every: '1s' } });
    await clock.advanceAsync(0);
    for (const next of ['fail', 'warn', 'pass', 'fail'] as const) {
      status = next;
      await clock.advanceAsync(1_000);
      await settle();
      expect((await health.check('db')).status).toBe(next);
    }
    expect(calls).toBe(5);
    await settle();
    expect(unhandled).toEqual([]);
    health.close();
  });

  it('a throwing listener with a throwing logger: reports still resolve (on demand)', async () => {
    const health = createHealth({
      logger: throwingLogger,
      startReady: true,
      shutdown: { signals: [] },
      mode: { ttl: 0 },
    });
    health.on('check.changed', () => {
      throw new Error('listener broke');
    });
    health.on('check.failed', async () => {
      throw new Error('async listener broke');
    });
    health.register({ name: 'db', check: async () => ({ status: 'fail', output: 'down' }) });
    await expect(health.ready()).resolves.toMatchObject({ status: 'fail' });
    const response = await health.handler({
      method: 'GET',
      path: '/health/ready',
      query: new URLSearchParams(),
      headers: {},
    });
    expect(response?.status).toBe(503);
    await settle();
    expect(unhandled).toEqual([]);
    health.close();
  });

  it('forwardHealthAlerts with a throwing logger and a failing sink: no unhandled rejection, later alerts still go out', async () => {
    const clock = createManualClock();
    const health = createHealth({ clock, startReady: true, shutdown: { signals: [] }, mode: { ttl: 0 } });
    const recording = createRecordingAlertSink();
    recording.failNext(100);
    forwardHealthAlerts(health, recording.sink, { clock, logger: throwingLogger, retry: { maxAttempts: 2 } });
    let status: CheckResult['status'] = 'fail';
    health.register({ name: 'db', check: async () => ({ status }) });
    await health.check('db');
    await clock.advanceAsync(60_000);
    await settle();
    recording.failNext(0);
    status = 'pass';
    await health.check('db');
    await clock.advanceAsync(60_000);
    await settle();
    expect(recording.alerts.map((alert) => alert.status)).toEqual(['resolved']);
    expect(unhandled).toEqual([]);
    health.close();
  });
});

describe('secrets on every log line', () => {
  const secret = 'pw-verbatim-93741';

  it('"health event listener threw" lines carry no secret', async () => {
    const logger = createRecordingLogger();
    const health = createHealth({ logger, secrets: [secret], startReady: true, shutdown: { signals: [] } });
    health.on('check.changed', () => {
      throw new Error(`listener could not reach db with ${secret}`);
    });
    health.register({ name: 'db', check: async () => ({ status: 'pass' }) });
    await health.ready();
    const line = logger.records.find((record) => record.message === 'health event listener threw');
    expect(line).toBeDefined();
    expect(logger.text()).not.toContain(secret);
    expect(logger.text()).toContain('[REDACTED]');
    health.close();
  });

  it('"health endpoint failed" lines carry no secret', async () => {
    const logger = createRecordingLogger();
    const failing = () => Promise.reject(new Error(`evaluation failed near ${secret}`));
    const handler = createHealthHandler({
      basePath: '/health',
      live: failing,
      ready: failing,
      startup: failing,
      check: failing,
      hasCheck: () => false,
      statusCodes: { pass: 200, warn: 200, fail: 503 },
      service: {},
      secrets: [secret],
      logger,
    });
    const response = await handler({
      method: 'GET',
      path: '/health/ready',
      query: new URLSearchParams('verbose'),
      headers: {},
    });
    expect(response?.status).toBe(503);
    expect(logger.records.map((record) => record.message)).toEqual(['health endpoint failed']);
    expect(logger.text()).not.toContain(secret);
  });

  it('a showDetails predicate that throws denies details instead of failing the request', async () => {
    const health = createHealth({
      startReady: true,
      shutdown: { signals: [] },
      showDetails: () => {
        throw new Error('predicate broke');
      },
    });
    health.register({ name: 'db', check: async () => ({ status: 'fail', output: 'down' }) });
    const response = await health.handler({
      method: 'GET',
      path: '/health/db',
      query: new URLSearchParams(),
      headers: {},
    });
    expect(response?.status).toBe(503);
    expect(String(response?.body)).not.toContain('down');
    health.close();
  });
});
