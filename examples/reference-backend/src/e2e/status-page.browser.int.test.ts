// Issue 17: the public status page of the running backend in a real browser (Debian Chromium through
// playwright-core, JavaScript off — the page must work without it). The incident comes from the backend's own
// in-process alerting (ALERT_SOURCE=in-process) on an injected fault; the update and the resolve go through the
// admin API as an operator would send them; healing mitigates. Screenshots of each phase are attached to the test.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { launchChromium, tempDir, testTempRoot, type TempDir } from '@ops/testkit';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from '../backend.js';
import { clearFaults, getIncident, openIncidents, setFaults, type IncidentSummary } from './harness/admin-api.js';
import { okJson, sendTraffic } from './harness/http.js';
import { attachScreenshot } from './harness/screenshots.js';
import { waitUntil } from './harness/wait.js';

let directory: TempDir;
/** Kept after the run (unlike `directory`), so the printed screenshot paths can be opened. */
let screenshots: string;
let browser: BrowserContext;
let backend: ReferenceBackend;

beforeAll(async () => {
  directory = await tempDir('reference-backend-status-page');
  screenshots = await mkdtemp(join(testTempRoot(), 'ops-reference-backend-screenshots-'));
  browser = await launchChromium({
    profileDirectory: join(directory.path, 'profile'),
    javaScriptEnabled: false,
    viewport: { width: 1000, height: 900 },
  });
  backend = await startReferenceBackend({
    config: {
      port: 0,
      host: '127.0.0.1',
      adminEnabled: true,
      alertSource: 'in-process',
      backupDirectory: join(directory.path, 'backups'),
      drainDelay: 0,
      healEvery: '1s',
      healSettle: '1s',
      incidentTickEvery: '250ms',
    },
    sloEvaluateEvery: '1s',
    signals: [],
    exit: () => undefined,
  });
});

afterAll(async () => {
  await browser?.close();
  await backend?.shutdown('test finished');
  await directory?.dispose();
});

interface PageView {
  banner: string;
  componentStatus: string | null;
  incidents: Array<{ id: string | null; text: string }>;
  history: string;
}

/** Loads `/status` afresh and reads what a visitor sees. */
async function view(page: Page): Promise<PageView> {
  await page.goto(`${backend.url}/status`);
  const cards = page.locator('article.incident');
  const incidents: PageView['incidents'] = [];
  for (let index = 0; index < (await cards.count()); index++) {
    const card = cards.nth(index);
    incidents.push({ id: await card.getAttribute('data-incident-id'), text: (await card.textContent()) ?? '' });
  }
  return {
    banner: ((await page.textContent('#page-status')) ?? '').trim(),
    componentStatus: await page.getAttribute('[data-component-id="notes"]', 'data-status'),
    incidents,
    history: (await page.locator('ul.history').count()) > 0 ? ((await page.textContent('ul.history')) ?? '') : '',
  };
}

/** Reloads the page (it is cached 1 s) until `accept` holds. */
function viewUntil(page: Page, description: string, accept: (seen: PageView) => boolean): Promise<PageView> {
  return waitUntil(
    `the status page to show ${description}`,
    async (seen) => {
      const current = await view(page);
      seen(current);
      return accept(current) ? current : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

describe('status page in headless Chromium (JavaScript off), driven by the running backend', () => {
  it('shows operational, then the incident with its public updates and the degraded component, then recovery', async (context) => {
    const page = await browser.newPage();
    const shot = (name: string) => attachScreenshot(page, context, screenshots, name);

    // 1. Healthy.
    expect(await sendTraffic([backend.url], { count: 20 })).toEqual({ 200: 20 });
    const healthy = await view(page);
    expect(healthy).toMatchObject({ banner: 'All Systems Operational', componentStatus: 'operational', incidents: [] });
    expect(await page.textContent('[data-component-id="notes"]')).toContain('Notes API');
    await shot('1-operational');

    // 2. The notes store goes down: the backend's alerting opens a P0 incident, the component is in a major outage,
    // and the backend's own first public update ("We are investigating…") is on the page.
    await setFaults(backend.url, { storeUnavailable: true });
    const incident = await waitUntil(
      'the in-process alerting to open a paging incident',
      async (seen) => {
        await sendTraffic([backend.url], { count: 10 });
        const open = (await openIncidents(backend.url)).filter((entry) => entry.dedupKey === 'notes:degraded');
        seen(open);
        return open[0];
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(incident).toMatchObject({ severity: 'P0', service: 'notes' });
    const degraded = await viewUntil(
      page,
      'the incident and the major outage',
      (seen) => seen.componentStatus === 'major_outage' && seen.incidents.some((card) => card.id === incident.id),
    );
    expect(degraded.banner).toBe('Major Service Outage');
    expect(degraded.incidents.find((card) => card.id === incident.id)?.text).toContain('We are investigating');
    await shot('2-incident-investigating');

    // 3. An operator posts a public update through the admin API; visitors see it on the incident.
    const update = 'We have identified a database outage and are failing over.';
    await okJson(`${backend.url}/admin/incidents/${incident.id}/updates`, {
      method: 'POST',
      body: { body: update, by: 'e2e operator' },
    });
    const updated = await viewUntil(page, 'the operator update', (seen) =>
      seen.incidents.some((card) => card.id === incident.id && card.text.includes(update)),
    );
    expect(updated.incidents.find((card) => card.id === incident.id)?.text).toContain('We are investigating');
    await shot('3-incident-update');

    // 4. The database is back but its pool holds dead connections: healing resets the pool (the
    // database-connections ladder), verifies, and the healed episode mitigates the incident, with a public update.
    await setFaults(backend.url, { storeUnavailable: false, poisonedConnections: true });
    const mitigated = await waitUntil(
      'healing to mitigate the incident',
      async (seen) => {
        await sendTraffic([backend.url], { count: 10 });
        const current: IncidentSummary = await getIncident(backend.url, incident.id);
        seen(current.status);
        return current.status === 'mitigated' ? current : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(mitigated.mitigatedAt).not.toBeNull();
    expect(await sendTraffic([backend.url], { count: 10 })).toEqual({ 200: 10 });
    const monitoring = await viewUntil(page, 'the mitigation update', (seen) =>
      seen.incidents.some((card) => card.id === incident.id && card.text.includes('A fix has been applied')),
    );
    expect(monitoring.incidents.find((card) => card.id === incident.id)?.text).toContain(update);
    await shot('4-incident-mitigated');

    // 5. The operator resolves it: the component is operational again and the incident moves to the history.
    await clearFaults(backend.url);
    await okJson(`${backend.url}/admin/incidents/${incident.id}/resolve`, {
      method: 'POST',
      body: { by: 'e2e operator', note: 'pool reset verified, error rate back to normal' },
    });
    const recovered = await viewUntil(
      page,
      'recovery',
      (seen) => seen.componentStatus === 'operational' && seen.incidents.length === 0,
    );
    expect(recovered.banner).toBe('All Systems Operational');
    expect(recovered.history).toContain(incident.id);
    const summary = await okJson<{ components: Array<{ id: string; status: string }>; incidents: unknown[] }>(
      `${backend.url}/status/api/v2/summary.json`,
    );
    expect(summary.components.find((component) => component.id === 'notes')?.status).toBe('operational');
    expect(summary.incidents).toEqual([]);
    await shot('5-recovered');
    await page.close();
  });
});
