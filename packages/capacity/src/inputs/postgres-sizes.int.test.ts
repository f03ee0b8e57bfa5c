import { createManualClock } from '@ops/core';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityError } from '../errors.js';
import { timeToExhaustion } from '../planning/exhaustion.js';
import { createPostgresSizeRecorder } from './postgres-sizes.js';

let database: PostgresDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'capacity' });
  pool = new pg.Pool({ connectionString: database.connectionString, max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await database?.dispose();
});

describe('PostgreSQL size recorder (real server)', () => {
  it('records database and largest-table sizes over time into the chosen table; the growth gives a time to exhaustion', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const recorder = createPostgresSizeRecorder({ client: pool, table: 'capacity.sizes', largestTables: 5, clock });
    await pool.query('CREATE SCHEMA capacity');
    await recorder.ensureTable();
    await recorder.ensureTable(); // idempotent
    await pool.query('CREATE TABLE orders (id bigserial PRIMARY KEY, payload text NOT NULL)');
    for (let day = 0; day < 5; day++) {
      await pool.query("INSERT INTO orders (payload) SELECT repeat('x', 500) FROM generate_series(1, 4000)");
      const recording = await recorder.record();
      expect(recording.tables[0]?.name).toBe('public.orders');
      expect(recording.tables.map((entry) => entry.name)).not.toContain('capacity.sizes');
      clock.advance(86_400_000);
    }
    const size = await recorder.series();
    expect(size.values).toHaveLength(5);
    expect(size.values[4]!).toBeGreaterThan(size.values[0]!);
    const orders = await recorder.series({ relation: 'public.orders' });
    expect(orders.values).toHaveLength(5);
    const perDay = (orders.values[4]! - orders.values[0]!) / 4;
    expect(perDay).toBeGreaterThan(1_500_000); // ~2 MB of rows a day
    const exhaustion = timeToExhaustion(orders, { capacity: orders.values[4]! + 10 * perDay });
    expect(exhaustion.status).toBe('growing');
    expect((exhaustion.remainingMs as number) / 86_400_000).toBeGreaterThan(8);
    expect((exhaustion.remainingMs as number) / 86_400_000).toBeLessThan(12);
    const rows = await pool.query('SELECT count(*)::int AS n FROM capacity.sizes');
    expect(rows.rows[0].n).toBeGreaterThan(5);
  });

  it('refuses an unsafe table name, and reports a failed query as SOURCE_FAILED', async () => {
    expect(() => createPostgresSizeRecorder({ client: pool, table: 'sizes; DROP TABLE x' })).toThrow(/table: expected/);
    const recorder = createPostgresSizeRecorder({ client: pool, table: 'missing_table' });
    await expect(recorder.series()).rejects.toSatisfy((error: unknown) =>
      CapacityError.hasCode(error, 'SOURCE_FAILED'),
    );
  });
});
