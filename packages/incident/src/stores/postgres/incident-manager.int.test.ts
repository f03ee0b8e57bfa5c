import { randomBytes } from 'node:crypto';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { describeIncidentManager } from '../../lifecycle/incident-manager.suite.js';
import { createPostgresIncidentStore } from './postgres-incident-store.js';

let database: PostgresDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'incident_manager' });
  pool = new pg.Pool({ connectionString: database.connectionString, max: 10 });
  // An idle client the server ends (the database is dropped at the end) must not be an unhandled error.
  pool.on('error', () => {});
});
afterAll(async () => {
  await pool?.end();
  await database?.dispose();
});

// Every lifecycle test of the in-memory store, against PostgreSQL (a fresh schema per store).
describeIncidentManager('postgres', () =>
  createPostgresIncidentStore({ pool, schema: `manager_${randomBytes(4).toString('hex')}` }),
);
