// The evening summary against the real reference backend's /metrics (with a snapshot file, so the second run
// reports exactly the traffic in between) and a real PostgreSQL incident store (MTTA/MTTR on a manual clock).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '@ops/core';
import { createIncidentManager, createPostgresIncidentStore } from '@ops/incident';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from '../../reference-backend/src/backend.js';
import { createEveningSummary, histogramQuantile, type EveningSummary } from './evening-summary.js';
import { runScript } from './lib/script.js';
import { captureIo, runTsx } from './testing/run.js';

const T0 = Date.UTC(2026, 11, 4, 9, 0);
const clock = createManualClock(T0);
let work: string;
let backend: ReferenceBackend;
let database: PostgresDatabase;

async function get(times: number): Promise<void> {
  for (let index = 0; index < times; index++) await (await fetch(`${backend.url}/notes`)).arrayBuffer();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ops-evening-'));
  database = await createPostgresDatabase({ prefix: 'evening' });
  backend = await startReferenceBackend({
    config: { port: 0, backupDirectory: join(work, 'backups'), drainDelay: 0 },
    sloEvaluateEvery: false,
    signals: [],
    exit: () => undefined,
  });
  // The day's incidents, written by the service's incident manager: one P1 acked after 2 min and resolved after 30,
  // one P3 still open.
  const pool = new pg.Pool({ connectionString: database.connectionString, max: 2 });
  const manager = createIncidentManager({ store: createPostgresIncidentStore({ pool }), clock, autoStart: false });
  const { incident } = await manager.trigger({ service: 'notes', title: 'Notes 5xx', severity: 'P1' });
  clock.advance(120_000);
  await manager.acknowledge(incident!.id, { by: 'alice' });
  clock.advance(28 * 60_000);
  await manager.resolve(incident!.id, { reason: 'user', by: 'alice', note: 'restarted the store' });
  clock.advance(30 * 60_000);
  await manager.trigger({ service: 'notes', dedupKey: 'slow', title: 'Notes slow', severity: 'P3' });
  await manager.close();
  await pool.end();
  clock.advance(6 * 3_600_000);
});

afterAll(async () => {
  await backend?.shutdown('test finished');
  await database?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('evening-summary', () => {
  it('reports the traffic since the previous run, the budget it burned, and the incidents with MTTA/MTTR', async () => {
    const script = createEveningSummary({ clock });
    const state = join(work, 'state', 'evening.json');
    await get(5);
    const first = captureIo({ SERVICE_URL: backend.url });
    expect(await runScript(script, ['--state', state], first.io)).toBe(0);
    expect(first.stdout()).toContain('since the service started (no earlier snapshot, or the service restarted)');

    // The "day": 6 good requests and 4 failing ones, an hour later.
    await get(6);
    backend.faults.set({ storeUnavailable: true });
    await get(4);
    backend.faults.clear();
    clock.advance(3_600_000);
    const second = captureIo({ SERVICE_URL: backend.url });
    const code = await runScript(
      script,
      ['--state', state, '--incidents-db', database.connectionString, '--json'],
      second.io,
    );
    expect(second.stderr()).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(second.stdout()) as EveningSummary & { ok: boolean };
    expect(summary.window).toBe('the 1h since the previous snapshot');
    expect(summary.traffic).toMatchObject({ requests: 10, errors: 4, errorRate: 0.4 });
    expect(summary.traffic.p95Ms).toBeGreaterThan(0);
    const availability = summary.slos.find((slo) => slo.slo === 'notes/api-availability');
    expect(availability).toMatchObject({ events: 10, bad: 4, objective: 0.99 });
    expect(availability?.burnRate).toBeCloseTo(40, 6); // 40% errors against a 1% budget
    expect(availability?.budgetBurned).toBeCloseTo(40 / (30 * 24), 6); // one hour at 40× of a 30-day budget
    expect(summary.incidents?.metrics).toMatchObject({
      count: 2,
      open: 1,
      mttaMs: 120_000,
      mttrMs: 1_800_000,
      neverAcknowledged: 1,
    });
    expect(summary.incidents?.list.map((incident) => [incident.severity, incident.status])).toEqual(
      expect.arrayContaining([
        ['P1', 'resolved'],
        ['P3', 'triggered'],
      ]),
    );
  });

  it('prints tables for people when run as a file, and exits 1 naming the source when it cannot be read', async () => {
    const result = await runTsx('src/evening-summary.ts', ['--metrics-url', `${backend.url}/metrics`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^Evening summary \S+ — http:\/\/127\.0\.0\.1:\d+\/metrics, since the service started/,
    );
    expect(result.stdout).toMatch(/TRAFFIC\s+VALUE\nrequests\s+\d+/);
    expect(result.stdout).toMatch(
      /SLO\s+OBJECTIVE\s+EVENTS\s+BAD\s+BURN RATE\s+BUDGET BURNED\s+BUDGET LEFT\nnotes\/api-availability/,
    );
    const io = captureIo({});
    expect(
      await runScript(
        createEveningSummary(),
        ['--metrics-url', 'http://127.0.0.1:1/metrics', '--timeout', '2s'],
        io.io,
      ),
    ).toBe(1);
    expect(io.stderr()).toContain('evening-summary: cannot read http://127.0.0.1:1/metrics');
    const usage = captureIo({});
    expect(await runScript(createEveningSummary(), [], usage.io)).toBe(2);
    expect(usage.stderr()).toContain('give --metrics-url URL');
  });

  it('computes p95 from histogram buckets as histogram_quantile does', () => {
    expect(histogramQuantile(0.95, { '0.1': 50, '0.5': 90, '1': 100, '+Inf': 100 })).toBeCloseTo(0.75, 10);
    expect(histogramQuantile(0.5, { '0.1': 50, '+Inf': 100 })).toBeCloseTo(0.1, 10);
    expect(histogramQuantile(0.95, { '+Inf': 0 })).toBeNull();
  });
});
