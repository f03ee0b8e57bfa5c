// Issue 17: the burn-rate alert travels the production path. The backend runs as its own process with
// ALERT_SOURCE=alertmanager; a real Prometheus scrapes its /metrics every second and evaluates the rules the real
// `ops-slo rules` CLI generated from the shipped slos.yaml; a real Alertmanager routes the page alerts to the
// backend's POST /hooks/alertmanager, which opens the incident — and resolves it when Alertmanager sends resolved.
// No in-process shortcut: nothing in this file calls the incident manager.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  startAlertmanager,
  startPrometheus,
  tempDir,
  type TempDir,
  type TestAlertmanager,
  type TestPrometheus,
} from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SLO_FILE } from '../config.js';
import { incidentTimeline, listIncidents, openIncidents, setFaults, clearFaults } from './harness/admin-api.js';
import { startBackendProcess, type BackendProcess } from './harness/backend-process.js';
import { addCounts, sendTraffic, type StatusCounts } from './harness/http.js';
import {
  alertmanagerAlerts,
  prometheusAlerts,
  prometheusQuery,
  prometheusRuleGroups,
  type PrometheusAlert,
} from './harness/prometheus-api.js';
import { generateSloRules } from './harness/slo-rules.js';
import { waitUntil } from './harness/wait.js';

/** The README's contract for `POST /hooks/alertmanager`: label `severity=page` → P0. */
const EXPECTED_SEVERITY = 'P0';
const INCIDENT_RECEIVER = 'notes-incidents';

let directory: TempDir;
let backend: BackendProcess;
let alertmanager: TestAlertmanager;
let prometheus: TestPrometheus;
let rulesYaml: string;

function alertmanagerConfig(webhookUrl: string): string {
  // Pages go to the backend's incident receiver, one group per alert name and service; tickets go nowhere here.
  return [
    'route:',
    '  receiver: tickets',
    '  group_by: [alertname, slo_service]',
    '  group_wait: 1s',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    '  routes:',
    `    - receiver: ${INCIDENT_RECEIVER}`,
    '      matchers: [\'severity="page"\']',
    'receivers:',
    '  - name: tickets',
    `  - name: ${INCIDENT_RECEIVER}`,
    '    webhook_configs:',
    `      - url: ${JSON.stringify(webhookUrl)}`,
    '        send_resolved: true',
    '',
  ].join('\n');
}

function prometheusConfig(backendPort: number, alertmanagerPort: number): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files: ["slo-rules.yml"]',
    'alerting:',
    '  alertmanagers:',
    '    - static_configs:',
    `        - targets: ["127.0.0.1:${alertmanagerPort}"]`,
    'scrape_configs:',
    '  - job_name: notes',
    '    static_configs:',
    `      - targets: ["127.0.0.1:${backendPort}"]`,
    '',
  ].join('\n');
}

const isPage = (alert: PrometheusAlert) =>
  alert.labels['alertname'] === 'SloErrorBudgetBurn' &&
  alert.labels['slo_service'] === 'notes' &&
  alert.labels['severity'] === 'page';

beforeAll(async () => {
  directory = await tempDir('reference-backend-prometheus');
  backend = await startBackendProcess({
    logDirectory: directory.path,
    environment: {
      ADMIN_ENABLED: 'true',
      ALERT_SOURCE: 'alertmanager',
      INSTANCE_ID: 'prometheus-e2e',
      BACKUP_DIR: join(directory.path, 'backups'),
    },
  });
  // The real CLI on the shipped spec (28-day windows, the Workbook tiers), with a 1 s evaluation interval.
  rulesYaml = await generateSloRules(DEFAULT_SLO_FILE, '1s');
  await writeFile(join(directory.path, 'slo-rules.yml'), rulesYaml);
  alertmanager = await startAlertmanager({ configYaml: alertmanagerConfig(`${backend.url}/hooks/alertmanager`) });
  prometheus = await startPrometheus({
    configYaml: prometheusConfig(backend.port, alertmanager.port),
    ruleFiles: { 'slo-rules.yml': rulesYaml },
  });
});

afterAll(async () => {
  await prometheus?.stop();
  await alertmanager?.stop();
  await backend?.stop();
  await directory?.dispose();
});

describe('real Prometheus + Alertmanager end to end (ALERT_SOURCE=alertmanager)', () => {
  it('opens an incident from the page burn-rate alert Alertmanager posts to /hooks/alertmanager, and resolves it when Alertmanager sends resolved', async () => {
    // Prometheus loaded the generated rules: one group per SLO, four burn-rate tiers each.
    expect(rulesYaml).toContain('alert: SloErrorBudgetBurn');
    const groups = await waitUntil(
      'Prometheus to load the ops-slo rule groups',
      async (seen) => {
        const loaded = await prometheusRuleGroups(prometheus.url);
        seen(loaded);
        return loaded.length >= 2 ? loaded : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(groups).toEqual(
      expect.arrayContaining([
        { name: 'ops-slo-notes-api-availability', alerts: 4 },
        { name: 'ops-slo-notes-api-latency', alerts: 4 },
      ]),
    );

    // Healthy baseline: the SLO counters exist and Prometheus has scraped them after the traffic.
    const baseline = await sendTraffic([backend.url], { count: 40 });
    expect(baseline).toEqual({ 200: 40 });
    await waitUntil(
      'Prometheus to scrape the baseline traffic from /metrics',
      async (seen) => {
        const samples = await prometheusQuery(
          prometheus.url,
          'ops_slo_good_events_total{service="notes",slo="api-availability"}',
        );
        seen(samples);
        return (samples[0]?.value ?? 0) >= 40 ? true : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(await openIncidents(backend.url)).toEqual([]);

    // Fault: the notes store fails. A few failing requests per round until Prometheus fires the page alert.
    await setFaults(backend.url, { storeUnavailable: true });
    const failing: StatusCounts = {};
    const firing = await waitUntil(
      'Prometheus to fire the page-quick burn-rate alert of api-availability',
      async (seen) => {
        addCounts(failing, await sendTraffic([backend.url], { count: 5 }));
        const alerts = await prometheusAlerts(prometheus.url);
        seen(alerts.map((alert) => ({ ...alert.labels, state: alert.state })));
        const quick = alerts.find(
          (alert) =>
            isPage(alert) &&
            alert.labels['slo_name'] === 'api-availability' &&
            alert.labels['slo_tier'] === 'page-quick' &&
            alert.state === 'firing',
        );
        return quick === undefined ? undefined : alerts;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(Object.keys(failing)).toEqual(['503']);
    // Every tier of the availability SLO sees 100 % errors in each of its windows; the pages are what we route.
    expect(
      firing
        .filter((alert) => isPage(alert) && alert.labels['slo_name'] === 'api-availability')
        .map((alert) => alert.labels['slo_tier']),
    ).toContain('page-quick');

    // Alertmanager routed the page to the backend's receiver; the webhook opened exactly one incident.
    const incident = await waitUntil(
      'the webhook from Alertmanager to open an incident',
      async (seen) => {
        const open = await openIncidents(backend.url);
        seen(open);
        return open.length > 0 ? open : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(incident).toHaveLength(1);
    const [opened] = incident;
    expect(opened).toMatchObject({ severity: EXPECTED_SEVERITY, service: 'notes' });
    // Alertmanager's group key (group_by alertname, slo_service) is the dedup key: only Alertmanager makes one.
    expect(opened?.dedupKey).toMatch(/^am:.*severity="page".*alertname="SloErrorBudgetBurn".*slo_service="notes"/);
    const routed = await alertmanagerAlerts(alertmanager.url);
    expect(
      routed.filter((alert) => alert.labels['severity'] === 'page').map((alert) => alert.receivers[0]?.name),
    ).toContain(INCIDENT_RECEIVER);
    expect(opened?.source).toBe('alertmanager');
    const [triggered] = (await incidentTimeline(backend.url, opened!.id)).timeline;
    expect(triggered).toMatchObject({ kind: 'triggered', actor: { type: 'integration', id: 'alertmanager' } });

    // Recovery: the fault is cleared; healthy traffic brings every page tier's short window under its threshold
    // (page-slow's 5.6 % is the lowest), Prometheus resolves the alerts, Alertmanager sends resolved.
    await clearFaults(backend.url);
    const healthy: StatusCounts = {};
    let lastAlerts: PrometheusAlert[] = [];
    const resolved = await waitUntil(
      'Alertmanager to send resolved and the incident to resolve',
      async (seen) => {
        addCounts(healthy, await sendTraffic([backend.url], { count: 200 }));
        lastAlerts = await prometheusAlerts(prometheus.url);
        const all = await listIncidents(backend.url);
        const current = all.find((entry) => entry.id === opened!.id);
        seen({ incident: current, pages: lastAlerts.filter(isPage).map((alert) => alert.labels['slo_tier']) });
        return current !== undefined && current.status === 'resolved' ? current : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );
    expect(Object.keys(healthy)).toEqual(['200']);
    expect(resolved.status).toBe('resolved');
    // Prometheus no longer lists any page alert of the service (ticket tiers, with longer short windows, may still fire).
    expect(lastAlerts.filter(isPage)).toEqual([]);
    expect(await openIncidents(backend.url)).toEqual([]);
    // Nothing in-process opened an incident of its own (ALERT_SOURCE=alertmanager): the webhook's is the only one.
    expect((await listIncidents(backend.url)).map((entry) => entry.dedupKey)).toEqual([opened!.dedupKey]);
    expect(resolved.resolveReason).toBe('source');
    const timeline = (await incidentTimeline(backend.url, opened!.id)).timeline;
    expect(timeline.filter((entry) => entry.kind === 'resolved')).toMatchObject([
      {
        kind: 'resolved',
        actor: { type: 'integration', id: 'alertmanager' },
        details: { reason: 'source' },
      },
    ]);
    // Each page alert's resolve reached the incident as its own timeline entry.
    const resolvedTiers = timeline
      .filter((entry) => entry.kind === 'alert_resolved')
      .map((entry) => `${entry.details?.labels?.slo_name}/${entry.details?.labels?.slo_tier}`);
    expect(resolvedTiers).toEqual(
      expect.arrayContaining(['api-availability/page-quick', 'api-availability/page-slow']),
    );
  });
});
