import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabase, createRedisNamespace, type PostgresDatabase, type RedisNamespace } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from './backend.js';
import { runDemo } from './demo.js';
import { createShiftableClock } from './shiftable-clock.js';

let database: PostgresDatabase;
let restoreTarget: PostgresDatabase;
let demoDatabase: PostgresDatabase;
let redis: RedisNamespace;
let directory: string;
let backend: ReferenceBackend;
const clock = createShiftableClock();

beforeAll(async () => {
  [database, restoreTarget, demoDatabase, redis] = await Promise.all([
    createPostgresDatabase(),
    createPostgresDatabase(),
    createPostgresDatabase(),
    createRedisNamespace(),
  ]);
  directory = await mkdtemp(join(tmpdir(), 'ops-reference-int-'));
  backend = await startReferenceBackend({
    config: {
      port: 0,
      databaseUrl: database.connectionString,
      redisUrl: redis.url,
      backupDirectory: join(directory, 'backups'),
      drainDelay: 0,
      adminEnabled: true,
    },
    clock,
    sloEvaluateEvery: false,
    signals: [],
    exit: () => undefined,
  });
});

afterAll(async () => {
  await backend?.shutdown('test finished');
  await Promise.all([database?.dispose(), restoreTarget?.dispose(), demoDatabase?.dispose(), redis?.dispose()]);
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function body(response: Response): Promise<any> {
  return JSON.parse(await response.text());
}

describe('reference backend on PostgreSQL and Redis', () => {
  const titles = ['first', 'second', 'third'];
  const ids: string[] = [];

  it('stores notes in the notes table and caches single reads in Redis', async () => {
    expect(backend.storeKind).toBe('postgres');
    expect(backend.cacheKind).toBe('redis');
    for (const title of titles) {
      const response = await fetch(`${backend.url}/notes`, {
        method: 'POST',
        body: JSON.stringify({ title, body: `${title} body` }),
      });
      expect(response.status).toBe(201);
      ids.push((await body(response)).id);
    }
    const client = new pg.Client({ connectionString: database.connectionString });
    await client.connect();
    try {
      const rows = (await client.query<{ title: string }>('SELECT title FROM notes ORDER BY created_at, title')).rows;
      expect(rows.map((row) => row.title).sort()).toEqual([...titles].sort());
    } finally {
      await client.end();
    }
    const miss = await fetch(`${backend.url}/notes/${ids[0]}`);
    expect(miss.headers.get('x-cache')).toBe('miss');
    const note = await body(miss);
    const hit = await fetch(`${backend.url}/notes/${ids[0]}`);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(await body(hit)).toEqual(note);
    const cached = await redis.client().get(`notes:${ids[0]}`);
    expect(JSON.parse(cached ?? 'null')).toEqual(note);
    const listed = await body(await fetch(`${backend.url}/notes?limit=10`));
    expect(listed.notes).toHaveLength(3);
  });

  it('serves live, startup and readiness with real PostgreSQL and Redis probes', async () => {
    expect((await fetch(`${backend.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${backend.url}/health/startup`)).status).toBe(200);
    const ready = await fetch(`${backend.url}/health/ready?verbose`);
    expect(ready.status).toBe(200);
    const document = await body(ready);
    const statuses = Object.fromEntries(
      Object.entries(document.checks as Record<string, Array<{ status: string }>>).map(([key, [entry]]) => [
        key.split(':')[0],
        entry?.status,
      ]),
    );
    expect(statuses).toMatchObject({ 'notes-store': 'pass', postgres: 'pass', redis: 'pass', memory: 'pass' });
    // No backup yet: the freshness check is registered as non-critical, so readiness only warns.
    expect(statuses['backup-freshness']).toBe('fail');
    expect(document.status).toBe('warn');
    const drill = await fetch(`${backend.url}/health/postgres`);
    expect(drill.status).toBe(200);
  });

  it('exports SLO and HTTP metrics for Prometheus', async () => {
    const text = await (await fetch(`${backend.url}/metrics`)).text();
    expect(text).toMatch(/^ops_slo_events_total\{service="notes",slo="api-availability"\} \d+$/m);
    expect(text).toMatch(/^ops_slo_good_events_total\{service="notes",slo="api-latency"\} \d+$/m);
    expect(text).toMatch(/^http_requests_total\{route="\/notes",method="POST",code="201"\} 3$/m);
  });

  it('backs the database up with pg_dump, verifies it, and restores the notes table into a fresh database', async () => {
    const outcome = await backend.backupNow();
    expect(outcome.ok).toBe(true);
    expect(outcome.manifest.state).toBe('completed');
    expect(outcome.manifest.sources).toHaveLength(1);
    expect(outcome.manifest.sources[0]).toMatchObject({ kind: 'postgres', state: 'completed' });
    expect(outcome.manifest.sources[0]?.artifacts[0]?.format).toBe('pg-custom');
    expect(outcome.verification).toMatchObject({ level: 'full-read', ok: true });

    clock.skip(6_000); // past the check's 5 s result cache (it failed at the readiness call above)
    const freshness = await backend.health.check('backup-freshness');
    expect(freshness.checks[0]?.status).toBe('pass');

    const restored = await backend.backups.restoreInto({
      connectionString: restoreTarget.connectionString,
      database: restoreTarget.database,
      create: false,
    });
    expect(restored.backupId).toBe(outcome.manifest.id);
    expect(restored.notes.map((note) => note.id).sort()).toEqual([...ids].sort());
    expect(restored.notes.map((note) => note.title).sort()).toEqual([...titles].sort());
    const client = new pg.Client({ connectionString: restoreTarget.connectionString });
    await client.connect();
    try {
      expect(
        Number((await client.query<{ count: string }>('SELECT count(*) AS count FROM notes')).rows[0]?.count),
      ).toBe(3);
    } finally {
      await client.end();
    }
  });

  it('runs the demo scenario against PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set', async () => {
    const capacityDirectory = await mkdtemp(join(tmpdir(), 'ops-reference-capacity-'));
    const result = await runDemo({
      environment: { DATABASE_URL: demoDatabase.connectionString, REDIS_URL: redis.url },
      capacityDirectory,
    });
    await rm(capacityDirectory, { recursive: true, force: true });
    expect(result.steps.filter((step) => !step.ok).map((step) => `${step.name}: ${step.summary}`)).toEqual([]);
    expect(result).toMatchObject({ ok: true, store: 'postgres', cache: 'redis' });
    const restore = result.steps.find((step) => step.name === 'restore');
    expect(restore?.summary).toMatch(/into database notes_restore_[0-9a-f]{8}: (\d+) notes, identical to the \1 live/);
    // Incidents in PostgreSQL, healing state and audit in Redis: the same story.
    expect(result.steps.find((step) => step.name === 'start')?.summary).toMatch(/healing state: redis/);
    expect(result.steps.find((step) => step.name === 'incident')?.data).toMatchObject({
      incident: { severity: 'P0', dedupKey: 'notes:degraded' },
    });
    const admin = new pg.Client({ connectionString: demoDatabase.adminConnectionString });
    await admin.connect();
    try {
      const leftovers = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'notes_restore_%'");
      expect(leftovers.rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});
