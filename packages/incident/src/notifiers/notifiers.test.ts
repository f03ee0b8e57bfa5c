import { createManualClock } from '@ops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sampleIncident } from '../testing/incident-store-contract.js';
import { startRecordingTarget, type RecordingTarget } from '../testing/recording-target.js';
import type { NotificationPayload } from '../model/records.js';
import { pagerDutyDedupKey, pagerDutyNotifier } from './pagerduty-notifier.js';
import { slackNotifier } from './slack-notifier.js';
import { verifyStandardWebhook } from './standard-webhooks.js';
import { ticketWebhookNotifier } from './ticket-webhook-notifier.js';
import { webhookNotifier } from './webhook-notifier.js';

const T0 = Date.UTC(2026, 0, 13, 10, 0, 0);
const SECRET = `whsec_${Buffer.from('a secret of 24+ bytes!!!').toString('base64')}`;
let target: RecordingTarget;
beforeEach(async () => {
  target = await startRecordingTarget();
});
afterEach(() => target.close());

const payload = (overrides: Partial<NotificationPayload> = {}): NotificationPayload => ({
  event: 'incident.escalated',
  incident: sampleIncident({
    id: 'INC-2026-0113-001',
    labels: { alertname: 'HighErrorRate' },
    components: [{ id: 'api', status: 'major_outage' }],
  }),
  at: T0,
  level: 1,
  loop: 0,
  url: 'https://status.example.com/incidents/INC-2026-0113-001',
  ...overrides,
});
const context = {
  idempotencyKey: '6f1f3a52-5f5e-4d43-9a59-1b8e0c1c2f10',
  attempt: 1,
  signal: new AbortController().signal,
  alertSeverity: 'critical' as const,
};

describe('webhookNotifier', () => {
  it('posts {type, timestamp, data} with Standard Webhooks headers that verify, and the idempotency key', async () => {
    const clock = createManualClock(T0 + 5000);
    await webhookNotifier({
      url: `${target.url}/hooks`,
      secret: SECRET,
      clock,
      headers: { authorization: 'Bearer x' },
    }).send(payload(), context);
    const [request] = target.requests;
    expect(request!.path).toBe('/hooks');
    expect(request!.headers).toMatchObject({
      'webhook-id': context.idempotencyKey,
      'idempotency-key': context.idempotencyKey,
      'webhook-timestamp': String((T0 + 5000) / 1000),
      authorization: 'Bearer x',
      'content-type': 'application/json',
    });
    expect(request!.json).toMatchObject({
      type: 'incident.escalated',
      timestamp: new Date(T0).toISOString(),
      data: { incident: { id: 'INC-2026-0113-001' }, level: 1 },
    });
    expect(
      verifyStandardWebhook({
        headers: request!.headers,
        body: request!.body,
        secret: SECRET,
        nowSeconds: (T0 + 5000) / 1000,
      }),
    ).toBe(true);
    expect(
      verifyStandardWebhook({
        headers: request!.headers,
        body: `${request!.body} `,
        secret: SECRET,
        nowSeconds: (T0 + 5000) / 1000,
      }),
    ).toBe(false);
    expect(
      verifyStandardWebhook({
        headers: request!.headers,
        body: request!.body,
        secret: SECRET,
        nowSeconds: (T0 + 5000) / 1000 + 301,
      }),
    ).toBe(false);
  });

  it('rejects retryable on 429 (with Retry-After) and 5xx, not retryable on other 4xx', async () => {
    const clock = createManualClock(T0);
    const notifier = webhookNotifier({ url: target.url, clock });
    target.reply({ status: 429, headers: { 'retry-after': '120' }, body: 'slow down' });
    await expect(notifier.send(payload(), context)).rejects.toMatchObject({
      code: 'NOTIFICATION_FAILED',
      isRetryable: true,
      retryAfterMs: 120_000,
    });
    target.reply({ status: 503 });
    await expect(notifier.send(payload(), context)).rejects.toMatchObject({ isRetryable: true });
    target.reply({ status: 410, body: 'gone' });
    await expect(notifier.send(payload(), context)).rejects.toMatchObject({
      isRetryable: false,
      message: expect.stringContaining('HTTP 410: gone'),
    });
    await target.stop();
    await expect(notifier.send(payload(), context)).rejects.toMatchObject({
      isRetryable: true,
      message: expect.stringContaining('request failed'),
    });
    expect(() => webhookNotifier({ url: 'ftp://example.com' })).toThrow(/url must be http or https/);
  });
});

describe('slackNotifier', () => {
  it('posts a Slack-compatible {text}', async () => {
    await slackNotifier({ webhookUrl: `${target.url}/services/T000/B000/XXX`, channel: '#oncall' }).send(
      payload(),
      context,
    );
    expect(target.requests[0]!.json).toEqual({
      text: ':pager: [P0] INC-2026-0113-001 escalated to level 2: Checkout errors above 90% (service checkout, triggered) https://status.example.com/incidents/INC-2026-0113-001',
      channel: '#oncall',
    });
  });
});

describe('pagerDutyNotifier', () => {
  it('sends Events v2 trigger/acknowledge/resolve with the dedup key, and follows Alertmanager truncation rules', async () => {
    const notifier = pagerDutyNotifier({
      routingKey: 'R0UT1NGK3Y0000000000000000000000',
      url: `${target.url}/v2/enqueue`,
    });
    expect(notifier.events).toEqual(
      expect.arrayContaining(['incident.triggered', 'incident.acknowledged', 'incident.resolved']),
    );
    expect(notifier.events).not.toContain('incident.mitigated');
    await notifier.send(payload({ incident: sampleIncident({ title: 'x'.repeat(2000) }) }), context);
    await notifier.send(payload({ event: 'incident.acknowledged' }), context);
    await notifier.send(payload({ event: 'incident.resolved' }), context);
    await notifier.send(payload({ incident: sampleIncident({ summary: 'y'.repeat(600_000) }) }), context);
    const [trigger, acknowledge, resolve, large] = target.requests.map(
      (request) => request.json as Record<string, unknown>,
    );
    expect(trigger).toMatchObject({
      routing_key: 'R0UT1NGK3Y0000000000000000000000',
      event_action: 'trigger',
      dedup_key: 'checkout-errors',
      client: '@ops/incident',
    });
    const triggerPayload = trigger!['payload'] as Record<string, unknown>;
    expect([...(triggerPayload['summary'] as string)]).toHaveLength(1024);
    expect(triggerPayload).toMatchObject({
      source: 'checkout',
      severity: 'critical',
      timestamp: new Date(T0).toISOString(),
      group: 'checkout',
    });
    expect(acknowledge).toEqual({
      routing_key: 'R0UT1NGK3Y0000000000000000000000',
      event_action: 'acknowledge',
      dedup_key: 'checkout-errors',
    });
    expect(resolve).toMatchObject({ event_action: 'resolve', dedup_key: 'checkout-errors' });
    expect((large!['payload'] as Record<string, unknown>)['custom_details']).toEqual({
      error: 'Custom details have been removed because the original event exceeds the maximum size of 512KB',
    });
    expect(target.requests[3]!.body.length).toBeLessThan(512_000);
    expect(pagerDutyDedupKey('k'.repeat(300))).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('ticketWebhookNotifier', () => {
  it('posts GitHub-issue-like and Jira-issue-like bodies', async () => {
    await ticketWebhookNotifier({ url: `${target.url}/github` }).send(
      payload({ event: 'incident.triggered', incident: sampleIncident({ severity: 'P2' }) }),
      context,
    );
    await ticketWebhookNotifier({ url: `${target.url}/jira`, format: 'jira', projectKey: 'OPS', secret: SECRET }).send(
      payload({ event: 'incident.resolved' }),
      context,
    );
    const [github, jira] = target.requests;
    expect(github!.json).toMatchObject({
      action: 'opened',
      issue: {
        title: expect.stringMatching(/^\[P2\] INC-2026-0113-\d+: Checkout errors above 90%$/),
        labels: ['incident', 'P2', 'service:checkout'],
        state: 'open',
      },
    });
    expect(jira!.json).toMatchObject({
      fields: { project: { key: 'OPS' }, issuetype: { name: 'Incident' }, priority: { name: 'P0' } },
      transition: { name: 'Done' },
    });
    expect(jira!.headers['webhook-signature']).toMatch(/^v1,/);
  });
});
