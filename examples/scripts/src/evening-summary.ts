// The evening summary from the runbooks: the day's requests, error rate and p95, the incidents with MTTA/MTTR, and
// how much error budget the day burned — from the service's /metrics (with a snapshot file, so each run reports
// the change since the previous one) or from Prometheus, and the incident store.
//
//   npx tsx src/evening-summary.ts --metrics-url http://127.0.0.1:8080/metrics --state /var/lib/ops/evening.json \
//     --incidents-db "$INCIDENTS_DATABASE_URL"
//   npx tsx src/evening-summary.ts --prometheus http://prom:9090 --since 24h --json
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  createPrometheusClient,
  formatTable,
  humanizeDuration,
  parseDuration,
  safeErrorMessage,
  systemClock,
  UsageError,
  withDeadline,
  type CliContext,
  type Clock,
  type PrometheusClient,
} from '@ops/core';
import type { Incident, IncidentMetricsReport } from '@ops/incident';
import { promDuration } from '@ops/slo';
import { parseExposition, samplesOf, sumOf, type ExpositionSample } from './lib/exposition.js';
import { openIncidents } from './lib/incidents.js';
import { isMain, optionOrEnv, percent, redactUrl, runScript, urlOption, type ScriptDefinition } from './lib/script.js';

/** Counter readings of one scrape (the snapshot file holds the previous one). */
export interface CounterSnapshot {
  at: number;
  requests: number;
  errors: number;
  /** Histogram bucket counts by `le`. */
  buckets: Record<string, number>;
  /** Per SLO (`service/slo`): events, good events and the objective. */
  slos: Record<string, { events: number; good: number; objective: number; remaining?: number }>;
}

/** The day's numbers. */
export interface EveningSummary {
  from: number;
  to: number;
  source: string;
  /** How the window was measured, e.g. "since the previous snapshot". */
  window: string;
  traffic: { requests: number; errors: number; errorRate: number | null; p95Ms: number | null };
  slos: Array<{
    slo: string;
    objective: number;
    events: number;
    bad: number;
    errorRatio: number | null;
    burnRate: number | null;
    budgetBurned: number | null;
    budgetRemaining: number | null;
  }>;
  incidents?: {
    metrics: IncidentMetricsReport['overall'];
    list: Array<{
      id: string;
      severity: string;
      status: string;
      service: string;
      title: string;
      timeToAcknowledgeMs: number | null;
      timeToResolveMs: number | null;
    }>;
  };
}

/** `histogram_quantile` over cumulative bucket counts: linear inside the bucket, as Prometheus does. */
export function histogramQuantile(quantile: number, buckets: Record<string, number>): number | null {
  const sorted = Object.entries(buckets)
    .map(([le, count]) => ({ le: le === '+Inf' ? Infinity : Number(le), count }))
    .filter((bucket) => !Number.isNaN(bucket.le))
    .sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = quantile * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return previous.le;
      const inBucket = bucket.count - previous.count;
      return inBucket <= 0 ? bucket.le : previous.le + ((bucket.le - previous.le) * (rank - previous.count)) / inBucket;
    }
    previous = bucket;
  }
  return previous.le;
}

function readSnapshot(
  samples: readonly ExpositionSample[],
  at: number,
  names: { requests: string; duration: string },
): CounterSnapshot {
  const requestSamples = samplesOf(samples, names.requests);
  const buckets: Record<string, number> = {};
  for (const sample of samplesOf(samples, `${names.duration}_bucket`)) {
    const le = sample.labels.le ?? '+Inf';
    buckets[le] = (buckets[le] ?? 0) + sample.value;
  }
  const slos: CounterSnapshot['slos'] = {};
  for (const objective of samplesOf(samples, 'ops_slo_objective_ratio')) {
    const where = { service: objective.labels.service ?? '', slo: objective.labels.slo ?? '' };
    const remaining = samplesOf(samples, 'ops_slo_error_budget_remaining_ratio', where).map((sample) => sample.value);
    slos[`${where.service}/${where.slo}`] = {
      events: sumOf(samples, 'ops_slo_events_total', where),
      good: sumOf(samples, 'ops_slo_good_events_total', where),
      objective: objective.value,
      ...(remaining.length > 0 ? { remaining: Math.min(...remaining) } : {}),
    };
  }
  return {
    at,
    requests: requestSamples.reduce((total, sample) => total + sample.value, 0),
    errors: requestSamples
      .filter((sample) => /^5\d\d$/.test(sample.labels.code ?? sample.labels.status ?? ''))
      .reduce((total, sample) => total + sample.value, 0),
    buckets,
    slos,
  };
}

/** `current − previous`, or `current` alone when there is no usable previous snapshot (first run, or a restart). */
function difference(
  current: CounterSnapshot,
  previous: CounterSnapshot | undefined,
): { delta: CounterSnapshot; since: 'snapshot' | 'start' } {
  const reset =
    previous === undefined ||
    previous.at >= current.at ||
    current.requests < previous.requests ||
    Object.entries(current.slos).some(([id, slo]) => slo.events < (previous.slos[id]?.events ?? 0));
  if (reset) return { delta: current, since: 'start' };
  const buckets: Record<string, number> = {};
  for (const [le, count] of Object.entries(current.buckets)) buckets[le] = count - (previous.buckets[le] ?? 0);
  const slos: CounterSnapshot['slos'] = {};
  for (const [id, slo] of Object.entries(current.slos))
    slos[id] = {
      ...slo,
      events: slo.events - (previous.slos[id]?.events ?? 0),
      good: slo.good - (previous.slos[id]?.good ?? 0),
    };
  return {
    delta: {
      at: current.at,
      requests: current.requests - previous.requests,
      errors: current.errors - previous.errors,
      buckets,
      slos,
    },
    since: 'snapshot',
  };
}

function sloLines(slos: CounterSnapshot['slos'], windowMs: number | null, periodMs: number): EveningSummary['slos'] {
  return Object.entries(slos).map(([id, slo]) => {
    const bad = Math.max(0, slo.events - slo.good);
    const errorRatio = slo.events > 0 ? bad / slo.events : null;
    const burnRate = errorRatio === null ? null : errorRatio / Math.max(1e-12, 1 - slo.objective);
    return {
      slo: id,
      objective: slo.objective,
      events: slo.events,
      bad,
      errorRatio,
      burnRate,
      // The share of the period's error budget these events used: burn rate × window / period.
      budgetBurned: burnRate === null || windowMs === null ? null : (burnRate * windowMs) / periodMs,
      budgetRemaining: slo.remaining ?? null,
    };
  });
}

async function fromMetrics(
  url: string,
  options: {
    clock: Clock;
    statePath: string | undefined;
    names: { requests: string; duration: string };
    periodMs: number;
    timeoutMs: number;
  },
): Promise<Omit<EveningSummary, 'incidents'>> {
  const { clock, statePath, names, periodMs, timeoutMs } = options;
  const text = await withDeadline(
    async (signal) => {
      const response = await fetch(url, { signal });
      if (!response.ok) throw new Error(`${redactUrl(url)} answered HTTP ${response.status}`);
      return response.text();
    },
    { timeoutMs, clock, label: redactUrl(url) },
  );
  const current = readSnapshot(parseExposition(text), clock.now(), names);
  let previous: CounterSnapshot | undefined;
  if (statePath !== undefined) {
    try {
      previous = JSON.parse(await readFile(statePath, 'utf8')) as CounterSnapshot;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new UsageError(`--state: cannot read ${statePath}: ${safeErrorMessage(error)}`);
    }
    // Written atomically, so a crash never leaves half a snapshot for tomorrow.
    await mkdir(dirname(statePath), { recursive: true });
    await writeFile(`${statePath}.tmp`, JSON.stringify(current));
    await rename(`${statePath}.tmp`, statePath);
  }
  const { delta, since } = difference(current, previous);
  const windowMs = since === 'snapshot' && previous ? current.at - previous.at : null;
  return {
    from: since === 'snapshot' && previous ? previous.at : current.at,
    to: current.at,
    source: redactUrl(url),
    window:
      since === 'snapshot'
        ? `the ${humanizeDuration(windowMs ?? 0)} since the previous snapshot`
        : statePath === undefined
          ? 'since the service started (give --state FILE to report the change since the previous run)'
          : 'since the service started (no earlier snapshot, or the service restarted)',
    traffic: {
      requests: delta.requests,
      errors: delta.errors,
      errorRate: delta.requests > 0 ? delta.errors / delta.requests : null,
      p95Ms: ((quantile) => (quantile === null ? null : quantile * 1000))(histogramQuantile(0.95, delta.buckets)),
    },
    slos: sloLines(delta.slos, windowMs, periodMs),
  };
}

async function fromPrometheus(
  client: PrometheusClient,
  options: {
    clock: Clock;
    sinceMs: number;
    names: { requests: string; duration: string };
    periodMs: number;
    url: string;
  },
): Promise<Omit<EveningSummary, 'incidents'>> {
  const { clock, sinceMs, names, periodMs } = options;
  const range = promDuration(sinceMs);
  const to = clock.now();
  const scalar = async (expr: string): Promise<number | null> => {
    const result = await client.query(expr, { time: to });
    if (result.resultType !== 'vector') return null;
    const value = result.series[0]?.sample.value;
    return value === undefined || Number.isNaN(value) ? null : value;
  };
  const byLabels = async (expr: string) => {
    const result = await client.query(expr, { time: to });
    return result.resultType === 'vector' ? result.series : [];
  };
  const requests = (await scalar(`sum(increase(${names.requests}[${range}]))`)) ?? 0;
  const errors = (await scalar(`sum(increase(${names.requests}{code=~"5.."}[${range}]))`)) ?? 0;
  const p95 = await scalar(`histogram_quantile(0.95, sum by (le) (increase(${names.duration}_bucket[${range}])))`);
  const slos: CounterSnapshot['slos'] = {};
  for (const series of await byLabels('max by (service, slo) (ops_slo_objective_ratio)'))
    slos[`${series.metric.service}/${series.metric.slo}`] = { events: 0, good: 0, objective: series.sample.value };
  for (const series of await byLabels(`sum by (service, slo) (increase(ops_slo_events_total[${range}]))`)) {
    const slo = slos[`${series.metric.service}/${series.metric.slo}`];
    if (slo) slo.events = series.sample.value;
  }
  for (const series of await byLabels(`sum by (service, slo) (increase(ops_slo_good_events_total[${range}]))`)) {
    const slo = slos[`${series.metric.service}/${series.metric.slo}`];
    if (slo) slo.good = series.sample.value;
  }
  for (const series of await byLabels('min by (service, slo) (ops_slo_error_budget_remaining_ratio)')) {
    const slo = slos[`${series.metric.service}/${series.metric.slo}`];
    if (slo) slo.remaining = series.sample.value;
  }
  return {
    from: to - sinceMs,
    to,
    source: redactUrl(options.url),
    window: `the last ${humanizeDuration(sinceMs)} (Prometheus increase(), extrapolated)`,
    traffic: {
      requests,
      errors,
      errorRate: requests > 0 ? errors / requests : null,
      p95Ms: p95 === null || !Number.isFinite(p95) ? null : p95 * 1000,
    },
    slos: sloLines(slos, sinceMs, periodMs),
  };
}

function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : humanizeDuration(value);
}

function printSummary(context: CliContext, summary: EveningSummary): void {
  const { traffic } = summary;
  context.print(`Evening summary ${new Date(summary.to).toISOString()} — ${summary.source}, ${summary.window}`);
  context.print('');
  context.io.stdout.write(
    formatTable(
      [
        { name: 'requests', value: String(Math.round(traffic.requests)) },
        { name: 'errors (5xx)', value: String(Math.round(traffic.errors)) },
        { name: 'error rate', value: traffic.errorRate === null ? '–' : percent(traffic.errorRate, 2) },
        { name: 'p95 latency', value: traffic.p95Ms === null ? '–' : `${traffic.p95Ms.toFixed(1)} ms` },
      ],
      [
        { header: 'TRAFFIC', value: (row) => row.name },
        { header: 'VALUE', value: (row) => row.value, align: 'right' },
      ],
    ),
  );
  if (summary.slos.length > 0) {
    context.print('');
    context.io.stdout.write(
      formatTable(summary.slos, [
        { header: 'SLO', value: (row) => row.slo },
        { header: 'OBJECTIVE', value: (row) => percent(row.objective, 2), align: 'right' },
        { header: 'EVENTS', value: (row) => Math.round(row.events), align: 'right' },
        { header: 'BAD', value: (row) => Math.round(row.bad), align: 'right' },
        {
          header: 'BURN RATE',
          value: (row) => (row.burnRate === null ? '–' : row.burnRate.toFixed(2)),
          align: 'right',
        },
        {
          header: 'BUDGET BURNED',
          value: (row) => (row.budgetBurned === null ? '–' : percent(row.budgetBurned, 2)),
          align: 'right',
        },
        {
          header: 'BUDGET LEFT',
          value: (row) => (row.budgetRemaining === null ? '–' : percent(row.budgetRemaining)),
          align: 'right',
        },
      ]),
    );
  }
  if (summary.incidents) {
    const { metrics, list } = summary.incidents;
    context.print('');
    context.print(
      `Incidents: ${metrics.count} (open ${metrics.open}, never acknowledged ${metrics.neverAcknowledged}) — MTTA ${ms(metrics.mttaMs)}, MTTR ${ms(metrics.mttrMs)}`,
    );
    if (list.length > 0)
      context.io.stdout.write(
        formatTable(list, [
          { header: 'INCIDENT', value: (row) => row.id },
          { header: 'SEV', value: (row) => row.severity },
          { header: 'STATUS', value: (row) => row.status },
          { header: 'SERVICE', value: (row) => row.service },
          { header: 'TTA', value: (row) => ms(row.timeToAcknowledgeMs), align: 'right' },
          { header: 'TTR', value: (row) => ms(row.timeToResolveMs), align: 'right' },
          { header: 'TITLE', value: (row) => row.title },
        ]),
      );
  }
}

/** Builds the script with an injectable clock (tests); `eveningSummary` uses the system clock. */
export function createEveningSummary(options: { clock?: Clock } = {}): ScriptDefinition {
  const { clock = systemClock } = options;
  return {
    name: 'evening-summary',
    summary:
      "The day's requests, error rate and p95, incidents with MTTA/MTTR, and the error budget burned — from the service's /metrics or Prometheus, and the incident store.",
    options: {
      'service-url': {
        type: 'string',
        valueName: 'url',
        description: 'base URL of the service (or SERVICE_URL): its /metrics is read',
      },
      'metrics-url': {
        type: 'string',
        valueName: 'url',
        description: "the service's /metrics (or SERVICE_URL/metrics); counters since start, or since --state",
      },
      state: {
        type: 'string',
        valueName: 'file',
        description: 'snapshot file: each run reports the change since the previous run and writes a new one',
      },
      prometheus: {
        type: 'string',
        valueName: 'url',
        description: 'Prometheus (or PROMETHEUS_URL) instead of /metrics: increase() over --since, across replicas',
      },
      since: {
        type: 'string',
        valueName: 'duration',
        description: 'the window with Prometheus and for incidents (default 24h)',
      },
      'incidents-db': {
        type: 'string',
        valueName: 'url',
        description: 'PostgreSQL of the @ops/incident store (or INCIDENTS_DATABASE_URL): incidents, MTTA, MTTR',
      },
      'requests-metric': {
        type: 'string',
        valueName: 'name',
        description: 'request counter with a code label (default http_requests_total)',
      },
      'duration-metric': {
        type: 'string',
        valueName: 'name',
        description: 'request duration histogram in seconds (default http_request_duration_seconds)',
      },
      'slo-period': {
        type: 'string',
        valueName: 'duration',
        description: 'the SLO period the budget is over (default 30d)',
      },
      timeout: {
        type: 'string',
        short: 't',
        valueName: 'duration',
        description: 'deadline of each request (default 10s)',
      },
    },
    examples: [
      'npx tsx src/evening-summary.ts --metrics-url http://127.0.0.1:8080/metrics --state /var/lib/ops/evening.json --incidents-db "$INCIDENTS_DATABASE_URL"',
      'npx tsx src/evening-summary.ts --prometheus http://prom:9090 --since 24h --json',
      '0 18 * * *  cd /srv/ops && npx tsx src/evening-summary.ts --state /var/lib/ops/evening.json ... | mail -s "evening summary" team@example.com',
    ],
    exitCodes: [
      '0  summary written',
      '1  a source (metrics, Prometheus, incident store) could not be read',
      '2  usage or configuration error',
    ],
    run: (context) => runEveningSummary(context, clock),
  };
}

async function runEveningSummary(context: CliContext, clock: Clock): Promise<number> {
  const serviceUrl = optionOrEnv(context, 'service-url', 'SERVICE_URL');
  const prometheusUrl = optionOrEnv(context, 'prometheus', 'PROMETHEUS_URL');
  const metricsUrl =
    optionOrEnv(context, 'metrics-url') ??
    (serviceUrl === undefined || prometheusUrl !== undefined ? undefined : `${serviceUrl.replace(/\/+$/, '')}/metrics`);
  if (metricsUrl !== undefined && prometheusUrl !== undefined)
    throw new UsageError('give --metrics-url or --prometheus, not both');
  if (metricsUrl === undefined && prometheusUrl === undefined)
    throw new UsageError(
      'give --metrics-url URL (the service /metrics, or SERVICE_URL) or --prometheus URL (or PROMETHEUS_URL)',
    );
  if (metricsUrl !== undefined) urlOption(metricsUrl, '--metrics-url');
  if (prometheusUrl !== undefined) urlOption(prometheusUrl, '--prometheus');
  const incidentsUrl = optionOrEnv(context, 'incidents-db', 'INCIDENTS_DATABASE_URL');
  if (incidentsUrl !== undefined) urlOption(incidentsUrl, '--incidents-db', ['postgres:', 'postgresql:']);
  const sinceMs = parseDuration(optionOrEnv(context, 'since') ?? '24h', '--since');
  const periodMs = parseDuration(optionOrEnv(context, 'slo-period') ?? '30d', '--slo-period');
  const timeoutMs = parseDuration(optionOrEnv(context, 'timeout') ?? '10s', '--timeout');
  const names = {
    requests: optionOrEnv(context, 'requests-metric') ?? 'http_requests_total',
    duration: optionOrEnv(context, 'duration-metric') ?? 'http_request_duration_seconds',
  };
  for (const [flag, name] of [
    ['--requests-metric', names.requests],
    ['--duration-metric', names.duration],
  ] as const)
    if (!/^[A-Za-z_:][A-Za-z0-9_:]*$/.test(name))
      throw new UsageError(`${flag}: ${JSON.stringify(name)} is not a metric name`);
  const statePath = optionOrEnv(context, 'state');

  let summary: EveningSummary;
  try {
    summary =
      metricsUrl !== undefined
        ? await fromMetrics(metricsUrl, { clock, statePath, names, periodMs, timeoutMs })
        : await fromPrometheus(createPrometheusClient({ url: prometheusUrl as string, timeout: timeoutMs, clock }), {
            clock,
            sinceMs,
            names,
            periodMs,
            url: prometheusUrl as string,
          });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return failed(context, `cannot read ${redactUrl(metricsUrl ?? prometheusUrl ?? '')}: ${safeErrorMessage(error)}`);
  }
  if (incidentsUrl !== undefined) {
    const incidents = openIncidents(incidentsUrl, { clock });
    try {
      const to = clock.now();
      const from = Math.min(summary.from, to - sinceMs);
      const report = await incidents.manager.metrics({ from, to });
      const list: Incident[] = await incidents.manager.list({ since: from, until: to, limit: 1_000 });
      summary.incidents = {
        metrics: report.overall,
        list: list.map((incident) => ({
          id: incident.id,
          severity: incident.severity,
          status: incident.status,
          service: incident.service,
          title: incident.title,
          timeToAcknowledgeMs:
            incident.acknowledgedAt === undefined ? null : incident.acknowledgedAt - incident.triggeredAt,
          timeToResolveMs: incident.resolvedAt === undefined ? null : incident.resolvedAt - incident.triggeredAt,
        })),
      };
    } catch (error) {
      return failed(context, `cannot read the incident store ${redactUrl(incidentsUrl)}: ${safeErrorMessage(error)}`);
    } finally {
      await incidents.close().catch(() => undefined);
    }
  }
  if (context.json) context.printJson({ ok: true, ...summary });
  else printSummary(context, summary);
  return 0;
}

function failed(context: CliContext, message: string): number {
  if (context.json) context.printJson({ ok: false, error: { code: 'SOURCE_FAILED', message } });
  context.warn(`evening-summary: ${message}`);
  return 1;
}

/** The evening summary on the system clock. */
export const eveningSummary = createEveningSummary();

if (isMain(import.meta.url)) process.exitCode = await runScript(eveningSummary, process.argv.slice(2));
