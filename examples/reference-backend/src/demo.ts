// `pnpm demo` (the README's first command): the reference backend's scenario, start to graceful shutdown.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OpsError, safeErrorMessage, systemClock, type Logger } from '@ops/core';
import type { SloAlertEvent } from '@ops/slo';
import pg from 'pg';
import type { summarizeBackup, summarizeHealingAction, summarizeIncident, summarizeSlo } from './admin.js';
import { startReferenceBackend, type ReferenceBackend } from './backend.js';
import { loadBackendConfig, type BackendConfig } from './config.js';
import { startSmtpReceiver, startWebhookReceiver, type SmtpReceiver, type WebhookReceiver } from './demo-receivers.js';
import { NOTES_DEGRADED_PROBLEM } from './operations/incidents.js';
import { createShiftableClock, type ShiftableClock } from './shiftable-clock.js';

/** One step of the scenario and whether it behaved as expected. */
export interface DemoStep {
  name: string;
  ok: boolean;
  /** One line saying what happened. */
  summary: string;
  /** Readable facts (printed indented), e.g. the readiness body. */
  lines: string[];
  /** Log lines the service wrote during the step (alert transitions, check changes). */
  logs: string[];
  data?: unknown;
}

/** The outcome of {@link runDemo}. */
export interface DemoResult {
  ok: boolean;
  store: 'memory' | 'postgres';
  cache: 'memory' | 'redis';
  steps: DemoStep[];
  /** Real time the scenario took (milliseconds); simulated time skipped is reported in the steps. */
  durationMs: number;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Environment: `DATABASE_URL` / `REDIS_URL` switch the store and cache. Default `process.env`. */
  environment?: Readonly<Record<string, string | undefined>>;
  /** Called after each step (the CLI prints it as it goes). */
  onStep?: (step: DemoStep) => void;
  /** Where the capacity report (Markdown, JSON, SVG charts) is written. Default `<tmp>/ops-reference-demo/capacity-report`. */
  capacityDirectory?: string;
  /** Start a loopback SMTP server so pages also go out as e-mail. Default `true`. */
  smtp?: boolean;
  /** Settings applied over the demo's own (tests use it to prove a misbehaving step fails the demo). */
  overrides?: Partial<BackendConfig>;
}

/** The steps of the scenario, in order. */
export const DEMO_STEPS = [
  'start',
  'traffic',
  'ready',
  'fault',
  'slo',
  'incident',
  'escalate',
  'heal',
  'resolve',
  'postmortem',
  'metrics',
  'backup',
  'restore',
  'capacity',
  'shutdown',
] as const;

/** Default directory of the capacity report the demo writes. */
export const DEFAULT_CAPACITY_DIRECTORY = join(tmpdir(), 'ops-reference-demo', 'capacity-report');

const GREEN_TRAFFIC_NOTES = 20;
const FAULT_REQUESTS = 40;
const BATCH = 10;

/** A logger that keeps the lines of the current step. */
function createStepLogger(): Logger & { take(): string[] } {
  let lines: string[] = [];
  const write = (level: string) => (fields: Record<string, unknown>, message?: string) => {
    const interesting = ['slo', 'check', 'hook', 'reason', 'faults', 'job', 'incident', 'rule', 'notification'].filter(
      (key) => key in fields,
    );
    const facts = interesting
      .map((key) => `${key}=${typeof fields[key] === 'object' ? JSON.stringify(fields[key]) : String(fields[key])}`)
      .join(' ');
    lines.push(`${level.padEnd(5)} ${message ?? ''}${facts ? ` (${facts})` : ''}`);
  };
  return {
    debug: () => undefined,
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    take() {
      const taken = lines;
      lines = [];
      return taken;
    },
  };
}

interface Exchange {
  status: number;
  body: unknown;
  /** `x-cache` header: `hit` or `miss` on single-note reads. */
  cache: string | null;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<Exchange> {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // plain-text bodies stay strings
  }
  return { status: response.status, body: parsed, cache: response.headers.get('x-cache') };
}

/** Sends `count` requests built by `make`, `BATCH` at a time (bounded, loopback only). */
async function burst(count: number, make: (index: number) => Promise<Exchange>): Promise<Exchange[]> {
  const results: Exchange[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const size = Math.min(BATCH, count - start);
    results.push(...(await Promise.all(Array.from({ length: size }, (_, offset) => make(start + offset)))));
  }
  return results;
}

function histogram(exchanges: readonly Exchange[]): string {
  const counts = new Map<number, number>();
  for (const exchange of exchanges) counts.set(exchange.status, (counts.get(exchange.status) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${count}× ${status}`)
    .join(', ');
}

interface ReadyBody {
  status?: string;
  output?: string;
  checks?: Record<string, Array<{ status?: string; output?: string }>>;
}

function checkStatus(body: unknown, name: string): string | undefined {
  const checks = (body as ReadyBody | undefined)?.checks ?? {};
  const key = Object.keys(checks).find((candidate) => candidate.split(':')[0] === name);
  return key === undefined ? undefined : checks[key]?.[0]?.status;
}

function readinessLines(body: unknown): string[] {
  const document = body as ReadyBody;
  const lines = [`status: ${document.status ?? '?'}${document.output ? ` (${document.output})` : ''}`];
  for (const [key, [entry] = []] of Object.entries(document.checks ?? {})) {
    lines.push(`  ${key.padEnd(28)} ${(entry?.status ?? '?').padEnd(4)} ${entry?.output ?? ''}`.trimEnd());
  }
  return lines;
}

function alertLine(event: SloAlertEvent): string {
  return `${event.type === 'alert.firing' ? 'FIRING  ' : 'RESOLVED'} ${event.slo} ${event.tier} (${event.severity}): burn rate ${event.burnRates.long.toFixed(1)} (long) / ${event.burnRates.short.toFixed(1)} (short), threshold ${event.threshold.toFixed(2)}`;
}

/** Polls `read` (every 20 ms of real time) until it returns a value; throws naming `what` after `timeoutMs`. */
async function waitFor<T>(what: string, read: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await systemClock.sleep(20);
  }
}

function minutes(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

type IncidentSummary = ReturnType<typeof summarizeIncident>;
type HealingActionSummary = ReturnType<typeof summarizeHealingAction>;

interface TimelineEntry {
  at: number;
  kind: string;
  description: string;
  visibility: string;
}

interface StatusSummary {
  status: { indicator: string; description: string };
  components: Array<{ id: string; status: string }>;
  incidents: Array<{
    id: string;
    name: string;
    status: string;
    incident_updates: Array<{ body: string; status: string }>;
  }>;
}

interface MetricsBody {
  overall: {
    count: number;
    mttaMs?: number;
    mttmMs?: number;
    mttrMs?: number;
    mttdMs?: number;
    neverAcknowledged: number;
  };
  byServiceSeverity: Array<{
    service: string;
    severity: string;
    metrics: { count: number; mttaMs?: number; mttmMs?: number; mttrMs?: number };
  }>;
}

/** Healthy traffic over simulated time: `hours` hourly bursts (a daily pattern), a capacity sample after each. */
async function simulateHistory(
  backend: ReferenceBackend,
  clock: ShiftableClock,
  ids: readonly string[],
  hours: number,
) {
  const exchanges: Exchange[] = [];
  for (let hour = 0; hour < hours; hour++) {
    clock.skip(3_600_000);
    const utcHour = new Date(clock.now()).getUTCHours();
    const daytime = utcHour >= 8 && utcHour < 20;
    const count = daytime ? 12 : 4;
    exchanges.push(
      ...(await burst(count, (index) =>
        index % 6 === 5
          ? call(backend.url, 'POST', '/notes', { title: `hour ${hour} note`, body: 'background traffic' })
          : call(backend.url, 'GET', `/notes/${ids[(hour + index) % ids.length]}`),
      )),
    );
    await backend.capacity.sampleNow();
  }
  return exchanges;
}

/**
 * Runs the scenario, each step checked: start → traffic (two simulated days) → readiness → fault (the response
 * cache grows past its memory budget, the API sheds load, readiness fails) → SLO fast burn → one deduplicated P0
 * incident with a status-page update → escalation on the simulated clock (L1 healing not yet allowed to act, L2
 * paged over a signed webhook and e-mail, the engineer acknowledges) → healing climbs its memory ladder and
 * verifies, the incident is mitigated → the alerts resolve and so does the incident → postmortem draft → MTTA/MTTR →
 * backup and verify → restore and compare → capacity report with SVG charts → graceful shutdown. Resolves with
 * every step's outcome; `ok` is false when any step did not behave as expected. Uses an in-memory store unless
 * `DATABASE_URL` is set, and Redis when `REDIS_URL` is.
 *
 * @example
 * ```ts
 * const result = await runDemo({ environment: {} });
 * if (!result.ok) process.exitCode = 1;
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const {
    environment = process.env,
    onStep,
    capacityDirectory = DEFAULT_CAPACITY_DIRECTORY,
    smtp = true,
    overrides = {},
  } = options;
  const started = performance.now();
  const fromEnvironment = loadBackendConfig({
    DATABASE_URL: environment.DATABASE_URL,
    REDIS_URL: environment.REDIS_URL,
  });
  const scratch = await mkdtemp(join(tmpdir(), 'ops-reference-demo-'));
  const clock = createShiftableClock();
  const logger = createStepLogger();
  const steps: DemoStep[] = [];
  const step = (name: string, ok: boolean, summary: string, lines: string[] = [], data?: unknown) => {
    const entry: DemoStep = { name, ok, summary, lines, logs: logger.take(), ...(data === undefined ? {} : { data }) };
    steps.push(entry);
    onStep?.(entry);
    return ok;
  };
  let webhook: WebhookReceiver | undefined;
  let mail: SmtpReceiver | undefined;
  let backend: ReferenceBackend | undefined;
  let exitCode: number | undefined;
  let restoredDatabase: string | undefined;
  let config: Partial<BackendConfig> = {};
  try {
    webhook = await startWebhookReceiver({ now: () => clock.now() });
    if (smtp) mail = await startSmtpReceiver();
    config = {
      ...fromEnvironment,
      port: 0,
      host: '127.0.0.1',
      adminEnabled: true,
      backupDirectory: join(scratch, 'backups'),
      drainDelay: '1s',
      instanceId: `demo-${process.pid}`,
      healEvery: '100ms', // spacing of the verify samples
      healSettle: '100ms',
      capacitySampleEvery: '1h', // the demo samples on the simulated clock itself
      notifyWebhookUrl: webhook.url,
      notifyWebhookSecret: webhook.secret,
      ...(mail ? { smtpUrl: mail.url, notifyEmailTo: ['oncall@notes.invalid'] } : {}),
      ...overrides,
    };
    const t = (at: number) => `T+${minutes(at - faultAt)}`;
    let faultAt = 0;

    // 1. Start with embedded defaults on an ephemeral loopback port. The healer runs on its loop (every 100 ms of
    //    real time, judging on the simulated clock); the demo drives SLO evaluation and the incident timers itself.
    backend = await startReferenceBackend({
      config,
      clock,
      logger,
      sloEvaluateEvery: false,
      incidentLoop: false,
      signals: [],
      exit: (code) => (exitCode = code),
    });
    const base = backend.url;
    const incidents = backend.incidents.incidents;
    const startup = await call(base, 'GET', '/health/startup');
    step(
      'start',
      startup.status === 200,
      `listening on ${base} — store: ${backend.storeKind}, cache: ${backend.cacheKind}, healing state: ${backend.healing.storeKind}; /health/startup ${startup.status}`,
      [
        `incidents: ${backend.config.databaseUrl ? 'PostgreSQL store' : 'in-memory store'}, status page ${base}/status, Alertmanager receiver ${base}/hooks/alertmanager`,
        `on-call webhook receiver ${webhook.url} (Standard Webhooks, signed)${mail ? `; SMTP server ${mail.url}` : ''}`,
        `escalation: ${backend.incidents.levelOffsetsMs.map((offset, level) => `L${level + 1} at ${minutes(offset)}`).join(', ')}`,
        `backups go to ${config.backupDirectory}`,
      ],
    );

    // 2. Healthy traffic: notes created and read (cache hits), then two simulated days of hourly traffic.
    const created = await burst(GREEN_TRAFFIC_NOTES, (index) =>
      call(base, 'POST', '/notes', { title: `note ${index + 1}`, body: `written by the demo (#${index + 1})` }),
    );
    const ids = created.flatMap((exchange) => (exchange.status === 201 ? [(exchange.body as { id: string }).id] : []));
    const reads = await burst(ids.length * 2, (index) => call(base, 'GET', `/notes/${ids[index % ids.length]}`));
    const hits = reads.filter((exchange) => exchange.cache === 'hit').length;
    const history = await simulateHistory(backend, clock, ids, 48);
    const traffic = [...created, ...reads, ...history];
    const trafficOk =
      traffic.every((exchange) => exchange.status < 300) && ids.length === GREEN_TRAFFIC_NOTES && hits === ids.length;
    step('traffic', trafficOk, `${traffic.length} requests: ${histogram(traffic)}`, [
      `${ids.length} notes created, each read twice (${hits} reads answered by the ${backend.cacheKind} cache)`,
      `then 48 simulated hours of traffic (12 requests an hour by day, 4 by night), a capacity sample each hour`,
    ]);

    // 3. Readiness: warn, because no verified backup exists yet and that check is non-critical.
    const ready = await call(base, 'GET', '/health/ready?verbose');
    const readyOk =
      ready.status === 200 &&
      checkStatus(ready.body, 'notes-store') === 'pass' &&
      checkStatus(ready.body, 'memory-budget') === 'pass' &&
      checkStatus(ready.body, 'backup-freshness') === 'fail';
    step(
      'ready',
      readyOk,
      `GET /health/ready → ${ready.status}; no verified backup yet, so the non-critical backup-freshness check fails and readiness only warns`,
      readinessLines(ready.body),
      ready.body,
    );

    // 4. Fault: the response cache grows past 90% of its memory budget; the API sheds load, readiness fails.
    faultAt = clock.now();
    await call(base, 'PUT', '/admin/faults', { memoryGrowthMb: 60 });
    const failing = await burst(FAULT_REQUESTS, (index) =>
      index % 4 === 0
        ? call(base, 'POST', '/notes', { title: 'during the fault' })
        : call(base, 'GET', '/notes?limit=10'),
    );
    clock.skip(2_000); // past the 1 s result cache of the readiness checks
    await backend.capacity.sampleNow();
    const readyDuringFault = await call(base, 'GET', '/health/ready?verbose');
    const faultOk =
      failing.every((exchange) => exchange.status === 503) &&
      readyDuringFault.status === 503 &&
      checkStatus(readyDuringFault.body, 'memory-budget') === 'fail';
    step(
      'fault',
      faultOk,
      `PUT /admin/faults {"memoryGrowthMb":60}: the caches hold ${(backend.cacheMemory.usedBytes() / 1024 / 1024).toFixed(0)} of ${backend.config.cacheMemoryBudgetMb} MiB, ${FAULT_REQUESTS} requests → ${histogram(failing)} (load shed); readiness ${readyDuringFault.status}`,
      readinessLines(readyDuringFault.body),
      { readiness: readyDuringFault.body },
    );

    // 5. The SLO tracker evaluates: the availability SLO burns its budget far faster than page-quick allows.
    await backend.evaluateAlerts();
    const firing = backend.alerts.filter((event) => event.type === 'alert.firing');
    const pageQuick = firing.find((event) => event.slo === 'notes/api-availability' && event.tier === 'page-quick');
    const slos = ((await call(base, 'GET', '/admin/slos')).body as { slos?: Array<ReturnType<typeof summarizeSlo>> })
      .slos;
    step(
      'slo',
      pageQuick !== undefined,
      `${firing.length} SLO burn-rate alerts firing; availability page-quick: burn rate ${pageQuick?.burnRates.short.toFixed(1) ?? '?'} against a threshold of ${pageQuick?.threshold.toFixed(2) ?? '?'}`,
      [
        ...firing.map(alertLine),
        ...(slos ?? []).map(
          (slo) =>
            `${slo.slo}: ${slo.events.bad} bad of ${slo.events.total} events, budget remaining ${(slo.budgetRemainingRatio * 100).toFixed(0)}%`,
        ),
      ],
      { alerts: firing },
    );

    // 6. One incident for the problem: the failing check opened it, every burn-rate tier bumped it.
    const incident = await waitFor('the notes:degraded incident with its SLO members', async () => {
      const open = ((await call(base, 'GET', '/admin/incidents?open=true')).body as { incidents: IncidentSummary[] })
        .incidents;
      const found = open.find((candidate) => candidate.dedupKey === NOTES_DEGRADED_PROBLEM);
      const expected = Object.values(backend?.problems?.members() ?? {}).flat().length;
      return found && expected >= 2 && found.occurrences >= expected ? { found, open } : undefined;
    });
    const summary = await waitFor('the status page to show the incident', async () => {
      clock.skip(1_100); // past the status page's 1 s cache
      const body = (await call(base, 'GET', '/status/api/v2/summary.json')).body as StatusSummary;
      return body.incidents.some((entry) => entry.incident_updates.length > 0) ? body : undefined;
    });
    const statusHtml = await call(base, 'GET', '/status');
    const members = Object.values(backend.problems?.members() ?? {}).flat();
    const inc = incident.found;
    const incidentOk =
      inc.severity === 'P0' &&
      inc.status === 'triggered' &&
      incident.open.length === 1 &&
      inc.occurrences === members.length &&
      summary.components.find((component) => component.id === 'notes')?.status === 'major_outage' &&
      statusHtml.status === 200;
    step(
      'incident',
      incidentOk,
      `${inc.id} ${inc.severity} "${inc.title}" — dedup key ${inc.dedupKey}, ${inc.occurrences} occurrences, ${incident.open.length} open incident(s)`,
      [
        `alerts folded into it: ${members.join(', ')}`,
        `ticket-tier burns inhibited while the problem is open (no P2 tickets for the same outage)`,
        `status page: ${summary.status.description}; component notes = ${summary.components.find((component) => component.id === 'notes')?.status}`,
        ...summary.incidents.flatMap((entry) =>
          entry.incident_updates.map((update) => `public update (${update.status}): ${update.body}`),
        ),
      ],
      { incident: inc, members },
    );

    // 7. Escalation on the simulated clock: L1 runs healing (its condition must hold 10 min first), L2 is paged at
    //    5 min over the signed webhook and e-mail, and the platform engineer acknowledges.
    await incidents.runDueTimers();
    await incidents.deliverNotifications();
    const l1 = await waitFor('L1 automation outcome', async () => {
      const timeline = (
        (await call(base, 'GET', `/admin/incidents/${inc.id}/timeline`)).body as {
          timeline: TimelineEntry[];
        }
      ).timeline;
      return timeline.find((entry) => entry.kind === 'automation');
    });
    clock.skip(backend.incidents.levelOffsetsMs[1]! + 1_000);
    await incidents.runDueTimers();
    await incidents.deliverNotifications();
    const page = await waitFor('the L2 page at the webhook receiver', () =>
      webhook?.received.find((received) => received.type === 'incident.escalated' && received.incidentId === inc.id),
    );
    const mailed = mail
      ? await waitFor('the L2 e-mail', () => mail?.received.find((received) => received.subject.includes(inc.id)))
      : undefined;
    clock.skip(2 * 60_000);
    const ack = await call(base, 'POST', `/admin/incidents/${inc.id}/acknowledge`, {
      by: 'alice',
      note: 'paged at L2; looking at the memory graphs',
    });
    const ackedAt = clock.now();
    const escalateOk =
      /failed|not fixed/i.test(l1.description) &&
      page.role === 'platform-engineer' &&
      page.level === 2 &&
      page.signatureValid &&
      (mail === undefined || mailed !== undefined) &&
      ack.status === 200 &&
      (ack.body as { incident: IncidentSummary }).incident.status === 'acknowledged';
    step(
      'escalate',
      escalateOk,
      `L1 automated healing could not act yet; L2 paged the ${page.role} at ${t(page.timestampSeconds * 1000)} (signature ${page.signatureValid ? 'valid' : 'INVALID'})${mailed ? ', e-mail sent' : ''}; acknowledged by alice at ${t(ackedAt)}`,
      [
        `L1 (0–5 min, automated): ${l1.description}`,
        `L2 (5–15 min): POST ${webhook.url} ${page.type} ${page.incidentId} ${page.severity} level L${page.level}, role ${page.role}`,
        ...(mailed ? [`e-mail to ${mailed.to.join(', ')}: "${mailed.subject}"`] : []),
        `webhooks received so far: ${webhook.received.map((received) => `${received.type}→${received.role}`).join(', ')}`,
      ],
      { l1, page, mailed },
    );

    // 8. Healing: ten minutes after the condition was first seen, the memory ladder acts (clear caches) and verifies.
    clock.skip(3 * 60_000 + 10_000);
    await backend.healing.healer.tick();
    await backend.healing.healer.idle();
    const mitigated = await waitFor('the incident to be mitigated by healing', async () => {
      const current = ((await call(base, 'GET', `/admin/incidents/${inc.id}`)).body as { incident: IncidentSummary })
        .incident;
      return current.status === 'mitigated' ? current : undefined;
    });
    const healing = (await call(base, 'GET', `/admin/healing?since=${faultAt}`)).body as {
      actions: HealingActionSummary[];
      episodes: Array<{ rule: string; outcome: string | null; instance: string }>;
    };
    clock.skip(2_000);
    await backend.capacity.sampleNow();
    const readyAfterHeal = await call(base, 'GET', '/health/ready');
    const healthyAgain = await burst(ids.length, (index) => call(base, 'GET', `/notes/${ids[index]}`));
    clock.skip(backend.incidents.levelOffsetsMs[2]! - (clock.now() - faultAt) + 1_000); // past L3's offset
    await incidents.runDueTimers();
    await incidents.deliverNotifications();
    const seniorPaged = webhook.received.some(
      (received) => received.role === 'senior-engineer' && received.incidentId === inc.id,
    );
    const ours = (action: { instance: string }) => action.instance === backend?.config.instanceId;
    healing.actions = healing.actions.filter(ours);
    const memoryAction = healing.actions.find((action) => action.rule === 'memory');
    const healOk =
      memoryAction?.outcome === 'ok' &&
      healing.episodes.some((episode) => ours(episode) && episode.rule === 'memory' && episode.outcome === 'healed') &&
      readyAfterHeal.status === 200 &&
      healthyAgain.every((exchange) => exchange.status === 200) &&
      !seniorPaged;
    step(
      'heal',
      healOk,
      `memory ladder step ${memoryAction?.step ?? '?'} "${memoryAction?.action ?? '?'}" ${memoryAction?.outcome ?? '?'} and verified; ${inc.id} ${mitigated.status} at ${t(mitigated.mitigatedAt ?? 0)}; readiness ${readyAfterHeal.status}`,
      [
        ...healing.actions.map(
          (action) =>
            `audit: ${action.rule} on ${action.target} step ${action.step} ${action.action} → ${action.outcome} (${action.detail ?? ''}) by ${action.instance}, fencing token ${action.fencingToken}`,
        ),
        `${ids.length} reads after healing: ${histogram(healthyAgain)}`,
        `L3 (15 min): ${seniorPaged ? 'PAGED (unexpected)' : 'not paged — acknowledged and mitigated'}`,
      ],
      { actions: healing.actions, incident: mitigated },
    );

    // 9. The alerts resolve: the check passed already; thirty quiet minutes later the page tiers' short windows are
    //    clean, the problem's last member resolves and the incident resolves with it.
    await burst(ids.length, (index) => call(base, 'GET', `/notes/${ids[index]}`));
    clock.skip(35 * 60_000);
    await burst(ids.length, (index) => call(base, 'GET', `/notes/${ids[index]}`));
    await backend.evaluateAlerts();
    const resolvedIncident = await waitFor('the incident to resolve', async () => {
      const current = ((await call(base, 'GET', `/admin/incidents/${inc.id}`)).body as { incident: IncidentSummary })
        .incident;
      return current.status === 'resolved' ? current : undefined;
    });
    const afterSummary = await waitFor('the status page to recover', async () => {
      clock.skip(1_100);
      const body = (await call(base, 'GET', '/status/api/v2/summary.json')).body as StatusSummary;
      return body.components.every((component) => component.status === 'operational') ? body : undefined;
    });
    await incidents.deliverNotifications();
    const resolvedNotice = await waitFor('the resolve at the webhook receiver', () =>
      webhook?.received.find((received) => received.type === 'incident.resolved' && received.incidentId === inc.id),
    );
    const resolvedAlerts = backend.alerts.filter((event) => event.type === 'alert.resolved');
    const openAfter = ((await call(base, 'GET', '/admin/incidents?open=true')).body as { incidents: IncidentSummary[] })
      .incidents;
    step(
      'resolve',
      resolvedIncident.resolveReason === 'source' && openAfter.length === 0 && resolvedNotice.signatureValid,
      `${inc.id} resolved (reason: ${resolvedIncident.resolveReason}) at ${t(resolvedIncident.resolvedAt ?? 0)}; status page: ${afterSummary.status.description}; ${openAfter.length} incident(s) open`,
      [
        ...resolvedAlerts.map(alertLine),
        `webhook: ${resolvedNotice.type} → ${resolvedNotice.role}; the page's ${page.role} and the incident channel are told`,
      ],
    );

    // 10. The postmortem draft written when the P0 was mitigated.
    const postmortem = await call(base, 'GET', `/admin/incidents/${inc.id}/postmortem`);
    const markdown = typeof postmortem.body === 'string' ? postmortem.body : '';
    step(
      'postmortem',
      postmortem.status === 200 && /## Timeline/.test(markdown) && /## Root cause/i.test(markdown),
      `postmortem draft of ${inc.id}: ${markdown.split('\n').length} lines of Markdown (GET /admin/incidents/${inc.id}/postmortem)`,
      markdown.split('\n').slice(0, 40),
    );

    // 11. MTTA / MTTR from the store.
    const metrics = (await call(base, 'GET', '/admin/incidents/metrics')).body as MetricsBody;
    const p0 = metrics.byServiceSeverity.find((row) => row.service === 'notes' && row.severity === 'P0');
    step(
      'metrics',
      p0 !== undefined && p0.metrics.mttaMs !== undefined && p0.metrics.mttrMs !== undefined,
      `notes P0: MTTA ${minutes(p0?.metrics.mttaMs)}, MTTM ${minutes(p0?.metrics.mttmMs)}, MTTR ${minutes(p0?.metrics.mttrMs)} (simulated time)`,
      [
        `overall: ${metrics.overall.count} incident(s), MTTA ${minutes(metrics.overall.mttaMs)}, MTTR ${minutes(metrics.overall.mttrMs)}, MTTD ${minutes(metrics.overall.mttdMs)}, never acknowledged ${metrics.overall.neverAcknowledged}`,
        `targets of P0: acknowledge within 5 min, mitigate within 30 min`,
      ],
      metrics,
    );

    // 12. Backup, verified by reading it back; the freshness check now passes.
    const expected = await call(base, 'GET', '/notes?limit=100');
    const expectedNotes = (expected.body as { notes: Array<{ id: string; title: string }> }).notes;
    const backup = await call(base, 'POST', '/admin/backups');
    const backupSummary = backup.body as ReturnType<typeof summarizeBackup>;
    clock.skip(6_000); // past the freshness check's 5 s result cache
    const readyAfterBackup = await call(base, 'GET', '/health/ready?verbose');
    const backupOk =
      backup.status === 200 &&
      backupSummary.ok &&
      backupSummary.verification?.ok === true &&
      checkStatus(readyAfterBackup.body, 'backup-freshness') === 'pass';
    step(
      'backup',
      backupOk,
      `backup ${backupSummary.id ?? '?'} ${backupSummary.state ?? '?'} (${backupSummary.storedBytes ?? 0} bytes stored), ${backupSummary.verification?.level ?? 'no'} verification ${backupSummary.verification?.ok ? 'passed' : 'FAILED'}; backup-freshness ${checkStatus(readyAfterBackup.body, 'backup-freshness') ?? '?'}`,
      [backupSummary.verification?.detail ?? backupSummary.error ?? ''],
      backupSummary,
    );

    // 13. Restore into a scratch location and compare with the live data.
    let restoreTarget: { database: string; connectionString: string } | { directory: string };
    if (backend.config.databaseUrl !== undefined) {
      restoredDatabase = `notes_restore_${randomBytes(4).toString('hex')}`;
      restoreTarget = { database: restoredDatabase, connectionString: backend.config.databaseUrl };
    } else {
      restoreTarget = { directory: join(scratch, 'restore') };
    }
    const restored = await backend.backups.restoreInto(restoreTarget);
    // The API lists at most 100 notes: every one of those must be restored as it is, and the counts must match.
    const liveCount = await backend.repository.count();
    const restoredById = new Map(restored.notes.map((note) => [note.id, note]));
    const sameNotes =
      restored.notes.length === liveCount &&
      expectedNotes.every((note) => restoredById.get(note.id)?.title === note.title);
    step(
      'restore',
      sameNotes && restored.backupId === backupSummary.id,
      `restored ${restored.backupId} into ${restored.location}: ${restored.notes.length} notes, ${sameNotes ? 'identical to' : 'DIFFERENT from'} the ${liveCount} live notes`,
    );

    // 14. Capacity report from the samples taken over the simulated days, with an SVG chart per series.
    await backend.capacity.sampleNow();
    const report = await call(base, 'GET', '/admin/capacity/report');
    const reportBody = report.body as {
      report: {
        series: Array<{ name: string; stats: { count: number; mean: number; max: number } }>;
        findings: string[];
      };
      markdown: string;
      charts: string[];
    };
    await rm(capacityDirectory, { recursive: true, force: true });
    await mkdir(capacityDirectory, { recursive: true });
    await writeFile(join(capacityDirectory, 'report.md'), reportBody.markdown ?? '');
    await writeFile(join(capacityDirectory, 'report.json'), `${JSON.stringify(reportBody.report ?? {}, null, 2)}\n`);
    const svgFiles: string[] = [];
    for (const chart of reportBody.charts ?? []) {
      const svg = await call(base, 'GET', chart);
      const file = chart.split('/').at(-1) ?? 'chart.svg';
      if (svg.status === 200 && typeof svg.body === 'string' && svg.body.startsWith('<svg')) {
        await writeFile(join(capacityDirectory, file), svg.body);
        svgFiles.push(file);
      }
    }
    step(
      'capacity',
      report.status === 200 && svgFiles.length >= 3 && reportBody.report.series.length >= 3,
      `capacity report written to ${capacityDirectory}: report.md, report.json and ${svgFiles.length} SVG charts`,
      [
        ...reportBody.report.series.map(
          (series) =>
            `${series.name}: ${series.stats.count} samples, mean ${series.stats.mean.toFixed(3)}, max ${series.stats.max.toFixed(3)}`,
        ),
        `charts: ${svgFiles.join(', ')}`,
        ...reportBody.report.findings.slice(0, 5).map((finding) => `finding: ${finding}`),
      ],
      { directory: capacityDirectory, charts: svgFiles },
    );

    // 15. Graceful shutdown: readiness fails first (load balancers stop sending), then listeners close and hooks run.
    const stopping = backend.shutdown('demo finished');
    const readyWhileDraining = await call(base, 'GET', '/health/ready');
    const code = await stopping;
    backend = undefined;
    step(
      'shutdown',
      readyWhileDraining.status === 503 && code === 0 && exitCode === 0,
      `readiness ${readyWhileDraining.status} while draining; alerting, healing, incidents and stores closed; exit code ${code}`,
    );
  } catch (error) {
    step('error', false, `the scenario stopped: ${safeErrorMessage(error)}`);
  } finally {
    if (backend) await backend.shutdown('demo aborted').catch(() => undefined);
    await webhook?.close().catch(() => undefined);
    await mail?.close().catch(() => undefined);
    if (restoredDatabase !== undefined && config.databaseUrl !== undefined)
      await dropDatabase(config.databaseUrl, restoredDatabase).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
  return {
    ok: steps.length === DEMO_STEPS.length && steps.every((entry) => entry.ok),
    store: config.databaseUrl === undefined ? 'memory' : 'postgres',
    cache: config.redisUrl === undefined ? 'memory' : 'redis',
    steps,
    durationMs: Math.round(performance.now() - started),
  };
}

async function dropDatabase(connectionString: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Renders one step for a terminal. */
export function formatStep(step: DemoStep, index: number): string {
  const out = [`${step.ok ? '✔' : '✘'} ${index + 1}. ${step.name.padEnd(8)} ${step.summary}`];
  for (const line of step.lines) out.push(line === '' ? '' : `     ${line}`);
  // Identical consecutive log lines (one per failed request) are shown once with a count.
  for (let index = 0; index < step.logs.length;) {
    let next = index + 1;
    while (next < step.logs.length && step.logs[next] === step.logs[index]) next++;
    out.push(`     log: ${step.logs[index]}${next - index > 1 ? ` ×${next - index}` : ''}`);
    index = next;
  }
  return out.join('\n');
}

const HELP = `Usage: pnpm demo [--json] [--out DIR] [--no-smtp]

Runs the reference backend's whole story on an ephemeral loopback port, on a clock that skips ahead: traffic over
two simulated days, a fault (the caches outgrow their memory budget, the API sheds load), health degrading, an SLO
fast burn, one deduplicated P0 incident on the status page, escalation (L1 automated healing, L2 paged over a
signed webhook and e-mail), healing's memory ladder fixing and verifying it, the incident mitigated and resolved,
the postmortem draft, MTTA/MTTR, a verified backup and restore, a capacity report with SVG charts, and a graceful
shutdown. Uses PostgreSQL when DATABASE_URL is set and Redis when REDIS_URL is set; needs neither.

Options:
  --json       print one JSON document instead of the readable summary
  --out DIR    where the capacity report goes (default ${DEFAULT_CAPACITY_DIRECTORY})
  --no-smtp    do not start the loopback SMTP server (pages go to the webhook receiver only)
  --help       show this help

Exit codes: 0 every step behaved as expected, 1 a step did not, 2 usage or configuration error.
`;

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  let capacityDirectory: string | undefined;
  const unknown: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === '--out') {
      capacityDirectory = argv[++index];
      if (capacityDirectory === undefined || capacityDirectory.startsWith('--')) {
        process.stderr.write(`--out needs a directory\n\n${HELP}`);
        return 2;
      }
    } else if (argument !== '--json' && argument !== '--no-smtp') unknown.push(argument);
  }
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}\n\n${HELP}`);
    return 2;
  }
  const json = argv.includes('--json');
  try {
    let index = 0;
    const result = await runDemo({
      ...(capacityDirectory === undefined ? {} : { capacityDirectory }),
      smtp: !argv.includes('--no-smtp'),
      ...(json ? {} : { onStep: (step: DemoStep) => process.stdout.write(`${formatStep(step, index++)}\n\n`) }),
    });
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else
      process.stdout.write(
        `${result.ok ? 'demo passed' : 'demo FAILED'}: ${result.steps.filter((step) => step.ok).length}/${result.steps.length} steps as expected in ${(result.durationMs / 1000).toFixed(1)} s (store: ${result.store}, cache: ${result.cache})\n`,
      );
    return result.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(
      `${OpsError.hasCode(error, 'CONFIG_INVALID') ? (error as Error).message : safeErrorMessage(error)}\n`,
    );
    return OpsError.hasCode(error, 'CONFIG_INVALID') ? 2 : 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
