// Incidents, healing, capacity and the faults that drive them, through the backend's HTTP endpoints (in memory).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OpsAlert } from '@ops/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from './backend.js';
import type { BackendConfig } from './config.js';
import { groupNotesAlert } from './operations/incidents.js';
import { createProblemSink } from './operations/problem-sink.js';
import { createShiftableClock } from './shiftable-clock.js';

const started: ReferenceBackend[] = [];
const directories: string[] = [];

afterEach(async () => {
  for (const backend of started.splice(0)) await backend.shutdown('test done');
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function start(config: Partial<BackendConfig> = {}) {
  const directory = await mkdtemp(join(tmpdir(), 'ops-reference-operations-'));
  directories.push(directory);
  const clock = createShiftableClock();
  const backend = await startReferenceBackend({
    config: {
      port: 0,
      adminEnabled: true,
      backupDirectory: join(directory, 'backups'),
      drainDelay: '0s',
      healEvery: '50ms',
      healSettle: '50ms',
      ...config,
    },
    clock,
    sloEvaluateEvery: false,
    healerAutoStart: false,
    incidentLoop: false,
    signals: [],
    exit: () => undefined,
  });
  started.push(backend);
  return { backend, clock };
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text stays text
  }
  return { status: response.status, body: parsed as Record<string, unknown> };
}

function alertmanagerPayload(status: 'firing' | 'resolved') {
  return {
    version: '4',
    groupKey: '{}:{alertname="SloErrorBudgetBurn"}',
    truncatedAlerts: 0,
    status,
    receiver: 'notes',
    groupLabels: { alertname: 'SloErrorBudgetBurn' },
    commonLabels: { alertname: 'SloErrorBudgetBurn', slo_service: 'notes', severity: 'page' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.invalid:9093',
    alerts: [
      {
        status,
        labels: {
          alertname: 'SloErrorBudgetBurn',
          slo_service: 'notes',
          slo_name: 'api-availability',
          severity: 'page',
          slo_tier: 'page-quick',
        },
        annotations: { summary: 'notes/api-availability is burning its error budget' },
        startsAt: '2026-12-06T08:50:00Z',
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-12-06T09:05:00Z',
        generatorURL: 'http://prometheus.invalid/graph',
        fingerprint: 'a1b2c3',
      },
    ],
  };
}

describe('poisoned connections and the database connection ladder', () => {
  it('fails the store until healing resets the pool, then serves again; the audit shows the one action', async () => {
    const { backend } = await start();
    const base = backend.url;
    expect((await call(base, 'POST', '/notes', { title: 'before' })).status).toBe(201);
    const set = await call(base, 'PUT', '/admin/faults', { poisonedConnections: true });
    expect(set.body).toMatchObject({ poisonedConnections: true });
    for (let attempt = 0; attempt < 7; attempt++) expect((await call(base, 'GET', '/notes')).status).toBe(503);

    await backend.healing.healer.tick();
    await backend.healing.healer.idle();

    expect((await call(base, 'GET', '/notes')).status).toBe(200);
    expect((await call(base, 'GET', '/admin/faults')).body).toMatchObject({ poisonedConnections: false });
    const healing = (await call(base, 'GET', '/admin/healing')).body as {
      actions: Array<Record<string, unknown>>;
      episodes: Array<Record<string, unknown>>;
    };
    expect(healing.actions).toEqual([
      expect.objectContaining({
        rule: 'database-connections',
        target: 'notes-db',
        step: 1,
        action: 'reset pg pool',
        instance: backend.config.instanceId,
        outcome: 'ok',
      }),
    ]);
    expect(healing.episodes).toContainEqual(
      expect.objectContaining({ rule: 'database-connections', outcome: 'healed' }),
    );
  });

  it('leaves the store failing when nobody resets the pool (the fault is not cleared by time)', async () => {
    const { backend, clock } = await start();
    await call(backend.url, 'PUT', '/admin/faults', { poisonedConnections: true });
    clock.skip(10 * 60_000);
    expect((await call(backend.url, 'GET', '/notes')).status).toBe(503);
    expect((await call(backend.url, 'GET', '/admin/healing')).body).toMatchObject({ actions: [] });
  });
});

describe('ALERT_SOURCE=alertmanager', () => {
  it('opens incidents only from the webhook, shows them on the status page and resolves with the group', async () => {
    const { backend, clock } = await start({ alertSource: 'alertmanager' });
    const base = backend.url;
    await call(base, 'PUT', '/admin/faults', { storeUnavailable: true });
    for (let attempt = 0; attempt < 20; attempt++) await call(base, 'GET', '/notes');
    await backend.evaluateAlerts();
    expect(backend.alerts.some((event) => event.type === 'alert.firing')).toBe(true);
    expect((await call(base, 'GET', '/admin/incidents?open=true')).body).toEqual({ incidents: [] });

    const firing = await call(base, 'POST', '/hooks/alertmanager', alertmanagerPayload('firing'));
    expect(firing.status).toBe(200);
    const open = (await call(base, 'GET', '/admin/incidents?open=true')).body.incidents as Array<
      Record<string, unknown>
    >;
    expect(open).toEqual([
      expect.objectContaining({ severity: 'P0', status: 'triggered', service: 'notes', occurrences: 1 }),
    ]);
    expect(String(open[0]!.dedupKey)).toMatch(/^am:/);
    await call(base, 'POST', '/hooks/alertmanager', alertmanagerPayload('firing')); // a repeat
    const repeated = (await call(base, 'GET', '/admin/incidents?open=true')).body.incidents as Array<
      Record<string, unknown>
    >;
    expect(repeated).toEqual([expect.objectContaining({ occurrences: 2 })]);

    clock.skip(1_100);
    const degraded = (await call(base, 'GET', '/status/api/v2/summary.json')).body as {
      components: Array<{ id: string; status: string }>;
    };
    expect(degraded.components).toContainEqual(expect.objectContaining({ id: 'notes', status: 'major_outage' }));
    const html = await fetch(`${base}/status`);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(await html.text()).toMatch(/Notes API/);

    await call(base, 'POST', '/hooks/alertmanager', alertmanagerPayload('resolved'));
    expect((await call(base, 'GET', '/admin/incidents?open=true')).body).toEqual({ incidents: [] });
    clock.skip(1_100);
    const recovered = (await call(base, 'GET', '/status/api/v2/summary.json')).body as {
      components: Array<{ id: string; status: string }>;
    };
    expect(recovered.components).toContainEqual(expect.objectContaining({ id: 'notes', status: 'operational' }));
    const timeline = (await call(base, 'GET', `/admin/incidents/${String(open[0]!.id)}/timeline`)).body as {
      timeline: Array<{ kind: string }>;
    };
    expect(timeline.timeline.map((event) => event.kind)).toEqual(expect.arrayContaining(['triggered', 'resolved']));
  });
});

describe('ALERTMANAGER_TOKEN', () => {
  it('answers 401 without the bearer token and stores nothing; accepts the right one', async () => {
    const token = 'a-long-enough-test-token';
    const { backend } = await start({ alertSource: 'alertmanager', alertmanagerToken: token });
    const post = (authorization?: string) =>
      fetch(`${backend.url}/hooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(alertmanagerPayload('firing')),
      });
    expect((await post()).status).toBe(401);
    expect((await post('Bearer not-the-token-at-all')).status).toBe(401);
    expect((await call(backend.url, 'GET', '/admin/incidents')).body).toEqual({ incidents: [] });
    expect((await post(`Bearer ${token}`)).status).toBe(200);
    expect(((await call(backend.url, 'GET', '/admin/incidents')).body.incidents as unknown[]).length).toBe(1);
  });
});

describe('capacity report endpoint', () => {
  it('answers 409 with the sample counts until there is an hour of history, then JSON, Markdown and SVG', async () => {
    const { backend, clock } = await start();
    const early = await call(backend.url, 'GET', '/admin/capacity/report');
    expect(early.status).toBe(409);
    expect(early.body.error).toMatch(/not enough capacity samples/);
    for (let sample = 0; sample < 24; sample++) {
      clock.skip(10 * 60_000);
      await call(backend.url, 'GET', '/notes');
      await backend.capacity.sampleNow();
    }
    const report = await call(backend.url, 'GET', '/admin/capacity/report');
    expect(report.status).toBe(200);
    const charts = report.body.charts as string[];
    expect(charts).toContain('/admin/capacity/charts/requests_per_second.svg');
    const markdown = await fetch(`${backend.url}/admin/capacity/report?format=markdown`);
    expect(markdown.headers.get('content-type')).toMatch(/text\/markdown/);
    const svg = await fetch(`${backend.url}${charts[0]}`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(await svg.text()).toMatch(/^<svg/);
  });
});

describe('problem grouping of in-process alerts', () => {
  const alert = (key: string, status: 'firing' | 'resolved', source: string, severity: OpsAlert['severity']) =>
    ({
      key,
      status,
      severity,
      summary: key,
      source,
      labels: { service: 'notes' },
      annotations: {},
      startsAt: 1_000,
      ...(status === 'resolved' ? { endsAt: 2_000 } : {}),
    }) satisfies OpsAlert;

  it('folds members into one key, inhibits ticket tiers while a page tier fires, resolves with the last member', async () => {
    const sent: OpsAlert[] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const problems = createProblemSink({
      sink: async (sentAlert) => void sent.push(sentAlert),
      group: groupNotesAlert,
      logger,
    });
    await problems.sink(alert('health:notes:notes-store', 'firing', 'health', 'critical'));
    await problems.sink(alert('slo:notes/api-availability:page-quick', 'firing', 'slo', 'critical'));
    await problems.sink(alert('slo:notes/api-availability:ticket-quick', 'firing', 'slo', 'warning'));
    await problems.sink(alert('health:notes:disk', 'firing', 'health', 'error'));
    await problems.sink(alert('slo:notes/api-latency:ticket-slow', 'firing', 'slo', 'warning')); // same service
    expect(sent.map((entry) => `${entry.key} ${entry.status} ${entry.annotations['member']}`)).toEqual([
      'notes:degraded firing health:notes:notes-store',
      'notes:degraded firing slo:notes/api-availability:page-quick',
    ]);
    await problems.sink(alert('health:notes:notes-store', 'resolved', 'health', 'critical'));
    await problems.sink(alert('slo:notes/api-availability:ticket-quick', 'resolved', 'slo', 'warning'));
    expect(sent).toHaveLength(2);
    await problems.sink(alert('slo:notes/api-availability:page-quick', 'resolved', 'slo', 'critical'));
    expect(sent.at(-1)).toMatchObject({ key: 'notes:degraded', status: 'resolved', startsAt: 1_000 });
    // A resolve the incident manager refuses is retried by the forwarder and must still resolve the problem.
    let refuse = true;
    const retried: OpsAlert[] = [];
    const flaky = createProblemSink({
      sink: async (sentAlert) => {
        if (sentAlert.status === 'resolved' && refuse) throw new Error('store unavailable');
        retried.push(sentAlert);
      },
      group: groupNotesAlert,
      logger,
    });
    await flaky.sink(alert('health:notes:notes-store', 'firing', 'health', 'critical'));
    await expect(flaky.sink(alert('health:notes:notes-store', 'resolved', 'health', 'critical'))).rejects.toThrow(
      /store unavailable/,
    );
    refuse = false;
    await flaky.sink(alert('health:notes:notes-store', 'resolved', 'health', 'critical'));
    expect(retried.map((entry) => `${entry.key} ${entry.status}`)).toEqual([
      'notes:degraded firing',
      'notes:degraded resolved',
    ]);
    // An inhibited alert's resolve is dropped too; without an open problem a ticket-tier burn is its own ticket.
    await problems.sink(alert('slo:notes/api-latency:ticket-slow', 'resolved', 'slo', 'warning'));
    expect(sent.at(-1)).toMatchObject({ key: 'notes:degraded', status: 'resolved' });
    await problems.sink(alert('slo:notes/api-latency:ticket-quick', 'firing', 'slo', 'warning'));
    expect(sent.at(-1)).toMatchObject({ key: 'slo:notes/api-latency:ticket-quick', status: 'firing' });
  });
});
