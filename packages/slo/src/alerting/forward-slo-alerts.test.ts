import { createManualClock, OpsError, opsAlertSchema } from '@ops/core';
import { createRecordingAlertSink, createRecordingLogger } from '@ops/core/testing';
import { describe, expect, it } from 'vitest';
import { createSloTracker } from '../engine/slo-tracker.js';
import { forwardSloAlerts } from './forward-slo-alerts.js';

const MINUTE = 60_000;
const START = Date.UTC(2026, 5, 1);

function setup(options: { groupBy?: string[] } = {}) {
  const clock = createManualClock(START);
  const logger = createRecordingLogger();
  const tracker = createSloTracker({
    clock,
    slos: [
      {
        service: 'shop',
        name: 'checkout',
        objective: 0.999,
        sli: { type: 'availability' },
        ...(options.groupBy ? { groupBy: options.groupBy } : {}),
        // page-quick (page) and ticket-quick (ticket) only.
        alerting: { tiers: { 'page-slow': false, 'ticket-slow': false } },
      },
    ],
  });
  const recording = createRecordingAlertSink();
  return { clock, logger, tracker, recording };
}

describe('forwardSloAlerts', () => {
  it('turns each tier firing into an OpsAlert and resolves it with the same key and startsAt', async () => {
    const { clock, logger, tracker, recording } = setup();
    forwardSloAlerts(tracker, recording.sink, { clock, logger });
    tracker.get('checkout').add({ good: 900, bad: 100 });
    clock.advance(MINUTE);
    await tracker.evaluate();
    await clock.advanceAsync(0);
    const firedAt = START + MINUTE;
    expect(recording.alerts.map((alert) => [alert.key, alert.status, alert.severity, alert.startsAt])).toEqual([
      ['slo:shop/checkout:page-quick', 'firing', 'critical', firedAt],
      ['slo:shop/checkout:ticket-quick', 'firing', 'warning', firedAt],
    ]);
    const [page] = recording.alerts;
    expect(page).toMatchObject({
      source: 'slo',
      labels: { service: 'shop', slo: 'checkout', tier: 'page-quick' },
      annotations: {
        burnRate: '100',
        burnRateShort: '100',
        threshold: '14.4',
        budgetRemaining: '-99',
        budgetConsumed: '100',
        timeToExhaustionMs: '0',
      },
    });
    expect(page?.summary).toContain('shop/checkout');
    expect(page?.endsAt).toBeUndefined();
    for (const alert of recording.alerts) expect(opsAlertSchema.safeParse(alert).success).toBe(true);

    // Recovery: a flood of good events dilutes every window under its threshold.
    recording.clear();
    clock.advance(MINUTE);
    tracker.get('checkout').add({ good: 100_000_000 });
    await tracker.evaluate();
    await clock.advanceAsync(0);
    expect(
      recording.alerts.map((alert) => [alert.key, alert.status, alert.severity, alert.startsAt, alert.endsAt]),
    ).toEqual([
      ['slo:shop/checkout:page-quick', 'resolved', 'critical', firedAt, START + 2 * MINUTE],
      ['slo:shop/checkout:ticket-quick', 'resolved', 'warning', firedAt, START + 2 * MINUTE],
    ]);
    expect(logger.records).toEqual([]);
  });

  it('puts the label values of a label set in the key and its labels in the alert', async () => {
    const { clock, tracker, recording } = setup({ groupBy: ['route', 'method'] });
    forwardSloAlerts(tracker, recording.sink, { clock });
    tracker.get('checkout').add({ good: 900, bad: 100, labels: { route: '/pay', method: 'POST' } });
    await tracker.evaluate();
    await clock.advanceAsync(0);
    const keys = recording.alerts.map((alert) => alert.key);
    // The SLO as a whole and its one label set.
    expect(keys).toContain('slo:shop/checkout:page-quick');
    expect(keys).toContain('slo:shop/checkout:page-quick:/pay:POST');
    expect(recording.alerts.find((alert) => alert.key === 'slo:shop/checkout:page-quick:/pay:POST')?.labels).toEqual({
      route: '/pay',
      method: 'POST',
      service: 'shop',
      slo: 'checkout',
      tier: 'page-quick',
    });
  });

  it('retries a rejecting sink with backoff on the clock, and keeps firing before resolved', async () => {
    const { clock, logger, tracker, recording } = setup();
    forwardSloAlerts(tracker, recording.sink, { clock, logger, retry: { initialDelay: '1s', maxDelay: '4s' } });
    recording.failNext(3);
    tracker.get('checkout').add({ bad: 100 });
    await tracker.evaluate();
    await clock.advanceAsync(0);
    expect(recording.alerts).toEqual([]);
    // The resolution comes while the firing alerts are still being retried.
    clock.advance(10 * MINUTE);
    tracker.get('checkout').add({ good: 100_000_000 });
    await tracker.evaluate();
    for (let second = 0; second < 30; second++) await clock.advanceAsync(1_000);
    for (const tier of ['page-quick', 'ticket-quick']) {
      const alerts = recording.alerts.filter((alert) => alert.key === `slo:shop/checkout:${tier}`);
      expect(alerts.map((alert) => [alert.status, alert.startsAt])).toEqual([
        ['firing', START],
        ['resolved', START],
      ]);
    }
    expect(logger.records.filter((record) => record.level === 'warn')).toHaveLength(3);
    expect(logger.records.filter((record) => record.level === 'error')).toEqual([]);
  });

  it('gives up after maxAttempts, logs it and never throws into the tracker', async () => {
    const { clock, logger, tracker, recording } = setup();
    forwardSloAlerts(tracker, recording.sink, { clock, logger, retry: { maxAttempts: 2 } });
    recording.failNext(100, new Error('incident API down'));
    tracker.get('checkout').add({ bad: 100 });
    await expect(tracker.evaluate()).resolves.toBeUndefined();
    for (let second = 0; second < 60; second++) await clock.advanceAsync(1_000);
    expect(recording.alerts).toEqual([]);
    const errors = logger.records.filter((record) => record.level === 'error');
    expect(errors.map((record) => record.fields.key).sort()).toEqual([
      'slo:shop/checkout:page-quick',
      'slo:shop/checkout:ticket-quick',
    ]);
    expect(logger.text()).toContain('incident API down');
  });

  it('does not retry an OpsError that says it is not retryable', async () => {
    const { clock, logger, tracker, recording } = setup();
    forwardSloAlerts(tracker, recording.sink, { clock, logger });
    recording.failNext(1, new OpsError('ARGUMENT_INVALID', 'alert refused: bad labels'));
    tracker.get('checkout').add({ bad: 100 });
    await tracker.evaluate();
    for (let second = 0; second < 60; second++) await clock.advanceAsync(1_000);
    // One of the two firing alerts was refused for good, the other delivered.
    expect(recording.alerts).toHaveLength(1);
    expect(logger.records.filter((record) => record.level === 'warn')).toEqual([]);
    expect(logger.records.filter((record) => record.level === 'error')).toHaveLength(1);
  });

  it('refuses a bad retry.maxAttempts', () => {
    const { tracker, recording } = setup();
    expect(() => forwardSloAlerts(tracker, recording.sink, { retry: { maxAttempts: 0 } })).toThrow(
      /maxAttempts must be an integer >= 1/,
    );
  });

  it('stops forwarding after the unsubscribe', async () => {
    const { clock, tracker, recording } = setup();
    const stop = forwardSloAlerts(tracker, recording.sink, { clock });
    stop();
    tracker.get('checkout').add({ bad: 100 });
    await tracker.evaluate();
    await clock.advanceAsync(0);
    expect(recording.alerts).toEqual([]);
  });
});
