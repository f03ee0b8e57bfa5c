import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionContext } from './action-context.fixture.js';
import { createPgPoolHolder, resetPgPool } from './reset-pg-pool.js';

let database: PostgresDatabase;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'healing' });
}, 120_000);
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  await database?.dispose();
});

function holder() {
  return createPgPoolHolder(() => {
    const pool = new pg.Pool({ connectionString: database.connectionString, max: 4 });
    pool.on('error', () => undefined);
    pools.push(pool);
    return pool;
  });
}

describe('resetPgPool against PostgreSQL', () => {
  it('lets a query in flight finish on the old pool while new queries use the new one', async () => {
    const pools = holder();
    const old = pools.pool;
    const inFlight = old.query<{ done: string }>("SELECT pg_sleep(1.5), 'finished' AS done");
    // Wait until the query really runs on the server.
    for (let attempt = 0; attempt < 100 && old.totalCount - old.idleCount < 1; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const action = resetPgPool(pools, { drainDeadline: '20s' });
    const running = action.run(actionContext({ target: 'app-db' }));
    expect(pools.pool).not.toBe(old);
    const fresh = await pools.pool.query<{ one: number }>('SELECT 1 AS one');
    expect(fresh.rows[0]?.one).toBe(1);
    const outcome = await running;
    await expect(inFlight).resolves.toMatchObject({ rows: [{ done: 'finished' }] });
    expect(outcome?.data).toMatchObject({ inFlightAtSwap: 1, forcedClosed: 0, drainedInTime: true });
    expect(old.totalCount).toBe(0);
  });

  it('ends a query still running at the drain deadline and frees its backend', async () => {
    const pools = holder();
    const old = pools.pool;
    const stuck = old.query('SELECT pg_sleep(60)').then(
      () => 'finished',
      (error: Error) => error.message,
    );
    for (let attempt = 0; attempt < 100 && old.totalCount - old.idleCount < 1; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const outcome = await resetPgPool(pools, { drainDeadline: '300ms' }).run(actionContext());
    expect(outcome?.data).toMatchObject({ inFlightAtSwap: 1, forcedClosed: 1, drainedInTime: false });
    expect(await stuck).toMatch(/terminat/i);
    const sleeping = await pools.pool.query<{ count: string }>(
      "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND datname = current_database()",
    );
    expect(Number(sleeping.rows[0]?.count)).toBe(0);
  });
});
