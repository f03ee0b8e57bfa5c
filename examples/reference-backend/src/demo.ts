// `pnpm demo` (the README's first command): the reference backend's scenario, start to graceful shutdown.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OpsError, safeErrorMessage, type Logger } from '@ops/core';
import type { SloAlertEvent } from '@ops/slo';
import pg from 'pg';
import type { summarizeBackup, summarizeSlo } from './admin.js';
import { startReferenceBackend, type ReferenceBackend } from './backend.js';
import { loadBackendConfig, type BackendConfig } from './config.js';
import { createShiftableClock } from './shiftable-clock.js';

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
}

const GREEN_TRAFFIC_NOTES = 20;
const FAULT_REQUESTS = 40;
const BATCH = 10;

/** A logger that keeps the lines of the current step. */
function createStepLogger(): Logger & { take(): string[] } {
  let lines: string[] = [];
  const write = (level: string) => (fields: Record<string, unknown>, message?: string) => {
    const interesting = ['slo', 'check', 'hook', 'reason', 'faults', 'job'].filter((key) => key in fields);
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

/** A health+json document with one line per check entry, readable in a terminal. */
function compactJson(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [JSON.stringify(body)];
  const entries = Object.entries(body as Record<string, unknown>);
  const lines = ['{'];
  entries.forEach(([key, value], index) => {
    const comma = index < entries.length - 1 ? ',' : '';
    if (key === 'checks' && typeof value === 'object' && value !== null) {
      const checks = Object.entries(value as Record<string, unknown>);
      lines.push('  "checks": {');
      checks.forEach(([name, list], checkIndex) =>
        lines.push(`    ${JSON.stringify(name)}: ${JSON.stringify(list)}${checkIndex < checks.length - 1 ? ',' : ''}`),
      );
      lines.push(`  }${comma}`);
    } else lines.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value)}${comma}`);
  });
  lines.push('}');
  return lines;
}

function alertLine(event: SloAlertEvent): string {
  return `${event.type === 'alert.firing' ? 'FIRING  ' : 'RESOLVED'} ${event.slo} ${event.tier} (${event.severity}): burn rate ${event.burnRates.long.toFixed(1)} (long) / ${event.burnRates.short.toFixed(1)} (short), threshold ${event.threshold.toFixed(2)}`;
}

/**
 * Runs the scenario: start → traffic → readiness → fault (readiness fails, an SLO burn-rate alert fires) →
 * recovery (ten simulated minutes later the fast alert resolves) → backup and verify → restore into a scratch
 * location and compare → graceful shutdown. Resolves with every step's outcome; `ok` is false when any step did
 * not behave as expected. Uses an in-memory store unless `DATABASE_URL` is set, and Redis when `REDIS_URL` is.
 *
 * @example
 * ```ts
 * const result = await runDemo({ environment: {} });
 * if (!result.ok) process.exitCode = 1;
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const { environment = process.env, onStep } = options;
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
  const config: Partial<BackendConfig> = {
    ...fromEnvironment,
    port: 0,
    host: '127.0.0.1',
    adminEnabled: true,
    backupDirectory: join(scratch, 'backups'),
    drainDelay: '1s',
  };
  let backend: ReferenceBackend | undefined;
  let exitCode: number | undefined;
  let restoredDatabase: string | undefined;
  try {
    // 1. Start with embedded defaults on an ephemeral loopback port.
    backend = await startReferenceBackend({
      config,
      clock,
      logger,
      sloEvaluateEvery: false,
      signals: [],
      exit: (code) => (exitCode = code),
    });
    const base = backend.url;
    const startup = await call(base, 'GET', '/health/startup');
    step(
      'start',
      startup.status === 200,
      `listening on ${base} — store: ${backend.storeKind}, cache: ${backend.cacheKind}; /health/startup ${startup.status}`,
      [`backups go to ${config.backupDirectory}`],
    );

    // 2. Healthy traffic: create notes, read each twice (second read is a cache hit), list them.
    const created = await burst(GREEN_TRAFFIC_NOTES, (index) =>
      call(base, 'POST', '/notes', {
        title: `note ${index + 1}`,
        body: `written by the demo at step 2 (#${index + 1})`,
      }),
    );
    const ids = created.flatMap((exchange) => (exchange.status === 201 ? [(exchange.body as { id: string }).id] : []));
    const reads = await burst(ids.length * 2, (index) => call(base, 'GET', `/notes/${ids[index % ids.length]}`));
    const listed = await call(base, 'GET', '/notes?limit=100');
    const traffic = [...created, ...reads, listed];
    const hits = reads.filter((exchange) => exchange.cache === 'hit').length;
    const trafficOk =
      traffic.every((exchange) => exchange.status < 300) && ids.length === GREEN_TRAFFIC_NOTES && hits === ids.length;
    step('traffic', trafficOk, `${traffic.length} requests: ${histogram(traffic)}`, [
      `${ids.length} notes created, each read twice (${hits} reads answered by the ${backend.cacheKind} cache), listed once`,
    ]);

    // 3. Readiness, IETF health+json body (details shown to loopback callers).
    const ready = await call(base, 'GET', '/health/ready?verbose');
    const readyOk =
      ready.status === 200 &&
      checkStatus(ready.body, 'notes-store') === 'pass' &&
      checkStatus(ready.body, 'backup-freshness') === 'fail';
    step(
      'ready',
      readyOk,
      `GET /health/ready → ${ready.status}; no verified backup yet, so the non-critical backup-freshness check fails and readiness only warns`,
      [...readinessLines(ready.body), '', 'application/health+json body:', ...compactJson(ready.body)],
      ready.body,
    );

    // 4. Fault: the notes store goes down. Readiness must fail; the availability SLO's fast burn-rate alert must fire.
    await call(base, 'PUT', '/admin/faults', { storeUnavailable: true });
    const failing = await burst(FAULT_REQUESTS, (index) =>
      index % 4 === 0
        ? call(base, 'POST', '/notes', { title: 'during the outage' })
        : call(base, 'GET', '/notes?limit=10'),
    );
    clock.skip(2_000); // past the 1 s result cache of the readiness checks
    const readyDuringFault = await call(base, 'GET', '/health/ready?verbose');
    const slosDuringFault = await call(base, 'GET', '/admin/slos');
    const firing = backend.alerts.filter((event) => event.type === 'alert.firing');
    const pageQuick = firing.find((event) => event.slo === 'notes/api-availability' && event.tier === 'page-quick');
    const faultOk =
      failing.every((exchange) => exchange.status === 503) &&
      readyDuringFault.status === 503 &&
      checkStatus(readyDuringFault.body, 'notes-store') === 'fail' &&
      pageQuick !== undefined;
    step(
      'fault',
      faultOk,
      `store down: ${FAULT_REQUESTS} requests → ${histogram(failing)}; readiness ${readyDuringFault.status}; ${firing.length} SLO alert(s) firing`,
      [
        ...readinessLines(readyDuringFault.body),
        ...firing.map(alertLine),
        ...((slosDuringFault.body as { slos?: Array<ReturnType<typeof summarizeSlo>> }).slos ?? []).map(
          (slo) =>
            `${slo.slo}: ${slo.events.bad} bad of ${slo.events.total} events so far (the ${((1 - slo.objective) * 100).toFixed(0)}% budget allows ${((1 - slo.objective) * slo.events.total).toFixed(1)}), budget remaining ${(slo.budgetRemainingRatio * 100).toFixed(0)}%; burn rate 5m ${slo.burnRates['5m']}, 1h ${slo.burnRates['1h']}`,
        ),
      ],
      { readiness: readyDuringFault.body, alerts: firing },
    );

    // 5. Recovery: clear the fault, readiness passes again; ten quiet minutes later the fast alert resolves.
    await call(base, 'DELETE', '/admin/faults');
    clock.skip(2_000);
    const readyAfter = await call(base, 'GET', '/health/ready');
    const healthyAgain = await burst(ids.length, (index) => call(base, 'GET', `/notes/${ids[index]}`));
    clock.skip(10 * 60_000);
    const later = await burst(ids.length, (index) => call(base, 'GET', `/notes/${ids[index]}`));
    await backend.slos.evaluate();
    const resolved = backend.alerts.filter((event) => event.type === 'alert.resolved');
    const stillFiring = backend.slos
      .statuses()
      .flatMap((status) => status.firing.map((tier) => `${status.id} ${tier}`));
    const recoverOk =
      readyAfter.status === 200 &&
      [...healthyAgain, ...later].every((exchange) => exchange.status === 200) &&
      resolved.some((event) => event.slo === 'notes/api-availability' && event.tier === 'page-quick');
    step(
      'recover',
      recoverOk,
      `fault cleared: readiness ${readyAfter.status}; after 10 simulated minutes ${resolved.length} alert(s) resolved`,
      [
        ...resolved.map(alertLine),
        stillFiring.length > 0
          ? `still firing (slower tiers reset when their short windows pass): ${stillFiring.join(', ')}`
          : 'no tier firing',
      ],
      { resolved, stillFiring },
    );

    // 6. Backup, verified by reading it back; the freshness check now passes.
    const expected = await call(base, 'GET', '/notes?limit=100');
    const expectedNotes = (expected.body as { notes: Array<{ id: string; title: string }> }).notes;
    const backup = await call(base, 'POST', '/admin/backups');
    const summary = backup.body as ReturnType<typeof summarizeBackup>;
    clock.skip(6_000); // past the freshness check's 5 s result cache
    const readyAfterBackup = await call(base, 'GET', '/health/ready?verbose');
    const backupOk =
      backup.status === 200 &&
      summary.ok &&
      summary.verification?.ok === true &&
      checkStatus(readyAfterBackup.body, 'backup-freshness') === 'pass';
    step(
      'backup',
      backupOk,
      `backup ${summary.id ?? '?'} ${summary.state ?? '?'} (${summary.storedBytes ?? 0} bytes stored), ${summary.verification?.level ?? 'no'} verification ${summary.verification?.ok ? 'passed' : 'FAILED'}; backup-freshness ${checkStatus(readyAfterBackup.body, 'backup-freshness') ?? '?'}`,
      [summary.verification?.detail ?? summary.error ?? '', ...readinessLines(readyAfterBackup.body)],
      summary,
    );

    // 7. Restore into a scratch location and compare with the live data.
    let restoreTarget: { database: string; connectionString: string } | { directory: string };
    if (backend.config.databaseUrl !== undefined) {
      restoredDatabase = `notes_restore_${randomBytes(4).toString('hex')}`;
      restoreTarget = { database: restoredDatabase, connectionString: backend.config.databaseUrl };
    } else {
      restoreTarget = { directory: join(scratch, 'restore') };
    }
    const restored = await backend.backups.restoreInto(restoreTarget);
    const liveIds = new Set(expectedNotes.map((note) => note.id));
    const sameNotes =
      restored.notes.length === expectedNotes.length &&
      restored.notes.every(
        (note) => liveIds.has(note.id) && expectedNotes.find((live) => live.id === note.id)?.title === note.title,
      );
    step(
      'restore',
      sameNotes && restored.backupId === summary.id,
      `restored ${restored.backupId} into ${restored.location}: ${restored.notes.length} notes, ${sameNotes ? 'identical to' : 'DIFFERENT from'} the ${expectedNotes.length} live notes`,
    );

    // 8. Graceful shutdown: readiness fails first (load balancers stop sending), then listeners close and hooks run.
    const stopping = backend.shutdown('demo finished');
    const readyWhileDraining = await call(base, 'GET', '/health/ready');
    const code = await stopping;
    backend = undefined;
    step(
      'shutdown',
      readyWhileDraining.status === 503 && code === 0 && exitCode === 0,
      `readiness ${readyWhileDraining.status} while draining; cleanup hooks ran; exit code ${code}`,
    );
  } catch (error) {
    step('error', false, `the scenario stopped: ${safeErrorMessage(error)}`);
  } finally {
    if (backend) await backend.shutdown('demo aborted').catch(() => undefined);
    if (restoredDatabase !== undefined && config.databaseUrl !== undefined)
      await dropDatabase(config.databaseUrl, restoredDatabase).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
  return {
    ok: steps.length > 0 && steps.every((entry) => entry.ok),
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

const HELP = `Usage: pnpm demo [--json]

Runs the reference backend's scenario on an ephemeral loopback port: traffic, readiness, a store outage (readiness
fails, an SLO burn-rate alert fires), recovery, a verified backup, a restore check and a graceful shutdown.
Uses PostgreSQL when DATABASE_URL is set and Redis when REDIS_URL is set; needs neither.

Options:
  --json   print one JSON document instead of the readable summary
  --help   show this help

Exit codes: 0 every step behaved as expected, 1 a step did not, 2 usage or configuration error.
`;

async function main(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((argument) => argument !== '--json' && argument !== '--help' && argument !== '-h');
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}\n\n${HELP}`);
    return 2;
  }
  const json = argv.includes('--json');
  try {
    let index = 0;
    const result = await runDemo(
      json ? {} : { onStep: (step) => process.stdout.write(`${formatStep(step, index++)}\n\n`) },
    );
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
