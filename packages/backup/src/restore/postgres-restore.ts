import { join } from 'node:path';
import { type Logger, silentLogger } from '@ops/core';
import { describeExit } from '../internal/child-process.js';
import { withTemporaryDirectory } from '../jobs/temporary-directories.js';
import type { BackupManifest, SourceRecord } from '../manifest/manifest.js';
import type { DecryptionOptions } from '../pipeline/artifact-pipeline.js';
import {
  describeConnection,
  loadPg,
  pgClientConfig,
  resolveConnection,
  spawnLibpqTool,
  type PostgresConnectionOptions,
} from '../sources/postgres-connection.js';
import type { BackupStorage } from '../storages/storage.js';
import { downloadArtifact } from './download-artifact.js';
import { extractTar } from './tar-extract.js';
import { timed, withTimings, type BackupTimingListener } from '../jobs/run-timings.js';
import { BackupError } from '../errors.js';

/** Options of {@link restorePostgres}. */
export interface RestorePostgresOptions {
  storage: BackupStorage;
  backup: BackupManifest;
  /** Which postgres source of the backup; default the only one. */
  source?: string;
  decryption?: DecryptionOptions;
  /** Where to restore. `database` names the target database. */
  target: PostgresConnectionOptions & { database: string };
  /** Create the target database (fails if it exists). Default `false`: it must exist. */
  create?: boolean;
  /** Drop objects before recreating them (`pg_restore --clean --if-exists`). Default `false`. */
  clean?: boolean;
  /** Parallel restore workers (`pg_restore -j`, from a seekable local file). Default 1. */
  parallelJobs?: number;
  /** Skip ownership and privilege commands (restoring into another cluster). Default `false`. */
  noOwner?: boolean;
  /** Where the verified plain dump is staged. Default the OS temp dir. */
  temporaryDirectory?: string;
  signal?: AbortSignal;
  logger?: Logger;
  onProgress?: (storedBytes: number) => void;
  /**
   * Diagnostics: told how long each step took (`restore.download`: reading, decrypting and checking the artifact
   * into the local file; `restore.create-database`; `restore.extract`; `restore.load`: pg_restore or psql).
   */
  onTiming?: BackupTimingListener;
}

/** Picks the source record to restore, with clear errors. */
export function pickSource(backup: BackupManifest, kind: SourceRecord['kind'], name: string | undefined): SourceRecord {
  const candidates = backup.sources.filter(
    (source) => source.kind === kind && (name === undefined || source.name === name),
  );
  if (candidates.length === 0)
    throw new BackupError(
      'BACKUP_NOT_FOUND',
      `backup ${backup.id} has no ${kind} source${name ? ` named ${name}` : ''}`,
    );
  if (candidates.length > 1)
    throw new BackupError(
      'ARGUMENT_INVALID',
      `backup ${backup.id} has several ${kind} sources (${candidates.map((source) => source.name).join(', ')}); name one`,
    );
  const source = candidates[0] as SourceRecord;
  if (source.state !== 'completed' || source.artifacts.length === 0) {
    throw new BackupError(
      'RESTORE_FAILED',
      `source ${source.name} of backup ${backup.id} did not complete (${source.error ?? backup.state}); refusing to restore it`,
    );
  }
  if (backup.state === 'in-progress')
    throw new BackupError(
      'RESTORE_FAILED',
      `backup ${backup.id} is still in progress (or was interrupted); refusing to restore it`,
    );
  return source;
}

async function adminQuery(target: RestorePostgresOptions['target'], sql: string): Promise<void> {
  const pg = await loadPg();
  const connection = resolveConnection({ ...target, database: 'postgres' });
  const client = new pg.Client(pgClientConfig(connection, 'postgres'));
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Quotes a PostgreSQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Restores a PostgreSQL source of a backup into a named database. The artifact is first decrypted, decompressed and
 * checked against both sha256 sums into a local 0600 file — a corrupt or truncated backup is refused before the
 * target is touched — then loaded with `pg_restore --exit-on-error --single-transaction` (custom/directory; `-j`
 * when `parallelJobs > 1`, which cannot be one transaction) or `psql -v ON_ERROR_STOP=1 --single-transaction`
 * (plain). So a restore the target refuses midway leaves it as it was, and a database created for it (`create`)
 * is dropped again; only a parallel restore into an existing database can stop half done.
 *
 * @example
 * ```ts
 * await restorePostgres({ storage, backup, decryption: { identities: [identity] }, target: { host: '127.0.0.1', database: 'app_restored' }, create: true, parallelJobs: 4 });
 * ```
 */
export async function restorePostgres(options: RestorePostgresOptions): Promise<{ database: string; source: string }> {
  return withTimings(options.onTiming, () => restorePostgresTimed(options));
}

async function restorePostgresTimed(options: RestorePostgresOptions): Promise<{ database: string; source: string }> {
  const {
    storage,
    backup,
    decryption,
    target,
    create = false,
    clean = false,
    parallelJobs = 1,
    noOwner = false,
    signal,
    logger = silentLogger,
    onProgress,
  } = options;
  const source = pickSource(backup, 'postgres', options.source);
  const artifact = source.artifacts[0];
  if (!artifact) throw new BackupError('RESTORE_FAILED', `source ${source.name} has no artifact`);
  const connection = resolveConnection(target);
  return withTemporaryDirectory(async (directory) => {
    const file = join(directory, 'dump');
    await timed('restore.download', () =>
      downloadArtifact({ storage, artifact, decryption, path: file, signal, onProgress }),
    );
    if (create) {
      await timed('restore.create-database', () =>
        adminQuery(target, `CREATE DATABASE ${quoteIdentifier(target.database)} TEMPLATE template0`),
      ).catch((error: unknown) => {
        throw new BackupError(
          'RESTORE_FAILED',
          `cannot create database ${target.database}: ${(error as Error).message}`,
          { cause: error },
        );
      });
    }
    let program: string;
    let args: string[];
    if (artifact.format === 'pg-plain') {
      program = 'psql';
      args = ['--no-password', '--quiet', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', file];
    } else {
      let input = file;
      if (artifact.format === 'pg-directory-tar') {
        input = join(directory, 'dump-directory');
        const { createReadStream } = await import('node:fs');
        await timed('restore.extract', () => extractTar({ stream: createReadStream(file), directory: input }));
      } else if (artifact.format !== 'pg-custom') {
        throw new BackupError('RESTORE_FAILED', `unknown PostgreSQL artifact format ${artifact.format}`);
      }
      program = 'pg_restore';
      args = ['--no-password', '--exit-on-error', `--dbname=${target.database}`];
      if (clean) args.push('--clean', '--if-exists');
      if (noOwner) args.push('--no-owner', '--no-privileges');
      // One transaction: a restore the target refuses midway leaves it as it was (pg_restore -j cannot do that).
      if (parallelJobs > 1) args.push(`--jobs=${parallelJobs}`);
      else args.push('--single-transaction');
      args.push(input);
    }
    logger.info(
      { backup: backup.id, target: describeConnection({ ...connection, database: target.database }) },
      'restoring PostgreSQL',
    );
    const exit = await timed(
      'restore.load',
      async () =>
        await (
          await spawnLibpqTool(program, args, connection, {
            temporaryDirectory: directory,
            database: target.database,
            signal,
            stdio: ['ignore', 'ignore', 'pipe'],
          })
        ).exited,
    );
    if (exit.code !== 0 || exit.signal || exit.spawnError) {
      const failure = new BackupError('RESTORE_FAILED', `${program} failed (${describeExit(exit)})`);
      if (create) {
        // The database exists only because of this restore: drop it again, so the target is as it was.
        await adminQuery(target, `DROP DATABASE IF EXISTS ${quoteIdentifier(target.database)} WITH (FORCE)`).catch(
          (error: unknown) =>
            logger.warn(
              { database: target.database, error: (error as Error).message },
              'cannot drop the database created for the failed restore',
            ),
        );
      }
      throw failure;
    }
    return { database: target.database, source: source.name };
  }, options.temporaryDirectory);
}
