import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCALE_OUT_ALERTS_PER_KEY, SCALE_OUT_KEYS } from './scale-out-alerts.js';

const worker = fileURLToPath(new URL('./ingest-worker.fixture.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('../../..', import.meta.url));
const REPLICAS = 4;

let database: PostgresDatabase;
beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'incident_scale' });
});
afterAll(() => database?.dispose());

interface WorkerReport {
  actions: Record<string, number>;
  applied?: number;
  ms: number;
}

function startWorker(seed: number, schema = 'scale_out', mode?: 'inbox') {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', worker, database.connectionString, schema, String(seed), ...(mode ? [mode] : [])],
    {
      cwd: packageDir,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<WorkerReport>((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout) as WorkerReport)
        : reject(new Error(`worker ${seed} exited with ${code}: ${stderr}`)),
    );
  });
  return { child, done };
}

/** One incident per dedup key with every occurrence of every alert counted, numbered without gaps. */
async function expectOneIncidentPerKey(schema: string) {
  const client = new pg.Client({ connectionString: database.connectionString });
  await client.connect();
  try {
    const incidents = await client.query<{ dedup_key: string; count: string; occurrences: string }>(
      `SELECT dedup_key, count(*) AS count, sum(occurrences) AS occurrences FROM ${schema}.incidents GROUP BY dedup_key`,
    );
    expect(incidents.rows).toHaveLength(SCALE_OUT_KEYS);
    for (const row of incidents.rows) {
      expect(Number(row.count)).toBe(1);
      expect(Number(row.occurrences)).toBe(REPLICAS * SCALE_OUT_ALERTS_PER_KEY);
    }
    const alerts = await client.query<{ count: string; occurrences: string }>(
      `SELECT count(*) AS count, sum(occurrences) AS occurrences FROM ${schema}.alerts`,
    );
    expect(Number(alerts.rows[0]!.count)).toBe(SCALE_OUT_KEYS * SCALE_OUT_ALERTS_PER_KEY);
    expect(Number(alerts.rows[0]!.occurrences)).toBe(REPLICAS * SCALE_OUT_KEYS * SCALE_OUT_ALERTS_PER_KEY);
    const triggered = await client.query<{ count: string }>(
      `SELECT count(*) AS count FROM ${schema}.timeline_events WHERE kind = 'triggered'`,
    );
    expect(Number(triggered.rows[0]!.count)).toBe(SCALE_OUT_KEYS);
    const ids = await client.query<{ id: string }>(`SELECT id FROM ${schema}.incidents ORDER BY number`);
    expect(ids.rows.map((row) => row.id)).toEqual(
      Array.from({ length: SCALE_OUT_KEYS }, (_, index) =>
        expect.stringMatching(new RegExp(`^INC-\\d{4}-\\d{4}-${String(index + 1).padStart(3, '0')}$`)),
      ),
    );
  } finally {
    await client.end();
  }
}

describe('scale-out on one PostgreSQL', () => {
  it(`${REPLICAS} processes ingesting the same 1,000 alerts at once: one incident per dedup key, every occurrence counted`, async () => {
    const workers = Array.from({ length: REPLICAS }, (_, index) => startWorker(index + 1));
    // Let every process load and connect, then release them together.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const { child } of workers) child.stdin.end('go\n');
    const reports = await Promise.all(workers.map((entry) => entry.done));

    const created = reports.reduce((sum, report) => sum + (report.actions['created'] ?? 0), 0);
    const appended = reports.reduce((sum, report) => sum + (report.actions['appended'] ?? 0), 0);
    expect(created).toBe(SCALE_OUT_KEYS);
    expect(created + appended).toBe(REPLICAS * SCALE_OUT_KEYS * SCALE_OUT_ALERTS_PER_KEY);

    await expectOneIncidentPerKey('scale_out');
    const slowest = Math.max(...reports.map((report) => report.ms));
    console.log(
      `scale-out: ${REPLICAS} replicas × 1,000 alerts in ${Math.round(slowest)} ms (${Math.round((REPLICAS * 1000) / (slowest / 1000))} events/s overall)`,
    );
  }, 120_000);
  it(`${REPLICAS} processes in inbox mode queueing the same 1,000 alerts at once, one applier at a time: the same result`, async () => {
    const workers = Array.from({ length: REPLICAS }, (_, index) => startWorker(index + 11, 'scale_inbox', 'inbox'));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const { child } of workers) child.stdin.end('go\n');
    const reports = await Promise.all(workers.map((entry) => entry.done));
    const queued = reports.reduce((sum, report) => sum + (report.actions['queued'] ?? 0), 0);
    expect(queued).toBe(REPLICAS * SCALE_OUT_KEYS * SCALE_OUT_ALERTS_PER_KEY);
    await expectOneIncidentPerKey('scale_inbox');
    const client = new pg.Client({ connectionString: database.connectionString });
    await client.connect();
    try {
      const left = await client.query<{ count: string }>('SELECT count(*) AS count FROM scale_inbox.ingest_inbox');
      expect(Number(left.rows[0]!.count)).toBe(0);
    } finally {
      await client.end();
    }
  }, 120_000);
});
