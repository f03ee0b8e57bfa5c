import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
      throw new BackupError('ARGUMENT_INVALID', 'postgres connectionString is not a valid URL (expected postgresql://user@host:port/database)');
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new BackupError('ARGUMENT_INVALID', `postgres connectionString must start with postgresql://, got ${url.protocol}//`);
    const socketHost = url.searchParams.get('host');
    fromUrl = {
      ...(url.hostname || socketHost ? { host: socketHost ?? decodeURIComponent(url.hostname).replace(/^\[|\]$/g, '') } : {}),
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

/**
 * The environment for a libpq child (`pg_dump`, `pg_restore`, `psql`): connection parts as PG* variables and the
 * password in a 0600 passfile (`passfile` mode, default) or in `PGPASSWORD` (`environment` mode). Inherited PG*
 * variables are dropped so nothing unexpected leaks in.
 */
export async function libpqEnvironment(
  connection: ResolvedConnection,
  options: { temporaryDirectory: string; passwordMode?: 'passfile' | 'environment'; database?: string },
): Promise<NodeJS.ProcessEnv> {
  const environment: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('PG')) environment[name] = value;
  environment.PGHOST = connection.host;
  environment.PGPORT = String(connection.port);
  environment.PGUSER = connection.user;
  environment.PGDATABASE = options.database ?? connection.database;
  environment.PGAPPNAME = 'ops-backup';
  if (connection.sslMode) environment.PGSSLMODE = connection.sslMode;
  if (connection.password !== undefined) {
    if ((options.passwordMode ?? 'passfile') === 'environment') {
      environment.PGPASSWORD = connection.password;
    } else {
      const passfile = join(options.temporaryDirectory, 'pgpass');
      await writeFile(passfile, `*:*:*:*:${escapePassfileField(connection.password)}\n`, { mode: 0o600, flag: 'w' });
      environment.PGPASSFILE = passfile;
    }
  }
  return environment;
}

/** The `pg` client configuration for `connection` (password passed in memory, never on a command line). */
export function pgClientConfig(connection: ResolvedConnection, database?: string): Record<string, unknown> {
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    database: database ?? connection.database,
    ...(connection.password === undefined ? {} : { password: connection.password }),
    ...(connection.sslMode && connection.sslMode !== 'disable' ? { ssl: { rejectUnauthorized: connection.sslMode === 'verify-full' || connection.sslMode === 'verify-ca' } } : {}),
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
    throw new BackupError('ARGUMENT_INVALID', 'the PostgreSQL source needs the "pg" package: npm install pg', { cause: error });
  }
}
