import { createManualClock, listen, type ListeningServer } from '@ops/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidentManager } from '../lifecycle/incident-manager.js';
import { createStatusPage } from './status-page.js';

const T0 = Date.UTC(2026, 0, 13, 10, 0, 0);
let server: ListeningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(cacheTtl: string | number = 0) {
  const clock = createManualClock(T0);
  const incidents = createIncidentManager({ clock, autoStart: false });
  const statusPage = createStatusPage(incidents, {
    page: { id: 'acme', name: 'Acme <Cloud>', url: 'https://status.acme.example' },
    components: [
      { id: 'checkout', name: 'Checkout' },
      { id: 'search', name: 'Search', description: 'Product search' },
      { id: 'reports', name: 'Reports', onlyShowIfDegraded: true },
    ],
    cacheTtl,
    clock,
  });
  server = await listen(statusPage.handler);
  const get = async (path: string) => {
    const response = await fetch(`${server!.url}/status${path}`);
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      cache: response.headers.get('cache-control'),
      text,
      json: text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : undefined,
    };
  };
  return { clock, incidents, get };
}

describe('status page', () => {
  it('serves Statuspage v2 JSON: all operational, then an incident with its public updates, then resolved', async () => {
    const { clock, incidents, get } = await setup();
    const quiet = await get('/api/v2/summary.json');
    expect(quiet.json).toMatchObject({
      page: { id: 'acme', name: 'Acme <Cloud>', url: 'https://status.acme.example' },
      status: { indicator: 'none', description: 'All Systems Operational' },
      incidents: [],
      scheduled_maintenances: [],
    });
    expect(
      quiet.json!['components'].map((component: { id: string; status: string; position: number }) => [
        component.id,
        component.status,
        component.position,
      ]),
    ).toEqual([
      ['checkout', 'operational', 1],
      ['search', 'operational', 2],
      ['reports', 'operational', 3],
    ]);
    const { incident } = await incidents.trigger({ service: 'checkout', title: 'Checkout failing', severity: 'P1' });
    await incidents.trigger({ service: 'internal-batch', title: 'Batch slow', severity: 'P2' }); // no component, no public update: hidden
    await incidents.addNote(incident!.id, { body: 'suspect the db pool' });
    clock.advance(60_000);
    await incidents.postUpdate(incident!.id, { body: 'We are investigating failed checkouts.' });
    clock.advance(60_000);
    await incidents.acknowledge(incident!.id);
    await incidents.postUpdate(incident!.id, { body: 'Cause identified: a bad deploy.' });
    const busy = await get('/api/v2/summary.json');
    expect(busy.json!['status']).toEqual({ indicator: 'major', description: 'Partial System Outage' });
    expect(busy.json!['components'][0]).toMatchObject({ id: 'checkout', status: 'partial_outage' });
    expect(busy.json!['incidents']).toHaveLength(1);
    expect(busy.json!['incidents'][0]).toMatchObject({
      id: incident!.id,
      name: 'Checkout failing',
      status: 'identified',
      impact: 'major',
      shortlink: `https://status.acme.example/incidents/${incident!.id}`,
      components: [{ id: 'checkout', name: 'Checkout', status: 'partial_outage' }],
    });
    expect(
      busy.json!['incidents'][0].incident_updates.map((update: { status: string; body: string }) => [
        update.status,
        update.body,
      ]),
    ).toEqual([
      ['identified', 'Cause identified: a bad deploy.'],
      ['investigating', 'We are investigating failed checkouts.'],
    ]);
    expect(busy.text).not.toContain('suspect the db pool');
    expect((await get('/api/v2/incidents/unresolved.json')).json!['incidents']).toHaveLength(1);
    expect((await get('/api/v2/status.json')).json).toMatchObject({ status: { indicator: 'major' } });

    await incidents.resolve(incident!.id, { reason: 'source' });
    const after = await get('/api/v2/summary.json');
    expect(after.json).toMatchObject({ status: { indicator: 'none' }, incidents: [] });
    const history = (await get('/api/v2/incidents.json')).json!['incidents'];
    expect(history.map((entry: { id: string; status: string }) => [entry.id, entry.status])).toEqual([
      [incident!.id, 'resolved'],
    ]);
  });

  it('shows maintenance: a component under maintenance, active and upcoming lists', async () => {
    const { incidents, get } = await setup();
    await incidents.scheduleMaintenance({
      title: 'Search reindex',
      components: ['search'],
      startsAt: T0 - 60_000,
      endsAt: T0 + 3_600_000,
      createdBy: 'ops',
      description: 'Search may be slow.',
    });
    await incidents.scheduleMaintenance({
      title: 'DB upgrade',
      components: ['checkout'],
      startsAt: T0 + 86_400_000,
      duration: '2h',
      createdBy: 'ops',
    });
    const summary = await get('/api/v2/summary.json');
    expect(summary.json!['status']).toEqual({ indicator: 'maintenance', description: 'Service Under Maintenance' });
    expect(summary.json!['components'][1]).toMatchObject({ id: 'search', status: 'under_maintenance' });
    expect(
      (await get('/api/v2/scheduled-maintenances/active.json')).json!['scheduled_maintenances'].map(
        (entry: { name: string }) => entry.name,
      ),
    ).toEqual(['Search reindex']);
    const upcoming = (await get('/api/v2/scheduled-maintenances/upcoming.json')).json!['scheduled_maintenances'];
    expect(upcoming).toMatchObject([
      {
        name: 'DB upgrade',
        status: 'scheduled',
        impact: 'maintenance',
        scheduled_for: new Date(T0 + 86_400_000).toISOString(),
      },
    ]);
  });

  it('renders HTML without JavaScript and an Atom feed, escaping what it shows', async () => {
    const { incidents, get } = await setup();
    const { incident } = await incidents.trigger({
      service: 'search',
      title: 'Search <script>alert(1)</script> down',
      severity: 'P0',
    });
    await incidents.postUpdate(incident!.id, { body: 'Looking into it & more' });
    const html = await get('/');
    expect(html.type).toBe('text/html; charset=utf-8');
    expect(html.text).not.toMatch(/<script/i);
    expect(html.text).toContain('Search &lt;script&gt;alert(1)&lt;/script&gt; down');
    expect(html.text).toContain('data-indicator="critical"');
    expect(html.text).toContain('<title>Acme &lt;Cloud&gt; status</title>');
    expect(html.text).not.toContain('data-component-id="reports"'); // only shown while degraded
    expect((html.text.match(/class="bar"/g) ?? []).length).toBe(2 * 90);
    const atom = await get('/history.atom');
    expect(atom.type).toBe('application/atom+xml; charset=utf-8');
    expect(atom.text).toMatch(
      /^<\?xml version="1.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/,
    );
    expect(atom.text).toContain(`<id>tag:status.acme.example,2026:incident:${incident!.id}</id>`);
    expect(atom.text).toContain('Looking into it &amp;amp; more');
    expect(atom.text).not.toContain('<script>');
    expect((await get('/nope')).status).toBe(404);
  });

  it('reuses a built page for cacheTtl and says so in cache-control', async () => {
    const { clock, incidents, get } = await setup('10s');
    expect((await get('/api/v2/status.json')).cache).toBe('public, max-age=10');
    await incidents.trigger({ service: 'checkout', title: 'Down', severity: 'P0' });
    expect((await get('/api/v2/status.json')).json!['status']['indicator']).toBe('none');
    clock.advance(10_000);
    expect((await get('/api/v2/status.json')).json!['status']['indicator']).toBe('critical');
  });
});
