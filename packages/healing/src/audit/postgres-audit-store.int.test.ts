import { runStoreContract } from '@ops/core/testing';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditStoreContract } from '../testing/audit-store-contract.js';
import { createPostgresAuditStore } from './postgres-audit-store.js';

let database: PostgresDatabase;
let pool: pg.Pool;
let schemas = 0;
beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'healing_audit' });
  pool = new pg.Pool({ connectionString: database.connectionString, max: 6 });
});
afterAll(async () => {
  await pool?.end();
  await database?.dispose();
});

runStoreContract(
  auditStoreContract,
  {
    name: 'postgres',
    create: () => ({
      store: createPostgresAuditStore({ pool, schema: `audit_${++schemas}` }),
      advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }),
  },
  { describe, it },
);

describe('PostgreSQL audit store', () => {
  it('applies its migration once when replicas start together, and the table is append-only', async () => {
    const stores = Array.from({ length: 4 }, () => createPostgresAuditStore({ pool, schema: 'shared_audit' }));
    await Promise.all(
      stores.map((store, index) =>
        store.append({ at: index, kind: 'action.skipped', rule: 'r', target: 't', instanceId: `i${index}` }),
      ),
    );
    expect(await stores[0]!.list()).toHaveLength(4);
    await expect(pool.query('UPDATE shared_audit.audit_records SET rule = $1', ['x'])).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM shared_audit.audit_records')).rejects.toThrow(/append-only/);
    await expect(pool.query('TRUNCATE shared_audit.audit_records')).rejects.toThrow(/append-only/);
    expect(await stores[1]!.list()).toHaveLength(4);
  });
});
