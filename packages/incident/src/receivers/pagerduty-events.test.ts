import { createManualClock, listen, type ListeningServer } from '@ops/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidentManager } from '../lifecycle/incident-manager.js';
import { createPagerDutyEventsReceiver, type PagerDutyEventsReceiverOptions } from './pagerduty-events.js';

const T0 = Date.UTC(2026, 7, 1, 10, 0, 0);
const KEY = 'R0UT1NGK3Y0000000000000000000000';
let server: ListeningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: PagerDutyEventsReceiverOptions = {}) {
  const incidents = createIncidentManager({ clock: createManualClock(T0), autoStart: false });
  server = await listen(createPagerDutyEventsReceiver(incidents, options));
  const send = async (body: unknown, raw?: string) => {
    const response = await fetch(`${server!.url}/v2/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw ?? JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { incidents, send };
}

const trigger = (overrides: Record<string, unknown> = {}) => ({
  routing_key: KEY,
  event_action: 'trigger',
  dedup_key: 'srv01/mysql',
  payload: {
    summary: 'DISK at 99% on prod-datapipe03',
    source: 'prod-datapipe03.example.com',
    severity: 'critical',
    timestamp: '2026-08-01T09:55:00.315+0000',
    component: 'mysql',
    group: 'prod-datapipe',
    class: 'disk',
    custom_details: { 'free space': '1%' },
  },
  client: 'Sample Monitoring Service',
  client_url: 'https://monitoring.example.com',
  links: [{ href: 'https://example.com/runbook', text: 'runbook' }],
  images: [{ src: 'https://example.com/graph.png' }],
  ...overrides,
});

describe('PagerDuty Events API v2 receiver', () => {
  it('triggers, acknowledges and resolves by dedup key, answering 202 as PagerDuty does', async () => {
    const { incidents, send } = await start();
    expect(await send(trigger())).toEqual({
      status: 202,
      body: { status: 'success', message: 'Event processed', dedup_key: 'srv01/mysql' },
    });
    const [incident] = await incidents.list();
    expect(incident).toMatchObject({
      severity: 'P0',
      source: 'pagerduty-events',
      title: 'DISK at 99% on prod-datapipe03',
      impactStartedAt: Date.parse('2026-08-01T09:55:00.315Z'),
      labels: { source: 'prod-datapipe03.example.com', component: 'mysql', group: 'prod-datapipe', class: 'disk' },
      components: [{ id: 'mysql', status: 'major_outage' }],
    });
    expect(incident!.service).toMatch(/^pd-[0-9a-f]{12}$/);
    const [alert] = await incidents.alerts(incident!.id);
    expect(alert!.annotations).toEqual({
      custom_details: '{"free space":"1%"}',
      client: 'Sample Monitoring Service',
      client_url: 'https://monitoring.example.com',
    });
    expect(JSON.stringify(alert!.raw)).not.toContain(KEY);
    expect((await send({ routing_key: KEY, event_action: 'acknowledge', dedup_key: 'srv01/mysql' })).status).toBe(202);
    expect((await incidents.require(incident!.id)).status).toBe('acknowledged');
    expect((await send({ routing_key: KEY, event_action: 'resolve', dedup_key: 'srv01/mysql' })).status).toBe(202);
    expect((await incidents.require(incident!.id)).status).toBe('resolved');
    // After the resolve: acknowledge and resolve are dropped, a trigger opens a new incident.
    await send({ routing_key: KEY, event_action: 'acknowledge', dedup_key: 'srv01/mysql' });
    expect(await incidents.list()).toHaveLength(1);
    await send(trigger());
    expect(await incidents.list({ open: true })).toHaveLength(1);
    expect(await incidents.list()).toHaveLength(2);
  });

  it('generates a dedup key for a trigger without one, and scopes follow-ups to the routing key', async () => {
    const { incidents, send } = await start();
    const { dedup_key: _none, ...withoutKey } = trigger();
    const response = await send(withoutKey);
    expect(response.body['dedup_key']).toMatch(/^[0-9a-f]{32}$/);
    await send(trigger());
    await send(trigger({ routing_key: 'ANOTHERKEY000000000000000000000' }));
    await send({ routing_key: 'ANOTHERKEY000000000000000000000', event_action: 'resolve', dedup_key: 'srv01/mysql' });
    const open = await incidents.list({ open: true });
    expect(open).toHaveLength(2); // the other key's resolve did not touch ours
  });

  it('maps routing keys to services and refuses unknown keys', async () => {
    const { incidents, send } = await start({ routingKeys: { [KEY]: 'datapipe' } });
    await send(trigger());
    expect((await incidents.list())[0]?.service).toBe('datapipe');
    expect(await send(trigger({ routing_key: 'nope' }))).toEqual({
      status: 400,
      body: {
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: ['routing_key: is not a known integration key'],
      },
    });
  });

  it("answers invalid events 400 with PagerDuty's body and stores nothing", async () => {
    const { incidents, send } = await start();
    const invalid = async (body: unknown, error: RegExp) => {
      const response = await send(body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ status: 'invalid event', message: 'Event object is invalid' });
      expect((response.body['errors'] as string[]).join('\n')).toMatch(error);
    };
    await invalid({ ...trigger(), payload: undefined }, /^payload: is required for trigger$/);
    await invalid({ routing_key: KEY, event_action: 'resolve' }, /^dedup_key: is required for resolve$/);
    await invalid(trigger({ event_action: 'snooze' }), /^event_action: /);
    await invalid(trigger({ routing_key: '' }), /^routing_key: is required$/);
    await invalid(trigger({ payload: { ...trigger().payload, severity: 'fatal' } }), /^payload\.severity: /);
    await invalid(trigger({ payload: { ...trigger().payload, summary: 'x'.repeat(1025) } }), /^payload\.summary: /);
    await invalid(
      trigger({ payload: { ...trigger().payload, timestamp: 'soon' } }),
      /^payload\.timestamp: must be an ISO 8601 time$/,
    );
    await invalid(trigger({ dedup_key: 'k'.repeat(256) }), /^dedup_key: /);
    await invalid(
      trigger({ images: [{ src: 'http://insecure.example.com/x.png' }] }),
      /^images\[0\]\.src: must be an HTTPS URL$/,
    );
    await invalid(trigger({ links: [{ text: 'no href' }] }), /^links\[0\]\.href: /);
    const tooLarge = await send(trigger({ payload: { ...trigger().payload, custom_details: 'x'.repeat(600 * 1024) } }));
    expect(tooLarge.status).toBe(400);
    expect(tooLarge.body).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/^the body of \d+ bytes exceeds the limit of 524288 bytes \(maxBodyBytes\)$/),
    });
    expect(await incidents.list()).toEqual([]);
  });
});
