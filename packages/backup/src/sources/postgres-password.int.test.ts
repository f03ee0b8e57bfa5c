import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayPostgres, type ThrowawayPostgres } from '@ops/testkit';
import { runBackup } from '../jobs/run-backup.js';
import { restorePostgres } from '../restore/postgres-restore.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { createPostgresSource } from './postgres-source.js';

// A server that really asks for the password (scram-sha-256 for every role but the superuser): the nameless passfile
// (fd 3) must authenticate pg_dump, its parallel workers, and pg_restore.

const ROLE = 'ops_secret';
const PASSWORD = 's3cr:et\\with \'quotes\'';
let server: ThrowawayPostgres;

async function admin(text: string, database = 'postgres'): Promise<void> {
  const client = new pg.Client({ connectionString: server.connectionString.replace(/\/postgres$/, `/${database}`) });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  server = await startThrowawayPostgres();
  await writeFile(join(server.dataDir, 'pg_hba.conf'), 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
  await admin('SELECT pg_reload_conf()');
  await admin(`CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
  await admin(`CREATE DATABASE app OWNER ${ROLE}`);
  const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: ROLE, password: PASSWORD, database: 'app' });
  await client.connect();
  await client.query(`CREATE TABLE one (id int); CREATE TABLE two (id int); INSERT INTO one SELECT generate_series(1, 1000); INSERT INTO two SELECT generate_series(1, 500);`);
  await client.end();
});

afterAll(async () => {
  await server?.dispose();
});

const as = (password: string) => ({ host: '127.0.0.1', port: server.port, user: ROLE, password });

describe('a server that asks for the password', () => {
  it('pg_dump with parallel workers and pg_restore authenticate through the passfile on fd 3', async () => {
    const storage = createMemoryStorage();
    const refused = await runBackup({ job: 'app', storage, sources: [createPostgresSource({ ...as('wrong'), database: 'app' })], lock: false });
    expect(refused.state).toBe('failed');
    expect(refused.error).toContain('password authentication failed');

    const manifest = await runBackup({ job: 'app', storage, sources: [createPostgresSource({ ...as(PASSWORD), database: 'app', format: 'directory', parallelJobs: 2 })], lock: false });
    expect(manifest.state, manifest.error).toBe('completed');
    expect(JSON.stringify(manifest)).not.toContain('s3cr');

    await restorePostgres({ storage, backup: manifest, target: { ...as(PASSWORD), database: 'app_restored' }, create: true, parallelJobs: 2 });
    const client = new pg.Client({ ...as(PASSWORD), database: 'app_restored' });
    await client.connect();
    expect((await client.query('SELECT (SELECT count(*) FROM one)::int AS one, (SELECT count(*) FROM two)::int AS two')).rows[0]).toEqual({ one: 1000, two: 500 });
    await client.end();
  });
});
