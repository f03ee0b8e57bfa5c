import { createRequire } from 'node:module';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { UsageError, type CliContext } from '@ops/core';
import type { BackupConfig, BackupJobConfig } from '../config/config-schema.js';
import type { BackupEventEmitter } from '../events/backup-events.js';
import { createBackupMetrics, type BackupMetrics } from '../metrics/backup-metrics.js';
import type { DecryptionOptions } from '../pipeline/artifact-pipeline.js';
import { createFilesSource } from '../sources/files-source.js';
import { createPostgresSource } from '../sources/postgres-source.js';
import { createRedisSource } from '../sources/redis/redis-source.js';
import type { BackupSource } from '../sources/source.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import type { BackupStorage } from '../storages/storage.js';
import { BackupError } from '../errors.js';

/** A storage the CLI opened; S3 storages hold sockets until `close()`. */
type OpenedStorage = BackupStorage & { close?: () => Promise<void> };

/** Opens the storage a config names. S3 loads `@aws-sdk/client-s3` (optional peer) on demand. */
export async function openStorage(config: BackupConfig): Promise<OpenedStorage> {
  const storage = config.storage;
  if (storage.type === 'local') return createLocalStorage({ directory: storage.directory });
  const { createS3Storage } = await import('../storages/s3/s3-storage.js');
  return createS3Storage({
    bucket: storage.bucket,
    ...(storage.prefix === undefined ? {} : { prefix: storage.prefix }),
    ...(storage.region === undefined ? {} : { region: storage.region }),
    ...(storage.endpoint === undefined ? {} : { endpoint: storage.endpoint }),
    ...(storage.forcePathStyle === undefined ? {} : { forcePathStyle: storage.forcePathStyle }),
    ...(storage.credentials === undefined
      ? {}
      : {
          credentials: {
            accessKeyId: storage.credentials.accessKeyId,
            secretAccessKey: storage.credentials.secretAccessKey,
            ...(storage.credentials.sessionToken ? { sessionToken: storage.credentials.sessionToken } : {}),
          },
        }),
  });
}

/**
 * A command's `run` that opens storages through the `openStorage` it is given: whatever it opened is closed when it
 * returns or throws (an S3 client's sockets would otherwise keep the process alive). Per run, so a CLI embedded with
 * `runCli` in a long-lived process releases them too.
 */
export function closingStorages(
  run: (context: CliContext, openStorage: (config: BackupConfig) => Promise<BackupStorage>) => Promise<number>,
): (context: CliContext) => Promise<number> {
  return async (context) => {
    const opened: OpenedStorage[] = [];
    try {
      return await run(context, async (config) => {
        const storage = await openStorage(config);
        opened.push(storage);
        return storage;
      });
    } finally {
      for (const storage of opened) await storage.close?.().catch(() => undefined);
    }
  };
}

/**
 * Metrics for one CLI run, following `events`, written to a file in Prometheus text format (for node_exporter's
 * textfile collector): written to a temp file and renamed, so the collector never reads half a file.
 */
export async function createMetricsFile(
  path: string,
  events: BackupEventEmitter,
): Promise<{ metrics: BackupMetrics; write(): Promise<void> }> {
  // createRequire works in both builds (tsup shims import.meta.url in CJS); a bare `require` would become a
  // throwing shim in the ESM build.
  const load = createRequire(import.meta.url);
  let promClient: typeof import('prom-client');
  try {
    promClient = load('prom-client') as typeof import('prom-client');
  } catch (error) {
    throw new BackupError(
      'ARGUMENT_INVALID',
      '--metrics-file needs the "prom-client" package: npm install prom-client',
      { cause: error },
    );
  }
  const registry = new promClient.Registry();
  const metrics = createBackupMetrics({ registry, events });
  return {
    metrics,
    async write() {
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, await registry.metrics(), { mode: 0o644 });
      await rename(temporary, path);
    },
  };
}

/** Opens an ioredis client from a URL (ioredis is an optional peer). */
export async function openRedis(url: string): Promise<Redis> {
  const { Redis: RedisClient } = await import('ioredis');
  const client = new RedisClient(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
  await client.connect();
  return client;
}

/** Builds the sources of a job; `close()` disconnects the clients it opened. */
export async function buildSources(job: BackupJobConfig): Promise<{ sources: BackupSource[]; close(): void }> {
  const clients: Redis[] = [];
  const sources: BackupSource[] = [];
  try {
    for (const source of job.sources) {
      if (source.type === 'postgres') {
        const { type: _type, ...options } = source;
        sources.push(createPostgresSource(options as Parameters<typeof createPostgresSource>[0]));
      } else if (source.type === 'redis') {
        const client = await openRedis(source.url);
        clients.push(client);
        sources.push(
          createRedisSource({
            redis: client,
            ...(source.name ? { name: source.name } : {}),
            ...(source.method ? { method: source.method } : {}),
            ...(source.scanCount ? { scanCount: source.scanCount } : {}),
            ...(source.match ? { match: source.match } : {}),
          }),
        );
      } else {
        sources.push(
          createFilesSource({
            directory: source.directory,
            ...(source.name ? { name: source.name } : {}),
            ...(source.exclude ? { exclude: source.exclude } : {}),
            ...(source.symlinks ? { symlinks: source.symlinks } : {}),
          }),
        );
      }
    }
  } catch (error) {
    for (const client of clients) client.disconnect();
    throw error;
  }
  return { sources, close: () => clients.forEach((client) => client.disconnect()) };
}

/**
 * Reads age identities (`AGE-SECRET-KEY-1…` lines) from a file. A file that cannot be read or holds no identity is a
 * usage error (exit 2, nothing attempted); `origin` names where the path came from (`--identity-file`, the config).
 */
export async function readIdentityFile(path: string, origin = '--identity-file'): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `${origin} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const identities = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith('AGE-SECRET-KEY-'));
  if (identities.length === 0)
    throw new UsageError(`${origin} ${path}: no AGE-SECRET-KEY-1… line in it (is it an age identity file?)`);
  return identities;
}

/** Decryption keys from CLI flags (which win) and the config. */
export async function resolveDecryption(
  config: BackupConfig,
  flags: { identityFile?: string | undefined; passphraseEnv?: string | undefined },
  env: Record<string, string | undefined>,
): Promise<DecryptionOptions | undefined> {
  const identityFile = flags.identityFile ?? config.decryption?.identityFile;
  let passphrase = config.decryption?.passphrase;
  if (flags.passphraseEnv) {
    passphrase = env[flags.passphraseEnv];
    if (passphrase === undefined || passphrase === '')
      throw new UsageError(`environment variable ${flags.passphraseEnv} (from --passphrase-env) is not set`);
  }
  const origin = flags.identityFile === undefined ? 'decryption.identityFile' : '--identity-file';
  const identities = identityFile ? await readIdentityFile(identityFile, origin) : undefined;
  if (!identities && passphrase === undefined) return undefined;
  return { ...(identities ? { identities } : {}), ...(passphrase === undefined ? {} : { passphrase }) };
}

/**
 * The restore target's password from `--target-password-env NAME` or `--target-password-file FILE` (its first line;
 * the file must not be readable by group or others, as libpq requires of a passfile), or `undefined` when neither
 * is given. Never from argv.
 */
export async function readTargetPassword(
  flags: { passwordEnv?: string | undefined; passwordFile?: string | undefined },
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  const { passwordEnv, passwordFile } = flags;
  if (passwordEnv !== undefined && passwordFile !== undefined)
    throw new UsageError('give --target-password-env or --target-password-file, not both');
  if (passwordEnv !== undefined) {
    const value = env[passwordEnv];
    if (value === undefined || value === '')
      throw new UsageError(`environment variable ${passwordEnv} (from --target-password-env) is not set`);
    return value;
  }
  if (passwordFile === undefined) return undefined;
  let text: string;
  try {
    const facts = await stat(passwordFile);
    if ((facts.mode & 0o077) !== 0)
      throw new UsageError(
        `password file ${passwordFile} can be read by others (mode ${(facts.mode & 0o777).toString(8)}); chmod 600 it`,
      );
    text = await readFile(passwordFile, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `cannot read password file ${passwordFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw new UsageError(`password file ${passwordFile} is empty`);
  return password;
}
