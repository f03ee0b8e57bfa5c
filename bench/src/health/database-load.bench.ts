import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@ops/core';
import { createHealth, postgresProbe } from '@ops/health';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import { createTerminus } from '@godaddy/terminus';
import { createLightship } from 'lightship';
import pg from 'pg';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';
import { load } from './support.js';

const RATE = 1_000;
const DURATION_SECONDS = 10;
const POLL_MS = 5_000;

/** A pool whose connections' `query` calls are counted (what the application issued), on a database of its own. */
function countingPool(database: PostgresDatabase): { pool: pg.Pool; queries: () => number } {
  const pool = new pg.Pool({ connectionString: database.connectionString, max: 4 });
  let count = 0;
  pool.on('connect', (client) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      count++;
      return original(...args);
    };
  });
  return { pool, queries: () => count };
}

/** Committed transactions of `database` as the server counts them (after its backends exited and flushed). */
async function committedTransactions(admin: pg.Client, database: string): Promise<number> {
  let previous = -1;
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = await admin.query<{ xact_commit: string }>(
      'SELECT xact_commit FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    const value = Number(result.rows[0]?.xact_commit ?? 0);
    if (value === previous) return value;
    previous = value;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return previous;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Measured {
  serverCount: number;
  appQueries: number;
  requests: number;
}

async function measure(
  admin: pg.Client,
  run: (pool: pg.Pool) => Promise<{ url: string; stop: () => Promise<void> }>,
): Promise<Measured> {
  const database = await createPostgresDatabase();
  try {
    const { pool, queries } = countingPool(database);
    const before = await committedTransactions(admin, database.database);
    const { url, stop } = await run(pool);
    const result = await load(url, { connections: 10, durationSeconds: DURATION_SECONDS, overallRate: RATE });
    await stop();
    await pool.end();
    const after = await committedTransactions(admin, database.database);
    return { serverCount: after - before, appQueries: queries(), requests: result.requests };
  } finally {
    await database.dispose();
  }
}

const suite: BenchSuite = {
  name: 'health-database-load',
  description: `Database load of a readiness endpoint with a PostgreSQL check: autocannon at ~${RATE} req/s for ${DURATION_SECONDS} s on 127.0.0.1 against @ops/health (postgresProbe, polled every ${POLL_MS / 1000} s), @godaddy/terminus (healthChecks: SELECT 1 per request) and lightship (the documented pattern: the app polls SELECT 1 every ${POLL_MS / 1000} s and calls signalReady/signalNotReady). Each candidate gets a database of its own; the count is the server's pg_stat_database.xact_commit delta for that database read after the pool closed (every SELECT 1 is one committed transaction, and each new pool connection adds one), cross-checked by counting the pool's query() calls.`,
  async run(): Promise<BenchRow[]> {
    const probeDatabase = await createPostgresDatabase();
    const admin = new pg.Client({ connectionString: probeDatabase.adminConnectionString });
    await admin.connect();
    try {
      const ours = await measure(admin, async (pool) => {
        const health = createHealth({ startReady: true, shutdown: { signals: [] } });
        health.register({ name: 'db', check: postgresProbe({ pool }), mode: { every: POLL_MS } });
        const server = createServer(toNodeHandler(health.handler));
        const url = `${await listen(server)}/health/ready`;
        return {
          url,
          stop: async () => {
            health.close();
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
          },
        };
      });
      const terminus = await measure(admin, async (pool) => {
        const server = createServer((_request, response) => response.end('app'));
        createTerminus(server, {
          healthChecks: { '/health/ready': async () => void (await pool.query('SELECT 1')) },
          signals: [],
          useExit0: true,
        });
        const url = `${await listen(server)}/health/ready`;
        return {
          url,
          stop: async () => {
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
          },
        };
      });
      const lightship = await measure(admin, async (pool) => {
        const instance = await createLightship({
          detectKubernetes: false,
          port: 0,
          shutdownDelay: 0,
          terminate: () => undefined,
        });
        const poll = async () => {
          try {
            await pool.query('SELECT 1');
            instance.signalReady();
          } catch {
            instance.signalNotReady();
          }
        };
        await poll();
        const timer = setInterval(() => void poll(), POLL_MS);
        const port = (instance.server.address() as AddressInfo).port;
        return {
          url: `http://127.0.0.1:${port}/ready`,
          stop: async () => {
            clearInterval(timer);
            await instance.shutdown();
          },
        };
      });
      const group = `SELECT 1 executed at ~${RATE} req/s for ${DURATION_SECONDS} s`;
      const note = (name: string, measured: Measured) =>
        `${name}: ${measured.requests} requests, ${measured.appQueries} pool queries`;
      return [
        compareRow({
          group,
          metric: 'queries vs @godaddy/terminus',
          unit: 'queries',
          ours: stats([ours.serverCount]),
          peer: { ...stats([terminus.serverCount]), name: '@godaddy/terminus 4.12.1' },
          higherIsBetter: false,
          target: 'independent of request volume',
          notes: `${note('ours', ours)}; ${note('terminus', terminus)}`,
        }),
        compareRow({
          group,
          metric: 'queries vs lightship',
          unit: 'queries',
          ours: stats([ours.serverCount]),
          peer: { ...stats([lightship.serverCount]), name: 'lightship 9.0.4 (app polls every 5 s)' },
          higherIsBetter: false,
          notes: note('lightship', lightship),
        }),
      ];
    } finally {
      await admin.end();
      await probeDatabase.dispose();
    }
  },
};

export default suite;
