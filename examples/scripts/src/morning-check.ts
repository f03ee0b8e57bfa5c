// The morning check from the runbooks: health of the endpoints, SLO and error-budget status, active incidents and
// alerts, age of the last verified backup, disk and memory — one table, an exit code for cron.
//
//   SERVICE_URL=http://127.0.0.1:8080 npx tsx src/morning-check.ts
//   npx tsx src/morning-check.ts --endpoint api=https://api.internal/health/ready --metrics-url https://api.internal/metrics \
//     --incidents-db "$INCIDENTS_DATABASE_URL" --backup-dir /var/backups/notes --backup-job notes-db --json
import { readFile } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import {
  createPrometheusClient,
  humanizeDuration,
  parseDuration,
  safeErrorMessage,
  systemClock,
  UsageError,
  withDeadline,
  type CliContext,
  type Clock,
} from '@ops/core';
import { diskProbe, httpProbe } from '@ops/health';
import { fetchSloStatus, loadSloFile } from '@ops/slo';
import { checkRow, localBackupFreshness, runCheckOnce } from './lib/checks.js';
import { parseExposition, samplesOf } from './lib/exposition.js';
import { openIncidents } from './lib/incidents.js';
import {
  isMain,
  listOption,
  numberOption,
  optionOrEnv,
  percent,
  redactUrl,
  reportRows,
  runScript,
  urlOption,
  type ScriptDefinition,
  type StatusRow,
} from './lib/script.js';

/** Budget left below this warns. */
const BUDGET_WARN_RATIO = 0.25;

/** Builds the script with an injectable clock (tests) — `morningCheck` is the one with the system clock. */
export function createMorningCheck(options: { clock?: Clock } = {}): ScriptDefinition {
  const { clock = systemClock } = options;
  return {
    name: 'morning-check',
    summary:
      'Health of the endpoints, SLO and error-budget status, open incidents and firing alerts, age of the last verified backup, disk and memory, in one table.',
    options: {
      'service-url': {
        type: 'string',
        valueName: 'url',
        description: 'base URL of the service (or SERVICE_URL): default endpoints and /metrics',
      },
      endpoint: {
        type: 'string',
        multiple: true,
        valueName: 'name=url',
        description: 'a health endpoint (default with SERVICE_URL: its /health/live and /health/ready)',
      },
      'metrics-url': {
        type: 'string',
        valueName: 'url',
        description:
          "the service's /metrics, read for ops_slo_* budgets and firing tiers (default SERVICE_URL/metrics)",
      },
      prometheus: {
        type: 'string',
        valueName: 'url',
        description: 'Prometheus: SLO status (with --slos) and firing alerts (ALERTS) across replicas',
      },
      slos: { type: 'string', valueName: 'file', description: 'the SLO spec, for --prometheus' },
      'incidents-db': {
        type: 'string',
        valueName: 'url',
        description: 'PostgreSQL of the @ops/incident store (or INCIDENTS_DATABASE_URL): open incidents',
      },
      'backup-dir': { type: 'string', valueName: 'dir', description: 'local backup storage (or BACKUP_DIR)' },
      'backup-job': { type: 'string', valueName: 'name', description: 'the backup job to check (default notes-db)' },
      'backup-max-age': {
        type: 'string',
        valueName: 'duration',
        description: 'RPO: fail when the newest verified backup is older (default 26h)',
      },
      'backup-verification': {
        type: 'string',
        valueName: 'level',
        description: 'checksum | full-read | test-restore: what counts as verified (default full-read)',
      },
      disk: { type: 'string', multiple: true, valueName: 'path', description: 'a file system to check (default /)' },
      'disk-warn': { type: 'string', valueName: 'ratio', description: 'disk used ratio that warns (default 0.8)' },
      'disk-fail': { type: 'string', valueName: 'ratio', description: 'disk used ratio that fails (default 0.9)' },
      'memory-warn': {
        type: 'string',
        valueName: 'ratio',
        description: 'host memory used ratio that warns (default 0.85)',
      },
      'memory-fail': {
        type: 'string',
        valueName: 'ratio',
        description: 'host memory used ratio that fails (default 0.95)',
      },
      timeout: {
        type: 'string',
        short: 't',
        valueName: 'duration',
        description: 'deadline of each check (default 5s)',
      },
    },
    examples: [
      'SERVICE_URL=http://127.0.0.1:8080 BACKUP_DIR=/var/backups/notes npx tsx src/morning-check.ts',
      'npx tsx src/morning-check.ts --endpoint api=https://api.internal/health/ready --prometheus http://prom:9090 --slos slos.yaml --json',
      '0 8 * * 1-5  cd /srv/ops && SERVICE_URL=... npx tsx src/morning-check.ts || notify-oncall "morning check failed"',
    ],
    exitCodes: ['0  nothing failed (warnings allowed)', '1  a check failed', '2  usage or configuration error'],
    run: (context) => runMorningCheck(context, clock),
  };
}

async function runMorningCheck(context: CliContext, clock: Clock): Promise<number> {
  const timeoutMs = parseDuration(optionOrEnv(context, 'timeout') ?? '5s', '--timeout');
  const serviceUrl = optionOrEnv(context, 'service-url', 'SERVICE_URL');
  if (serviceUrl !== undefined) urlOption(serviceUrl, 'SERVICE_URL');
  const endpoints = listOption(context, 'endpoint').map((entry) => parseEndpoint(entry));
  if (endpoints.length === 0 && serviceUrl !== undefined) {
    const base = serviceUrl.replace(/\/+$/, '');
    endpoints.push({ name: 'live', url: `${base}/health/live` }, { name: 'ready', url: `${base}/health/ready` });
  }
  const metricsUrl =
    optionOrEnv(context, 'metrics-url') ??
    (serviceUrl === undefined ? undefined : `${serviceUrl.replace(/\/+$/, '')}/metrics`);
  if (metricsUrl !== undefined) urlOption(metricsUrl, '--metrics-url');
  const prometheusUrl = optionOrEnv(context, 'prometheus', 'PROMETHEUS_URL');
  if (prometheusUrl !== undefined) urlOption(prometheusUrl, '--prometheus');
  const sloFile = optionOrEnv(context, 'slos');
  if (sloFile !== undefined && prometheusUrl === undefined)
    throw new UsageError('--slos needs --prometheus (or PROMETHEUS_URL): the SLO status is read from Prometheus');
  const incidentsUrl = optionOrEnv(context, 'incidents-db', 'INCIDENTS_DATABASE_URL');
  if (incidentsUrl !== undefined) urlOption(incidentsUrl, '--incidents-db', ['postgres:', 'postgresql:']);
  const backupDirectory = optionOrEnv(context, 'backup-dir', 'BACKUP_DIR');
  const backupJob = optionOrEnv(context, 'backup-job') ?? 'notes-db';
  const backupMaxAge = optionOrEnv(context, 'backup-max-age') ?? '26h';
  parseDuration(backupMaxAge, '--backup-max-age');
  const verification = optionOrEnv(context, 'backup-verification') ?? 'full-read';
  if (!['checksum', 'full-read', 'test-restore'].includes(verification))
    throw new UsageError(
      `--backup-verification: expected checksum, full-read or test-restore, got ${JSON.stringify(verification)}`,
    );
  const diskWarn = numberOption(context, 'disk-warn', 0.8, 0, 1);
  const diskFail = numberOption(context, 'disk-fail', 0.9, 0, 1);
  const memoryWarn = numberOption(context, 'memory-warn', 0.85, 0, 1);
  const memoryFail = numberOption(context, 'memory-fail', 0.95, 0, 1);
  const disks = listOption(context, 'disk');
  if (disks.length === 0) disks.push('/');
  if (
    endpoints.length === 0 &&
    metricsUrl === undefined &&
    prometheusUrl === undefined &&
    incidentsUrl === undefined &&
    backupDirectory === undefined
  )
    throw new UsageError(
      'nothing to check: give --endpoint name=url (repeatable), SERVICE_URL, --metrics-url, --prometheus, --incidents-db or --backup-dir',
    );

  // Every section runs concurrently; each turns its own failure into a row instead of stopping the others.
  const sections: Array<Promise<StatusRow[]>> = [
    ...endpoints.map(async ({ name, url }) => [
      checkRow(
        `endpoint ${name}`,
        await runCheckOnce(httpProbe({ url }), { timeoutMs, label: name, clock }),
        (result) =>
          result.status === 'pass' ? `${redactUrl(url)} ${result.observed ?? ''}`.trim() : (result.output ?? 'failed'),
      ),
    ]),
  ];
  if (metricsUrl !== undefined) sections.push(sloRowsFromMetrics(metricsUrl, timeoutMs, clock));
  if (prometheusUrl !== undefined) sections.push(prometheusRows(prometheusUrl, sloFile, timeoutMs, clock));
  if (incidentsUrl !== undefined) sections.push(incidentRows(incidentsUrl, clock));
  if (backupDirectory !== undefined) {
    const check = localBackupFreshness({
      directory: backupDirectory,
      job: backupJob,
      maxAge: backupMaxAge,
      requiredVerification: verification as 'checksum' | 'full-read' | 'test-restore',
      clock,
    });
    sections.push(
      runCheckOnce(check, { timeoutMs, label: 'backup', clock }).then((result) => [
        checkRow(`backup ${backupJob}`, result, (checked) =>
          checked.status === 'pass'
            ? `verified (${verification}) ${humanizeDuration(Number(checked.observed) * 1000)} ago, RPO ${backupMaxAge}`
            : (checked.output ?? 'failed'),
        ),
      ]),
    );
  }
  for (const path of disks) {
    sections.push(
      runCheckOnce(diskProbe({ path, warnRatio: diskWarn, failRatio: diskFail }), {
        timeoutMs,
        label: 'disk',
        clock,
      }).then((result) => [
        checkRow(`disk ${path}`, result, (checked) =>
          typeof checked.observed === 'number'
            ? `${percent(checked.observed)} used (warn ${percent(diskWarn, 0)}, fail ${percent(diskFail, 0)})`
            : (checked.output ?? checked.status),
        ),
      ]),
    );
  }
  sections.push(memoryRow(memoryWarn, memoryFail).then((row) => [row]));
  const rows = (await Promise.all(sections)).flat();
  return reportRows(context, rows);
}

function parseEndpoint(entry: string): { name: string; url: string } {
  const equals = entry.indexOf('=');
  const looksNamed = equals > 0 && !entry.slice(0, equals).includes(':');
  const name = looksNamed ? entry.slice(0, equals) : undefined;
  const url = looksNamed ? entry.slice(equals + 1) : entry;
  const parsed = urlOption(url, '--endpoint');
  return { name: name ?? `${parsed.host}${parsed.pathname}`, url };
}

async function fetchText(url: string, timeoutMs: number, clock: Clock): Promise<string> {
  return withDeadline(
    async (signal) => {
      const response = await fetch(url, { signal });
      if (!response.ok) throw new Error(`${redactUrl(url)} answered HTTP ${response.status}`);
      return response.text();
    },
    { timeoutMs, clock, label: redactUrl(url) },
  );
}

/** SLO rows from the service's own /metrics: budget left (worst label set) and firing tiers, per SLO. */
async function sloRowsFromMetrics(url: string, timeoutMs: number, clock: Clock): Promise<StatusRow[]> {
  let text: string;
  try {
    text = await fetchText(url, timeoutMs, clock);
  } catch (error) {
    return [{ check: 'slo metrics', status: 'fail', detail: safeErrorMessage(error) }];
  }
  const samples = parseExposition(text);
  const objectives = samplesOf(samples, 'ops_slo_objective_ratio');
  if (objectives.length === 0)
    return [{ check: 'slo metrics', status: 'warn', detail: `no ops_slo_* metrics at ${redactUrl(url)}` }];
  return objectives.map((objective) => {
    const where = { service: objective.labels.service ?? '', slo: objective.labels.slo ?? '' };
    const budgets = samplesOf(samples, 'ops_slo_error_budget_remaining_ratio', where).map((sample) => sample.value);
    const slis = samplesOf(samples, 'ops_slo_sli_ratio', where).map((sample) => sample.value);
    const firing = samplesOf(samples, 'ops_slo_alert_firing', where).filter((sample) => sample.value === 1);
    const budget = budgets.length > 0 ? Math.min(...budgets) : undefined;
    const tiers = firing.map((sample) => `${sample.labels.slo_tier ?? '?'} (${sample.labels.severity ?? '?'})`);
    return sloRow(`${where.service}/${where.slo}`, objective.value, slis.length ? Math.min(...slis) : null, budget, {
      tiers,
      paging: firing.some((sample) => ['critical', 'page'].includes(sample.labels.severity ?? '')),
    });
  });
}

function sloRow(
  id: string,
  objective: number,
  sli: number | null,
  budget: number | undefined,
  firing: { tiers: string[]; paging: boolean },
): StatusRow {
  const parts = [
    `objective ${percent(objective, 2)}`,
    `SLI ${sli === null ? 'no events' : percent(sli, 3)}`,
    `budget left ${budget === undefined ? '–' : percent(budget)}`,
  ];
  if (firing.tiers.length > 0) parts.push(`firing ${firing.tiers.join(', ')}`);
  const exhausted = budget !== undefined && budget <= 0;
  const status =
    firing.paging || exhausted
      ? 'fail'
      : firing.tiers.length > 0 || (budget ?? 1) < BUDGET_WARN_RATIO
        ? 'warn'
        : 'pass';
  return { check: `slo ${id}`, status, detail: parts.join(', ') };
}

/** SLO status from Prometheus (with --slos) and the alerts Prometheus has firing. */
async function prometheusRows(
  url: string,
  sloFile: string | undefined,
  timeoutMs: number,
  clock: Clock,
): Promise<StatusRow[]> {
  const client = createPrometheusClient({ url, timeout: timeoutMs, clock });
  const rows: StatusRow[] = [];
  if (sloFile !== undefined) {
    let slos;
    try {
      slos = await loadSloFile(sloFile);
    } catch (error) {
      throw new UsageError(`--slos: ${safeErrorMessage(error)}`);
    }
    for (const slo of slos) {
      try {
        const status = await fetchSloStatus({ client, slo, clock });
        const paging = status.tiers.some((tier) => tier.firing && ['critical', 'page'].includes(String(tier.severity)));
        rows.push(
          sloRow(status.id, status.objective, status.sli, status.budget.remainingRatio, {
            tiers: status.firing,
            paging,
          }),
        );
      } catch (error) {
        rows.push({ check: `slo ${slo.id}`, status: 'fail', detail: `could not evaluate: ${safeErrorMessage(error)}` });
      }
    }
  }
  try {
    const result = await client.query('ALERTS{alertstate="firing"}');
    const alerts = result.resultType === 'vector' ? result.series : [];
    const names = alerts.map(
      (alert) => `${alert.metric.alertname ?? '?'}${alert.metric.severity ? ` (${alert.metric.severity})` : ''}`,
    );
    const paging = alerts.some((alert) => ['critical', 'page'].includes(alert.metric.severity ?? ''));
    rows.push({
      check: 'alerts',
      status: alerts.length === 0 ? 'pass' : paging ? 'fail' : 'warn',
      detail: alerts.length === 0 ? 'none firing' : `${alerts.length} firing: ${[...new Set(names)].join(', ')}`,
    });
  } catch (error) {
    rows.push({ check: 'alerts', status: 'fail', detail: `could not ask Prometheus: ${safeErrorMessage(error)}` });
  }
  return rows;
}

/** Open incidents: a P0/P1 fails the check, lower severities warn. */
async function incidentRows(url: string, clock: Clock): Promise<StatusRow[]> {
  const incidents = openIncidents(url, { clock });
  try {
    const open = await incidents.manager.list({ open: true });
    if (open.length === 0) return [{ check: 'incidents', status: 'pass', detail: 'no open incidents' }];
    return open.map((incident) => ({
      check: `incident ${incident.id}`,
      status: incident.severity === 'P0' || incident.severity === 'P1' ? 'fail' : 'warn',
      detail: `${incident.severity} ${incident.status} ${incident.service}: ${incident.title} (for ${humanizeDuration(Math.max(0, clock.now() - incident.triggeredAt))})`,
    }));
  } catch (error) {
    return [
      { check: 'incidents', status: 'fail', detail: `could not read the incident store: ${safeErrorMessage(error)}` },
    ];
  } finally {
    await incidents.close().catch(() => undefined);
  }
}

/** Host memory in use: MemTotal − MemAvailable from /proc/meminfo (page cache is not "used"), else os.freemem. */
async function memoryRow(warnRatio: number, failRatio: number): Promise<StatusRow> {
  let total = totalmem();
  let available = freemem();
  try {
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1]) * 1024;
    if (Number.isFinite(field('MemTotal')) && Number.isFinite(field('MemAvailable'))) {
      total = field('MemTotal');
      available = field('MemAvailable');
    }
  } catch {}
  const used = total > 0 ? 1 - available / total : 0;
  return {
    check: 'memory',
    status: used >= failRatio ? 'fail' : used >= warnRatio ? 'warn' : 'pass',
    detail: `${percent(used)} used of ${(total / 2 ** 30).toFixed(1)} GiB (warn ${percent(warnRatio, 0)}, fail ${percent(failRatio, 0)})`,
  };
}

/** The morning check on the system clock. */
export const morningCheck = createMorningCheck();

if (isMain(import.meta.url)) process.exitCode = await runScript(morningCheck, process.argv.slice(2));
