import { randomBytes } from 'node:crypto';
import { open, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { spawnTracked, type TrackedChild } from '../internal/child-process.js';
import { BackupError } from '../errors.js';

/** How to reach a PostgreSQL server. The password never reaches a child's argv. */
export interface PostgresConnectionOptions {
  /** `postgresql://user:password@host:port/database?sslmode=…`; the password part is moved to env/passfile. */
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  /** Prefer `${PGPASSWORD}` interpolation in config files over literal passwords. */
  password?: string;
  /** libpq `sslmode`, e.g. `require`. */
  sslMode?: string;
}

/** Connection facts split into public parts and the secret. */
export interface ResolvedConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  sslMode?: string;
}

/** Resolves options (connection string and/or fields; fields win) into explicit parts. */
export function resolveConnection(options: PostgresConnectionOptions): ResolvedConnection {
  let fromUrl: Partial<ResolvedConnection> = {};
  if (options.connectionString) {
    let url: URL;
    try {
      url = new URL(options.connectionString);
    } catch {
      throw new BackupError(
        'ARGUMENT_INVALID',
        'postgres connectionString is not a valid URL (expected postgresql://user@host:port/database)',
      );
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
      throw new BackupError(
        'ARGUMENT_INVALID',
        `postgres connectionString must start with postgresql://, got ${url.protocol}//`,
      );
    const socketHost = url.searchParams.get('host');
    fromUrl = {
      ...(url.hostname || socketHost
        ? { host: socketHost ?? decodeURIComponent(url.hostname).replace(/^\[|\]$/g, '') }
        : {}),
      ...(url.port ? { port: Number(url.port) } : {}),
      ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.pathname.length > 1 ? { database: decodeURIComponent(url.pathname.slice(1)) } : {}),
      ...(url.searchParams.get('sslmode') ? { sslMode: url.searchParams.get('sslmode') as string } : {}),
    };
  }
  const user = options.user ?? fromUrl.user ?? 'postgres';
  const password = options.password ?? fromUrl.password;
  const sslMode = options.sslMode ?? fromUrl.sslMode;
  return {
    host: options.host ?? fromUrl.host ?? '127.0.0.1',
    port: options.port ?? fromUrl.port ?? 5432,
    user,
    database: options.database ?? fromUrl.database ?? user,
    ...(password === undefined ? {} : { password }),
    ...(sslMode === undefined ? {} : { sslMode }),
  };
}

/** A redacted, human-readable description: `postgres@127.0.0.1:5432/app`. */
export function describeConnection(connection: ResolvedConnection): string {
  return `${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
}

const escapePassfileField = (value: string): string => value.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

/** Options of {@link spawnLibpqTool}. */
export interface SpawnLibpqOptions {
  /** A private directory (0700) where the passfile is written for the instant before it is opened. */
  temporaryDirectory: string;
  /** The password in a passfile (default) or in the child's `PGPASSWORD`. */
  passwordMode?: 'passfile' | 'environment';
  /** `PGDATABASE` when it differs from the connection's database. */
  database?: string;
  signal?: AbortSignal | undefined;
  /** stdin, stdout (or a socket the child writes into), stderr of the child. Default `['ignore', 'pipe', 'pipe']`. */
  stdio?: ['ignore' | 'pipe', 'ignore' | 'pipe' | Socket, 'ignore' | 'pipe'];
}

/**
 * Spawns a libpq tool (`pg_dump`, `pg_restore`, `psql`) with the connection parts as PG* variables (inherited PG*
 * variables are dropped so nothing unexpected leaks in) and the password never in argv: in a 0600 passfile
 * (default) or in `PGPASSWORD` (`passwordMode: 'environment'`). On Linux the passfile has no name while the tool
 * runs: it is written, opened, unlinked at once and handed to the child as fd 3 (`PGPASSFILE=/dev/fd/3`, which
 * libpq, and every parallel worker pg_dump forks, reopens from that descriptor) — so a `kill -9` leaves no
 * password on disk. Elsewhere it stays in `temporaryDirectory` until the caller removes that directory.
 */
export async function spawnLibpqTool(
  file: string,
  args: readonly string[],
  connection: ResolvedConnection,
  options: SpawnLibpqOptions,
): Promise<TrackedChild> {
  const {
    temporaryDirectory,
    passwordMode = 'passfile',
    database,
    signal,
    stdio = ['ignore', 'pipe', 'pipe'],
  } = options;
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('PG')) env[name] = value;
  env.PGHOST = connection.host;
  env.PGPORT = String(connection.port);
  env.PGUSER = connection.user;
  env.PGDATABASE = database ?? connection.database;
  env.PGAPPNAME = 'ops-backup';
  if (connection.sslMode) env.PGSSLMODE = connection.sslMode;
  if (connection.password === undefined) return spawnTracked(file, args, { env, signal, stdio });
  if (passwordMode === 'environment')
    return spawnTracked(file, args, { env: { ...env, PGPASSWORD: connection.password }, signal, stdio });
  const passfile = join(temporaryDirectory, `pgpass-${randomBytes(6).toString('hex')}`);
  await writeFile(passfile, `*:*:*:*:${escapePassfileField(connection.password)}\n`, { mode: 0o600, flag: 'wx' });
  if (process.platform !== 'linux')
    return spawnTracked(file, args, { env: { ...env, PGPASSFILE: passfile }, signal, stdio });
  let handle: FileHandle | undefined;
  try {
    handle = await open(passfile, 'r');
  } finally {
    await unlink(passfile);
  }
  try {
    // The child holds its own copy of the descriptor once spawn() returns; this process's copy is closed at once.
    return spawnTracked(file, args, { env: { ...env, PGPASSFILE: '/dev/fd/3' }, signal, stdio: [...stdio, handle.fd] });
  } finally {
    await handle.close();
  }
}

/** The `pg` client configuration for `connection` (password passed in memory, never on a command line). */
export function pgClientConfig(connection: ResolvedConnection, database?: string): Record<string, unknown> {
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    database: database ?? connection.database,
    ...(connection.password === undefined ? {} : { password: connection.password }),
    ...(connection.sslMode && connection.sslMode !== 'disable'
      ? { ssl: { rejectUnauthorized: connection.sslMode === 'verify-full' || connection.sslMode === 'verify-ca' } }
      : {}),
    application_name: 'ops-backup',
    connectionTimeoutMillis: 10_000,
  };
}

/** Loads the optional `pg` peer dependency with a clear error when it is missing. */
export async function loadPg(): Promise<typeof import('pg')> {
  try {
    const module = (await import('pg')) as typeof import('pg') & { default?: typeof import('pg') };
    return module.default ?? module;
  } catch (error) {
    throw new BackupError('ARGUMENT_INVALID', 'the PostgreSQL source needs the "pg" package: npm install pg', {
      cause: error,
    });
  }
}
