import { createManualClock, listen, type ListeningServer } from '@ops/core';
import { afterEach, describe, expect, it } from 'vitest';
import { IncidentError } from '../errors.js';
import { createIncidentManager, type IncidentManager } from '../lifecycle/incident-manager.js';
import { createMemoryIncidentStore } from '../stores/memory-incident-store.js';
import type { IncidentStore } from '../stores/incident-store.js';
import {
  alertmanagerEvents,
  createAlertmanagerReceiver,
  parseAlertmanagerWebhook,
  quickParseAlertmanagerWebhook,
  type AlertmanagerReceiverOptions,
} from './alertmanager-webhook.js';
import { sanitizeStrings } from './receiver-http.js';

const T0 = Date.UTC(2026, 7, 1, 10, 0, 0);
let server: ListeningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: AlertmanagerReceiverOptions = {}, store: IncidentStore = createMemoryIncidentStore()) {
  const incidents = createIncidentManager({ store, clock: createManualClock(T0), autoStart: false });
  server = await listen(createAlertmanagerReceiver(incidents, options));
  const post = async (body: unknown, init: { method?: string; path?: string; raw?: string } = {}) => {
    const response = await fetch(`${server!.url}${init.path ?? '/webhooks/alertmanager'}`, {
      method: init.method ?? 'POST',
      headers: { 'content-type': 'application/json' },
      ...(init.method === 'GET' ? {} : { body: init.raw ?? JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : text,
    };
  };
  return { incidents, post };
}

const alert = (instance: string, status: 'firing' | 'resolved', fingerprint: string) => ({
  status,
  labels: { alertname: 'HighErrorRate', service: 'api', severity: 'critical', instance },
  annotations: { description: `errors on ${instance}` },
  startsAt: '2026-08-01T09:58:00Z',
  endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-08-01T10:05:00Z',
  generatorURL: 'http://prometheus:9090/graph?g0.expr=errors',
  fingerprint,
});

// Alertmanager 0.25 (Debian): no notification_reason, no routeLabels; null when no annotation is common.
function oldSender(status: 'firing' | 'resolved', alerts: ReturnType<typeof alert>[]) {
  return {
    receiver: 'ops-incident',
    status,
    alerts,
    groupLabels: { alertname: 'HighErrorRate' },
    commonLabels: { alertname: 'HighErrorRate', service: 'api', severity: 'critical' },
    commonAnnotations: null,
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: '{}:{alertname="HighErrorRate"}',
    truncatedAlerts: 0,
  };
}

async function kinds(incidents: IncidentManager, id: string) {
  return (await incidents.timeline(id)).map((event) => event.kind);
}

describe('Alertmanager webhook v4 receiver', () => {
  it('takes an old sender (0.25: no notification_reason/routeLabels, null commonAnnotations) and groups by groupKey', async () => {
    const { incidents, post } = await start();
    const response = await post(
      oldSender('firing', [alert('api-1', 'firing', '1badb0c76cee4041'), alert('api-2', 'firing', '2badb0c76cee4042')]),
    );
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'success',
      results: [{ action: 'created', incidentId: 'INC-2026-0801-001', dedupKey: 'am:{}:{alertname="HighErrorRate"}' }],
    });
    const incident = await incidents.require('INC-2026-0801-001');
    expect(incident).toMatchObject({
      service: 'api',
      severity: 'P0',
      source: 'alertmanager',
      title: 'HighErrorRate (2 alerts)',
      impactStartedAt: Date.parse('2026-08-01T09:58:00Z'),
    });
    const alerts = await incidents.alerts(incident.id);
    expect(alerts.map((entry) => [entry.alertKey, entry.status, entry.labels['instance'], entry.generatorUrl])).toEqual(
      [
        ['1badb0c76cee4041', 'firing', 'api-1', 'http://prometheus:9090/graph?g0.expr=errors'],
        ['2badb0c76cee4042', 'firing', 'api-2', 'http://prometheus:9090/graph?g0.expr=errors'],
      ],
    );
    expect(alerts[0]!.raw).toMatchObject({ fingerprint: '1badb0c76cee4041' });
  });

  it('takes a new sender (notification_reason, routeLabels, truncatedAlerts) and records the truncation', async () => {
    const { incidents, post } = await start();
    const message = {
      ...oldSender('firing', [alert('api-1', 'firing', 'fp1')]),
      commonAnnotations: { summary: 'API error rate above 5%' },
      notification_reason: 'first notification',
      routeLabels: { team: 'api' },
      truncatedAlerts: 37,
    };
    expect((await post(message)).status).toBe(200);
    const [incident] = await incidents.list();
    expect(incident?.title).toBe('API error rate above 5%');
    const truncated = (await incidents.timeline(incident!.id)).find((event) =>
      event.description.includes('truncatedAlerts'),
    );
    expect(truncated?.description).toBe('The sender left out 37 alert(s) of this group (truncatedAlerts)');
  });

  it('resolves the incident only when the whole group resolves; member resolves are timeline entries; repeats only count', async () => {
    const { incidents, post } = await start();
    await post(oldSender('firing', [alert('api-1', 'firing', 'fp1'), alert('api-2', 'firing', 'fp2')]));
    await post({
      ...oldSender('firing', [alert('api-1', 'firing', 'fp1'), alert('api-2', 'firing', 'fp2')]),
      notification_reason: 'repeat interval elapsed',
    });
    await post(oldSender('firing', [alert('api-1', 'resolved', 'fp1'), alert('api-2', 'firing', 'fp2')]));
    const [incident] = await incidents.list();
    expect(incident).toMatchObject({ status: 'triggered', occurrences: 3 });
    await post(oldSender('resolved', [alert('api-1', 'resolved', 'fp1'), alert('api-2', 'resolved', 'fp2')]));
    const resolved = await incidents.require(incident!.id);
    expect(resolved).toMatchObject({ status: 'resolved', resolveReason: 'source' });
    expect(await kinds(incidents, incident!.id)).toEqual(['triggered', 'alert_resolved', 'alert_resolved', 'resolved']);
    expect((await incidents.alerts(incident!.id)).map((entry) => [entry.status, entry.endsAt])).toEqual([
      ['resolved', Date.parse('2026-08-01T10:05:00Z')],
      ['resolved', Date.parse('2026-08-01T10:05:00Z')],
    ]);
  });

  it('opens one incident per alert in alert mode', async () => {
    const { incidents, post } = await start({ mode: 'alert' });
    await post(oldSender('firing', [alert('api-1', 'firing', 'fp1'), alert('api-2', 'firing', 'fp2')]));
    await post(oldSender('firing', [alert('api-1', 'resolved', 'fp1'), alert('api-2', 'firing', 'fp2')]));
    const all = await incidents.list();
    expect(all.map((incident) => [incident.dedupKey, incident.status]).sort()).toEqual([
      ['am:fp1', 'resolved'],
      ['am:fp2', 'triggered'],
    ]);
  });

  it('answers malformed messages 400 with the reason (a 10 MB body too) and stores nothing', async () => {
    const { incidents, post } = await start();
    const good = oldSender('firing', [alert('api-1', 'firing', 'fp1')]);
    const cases: [string, Awaited<ReturnType<typeof post>>, number, RegExp][] = [
      ['bad JSON', await post(undefined, { raw: '{"version": "4", ' }), 400, /the body is not valid JSON/],
      ['empty body', await post(undefined, { raw: '' }), 400, /the body is empty/],
      ['an array', await post([good]), 400, /expected a JSON object/],
      [
        'wrong version',
        await post({ ...good, version: '3' }),
        400,
        /version must be "4" \(Alertmanager webhook v4\), got "3"/,
      ],
      ['no version', await post({ ...good, version: undefined }), 400, /version must be "4".*got nothing/],
      ['unknown field', await post({ ...good, surprise: true }), 400, /Unrecognized key.*"surprise"/],
      [
        'unknown alert field',
        await post({ ...good, alerts: [{ ...good.alerts[0], extra: 1 }] }),
        400,
        /alerts\[0\]: Unrecognized key.*"extra"/,
      ],
      ['no alerts', await post({ ...good, alerts: [] }), 400, /alerts: must hold at least one alert/],
      ['bad status', await post({ ...good, status: 'pending' }), 400, /status: /],
      [
        'bad time',
        await post({ ...good, alerts: [{ ...good.alerts[0], startsAt: 'yesterday' }] }),
        400,
        /alerts\[0\]\.startsAt: must be an RFC 3339 time/,
      ],
      ['label not a string', await post({ ...good, commonLabels: { severity: 3 } }), 400, /commonLabels\.severity/],
      [
        '10 MB body',
        await post({ ...good, padding: 'x'.repeat(10 * 1024 * 1024) }),
        400,
        /^the body of 1048\d{4} bytes exceeds the limit of 8388608 bytes \(maxBodyBytes\)$/,
      ],
      ['GET', await post(undefined, { method: 'GET' }), 405, /method GET is not allowed/],
    ];
    for (const [name, response, status, reason] of cases) {
      expect(response.status, name).toBe(status);
      expect((response.body as { message: string }).message, name).toMatch(reason);
    }
    expect(cases.find(([name]) => name === 'GET')![1].headers.get('allow')).toBe('POST');
    expect(await incidents.list()).toEqual([]);
    expect((await post(good, { path: '/elsewhere' })).status).toBe(404);
  });

  it('answers a chunked body (no content-length) over the bound 400 with the reason, reading no further', async () => {
    const { incidents } = await start({ maxBodyBytes: 64 * 1024 });
    const chunk = new TextEncoder().encode(`{"version":"4","padding":"${'x'.repeat(16 * 1024)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${server!.url}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toBe(
      'the body exceeds the limit of 65536 bytes (maxBodyBytes)',
    );
    expect(await incidents.list()).toEqual([]);
  });

  it('accepts fields it does not know when told to, and senders without fingerprints', async () => {
    const { incidents, post } = await start({ unknownFields: 'ignore' });
    const { fingerprint: _fingerprint, ...withoutFingerprint } = alert('api-1', 'firing', 'unused');
    const response = await post({
      ...oldSender('firing', [withoutFingerprint as never]),
      surprise: { from: 'the future' },
    });
    expect(response.status).toBe(200);
    const [incident] = await incidents.list();
    expect((await incidents.alerts(incident!.id))[0]!.alertKey).toMatch(/^[0-9a-f]{16}$/);
  });

  it('answers 503 with Retry-After when the store fails, so Alertmanager retries', async () => {
    const store: IncidentStore = {
      ...createMemoryIncidentStore(),
      transaction: async () =>
        Promise.reject(new IncidentError('STORE_FAILED', 'connection terminated', { isRetryable: true })),
    };
    const { post } = await start({}, store);
    const response = await post(oldSender('firing', [alert('api-1', 'firing', 'fp1')]));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.body).toMatchObject({ message: 'the incident store is unavailable; retry later' });
  });

  it('refuses unauthorized senders with 401', async () => {
    const { incidents, post } = await start({
      authorize: (request) => request.headers['authorization'] === 'Bearer s3cret',
    });
    expect((await post(oldSender('firing', [alert('api-1', 'firing', 'fp1')]))).status).toBe(401);
    expect(await incidents.list()).toEqual([]);
  });

  it('stores labels with NUL characters (which PostgreSQL refuses) with a replacement character', async () => {
    const { incidents, post } = await start();
    const message = oldSender('firing', [
      {
        ...alert('api-1', 'firing', 'fp1'),
        labels: { alertname: 'A', service: 'api', severity: 'critical', instance: 'bad\u0000byte' },
      },
    ]);
    expect((await post(message)).status).toBe(200);
    const [incident] = await incidents.list();
    expect((await incidents.alerts(incident!.id))[0]!.labels['instance']).toBe('bad\uFFFDbyte');
  });
});

describe('quickParseAlertmanagerWebhook', () => {
  // Bodies as the receiver sees them: parsed JSON (NULs and __proto__ keys already through sanitizeStrings).
  const asReceived = (body: unknown) => sanitizeStrings(JSON.parse(JSON.stringify(body)) as unknown);
  const firing = alert('api-1', 'firing', 'fp1');
  const newSender = {
    ...oldSender('firing', [firing, alert('api-2', 'resolved', 'fp2')]),
    commonAnnotations: { summary: 'errors', 2: 'numeric key first' },
    notification_reason: 'new',
    routeLabels: { service: 'api' },
  };
  const { endsAt: _endsAt, generatorURL: _generatorURL, fingerprint: _fingerprint, ...bare } = firing;
  const { truncatedAlerts: _truncated, externalURL: _externalURL, ...minimal } = oldSender('resolved', [firing]);

  it('returns what the schema returns, key order included, for plainly valid bodies', () => {
    for (const body of [
      oldSender('firing', [firing]),
      newSender,
      { ...minimal, alerts: [bare, { ...bare, annotations: null, labels: {} }] },
      { ...minimal, groupLabels: null, commonLabels: null, routeLabels: null, truncatedAlerts: 3 },
      { ...minimal, alerts: [{ ...firing, fingerprint: 'f'.repeat(128) }], receiver: '', version: '4' },
      { ...newSender, commonLabels: { ünïcode: 'välue', '': 'empty key', 'bad\u0000key': 'x' } },
    ]) {
      const received = asReceived(body);
      const quick = quickParseAlertmanagerWebhook(received);
      expect(quick).toBeDefined();
      expect(JSON.stringify(quick)).toBe(JSON.stringify(parseAlertmanagerWebhook(received)));
      expect(quick).toStrictEqual(parseAlertmanagerWebhook(received, 'ignore'));
    }
  });

  it('leaves unknown fields, bad values and odd shapes to the schema', () => {
    for (const body of [
      { ...newSender, extra: 1 },
      { ...newSender, alerts: [{ ...firing, extra: 1 }] },
      { ...newSender, version: '3' },
      { ...newSender, groupKey: '' },
      { ...newSender, status: 'pending' },
      { ...newSender, truncatedAlerts: -1 },
      { ...newSender, truncatedAlerts: 1.5 },
      { ...newSender, truncatedAlerts: 2 ** 53 },
      { ...newSender, externalURL: 42 },
      { ...newSender, alerts: [] },
      { ...newSender, alerts: {} },
      { ...newSender, routeLabels: { service: 1 } },
      { ...newSender, commonLabels: ['a'] },
      { ...newSender, alerts: [{ ...firing, labels: null }] },
      { ...newSender, alerts: [{ ...firing, startsAt: 'yesterday' }] },
      { ...newSender, alerts: [{ ...firing, endsAt: 'never' }] },
      { ...newSender, alerts: [{ ...firing, fingerprint: 'f'.repeat(129) }] },
      { ...newSender, alerts: [{ ...firing, generatorURL: null }] },
      { ...newSender, alerts: [firing, 'not an alert'] },
      JSON.parse('{"version":"4","__proto__":{"groupKey":"inherited"}}') as unknown,
      { ...newSender, commonLabels: JSON.parse('{"__proto__":{"summary":"inherited"}}') as unknown },
      [newSender],
      'not an object',
    ]) {
      const received = typeof body === 'object' && body !== null ? asReceived(body) : body;
      expect(quickParseAlertmanagerWebhook(received)).toBeUndefined();
      expect(quickParseAlertmanagerWebhook(body)).toBeUndefined();
    }
    // Not from JSON: an undefined field.
    expect(quickParseAlertmanagerWebhook({ ...newSender, routeLabels: { service: undefined } })).toBeUndefined();
    expect(quickParseAlertmanagerWebhook({ ...newSender, notification_reason: undefined })).toBeUndefined();
  });
});

describe('alertmanagerEvents', () => {
  it('takes a group too large to spread into Math.min (it threw RangeError, answered 500)', () => {
    const alerts = Array.from({ length: 200_000 }, (_, index) => ({
      ...alert(`api-${index}`, 'firing', index.toString(16)),
      startsAt: new Date(T0 - index).toISOString(),
    }));
    const [event] = alertmanagerEvents(parseAlertmanagerWebhook(oldSender('firing', alerts)));
    expect(event!.startsAt).toBe(T0 - 199_999);
    expect(event!.members).toHaveLength(200_000);
  });
});
