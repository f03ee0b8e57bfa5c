import { listen, type ListeningServer, type OpsRequest } from '@ops/core';
import { createPostgresDatabase, startAlertmanager, type PostgresDatabase, type TestAlertmanager } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createIncidentManager, type IncidentManager } from '../lifecycle/incident-manager.js';
import { createPostgresIncidentStore } from '../stores/postgres/postgres-incident-store.js';
import { createAlertmanagerReceiver } from './alertmanager-webhook.js';

let database: PostgresDatabase;
let pool: pg.Pool;
let incidents: IncidentManager;
let server: ListeningServer;
let alertmanager: TestAlertmanager;
const deliveries: string[] = [];

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'incident_am' });
  pool = new pg.Pool({ connectionString: database.connectionString });
  // An idle client the server ends (the database is dropped at the end) must not be an unhandled error.
  pool.on('error', () => {});
  incidents = createIncidentManager({ store: createPostgresIncidentStore({ pool }), autoStart: false });
  const receiver = createAlertmanagerReceiver(incidents, { path: '/alertmanager' });
  server = await listen(async (request: OpsRequest) => {
    const response = await receiver(request);
    if (response) deliveries.push(`${response.status}`);
    return response;
  });
  alertmanager = await startAlertmanager({
    configYaml: [
      'route:',
      '  receiver: ops-incident',
      '  group_by: [alertname]',
      '  group_wait: 0s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: ops-incident',
      '    webhook_configs:',
      `      - url: '${server.url}/alertmanager'`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  });
});

afterAll(async () => {
  await alertmanager?.stop();
  await server?.close();
  await incidents?.close();
  await pool?.end();
  await database?.dispose();
});

async function postAlerts(alerts: { instance: string; endsAt?: string }[]): Promise<void> {
  const response = await fetch(`${alertmanager.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(
      alerts.map((alert) => ({
        labels: { alertname: 'CheckoutErrors', service: 'checkout', severity: 'critical', instance: alert.instance },
        annotations: { summary: 'Checkout error ratio above 90%' },
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        ...(alert.endsAt ? { endsAt: alert.endsAt } : {}),
        generatorURL: 'http://prometheus.example/graph',
      })),
    ),
  });
  expect(response.status).toBe(200);
}

describe('a real Alertmanager posting to the receiver', () => {
  it('turns a firing group into one incident, records a member resolve, and resolves with the group', async () => {
    await postAlerts([{ instance: 'checkout-1' }, { instance: 'checkout-2' }]);
    const incident = await vi.waitFor(
      async () => {
        const [open] = await incidents.list({ open: true });
        expect(open).toBeDefined();
        expect(await incidents.alerts(open!.id)).toHaveLength(2);
        return open!;
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(incident).toMatchObject({
      service: 'checkout',
      severity: 'P0',
      title: 'Checkout error ratio above 90%',
      dedupKey: 'am:{}:{alertname="CheckoutErrors"}',
    });

    await postAlerts([{ instance: 'checkout-1', endsAt: new Date().toISOString() }]);
    await vi.waitFor(
      async () => {
        const kinds = (await incidents.timeline(incident.id)).map((event) => event.kind);
        expect(kinds).toContain('alert_resolved');
      },
      { timeout: 20_000, interval: 200 },
    );
    expect((await incidents.require(incident.id)).status).toBe('triggered'); // a sibling still fires

    await postAlerts([{ instance: 'checkout-2', endsAt: new Date().toISOString() }]);
    await vi.waitFor(async () => expect((await incidents.require(incident.id)).status).toBe('resolved'), {
      timeout: 20_000,
      interval: 200,
    });
    const resolved = await incidents.require(incident.id);
    expect(resolved.resolveReason).toBe('source');
    expect(await incidents.list()).toHaveLength(1);
    const alerts = await incidents.alerts(incident.id);
    expect(alerts.map((alert) => alert.status)).toEqual(['resolved', 'resolved']);
    expect(deliveries.every((status) => status === '200')).toBe(true);
  });
});
