import { createManualClock, listen, type ListeningServer } from '@ops/core';
import { afterEach, describe, expect, it } from 'vitest';
import { IncidentError } from '../errors.js';
import { createIncidentManager } from '../lifecycle/incident-manager.js';
import { createAlertmanagerReceiver } from '../receivers/alertmanager-webhook.js';
import { createPagerDutyEventsReceiver } from '../receivers/pagerduty-events.js';
import { createIngestRateLimiter } from './rate-limiter.js';

const T0 = Date.UTC(2026, 0, 13, 9, 0, 0);

let server: ListeningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const amMessage = (externalURL: string, index: number) => ({
  version: '4',
  groupKey: `{}:{alertname="Down${index}"}`,
  status: 'firing',
  receiver: 'ops',
  groupLabels: { alertname: `Down${index}` },
  commonLabels: { alertname: `Down${index}`, service: 'api', severity: 'warning' },
  commonAnnotations: {},
  externalURL,
  alerts: [
    {
      status: 'firing',
      labels: { alertname: `Down${index}`, service: 'api', severity: 'warning' },
      annotations: {},
      startsAt: '2026-01-13T08:59:00Z',
      fingerprint: `f${index}`,
    },
  ],
});

describe('ingest rate limits (token bucket per source)', () => {
  it('lets a burst through, then refills at the rate; sources do not share a bucket', () => {
    const clock = createManualClock(T0);
    const limiter = createIngestRateLimiter({ perSecond: 2, burst: 3, clock });
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterMs: 500 });
    expect(limiter.take('b').ok).toBe(true);
    clock.advance(499);
    expect(limiter.take('a').ok).toBe(false);
    clock.advance(1);
    expect(limiter.take('a').ok).toBe(true);
    clock.advance(60_000);
    expect([1, 2, 3, 4].map(() => limiter.take('a').ok)).toEqual([true, true, true, false]); // capped at the burst
    expect(limiter.counts()).toEqual({ a: { accepted: 7, limited: 3 }, b: { accepted: 1, limited: 0 } });
    expect(() => limiter.check('a')).toThrow(IncidentError);
    expect(() => createIngestRateLimiter({ perSecond: 0 })).toThrow(/perSecond must be a positive number/);
  });

  it('answers an Alertmanager over its limit 429 with Retry-After, stores nothing of it, and counts it', async () => {
    const clock = createManualClock(T0);
    const incidents = createIncidentManager({ clock, autoStart: false });
    const rateLimit = createIngestRateLimiter({
      perSecond: 1,
      burst: 2,
      clock,
      sources: { 'alertmanager:http://trusted:9093': { perSecond: 100 } },
    });
    const limited: string[] = [];
    rateLimit.on('ingest.limited', (event) => limited.push(event.source));
    server = await listen(createAlertmanagerReceiver(incidents, { rateLimit }));
    const post = (externalURL: string, index: number) =>
      fetch(`${server!.url}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(amMessage(externalURL, index)),
      });
    const statuses = [];
    for (let index = 0; index < 4; index++) statuses.push((await post('http://noisy:9093', index)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    const refused = await post('http://noisy:9093', 9);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { message: string }).message).toMatch(
      /^ingest from "alertmanager:http:\/\/noisy:9093" is over its rate limit; retry in 1 s$/,
    );
    expect((await post('http://trusted:9093', 100)).status).toBe(200); // another source, its own limit
    expect((await incidents.list()).map((incident) => incident.dedupKey).sort()).toEqual([
      'am:{}:{alertname="Down0"}',
      'am:{}:{alertname="Down1"}',
      'am:{}:{alertname="Down100"}',
    ]);
    expect(rateLimit.counts()['alertmanager:http://noisy:9093']).toEqual({ accepted: 2, limited: 3 });
    expect(limited).toHaveLength(3);
    clock.advance(1000);
    expect((await post('http://noisy:9093', 2)).status).toBe(200); // the retry goes through: nothing lost
    expect(await incidents.list()).toHaveLength(4);
  });

  it('limits PagerDuty senders per routing key', async () => {
    const clock = createManualClock(T0);
    const incidents = createIncidentManager({ clock, autoStart: false });
    const rateLimit = createIngestRateLimiter({ perSecond: 1, burst: 1, clock });
    server = await listen(createPagerDutyEventsReceiver(incidents, { rateLimit }));
    const send = (routingKey: string) =>
      fetch(`${server!.url}/v2/enqueue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          routing_key: routingKey,
          event_action: 'trigger',
          payload: { summary: 'Queue backlog', source: 'worker-3', severity: 'error' },
        }),
      });
    expect((await send('R1')).status).toBe(202);
    const refused = await send('R1');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await send('R2')).status).toBe(202);
    expect(rateLimit.counts()).toEqual({
      'pagerduty:R1': { accepted: 1, limited: 1 },
      'pagerduty:R2': { accepted: 1, limited: 0 },
    });
  });
});
