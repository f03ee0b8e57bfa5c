import { join } from 'node:path';
import { pipeline as pipelineCallback, type Readable } from 'node:stream';
import { type Logger, silentLogger } from '@ops/core';
import { describeExit, type TrackedChild } from '../internal/child-process.js';
import { withLargeStdioBuffer } from '../internal/stdio-buffer.js';
import { withTemporaryDirectory } from '../jobs/temporary-directories.js';
import type { BackupManifest, SourceRecord } from '../manifest/manifest.js';
import {
  artifactReadError,
  openArtifact,
  type ArtifactRecord,
  type DecryptionOptions,
} from '../pipeline/artifact-pipeline.js';
import { authenticateArtifact } from '../pipeline/authenticate-artifact.js';
import { HoldBackStream } from '../pipeline/hold-back-stream.js';
import {
  describeConnection,
  loadPg,
  pgClientConfig,
  resolveConnection,
  spawnLibpqTool,
  type PostgresConnectionOptions,
} from '../sources/postgres-connection.js';
import type { BackupStorage } from '../storages/storage.js';
import { toolMajor, toolVersion } from '../sources/postgres-tools.js';
import { downloadArtifact } from './download-artifact.js';
import { patchCustomDumpOffsets } from './pg-custom-offsets.js';
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
  /**
   * Parallel restore workers (`pg_restore -j`, from a seekable local file). Default 1. A custom-format dump gets its
   * data offsets filled in first (pg_dump wrote it into a pipe, so it has none), so the workers seek to their data.
   */
  parallelJobs?: number;
  /** Skip ownership and privilege commands (restoring into another cluster). Default `false`. */
  noOwner?: boolean;
  /**
   * Where pg_restore or psql reads the dump once the whole artifact has been authenticated:
   * - `storage`: streamed from the storage a second time, checked again as it flows, its last chunk held back until
   *   every check passed (a damaged read is killed before the one transaction can commit). Nothing decrypted is
   *   written to disk. Needs `parallelJobs` 1 and a custom or plain dump.
   * - `local-copy`: decrypted into a private 0600 file as it is checked, then loaded from that file.
   *
   * Default `storage` when the storage reads locally (`localReads`, the local directory storage) and the load can
   * stream; `local-copy` otherwise (object storage: one download, not two; `parallelJobs` > 1; directory dumps).
   */
  loadFrom?: 'storage' | 'local-copy';
  /**
   * The pg_restore that loads a custom or directory dump. Default `pg_restore` on PATH. It must be at least the major
   * version of the pg_dump that wrote the backup (the manifest records it): that is checked before anything is read.
   */
  pgRestorePath?: string;
  /** The psql that loads a plain SQL dump. Default `psql` on PATH. */
  psqlPath?: string;
  /**
   * Skip the check that pg_restore is at least as new as the pg_dump that wrote the backup (the tool must still run).
   * Default `false`.
   */
  skipVersionCheck?: boolean;
  /** Where the verified plain dump is staged (`local-copy`). Default the OS temp dir. */
  temporaryDirectory?: string;
  signal?: AbortSignal;
  logger?: Logger;
  /** Stored bytes read so far: of the download (`local-copy`) or of the load (`storage`). */
  onProgress?: (storedBytes: number) => void;
  /**
   * Diagnostics: told how long each step took (`restore.tool-check`: running `pg_restore --version` or
   * `psql --version`; `restore.authenticate`: reading and checking the whole artifact
   * without keeping it, or `restore.download`: the same into the local copy; `restore.offsets`: filling in a
   * custom-format dump's data offsets for `parallelJobs` > 1; `restore.create-database`;
   * `restore.extract`; `restore.load`: pg_restore or psql).
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
 * Restores a PostgreSQL source of a backup into a named database. The whole artifact is first read, decrypted,
 * decompressed and checked against both sha256 sums and every age chunk — a corrupt or truncated backup is refused
 * before the target is touched — then loaded (streamed from the storage again and re-checked, or from a verified
 * local copy: see `loadFrom`) with `pg_restore --exit-on-error --single-transaction` (custom/directory; `-j`
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
    pgRestorePath = 'pg_restore',
    psqlPath = 'psql',
    skipVersionCheck = false,
    signal,
    logger = silentLogger,
    onProgress,
  } = options;
  const source = pickSource(backup, 'postgres', options.source);
  const artifact = source.artifacts[0];
  if (!artifact) throw new BackupError('RESTORE_FAILED', `source ${source.name} has no artifact`);
  if (!['pg-custom', 'pg-plain', 'pg-directory-tar'].includes(artifact.format))
    throw new BackupError('RESTORE_FAILED', `unknown PostgreSQL artifact format ${artifact.format}`);
  const loadFrom = chooseLoadFrom(options, artifact.format);
  const connection = resolveConnection(target);
  // Before the artifact is read (a whole download of a large backup) or the target touched: the tool that will load
  // it runs, and a pg_restore older than the backup's pg_dump, which cannot read its archive, is refused.
  const program = await timed('restore.tool-check', () =>
    checkRestoreTool({ backup, source, pgRestorePath, psqlPath, skipVersionCheck }),
  );
  // The pg module that creates the database (~55 ms to load) loads while the artifact is read; nothing is sent.
  if (create) loadPg().catch(() => undefined);
  return withTemporaryDirectory(async (directory) => {
    const file = join(directory, 'dump');
    try {
      if (loadFrom === 'storage') {
        await timed('restore.authenticate', () => authenticateArtifact({ storage, artifact, decryption, signal }));
      } else {
        await timed('restore.download', () =>
          downloadArtifact({ storage, artifact, decryption, path: file, signal, onProgress }),
        );
      }
      if (loadFrom === 'local-copy' && artifact.format === 'pg-custom' && parallelJobs > 1) {
        // pg_dump wrote the dump into a pipe, so its TOC has no data offsets and every pg_restore -j worker would scan
        // the file for its table's data (about half the speed of one job). Fill them in; only the offset fields change.
        const { patched, reason } = await timed('restore.offsets', () => patchCustomDumpOffsets(file, { signal }));
        if (patched === 0)
          logger.info({ backup: backup.id, reason }, 'pg_restore -j reads the dump without data offsets');
      }
    } catch (error) {
      // An abort is not a damaged artifact.
      throw signal?.aborted ? aborted(backup, target.database, signal) : error;
    }
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
    // Read from stdin when the artifact streams in from the storage.
    const input = loadFrom === 'storage' ? undefined : file;
    let args: string[];
    if (artifact.format === 'pg-plain') {
      args = ['--no-password', '--quiet', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', input ?? '-'];
    } else {
      let dumpInput = input;
      if (artifact.format === 'pg-directory-tar') {
        dumpInput = join(directory, 'dump-directory');
        const { createReadStream } = await import('node:fs');
        await timed('restore.extract', () =>
          extractTar({ stream: createReadStream(file), directory: dumpInput as string }),
        );
      }
      args = ['--no-password', '--exit-on-error', `--dbname=${target.database}`];
      if (clean) args.push('--clean', '--if-exists');
      if (noOwner) args.push('--no-owner', '--no-privileges');
      // One transaction: a restore the target refuses midway leaves it as it was (pg_restore -j cannot do that).
      if (parallelJobs > 1) args.push(`--jobs=${parallelJobs}`);
      else args.push('--single-transaction');
      if (dumpInput !== undefined) args.push(dumpInput);
    }
    logger.info(
      { backup: backup.id, target: describeConnection({ ...connection, database: target.database }), loadFrom },
      'restoring PostgreSQL',
    );
    const { exit, streamError } = await timed('restore.load', async () => {
      // Streamed in: the tool reads its stdin 1 MiB at a time where stdbuf can arrange it (see withLargeStdioBuffer).
      const command =
        input === undefined ? await withLargeStdioBuffer('stdin', program, args) : { file: program, args };
      const tracked = await spawnLibpqTool(command.file, command.args, connection, {
        temporaryDirectory: directory,
        database: target.database,
        signal,
        stdio: [input === undefined ? 'pipe' : 'ignore', 'ignore', 'pipe'],
      });
      if (input !== undefined) return { exit: await tracked.exited, streamError: undefined };
      return streamInto(tracked, { storage, artifact, decryption, signal, onProgress });
    });
    if (streamError !== undefined || exit.code !== 0 || exit.signal || exit.spawnError) {
      const failure = signal?.aborted
        ? aborted(backup, target.database, signal)
        : streamError !== undefined
          ? artifactReadError(artifact, streamError)
          : new BackupError('RESTORE_FAILED', `${program} failed (${describeExit(exit)})`);
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

/**
 * Runs `--version` of the tool that loads the source's dump (psql for plain SQL, else pg_restore), failing with what to
 * install or set when it cannot run; unless `skipVersionCheck`, refuses a pg_restore older than the pg_dump recorded
 * in the backup's manifest (it stops at the archive's header). Resolves with the tool's path.
 */
export async function checkRestoreTool(context: {
  backup: BackupManifest;
  source: SourceRecord;
  pgRestorePath: string;
  psqlPath: string;
  skipVersionCheck?: boolean;
}): Promise<string> {
  const { backup, source, skipVersionCheck = false } = context;
  const plainSql = source.artifacts[0]?.format === 'pg-plain';
  const program = plainSql ? context.psqlPath : context.pgRestorePath;
  const option = plainSql ? 'psqlPath' : 'pgRestorePath';
  const checkVersion = !plainSql && !skipVersionCheck;
  const dumpedWith = typeof source.details.tool === 'string' ? source.details.tool : undefined;
  const dumpMajor = dumpedWith === undefined ? undefined : toolMajor(dumpedWith);
  const client = `postgresql-client-${dumpMajor ?? 15}`;
  const tool = await toolVersion(program, {
    code: 'RESTORE_FAILED',
    hint: `Install the PostgreSQL client (e.g. apt-get install ${client}) or set ${option} to where it is (ops-backup: --pg-bin-dir)`,
  });
  if (checkVersion && dumpMajor !== undefined && tool.major < dumpMajor)
    throw new BackupError(
      'RESTORE_FAILED',
      `backup ${backup.id} was dumped by pg_dump ${dumpMajor} (${dumpedWith}), and ${program} is version ${tool.major}, which cannot read a newer pg_dump's archive: install ${client} and set ${option} to its pg_restore (e.g. /usr/lib/postgresql/${dumpMajor}/bin/pg_restore; ops-backup: --pg-bin-dir)`,
    );
  return program;
}

function aborted(backup: BackupManifest, database: string, signal: AbortSignal): BackupError {
  return new BackupError('ABORTED', `restore of backup ${backup.id} into ${database} was aborted`, {
    cause: signal.reason,
  });
}

/**
 * Where `pg_restore`/`psql` reads the dump: streamed from the storage a second time (after a first read authenticated
 * it) when reads are local and the load is one transaction, else from a verified local copy.
 */
function chooseLoadFrom(options: RestorePostgresOptions, format: string): 'storage' | 'local-copy' {
  const { loadFrom, parallelJobs = 1, storage } = options;
  const streamable = parallelJobs === 1 && format !== 'pg-directory-tar';
  if (loadFrom === undefined) return streamable && storage.localReads === true ? 'storage' : 'local-copy';
  if (loadFrom !== 'storage' && loadFrom !== 'local-copy')
    throw new BackupError(
      'ARGUMENT_INVALID',
      `loadFrom must be "storage" or "local-copy", got ${JSON.stringify(loadFrom)}`,
    );
  if (loadFrom === 'storage' && !streamable)
    throw new BackupError(
      'ARGUMENT_INVALID',
      parallelJobs > 1
        ? 'loadFrom "storage" needs parallelJobs 1: pg_restore -j reads a seekable local file (use loadFrom "local-copy")'
        : 'loadFrom "storage" cannot load a directory-format dump: it is extracted to a local directory first (use loadFrom "local-copy")',
    );
  return loadFrom;
}

/**
 * Streams the artifact (checked again as it flows: the stored sha256 and every age chunk; its last chunk held back
 * until every check passed) into the child's stdin. When the artifact fails a check the child is killed before it
 * can have read the end of its input, so its one transaction never commits. Resolves with the child's exit and the
 * artifact's error, if any.
 */
async function streamInto(
  tracked: TrackedChild,
  options: {
    storage: BackupStorage;
    artifact: ArtifactRecord;
    decryption?: DecryptionOptions | undefined;
    signal?: AbortSignal | undefined;
    onProgress?: ((storedBytes: number) => void) | undefined;
  },
): Promise<{ exit: Awaited<TrackedChild['exited']>; streamError: unknown }> {
  const stdin = tracked.child.stdin;
  if (!stdin) return { exit: await tracked.exited, streamError: undefined };
  let streamError: unknown;
  let plain: Readable | undefined;
  try {
    // The first read checked everything; bytes that match the stored sha256 again are the bytes it checked.
    plain = await openArtifact({ ...options, checkPlain: false });
  } catch (error) {
    streamError = error;
  }
  if (plain) {
    const source = plain;
    const hold = new HoldBackStream();
    const fed = new Promise<void>((resolve) => {
      pipelineCallback([source, hold, stdin], (error) => {
        // An artifact that fails a check: kill the child before it sees the end of its input. A child that stops
        // reading (it failed, EPIPE) is reported by its exit status instead.
        if (error && (source.errored || hold.errored) && !isChildSideError(error)) {
          streamError = source.errored ?? error;
          tracked.child.kill('SIGKILL');
        }
        resolve();
      });
    });
    const exit = await tracked.exited;
    if (exit.code !== 0 || exit.signal) {
      source.destroy();
      hold.destroy();
    }
    await fed;
    return { exit, streamError };
  }
  tracked.child.kill('SIGKILL');
  return { exit: await tracked.exited, streamError };
}

const isChildSideError = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
};
