import { randomBytes } from 'node:crypto';
import { runStoreContract } from '@ops/core/testing';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentStoreContract, sampleIncident } from '../../testing/incident-store-contract.js';
import { INCIDENT_MIGRATIONS, migrateIncidentSchema } from './migrations.js';
import { createPostgresIncidentStore } from './postgres-incident-store.js';

let database: PostgresDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'incident_store' });
  pool = new pg.Pool({ connectionString: database.connectionString, max: 20 });
  // An idle client the server ends (the database is dropped at the end) must not be an unhandled error.
  pool.on('error', () => {});
});
afterAll(async () => {
  await pool?.end();
  await database?.dispose();
});

runStoreContract(
  incidentStoreContract,
  {
    name: 'postgres',
    create: () => {
      const schema = `contract_${randomBytes(4).toString('hex')}`;
      const store = createPostgresIncidentStore({ pool, schema });
      return {
        store,
        advance: async () => {},
        close: async () => {
          await store.close();
          await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        },
      };
    },
  },
  { describe, it },
);

describe('PostgreSQL incident store', () => {
  it('applies its migrations once, also when replicas start together', async () => {
    const schema = `migrate_${randomBytes(4).toString('hex')}`;
    const results = await Promise.all(Array.from({ length: 4 }, () => migrateIncidentSchema(pool, { schema })));
    expect(results.flat()).toEqual(INCIDENT_MIGRATIONS.map((migration) => migration.version));
    const { rows } = await pool.query(`SELECT version FROM "${schema}".migrations`);
    expect(rows.map((row: { version: number }) => row.version).sort()).toEqual(
      INCIDENT_MIGRATIONS.map((migration) => migration.version),
    );
    expect(await migrateIncidentSchema(pool, { schema })).toEqual([]);
    const indexes = await pool.query(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'incidents_open_dedup_key'`,
      [schema],
    );
    expect(indexes.rows[0].indexdef).toMatch(
      /UNIQUE INDEX .* \(service, dedup_key\) WHERE \(status <> ALL \(ARRAY\['resolved'::text, 'closed'::text\]\)\)/,
    );
  });

  it('refuses to change or delete timeline events, in the database itself', async () => {
    const schema = `append_${randomBytes(4).toString('hex')}`;
    const store = createPostgresIncidentStore({ pool, schema });
    const incident = sampleIncident({ id: 'INC-2026-0113-001' });
    await store.transaction(async (transaction) => {
      await transaction.insertIncident(incident);
      await transaction.appendTimeline([
        {
          id: '00000000-0000-4000-8000-000000000001',
          incidentId: incident.id,
          at: 1,
          kind: 'note',
          actor: { type: 'user', id: 'a' },
          description: 'x',
          visibility: 'internal',
        },
      ]);
    });
    await expect(pool.query(`UPDATE "${schema}".timeline_events SET description = 'changed'`)).rejects.toThrow(
      'the incident timeline is append-only',
    );
    await expect(pool.query(`DELETE FROM "${schema}".timeline_events`)).rejects.toThrow(
      'the incident timeline is append-only',
    );
  });

  it('prefetch reads a batch ahead and takes its numbers, giving back those not handed out (no gaps)', async () => {
    const schema = `prefetch_${randomBytes(4).toString('hex')}`;
    const store = createPostgresIncidentStore({ pool, schema });
    const day = '2026-0113';
    const T0 = Date.UTC(2026, 0, 13, 9);
    await store.transaction(async (transaction) => {
      const { daySequence } = await transaction.nextIncidentNumber(day);
      await transaction.insertIncident(sampleIncident({ id: `INC-${day}-00${daySequence}`, dedupKey: 'open' }));
    });
    const keys = ['open', 'new-1', 'new-2', 'acknowledge-only'].map((dedupKey) => ({
      service: 'checkout',
      dedupKey,
      alertKeys: [dedupKey],
      mayCreate: dedupKey !== 'acknowledge-only',
    }));
    const taken = await store.transaction(async (transaction) => {
      for (const key of keys) await transaction.lockDedupKey(key.service, key.dedupKey);
      await transaction.prefetch!({ keys, create: { dayKey: day, at: T0 } });
      expect((await transaction.findOpenIncident('checkout', 'open'))?.id).toBe(`INC-${day}-001`);
      expect(await transaction.findOpenIncident('checkout', 'new-1')).toBeUndefined();
      expect(await transaction.findLatestIncident('checkout', 'new-1')).toBeUndefined();
      expect(await transaction.listSilences({ endsAfter: T0 })).toEqual([]);
      // Two numbers were taken ahead (new-1, new-2); only one is handed out.
      return transaction.nextIncidentNumber(day);
    });
    expect(taken).toEqual({ number: 2, daySequence: 2 });
    expect(await store.transaction((transaction) => transaction.nextIncidentNumber(day))).toEqual({
      number: 3,
      daySequence: 3,
    });
    // Rolled back: what prefetch took is back too; another day in the same transaction: the numbers ahead go back first.
    await expect(
      store.transaction(async (transaction) => {
        await transaction.prefetch!({ keys, create: { dayKey: day, at: T0 } });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const mixed = await store.transaction(async (transaction) => {
      await transaction.prefetch!({ keys, create: { dayKey: day, at: T0 } });
      return [await transaction.nextIncidentNumber(day), await transaction.nextIncidentNumber('2026-0114')];
    });
    expect(mixed).toEqual([
      { number: 4, daySequence: 4 },
      { number: 5, daySequence: 1 },
    ]);
    const counters = await pool.query(`SELECT scope, value FROM "${schema}".counters ORDER BY scope`);
    expect(counters.rows.map((row: { scope: string; value: string }) => [row.scope, Number(row.value)])).toEqual([
      ['day:2026-0113', 4],
      ['day:2026-0114', 1],
      ['number', 5],
    ]);
  });

  it('refuses a schema name that is not a plain identifier, and a pool that is not one', () => {
    expect(() => createPostgresIncidentStore({ pool, schema: 'x; DROP TABLE y' })).toThrow(
      /schema must be a plain identifier/,
    );
    expect(() => createPostgresIncidentStore({ pool: {} as never })).toThrow(/pool must be a pg Pool/);
  });

  it('reports a lost connection as STORE_FAILED', async () => {
    const broken = new pg.Pool({
      connectionString: database.connectionString.replace(/:\d+\//, ':1/'),
      connectionTimeoutMillis: 2000,
    });
    const store = createPostgresIncidentStore({ pool: broken, schema: 'never' });
    await expect(store.listIncidents()).rejects.toMatchObject({ code: 'STORE_FAILED' });
    await broken.end();
  });
});
