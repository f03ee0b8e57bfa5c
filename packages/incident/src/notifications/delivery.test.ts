import { createManualClock } from '@ops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIncidentManager, type IncidentManagerOptions } from '../lifecycle/incident-manager.js';
import { webhookNotifier } from '../notifiers/webhook-notifier.js';
import { startRecordingTarget, type RecordingTarget } from '../testing/recording-target.js';

const T0 = Date.UTC(2026, 0, 13, 10, 0, 0);
const SECOND = 1000;
let target: RecordingTarget;
let other: RecordingTarget;
beforeEach(async () => {
  target = await startRecordingTarget();
  other = await startRecordingTarget();
});
afterEach(async () => {
  await target.close();
  await other.close();
});

function setup(options: Partial<IncidentManagerOptions> = {}) {
  const clock = createManualClock(T0);
  const incidents = createIncidentManager({
    clock,
    autoStart: false,
    notifiers: {
      hook: webhookNotifier({ url: `${target.url}/hook`, clock }),
      other: webhookNotifier({ url: `${other.url}/hook`, clock }),
    },
    routes: [{ notify: ['hook'] }],
    ...options,
    delivery: { random: () => 0.5, ...options.delivery },
  });
  const tick = async (ms: number) => {
    clock.advance(ms);
    await incidents.deliverNotifications();
  };
  return { clock, incidents, tick };
}

describe('notification outbox delivery', () => {
  it('honours 429 Retry-After and delivers once when the target accepts, with one idempotency key throughout', async () => {
    const { incidents, tick } = setup();
    target.reply((_, index) =>
      index < 3 ? { status: 429, headers: { 'retry-after': '120' }, body: 'rate limited' } : { status: 200 },
    );
    const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P2' });
    await tick(0);
    expect(target.requests).toHaveLength(1);
    await tick(119 * SECOND);
    expect(target.requests).toHaveLength(1); // Retry-After beats the 10s backoff
    await tick(SECOND);
    expect(target.requests).toHaveLength(2);
    await tick(120 * SECOND);
    await tick(120 * SECOND);
    expect(target.requests).toHaveLength(4);
    await tick(3600 * SECOND);
    expect(target.requests).toHaveLength(4); // delivered: never sent again
    expect(new Set(target.requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(target.requests.map((request) => request.headers['idempotency-key'])).toEqual(
      target.requests.map((request) => request.headers['webhook-id']),
    );
    const [row] = await incidents.notifications(incident!.id);
    expect(row).toMatchObject({
      status: 'delivered',
      attempts: 4,
      deliveredAt: T0 + 360 * SECOND,
      target: 'hook',
      event: 'incident.triggered',
    });
    expect(row!.lastError).toBeUndefined();
    expect((await incidents.timeline(incident!.id)).filter((event) => event.kind === 'notified')).toHaveLength(1);
  });

  it('loses nothing while a target is down: the circuit opens, pauses that target, and every message goes out once when it returns', async () => {
    const { incidents, tick } = setup({
      delivery: { circuitBreaker: { failureThreshold: 3, halfOpenAfter: '1m' }, initialDelay: '5s', maxDelay: '1m' },
    });
    await target.stop();
    const ids: string[] = [];
    for (let index = 0; index < 8; index++)
      ids.push(
        (await incidents.trigger({ service: 'api', dedupKey: `k${index}`, title: `incident ${index}`, severity: 'P3' }))
          .incident!.id,
      );
    for (let second = 0; second < 300; second += 5) await tick(5 * SECOND);
    const pending = (await Promise.all(ids.map((id) => incidents.notifications(id)))).flat();
    expect(pending.every((row) => row.status === 'pending')).toBe(true);
    // The open circuit spares the target: far fewer attempts than 8 rows × 60 ticks.
    expect(pending.reduce((sum, row) => sum + row.attempts, 0)).toBeLessThan(20);
    await target.resume();
    for (let second = 0; second < 180; second += 5) await tick(5 * SECOND);
    const rows = (await Promise.all(ids.map((id) => incidents.notifications(id)))).flat();
    expect(rows.map((row) => row.status)).toEqual(Array(8).fill('delivered'));
    const received = target.requests.map((request) => request.headers['webhook-id']);
    expect(received).toHaveLength(8);
    expect(new Set(received)).toEqual(new Set(rows.map((row) => row.id)));
  });

  it('dead-letters a message the target refuses for good, as a timeline event, without retrying it', async () => {
    const { incidents, tick } = setup();
    const failed: string[] = [];
    incidents.on('notification.failed', (event) => failed.push(event.error));
    target.reply({ status: 400, body: 'invalid_payload' });
    const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P2' });
    await tick(0);
    await tick(3600 * SECOND);
    expect(target.requests).toHaveLength(1);
    const [row] = await incidents.notifications(incident!.id);
    expect(row).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastError: expect.stringContaining('HTTP 400: invalid_payload'),
    });
    const entry = (await incidents.timeline(incident!.id)).find((event) => event.kind === 'notify_failed');
    expect(entry?.description).toMatch(
      /^Could not notify hook of incident\.triggered: NOTIFICATION_FAILED: webhook 127\.0\.0\.1:\d+: HTTP 400: invalid_payload$/,
    );
    expect(failed).toHaveLength(1);
  });

  it('gives up after maxAttempts with backoff between attempts', async () => {
    const { incidents, tick } = setup({
      delivery: { maxAttempts: 3, initialDelay: '10s', maxDelay: '1m', circuitBreaker: false },
    });
    target.reply({ status: 503 });
    const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P2' });
    const times: number[] = [];
    for (let second = 0; second <= 120; second++) {
      const before = target.requests.length;
      await tick(second === 0 ? 0 : SECOND);
      if (target.requests.length > before) times.push(second);
    }
    expect(times).toEqual([0, 8, 23]); // equal jitter at 0.5: 10s × 0.75, then 20s × 0.75 after that
    const [row] = await incidents.notifications(incident!.id);
    expect(row).toMatchObject({
      status: 'dead',
      attempts: 3,
      lastError: expect.stringContaining('gave up after 3 attempts'),
    });
  });

  it('never re-sends to a target that already accepted when another target keeps failing', async () => {
    const { incidents, tick } = setup({
      routes: [{ notify: ['hook', 'other'] }],
      delivery: { circuitBreaker: false, initialDelay: '1s', maxDelay: '5s' },
    });
    other.reply({ status: 500 });
    await incidents.trigger({ service: 'api', title: 'x', severity: 'P2' });
    for (let second = 0; second < 60; second++) await tick(SECOND);
    expect(target.requests).toHaveLength(1);
    expect(other.requests.length).toBeGreaterThan(5);
  });
});
