import { readdirSync, readFileSync } from 'node:fs';
import { createManualClock, createRecordingLogger } from '@ops/core/testing';
import { withDeadline } from '@ops/core';
import {
  createPostgresDatabase,
  startThrowawayPostgres,
  type PostgresDatabase,
  type ThrowawayPostgres,
} from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealth } from '../registry/health.js';
import { postgresProbe } from './postgres-probe.js';

let database: PostgresDatabase;
let admin: pg.Client;

beforeAll(async () => {
  database = await createPostgresDatabase();
  admin = new pg.Client({ connectionString: database.adminConnectionString });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await database?.dispose();
});

async function sleepingBackends(): Promise<number> {
  const result = await admin.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()`,
    [database.database],
  );
  return result.rows[0]?.count ?? 0;
}

async function eventually(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not met within the bounded wait');
}

describe('postgresProbe against a real PostgreSQL', () => {
  it('passes with SELECT 1 on the application pool and reports the response time', async () => {
    const pool = new pg.Pool({ connectionString: database.connectionString, max: 2 });
    try {
      const result = await withDeadline((signal) => postgresProbe({ pool })(signal), { timeoutMs: 2_000 });
      expect(result).toMatchObject({ status: 'pass', observedUnit: 'ms' });
      expect(typeof result.observed).toBe('number');
    } finally {
      await pool.end();
    }
  });

  it('a timed-out probe frees its slot in a pool of size 1 and the statement is cancelled on the server', async () => {
    const pool = new pg.Pool({ connectionString: database.connectionString, max: 1 });
    try {
      const hanging = postgresProbe({ pool, query: 'SELECT pg_sleep(30)', statementTimeout: '60s' });
      await expect(withDeadline((signal) => hanging(signal), { timeoutMs: 300 })).rejects.toMatchObject({
        code: 'CHECK_TIMEOUT',
      });
      // the next check still gets the single connection
      const next = await withDeadline((signal) => postgresProbe({ pool })(signal), { timeoutMs: 5_000 });
      expect(next.status).toBe('pass');
      expect(pool.totalCount).toBeLessThanOrEqual(1);
      // and the server is not left running the abandoned pg_sleep
      await eventually(async () => (await sleepingBackends()) === 0);
    } finally {
      await pool.end();
    }
  });

  it('enforces a real server-side statement timeout that does not leak into the pooled session', async () => {
    const pool = new pg.Pool({ connectionString: database.connectionString, max: 1 });
    try {
      const slow = postgresProbe({ pool, query: 'SELECT pg_sleep(5)', statementTimeout: '100ms' });
      await expect(withDeadline((signal) => slow(signal), { timeoutMs: 4_000 })).rejects.toThrow(/statement timeout/);
      const setting = await pool.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(setting.rows[0]?.statement_timeout).toBe('0');
      const fast = postgresProbe({ pool, statementTimeout: '100ms' });
      await withDeadline((signal) => fast(signal), { timeoutMs: 2_000 });
      expect(
        (await pool.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]?.statement_timeout,
      ).toBe('0');
    } finally {
      await pool.end();
    }
  });

  it('deep checks: connections vs max_connections, long-running queries, size', async () => {
    const pool = new pg.Pool({ connectionString: database.connectionString, max: 2 });
    const sleeper = new pg.Client({ connectionString: database.connectionString });
    await sleeper.connect();
    try {
      const healthy = await withDeadline(
        (signal) =>
          postgresProbe({ pool, deep: { longRunningQuery: '10m', maxDatabaseSizeBytes: 10 * 2 ** 30 } })(signal),
        { timeoutMs: 5_000 },
      );
      expect(healthy.status).toBe('pass');
      expect(healthy.details).toMatchObject({
        connectionsUsed: expect.any(Number),
        maxConnections: expect.any(Number),
        databaseSizeBytes: expect.any(Number),
        longRunningQueries: 0,
      });
      const crowded = await withDeadline(
        (signal) => postgresProbe({ pool, deep: { connectionsWarnRatio: 0.0001, connectionsFailRatio: 1.1 } })(signal),
        { timeoutMs: 5_000 },
      );
      expect(crowded.status).toBe('warn');
      expect(crowded.output).toMatch(/^connections \d+\/\d+/);
      const sleeping = sleeper.query('SELECT pg_sleep(3)').catch(() => undefined);
      const probe = postgresProbe({ pool, deep: { longRunningQuery: '200ms' } });
      await eventually(
        async () => (await withDeadline((signal) => probe(signal), { timeoutMs: 5_000 })).status === 'warn',
      );
      const long = await withDeadline((signal) => probe(signal), { timeoutMs: 5_000 });
      expect(long.output).toMatch(/queries running longer than 0.2s/);
      await sleeping;
    } finally {
      await sleeper.end();
      await pool.end();
    }
  });
});

describe('PostgreSQL faults through the health endpoint', () => {
  let cluster: ThrowawayPostgres;
  beforeAll(async () => {
    cluster = await startThrowawayPostgres();
  });
  afterAll(async () => {
    await cluster?.dispose();
  });

  it('answers fail while the server is stopped and recovers after it starts again', async () => {
    const pool = new pg.Pool({ connectionString: cluster.connectionString, max: 2, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => undefined);
    const clock = createManualClock();
    const health = createHealth({ clock, startReady: true, shutdown: { signals: [] } });
    health.register({ name: 'db', check: postgresProbe({ pool }), timeout: '1s', mode: { ttl: 1 } });
    try {
      expect((await health.ready()).status).toBe('pass');
      await cluster.stop();
      clock.advance(1);
      const down = await health.ready();
      expect(down.status).toBe('fail');
      expect(down.checks[0]?.output).toMatch(/ECONNREFUSED|terminat|connect/i);
      await cluster.start();
      await eventually(async () => {
        clock.advance(1);
        return (await health.ready()).status === 'pass';
      });
    } finally {
      health.close();
      await pool.end();
    }
  });

  it('a password in a connection error appears in no response body and no log line', async () => {
    const password = 'Sup3r-S3cret-pw';
    const logger = createRecordingLogger();
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port: 1,
      user: 'app',
      password,
      database: 'app',
      connectionTimeoutMillis: 1_000,
    });
    pool.on('error', () => undefined);
    const health = createHealth({ logger, startReady: true, shutdown: { signals: [] }, showDetails: () => true });
    health.register({ name: 'db', check: postgresProbe({ pool }) });
    // a driver that puts the DSN (and the bare password) in its error message, as some do
    health.register({
      name: 'legacy',
      check: async () => {
        throw new Error(
          `could not connect to postgres://app:${password}@127.0.0.1:1/app (password "${password}" rejected)`,
        );
      },
      secrets: [password],
    });
    try {
      const responses: string[] = [];
      for (const path of ['/health/ready?verbose', '/health/db', '/health/legacy', '/health']) {
        const response = await health.handler({
          method: 'GET',
          path: path.split('?')[0] as string,
          query: new URLSearchParams(path.split('?')[1] ?? ''),
          headers: {},
        });
        responses.push(String(response?.body));
      }
      const everything = responses.join('\n') + logger.text();
      expect(responses[0]).toContain('"status":"fail"');
      expect(responses[2]).toContain('[REDACTED]');
      expect(everything).not.toContain(password);
      expect(logger.records.length).toBeGreaterThan(0);
    } finally {
      health.close();
      await pool.end();
    }
  });

  // A frozen server: the postmaster and every backend stopped with SIGSTOP (connections open, nothing answers).
  function parentOf(pid: string): number | undefined {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return undefined; // the process ended meanwhile
    }
  }
  function clusterProcesses(): number[] {
    const postmaster = cluster.pid;
    const backends = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && parentOf(entry) === postmaster);
    return [postmaster, ...backends.map(Number)];
  }
  const freeze = () => {
    for (const pid of clusterProcesses()) process.kill(pid, 'SIGSTOP');
  };
  const thaw = () => {
    for (const pid of clusterProcesses()) process.kill(pid, 'SIGCONT');
  };

  it.each([
    // the pool the README used to show: no connectionTimeoutMillis, so a connection request waits forever
    ['max 10, no connectionTimeoutMillis', { max: 10 }, false],
    // the application holds both connections in hanging queries: the probe's pool.connect() has to wait
    ['max 2, both connections busy with the application', { max: 2 }, true],
  ] as const)(
    'a 60 s freeze polled every 1 s leaves at most one probe waiter in the pool (%s)',
    async (label, poolOptions, busy) => {
      const pool = new pg.Pool({ connectionString: cluster.connectionString, ...poolOptions });
      pool.on('error', () => undefined);
      const clock = createManualClock();
      const health = createHealth({ clock, startReady: true, shutdown: { signals: [] } });
      health.register({ name: 'db', check: postgresProbe({ pool }), timeout: '300ms', mode: { every: '1s' } });
      let maxWaiting = 0;
      let maxTotal = 0;
      const application: Array<Promise<unknown>> = [];
      try {
        await clock.advanceAsync(0);
        await eventually(async () => (await health.ready()).status === 'pass');
        freeze();
        if (busy)
          for (let index = 0; index < 2; index++) application.push(pool.query('SELECT 1').catch(() => undefined));
        for (let second = 0; second < 60; second++) {
          await clock.advanceAsync(1_000);
          await new Promise((resolve) => setTimeout(resolve, 10));
          maxWaiting = Math.max(maxWaiting, pool.waitingCount);
          maxTotal = Math.max(maxTotal, pool.totalCount);
          if (second > 0) expect((await health.ready()).status).toBe('fail');
        }
        expect(maxWaiting).toBeLessThanOrEqual(1);
        const report = await health.ready();
        expect(report.checks[0]?.output).toMatch(/^timed out, still pending: /);
        thaw();
        await Promise.all(application);
        await eventually(async () => {
          await clock.advanceAsync(1_000);
          return (await health.ready()).status === 'pass';
        });
        expect(pool.waitingCount).toBe(0);
      } finally {
        thaw();
        health.close();
        await pool.end();
      }
      console.info(
        `postgres freeze (${label}): max pool waitingCount over 60 polls = ${maxWaiting}, max totalCount = ${maxTotal}`,
      );
    },
  );
});
