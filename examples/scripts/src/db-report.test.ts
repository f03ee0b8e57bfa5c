// The weekly database report against a real PostgreSQL: a table with dead tuples, a query that runs long, the
// connection count — read in a READ ONLY transaction, with the URL's password never printed.
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbReport, type DatabaseReport } from './db-report.js';
import { runScript } from './lib/script.js';
import { captureIo, runTsx } from './testing/run.js';

const PASSWORD = 'Sup3r-Secret-Pw';
let database: PostgresDatabase;
let urlWithPassword: string;
let sleeper: pg.Client;
let sleeperPid: number;
let sleeping: Promise<unknown>;

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'dbreport' });
  // The local test server trusts loopback, so a password in the URL is accepted and ignored — as a leak test needs.
  const url = new URL(database.connectionString);
  url.password = PASSWORD;
  urlWithPassword = url.toString();
  const client = new pg.Client({ connectionString: database.connectionString });
  await client.connect();
  await client.query(`
    CREATE TABLE events (id bigserial PRIMARY KEY, payload text NOT NULL) WITH (autovacuum_enabled = false);
    INSERT INTO events (payload) SELECT repeat('x', 200) FROM generate_series(1, 20000);
    CREATE TABLE notes (id serial PRIMARY KEY, title text NOT NULL);
    INSERT INTO notes (title) SELECT 'note ' || n FROM generate_series(1, 100) AS n;
    DELETE FROM events WHERE id % 2 = 0;
    ANALYZE notes;`);
  await client.query('SELECT pg_stat_force_next_flush()');
  await client.end();
  // A query that is still running when the report looks.
  sleeper = new pg.Client({ connectionString: database.connectionString, application_name: 'slow-job' });
  await sleeper.connect();
  sleeperPid = (await sleeper.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
  sleeping = sleeper.query('SELECT pg_sleep(60)').catch(() => undefined);
});

afterAll(async () => {
  if (sleeper) {
    const admin = new pg.Client({ connectionString: database.connectionString });
    await admin.connect();
    await admin.query('SELECT pg_cancel_backend($1)', [sleeperPid]);
    await admin.end();
    await sleeping;
    await sleeper.end();
  }
  await database?.dispose();
});

async function waitForSleeper(): Promise<void> {
  const client = new pg.Client({ connectionString: database.connectionString });
  await client.connect();
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      const { rows } = await client.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [
        sleeperPid,
      ]);
      if (rows.length > 0) return;
      await client.query('SELECT pg_sleep(0.05)');
    }
    throw new Error('the sleeping query never showed up in pg_stat_activity');
  } finally {
    await client.end();
  }
}

describe('db-report', () => {
  it('reports size, largest tables, dead tuples, a long-running query and connection use, read-only, with --json', async () => {
    await waitForSleeper();
    const io = captureIo({ DATABASE_URL: urlWithPassword });
    const code = await runScript(dbReport, ['--long-query', '1ms', '--json'], io.io);
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    const { report, rows } = JSON.parse(io.stdout()) as {
      report: DatabaseReport;
      rows: Array<{ check: string; status: string; detail: string }>;
    };
    expect(report.database.readOnly).toBe(true); // SHOW transaction_read_only inside the report's transaction
    expect(report.database.name).toBe(database.database);
    expect(report.database.bytes).toBeGreaterThan(1_000_000);
    expect(report.largestTables[0]).toMatchObject({ schema: 'public', table: 'events' });
    expect(report.largestTables.map((table) => table.table)).toContain('notes');
    const events = report.bloat.find((table) => table.table === 'events');
    expect(events).toMatchObject({ dead: 10_000, live: 10_000 });
    expect(events?.deadRatio).toBeCloseTo(0.5, 5);
    expect(report.longQueries.find((query) => query.pid === sleeperPid)).toMatchObject({
      application: 'slow-job',
      state: 'active',
      query: 'SELECT pg_sleep(60)',
    });
    expect(report.connections.max).toBeGreaterThan(0);
    expect(report.connections.used).toBeGreaterThanOrEqual(2);
    expect(rows.find((row) => row.check === 'bloat')).toMatchObject({ status: 'warn' });
    expect(rows.find((row) => row.check === 'bloat')?.detail).toContain('public.events 50.0% dead');
    expect(rows.find((row) => row.check === 'long-running queries')).toMatchObject({ status: 'warn' });
    expect(io.stdout()).not.toContain(PASSWORD);
  });

  it('prints tables for people, and exits 1 when connection use passes --connections-fail — password never printed', async () => {
    const result = await runTsx('src/db-report.ts', ['--connections-fail', '0', '--connections-warn', '0'], {
      env: { DATABASE_URL: urlWithPassword },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Database \S+ on postgresql:\/\/\S+:\[REDACTED\]@127\.0\.0\.1/);
    expect(result.stdout).toMatch(/Largest tables\nTABLE\s+TOTAL\s+DATA\s+INDEXES\s+ROWS \(EST\.\)\npublic\.events/);
    expect(result.stdout).toMatch(/connections\s+FAIL\s+\d+ of \d+ usable/);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('exits 1 naming the server (without its password) when the database cannot be reached, and 2 without a URL', async () => {
    const io = captureIo({});
    expect(
      await runScript(
        dbReport,
        ['--database-url', `postgresql://ops:${PASSWORD}@127.0.0.1:1/none`, '--statement-timeout', '2s'],
        io.io,
      ),
    ).toBe(1);
    expect(io.stderr()).toContain('db-report: cannot read postgresql://ops:[REDACTED]@127.0.0.1:1/none');
    expect(io.stderr()).not.toContain(PASSWORD);
    const missing = captureIo({});
    expect(await runScript(dbReport, [], missing.io)).toBe(2);
    expect(missing.stderr()).toContain('--database-url (or DATABASE_URL) is required');
  });
});
