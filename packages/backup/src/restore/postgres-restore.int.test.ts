import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import { runBackup } from '../jobs/run-backup.js';
import type { BackupManifest } from '../manifest/manifest.js';
import { createPostgresSource } from '../sources/postgres-source.js';
import { createMemoryStorage, type MemoryStorage } from '../testing/memory-storage.js';
import { restorePostgres } from './postgres-restore.js';

// A restore that the target refuses midway must leave the target as it was: pg_restore runs in one transaction
// (when not parallel), and a database the restore created is dropped again.

let source: PostgresDatabase;
let target: PostgresDatabase;
let storage: MemoryStorage;
let backup: BackupManifest;
const role = `ops_restore_gone_${randomBytes(4).toString('hex')}`;

async function sql<T extends pg.QueryResultRow>(connectionString: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

const connection = (database: PostgresDatabase) => ({ host: database.host, port: database.port, user: database.user });

beforeAll(async () => {
  [source, target] = await Promise.all([
    createPostgresDatabase({ prefix: 'backup_restore_src' }),
    createPostgresDatabase({ prefix: 'backup_restore_dst' }),
  ]);
  // A dump whose second table belongs to a role that will not exist where it is restored: pg_restore fails midway.
  await sql(source.adminConnectionString, `CREATE ROLE ${role}`);
  await sql(
    source.connectionString,
    `CREATE TABLE a_first (id int, name text, email text, street text, city text, zip text, country text, note text);
     INSERT INTO a_first (id) VALUES (1); CREATE TABLE b_second (id int); ALTER TABLE b_second OWNER TO ${role};`,
  );
  storage = createMemoryStorage();
  backup = await runBackup({
    job: 'pg',
    storage,
    sources: [createPostgresSource({ ...connection(source), database: source.database })],
    lock: false,
  });
  expect(backup.state, backup.error).toBe('completed');
  await sql(source.connectionString, 'DROP TABLE b_second');
  await sql(source.adminConnectionString, `DROP ROLE ${role}`);
});

afterAll(async () => {
  await sql(source.adminConnectionString, `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await Promise.all([source?.dispose(), target?.dispose()]);
});

describe('a PostgreSQL restore refused midway leaves the target as it was', () => {
  it('an existing database gets none of the tables restored before the failure', async () => {
    await expect(
      restorePostgres({ storage, backup, target: { ...connection(target), database: target.database } }),
    ).rejects.toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringContaining(role) });
    expect(await sql(target.connectionString, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).toEqual(
      [],
    );
  });

  it("a failed pg_restore names pg_restore's own error line (here: the table already exists)", async () => {
    await sql(target.connectionString, 'CREATE TABLE a_first (id int)');
    try {
      const failure = await restorePostgres({
        storage,
        backup,
        target: { ...connection(target), database: target.database },
      }).catch((error: unknown) => error as Error);
      expect(failure).toMatchObject({ code: 'RESTORE_FAILED' });
      // The long "Command was: CREATE TABLE …" that follows must not push the reason out of the message.
      expect((failure as Error).message).toMatch(/ERROR: +relation "a_first" already exists/);
    } finally {
      await sql(target.connectionString, 'DROP TABLE a_first');
    }
  });

  it('a database created for the restore is dropped again', async () => {
    const created = `${target.database}_created`;
    await expect(
      restorePostgres({ storage, backup, target: { ...connection(target), database: created }, create: true }),
    ).rejects.toMatchObject({ code: 'RESTORE_FAILED' });
    expect(
      await sql(target.adminConnectionString, `SELECT datname FROM pg_database WHERE datname = '${created}'`),
    ).toEqual([]);
  });
});
