import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { TestkitError } from '../errors.js';
import { isProcessAlive } from '../process/process-utilities.js';
import { describeError, redactUrl } from '../redact-url.js';
import { POSTGRES_INSTALL_HINT } from './postgres-binaries.js';
import { startThrowawayPostgres } from './throwaway-postgres.js';
import type { ThrowawayPostgres } from './throwaway-postgres.js';

/** The usual local server of the development machines. */
export const LOCAL_POSTGRES_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Options of {@link createPostgresDatabase}. */
export interface CreatePostgresDatabaseOptions {
  /** Word put in the database name (`ops_test_<prefix>_<pid>_<random>`), letters/digits/underscore. Defaults to `db`. */
  prefix?: string;
}

/** A database created for one test file; see {@link createPostgresDatabase}. */
export interface PostgresDatabase {
  /** Connection string of the new database (same server, role and password as the admin connection). */
  connectionString: string;
  /** Name of the new database. */
  database: string;
  /** Server host (a directory for unix-socket connections). */
  host: string;
  /** Server port. */
  port: number;
  /** Role the connection string uses. */
  user: string;
  /** Connection string of the server's maintenance database, for tests that create more databases. */
  adminConnectionString: string;
  /**
   * The name `<database>_<suffix>` for a further database the test creates on the same server (a restore target,
   * say), and its connection string; `dispose()` drops it too, whether or not it was created.
   */
  sibling(suffix: string): { database: string; connectionString: string };
  /** Terminates the database's backends and drops it, and its siblings. Safe to call twice. */
  dispose(): Promise<void>;
}

/** Where {@link resolvePostgresServer} found a server. */
export interface PostgresServer {
  /** Connection string of a database on that server whose role may CREATE DATABASE. */
  adminConnectionString: string;
  /** Which step of the resolution order answered. */
  source: 'environment' | 'local' | 'throwaway';
  /** The cluster started for this process when `source` is `'throwaway'` (ended at exit). */
  throwaway?: ThrowawayPostgres;
}

let serverPromise: Promise<PostgresServer> | undefined;

/**
 * Runs `text` (one or several statements) on a fresh connection to `connectionString` and resolves with the rows of
 * the last result. For test set-up and checks, not for code under test.
 *
 * @example
 * ```ts
 * const [row] = await queryPostgres<{ n: number }>(database.connectionString, 'SELECT count(*)::int AS n FROM items');
 * ```
 */
export async function queryPostgres<T extends pg.QueryResultRow = pg.QueryResultRow>(
  connectionString: string,
  text: string,
): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

async function canConnect(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One uncached pass of the resolution order (exported for tests; use the cached resolver). */
export async function locatePostgresServer(
  environment: NodeJS.ProcessEnv = process.env,
  localUrl: string = LOCAL_POSTGRES_URL,
): Promise<PostgresServer> {
  const fromEnvironment = environment['OPS_TEST_DATABASE_URL'];
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    try {
      await canConnect(fromEnvironment);
    } catch (error) {
      throw new TestkitError(
        'SERVICE_UNAVAILABLE',
        `OPS_TEST_DATABASE_URL=${redactUrl(fromEnvironment)} did not answer: ${describeError(error)}. ` +
          'Start that server, fix the URL, or unset the variable to use 127.0.0.1:5432 or a throwaway cluster.',
        { cause: error },
      );
    }
    return { adminConnectionString: fromEnvironment, source: 'environment' };
  }

  let localFailure: string;
  try {
    await canConnect(localUrl);
    await dropStaleDatabases(localUrl);
    return { adminConnectionString: localUrl, source: 'local' };
  } catch (error) {
    localFailure = describeError(error);
  }

  try {
    const throwaway = await startThrowawayPostgres();
    return { adminConnectionString: throwaway.connectionString, source: 'throwaway', throwaway };
  } catch (error) {
    throw new TestkitError(
      'SERVICE_UNAVAILABLE',
      'No PostgreSQL for tests. OPS_TEST_DATABASE_URL is not set; ' +
        `${localUrl} did not answer (${localFailure}); ` +
        `a throwaway cluster could not be started (${describeError(error)}). ` +
        'Start the local server with `pg_ctlcluster --skip-systemctl-redirect 15 main start` ' +
        `(trust auth for host 127.0.0.1 user postgres). ${POSTGRES_INSTALL_HINT}`,
      { cause: error },
    );
  }
}

/**
 * Finds the PostgreSQL server tests use, once per process, in this order:
 * `OPS_TEST_DATABASE_URL` → `postgresql://postgres@127.0.0.1:5432/postgres` → one throwaway cluster started from
 * the local binaries (shared by the whole process, removed at exit) → a `SERVICE_UNAVAILABLE` error saying what to
 * install or start.
 */
export function resolvePostgresServer(): Promise<PostgresServer> {
  serverPromise ??= locatePostgresServer().catch((error: unknown) => {
    serverPromise = undefined;
    throw error;
  });
  return serverPromise;
}

const NAME_PATTERN = /^ops_test_[a-z0-9_]*_(\d+)_[0-9a-f]{8}$/;

/**
 * Drops databases that an earlier test process on this machine created and could not drop (it was killed). Only
 * done on the local server, where PIDs in the names belong to this machine.
 */
async function dropStaleDatabases(adminConnectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminConnectionString, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    const result = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'ops\\_test\\_%'",
    );
    for (const { datname } of result.rows) {
      const pid = NAME_PATTERN.exec(datname)?.[1];
      if (pid === undefined || isProcessAlive(Number(pid))) continue;
      await dropDatabase(client, datname).catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function dropDatabase(client: pg.Client, database: string): Promise<void> {
  await client.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  );
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
}

function databaseUrl(adminConnectionString: string, database: string): URL {
  const url = new URL(adminConnectionString);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url;
}

/**
 * Creates a uniquely named, empty database for one test file on the server found by the resolution order
 * (`OPS_TEST_DATABASE_URL` → 127.0.0.1:5432 user postgres → a throwaway cluster from local binaries → an error
 * saying what to install). `dispose()` terminates its connections and drops it.
 *
 * @example
 * ```ts
 * let database: PostgresDatabase;
 * beforeAll(async () => { database = await createPostgresDatabase(); });
 * afterAll(() => database.dispose());
 *
 * it('answers', async () => {
 *   const client = new pg.Client({ connectionString: database.connectionString });
 *   await client.connect();
 *   expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
 *   await client.end();
 * });
 * ```
 */
export async function createPostgresDatabase(options: CreatePostgresDatabaseOptions = {}): Promise<PostgresDatabase> {
  const { prefix = 'db' } = options;
  const { adminConnectionString } = await resolvePostgresServer();
  const safePrefix = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 24);
  const database = `ops_test_${safePrefix}_${process.pid}_${randomBytes(4).toString('hex')}`;

  const admin = new pg.Client({ connectionString: adminConnectionString, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    // CREATE DATABASE copies template1 and fails while another session is connected to it; retry briefly.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await admin.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt >= 20) throw error;
        await new Promise((resolveDelay) => setTimeout(resolveDelay, 100));
      }
    }
  } finally {
    await admin.end().catch(() => undefined);
  }

  const url = databaseUrl(adminConnectionString, database);
  const host = url.searchParams.get('host') ?? (url.hostname === '' ? 'localhost' : url.hostname);
  let disposed: Promise<void> | undefined;
  const siblings = new Set<string>();
  return {
    connectionString: url.toString(),
    database,
    host,
    port: url.port === '' ? 5432 : Number(url.port),
    user: decodeURIComponent(url.username) || 'postgres',
    adminConnectionString,
    sibling(suffix) {
      const name = `${database}_${suffix}`;
      siblings.add(name);
      return { database: name, connectionString: databaseUrl(adminConnectionString, name).toString() };
    },
    dispose() {
      disposed ??= (async () => {
        const client = new pg.Client({ connectionString: adminConnectionString, connectionTimeoutMillis: 5_000 });
        await client.connect();
        try {
          for (const name of [...siblings, database]) await dropDatabase(client, name);
        } finally {
          await client.end().catch(() => undefined);
        }
      })();
      return disposed;
    },
  };
}
