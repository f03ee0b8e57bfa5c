import { spawnSync } from 'node:child_process';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TestkitError } from '../errors.js';
import { findFreePort } from '../process/process-utilities.js';
import { createPostgresDatabase, locatePostgresServer } from './postgres-database.js';
import type { PostgresDatabase } from './postgres-database.js';

async function query<Row extends pg.QueryResultRow>(connectionString: string, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe('createPostgresDatabase', () => {
  let database: PostgresDatabase;
  beforeAll(async () => {
    database = await createPostgresDatabase({ prefix: 'testkit' });
  });
  afterAll(() => database.dispose());

  it('connects to a real PostgreSQL server in a database of its own', async () => {
    const [row] = await query<{ version: string; name: string }>(
      database.connectionString,
      'SELECT version() AS version, current_database() AS name',
    );
    expect(row?.version).toMatch(/^PostgreSQL \d+/);
    expect(row?.name).toBe(database.database);
    expect(database.database).toMatch(/^ops_test_testkit_\d+_[0-9a-f]{8}$/);
    expect(database.port).toBeGreaterThan(0);
    expect(database.user).toBe('postgres');
  });

  it('gives every call a different database and drops it on dispose, even with a client still connected', async () => {
    const other = await createPostgresDatabase();
    expect(other.database).not.toBe(database.database);
    const lingering = new pg.Client({ connectionString: other.connectionString });
    lingering.on('error', () => undefined);
    await lingering.connect();
    await lingering.query('CREATE TABLE kept (id int)');

    await other.dispose();
    await other.dispose();

    const rows = await query(other.adminConnectionString, 'SELECT 1 FROM pg_database WHERE datname = $1', [
      other.database,
    ]);
    expect(rows).toHaveLength(0);
    await expect(lingering.query('SELECT 1')).rejects.toThrow();
    await lingering.end().catch(() => undefined);
  });

  it('names sibling databases on the same server and drops them on dispose, created or not', async () => {
    const owner = await createPostgresDatabase({ prefix: 'siblings' });
    const restored = owner.sibling('restored');
    const unused = owner.sibling('unused');
    expect(restored.database).toBe(`${owner.database}_restored`);
    await query(owner.adminConnectionString, `CREATE DATABASE "${restored.database}"`);
    const [row] = await query<{ name: string }>(restored.connectionString, 'SELECT current_database() AS name');
    expect(row?.name).toBe(restored.database);

    await owner.dispose();
    const rows = await query(owner.adminConnectionString, 'SELECT 1 FROM pg_database WHERE datname = ANY($1)', [
      [owner.database, restored.database, unused.database],
    ]);
    expect(rows).toHaveLength(0);
  });
});

describe('createPostgresDatabase under contention', () => {
  it('creates several databases at the same moment (CREATE DATABASE contends for template1)', async () => {
    const databases = await Promise.all(
      Array.from({ length: 4 }, () => createPostgresDatabase({ prefix: 'parallel' })),
    );
    try {
      expect(new Set(databases.map((database) => database.database)).size).toBe(4);
      for (const database of databases) {
        const [row] = await query<{ name: string }>(database.connectionString, 'SELECT current_database() AS name');
        expect(row?.name).toBe(database.database);
      }
    } finally {
      await Promise.all(databases.map((database) => database.dispose()));
    }
  });
});

describe('locatePostgresServer', () => {
  it('uses OPS_TEST_DATABASE_URL first and names it, without the password, when it does not answer', async () => {
    const port = await findFreePort();
    const failure = await locatePostgresServer({
      OPS_TEST_DATABASE_URL: `postgresql://postgres:hunter2@127.0.0.1:${port}/postgres`,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TestkitError);
    expect((failure as TestkitError).code).toBe('SERVICE_UNAVAILABLE');
    expect((failure as TestkitError).message).toContain('OPS_TEST_DATABASE_URL=postgresql://postgres:***@127.0.0.1');
    expect((failure as TestkitError).message).not.toContain('hunter2');
  });

  it('drops databases left on the local server by test processes that no longer exist', async () => {
    const server = await locatePostgresServer({});
    if (server.source !== 'local') {
      await server.throwaway?.dispose();
      expect(server.source).toBe('throwaway');
      return;
    }
    const ended = spawnSync(process.execPath, ['-e', '']);
    const leftover = `ops_test_leftover_${ended.pid}_0badc0de`;
    const live = `ops_test_leftover_${process.pid}_0badc0de`;
    await query(server.adminConnectionString, `CREATE DATABASE ${leftover}`);
    await query(server.adminConnectionString, `CREATE DATABASE ${live}`);
    try {
      await locatePostgresServer({});
      const names = await query<{ datname: string }>(
        server.adminConnectionString,
        "SELECT datname FROM pg_database WHERE datname LIKE 'ops\\_test\\_leftover\\_%'",
      );
      expect(names.map((row) => row.datname)).toEqual([live]);
    } finally {
      await query(server.adminConnectionString, `DROP DATABASE IF EXISTS ${leftover}`);
      await query(server.adminConnectionString, `DROP DATABASE IF EXISTS ${live}`);
    }
  });

  it('accepts a working OPS_TEST_DATABASE_URL as is', async () => {
    const database = await createPostgresDatabase();
    try {
      const server = await locatePostgresServer({ OPS_TEST_DATABASE_URL: database.connectionString });
      expect(server).toEqual({ adminConnectionString: database.connectionString, source: 'environment' });
    } finally {
      await database.dispose();
    }
  });
});

describe('locatePostgresServer without a local server', () => {
  it('falls back to a throwaway cluster started from the local binaries', async () => {
    const deadPort = await findFreePort();
    const server = await locatePostgresServer({}, `postgresql://postgres@127.0.0.1:${deadPort}/postgres`);
    try {
      expect(server.source).toBe('throwaway');
      const [row] = await query<{ version: string }>(server.adminConnectionString, 'SELECT version() AS version');
      expect(row?.version).toMatch(/^PostgreSQL/);
    } finally {
      await server.throwaway?.dispose();
    }
  });
});
