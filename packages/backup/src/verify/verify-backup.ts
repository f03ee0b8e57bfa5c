import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { safeErrorMessage, silentLogger, systemClock, type Clock, type Logger } from '@ops/core';
import { findBackup, writeManifest } from '../catalog/catalog.js';
import type { BackupEventEmitter } from '../events/backup-events.js';
import { describeExit, spawnTracked } from '../internal/child-process.js';
import { withTemporaryDirectory } from '../jobs/temporary-directories.js';
import {
  manifestArtifacts,
  meetsVerification,
  VERIFICATION_RANK,
  type BackupManifest,
  type SourceRecord,
  type VerificationLevel,
} from '../manifest/manifest.js';
import {
  artifactReadError,
  checkStoredArtifact,
  checkStoredSize,
  openArtifact,
  type ArtifactRecord,
  type DecryptionOptions,
} from '../pipeline/artifact-pipeline.js';
import { restoreFiles } from '../restore/files-restore.js';
import { checkRestoreTool, quoteIdentifier, restorePostgres } from '../restore/postgres-restore.js';
import { restoreRedis } from '../restore/redis-restore.js';
import { extractTar } from '../restore/tar-extract.js';
import {
  loadPg,
  pgClientConfig,
  resolveConnection,
  type PostgresConnectionOptions,
} from '../sources/postgres-connection.js';
import { checkRdbStream, describeRdbCheck, describeRdbCounts, type RdbCheck } from '../sources/redis/rdb-check.js';
import { checkDumpStream } from '../sources/redis/redis-dump-format.js';
import type { BackupStorage } from '../storages/storage.js';
import { BackupError } from '../errors.js';
import type { RedisClientLike } from '../sources/redis/redis-client-like.js';

/** Where test restores may go. Each is cleaned up afterwards. */
export interface ScratchTargets {
  /** A PostgreSQL server where a scratch database `ops_verify_<random>` may be created and dropped. */
  postgres?: PostgresConnectionOptions;
  /** An EMPTY Redis database (the client's selected db); flushed after the test restore. */
  redis?: RedisClientLike;
}

/** Options of {@link verifyBackup}. */
export interface VerifyBackupOptions {
  storage: BackupStorage;
  /** The manifest, or its id (optionally with `job`). */
  backup: BackupManifest | string;
  job?: string;
  /** Default `checksum` (no key needed). `full-read` and `test-restore` need `decryption` for encrypted backups. */
  level?: VerificationLevel;
  decryption?: DecryptionOptions;
  scratch?: ScratchTargets;
  /** Append the result to the manifest (default `true`) so RPO checks can count verified backups. */
  record?: boolean;
  /** Source of time (the recorded verification's time, event `at`). Default `systemClock`. */
  clock?: Clock;
  /** Logger. Default silent. */
  logger?: Logger;
  /** Cancels the verification. */
  signal?: AbortSignal;
  /** Where scratch files go. Default the OS temp dir. */
  temporaryDirectory?: string;
  /** Where `verification.completed` is reported (see `createBackupEvents`). */
  events?: BackupEventEmitter;
  /**
   * The pg_restore that reads custom-format dumps (`full-read`) and test-restores them. Default `pg_restore` on PATH.
   * It must be at least the major version of the backup's pg_dump; otherwise the verification is inconclusive.
   */
  pgRestorePath?: string;
  /** The psql that test-restores plain SQL dumps. Default `psql` on PATH. */
  psqlPath?: string;
}

/** The result of one artifact check. */
export interface ArtifactVerification {
  key: string;
  ok: boolean;
  /** The check could not be carried out, for a reason outside the backup (see {@link VerificationReport.inconclusive}). */
  inconclusive?: boolean;
  detail: string;
  /** For a `full-read` of a Redis RDB artifact: what the structural walk counted (keys and expiring keys per db). */
  rdb?: RdbCheck;
}

/** The result of {@link verifyBackup}. */
export interface VerificationReport {
  backupId: string;
  job: string;
  level: VerificationLevel;
  ok: boolean;
  /**
   * `true` when no check found the backup damaged but some could not be carried out, for a reason outside the
   * backup: no key given fits it (its stored bytes match the manifest), the restore tool is missing or older than
   * the backup's pg_dump, the storage failed, a scratch target is missing or unreachable, or the run was aborted.
   * `ok` is then `false`, and nothing is recorded in the manifest: retention must not count a good backup as failed.
   */
  inconclusive?: boolean;
  artifacts: ArtifactVerification[];
  /** One-line summary. */
  detail: string;
}

async function drain(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) bytes += chunk.length;
  return bytes;
}

/**
 * Whatever a format reader left unread, read to the stream's end: the stored and plain size and sha256 checks of
 * {@link openArtifact} run there, so a full read is complete only once the stream ended without an error.
 */
async function readToEnd(stream: Readable): Promise<void> {
  if (stream.errored) throw stream.errored;
  if (stream.readableEnded) return;
  stream.resume();
  await finished(stream);
}

/** Format-level full read of a plain stream; resolves with a description, rejects on any problem. */
async function fullRead(
  artifact: ArtifactRecord,
  plain: Readable,
  temporaryDirectory: string,
  signal: AbortSignal | undefined,
  found: { rdb?: RdbCheck },
  pgRestorePath: string,
): Promise<string> {
  switch (artifact.format) {
    case 'pg-custom':
      await readCustomDump(plain, pgRestorePath, signal);
      return 'pg_restore read every block';
    case 'pg-plain':
      return readPlainDump(plain);
    case 'pg-directory-tar':
    case 'tar': {
      const summary = await extractTar({ stream: plain, ...(signal ? { signal } : {}) });
      return `tar parsed: ${summary.files} files, ${summary.directories} directories, ${summary.symlinks} symlinks, ${summary.bytes} bytes; no unsafe entries`;
    }
    case 'redis-rdb': {
      const rdb = await checkRdbStream(plain);
      found.rdb = rdb;
      return describeRdbCheck(rdb);
    }
    case 'redis-scan-dump': {
      const dump = await checkDumpStream(plain);
      return `scan-dump parsed: ${dump.count} keys`;
    }
    default:
      await drain(plain);
      void temporaryDirectory;
      return `read fully (format ${artifact.format} has no parser)`;
  }
}

/** Feeds a custom-format dump to `pg_restore -f /dev/null`, which reads every data block (catches truncation). */
async function readCustomDump(plain: Readable, pgRestorePath: string, signal: AbortSignal | undefined): Promise<void> {
  // pg_restore -l would read only the table of contents.
  const tracked = spawnTracked(pgRestorePath, ['-f', '/dev/null'], { stdio: ['pipe', 'ignore', 'pipe'], signal });
  const stdin = tracked.child.stdin;
  if (!stdin) throw new BackupError('INTERNAL', 'pg_restore has no stdin');
  // pg_restore may stop reading once it has every block; the plain stream is still read to its end so that its
  // sha256 check runs, and a closed stdin is not an error in itself.
  let stdinOpen = true;
  const closeStdin = () => {
    stdinOpen = false;
  };
  stdin.on('error', closeStdin);
  stdin.on('close', closeStdin);
  try {
    for await (const chunk of plain as AsyncIterable<Buffer>) {
      if (stdinOpen && !stdin.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stdin.off('drain', done);
            stdin.off('close', done);
            resolve();
          };
          stdin.on('drain', done);
          stdin.on('close', done);
        });
      }
    }
  } catch (error) {
    tracked.child.kill('SIGKILL');
    await tracked.exited;
    throw error;
  }
  if (stdinOpen) stdin.end();
  const exit = await tracked.exited;
  if (exit.spawnError) throw new Inconclusive(`${pgRestorePath} could not start: ${exit.spawnError.message}`);
  if (exit.code !== 0 || exit.signal)
    throw new BackupError('BACKUP_CORRUPT', `pg_restore could not read the dump (${describeExit(exit)})`);
}

/** Reads a plain SQL dump to its end and checks pg_dump's completion trailer. */
async function readPlainDump(plain: Readable): Promise<string> {
  let tail = '';
  let bytes = 0;
  for await (const chunk of plain as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    tail = (tail + chunk.toString('latin1')).slice(-512);
  }
  if (!tail.includes('PostgreSQL database dump complete'))
    throw new BackupError('BACKUP_CORRUPT', 'plain SQL dump lacks the "dump complete" trailer (truncated?)');
  return `SQL dump of ${bytes} bytes ends with the completion trailer`;
}

/** The client tools a full read or test restore of a PostgreSQL backup runs. */
interface RestoreTools {
  pgRestorePath: string;
  psqlPath: string;
}

/** A check that could not be carried out, for a reason outside the backup. */
class Inconclusive extends Error {}

/** Runs the tool that reads or loads the source's dump (`--version`), and checks it can read the backup's archive. */
async function checkTool(backup: BackupManifest, source: SourceRecord, tools: RestoreTools): Promise<void> {
  await checkRestoreTool({ backup, source, ...tools }).catch((error: unknown) => {
    throw new Inconclusive(safeErrorMessage(error));
  });
}

/**
 * Why a failed check says nothing about the backup itself; `undefined` when it found damage. A key that does not
 * decrypt counts as outside the backup only when the stored bytes match the manifest (else they were damaged).
 */
async function outsideTheBackup(
  error: unknown,
  storage: BackupStorage,
  artifact: ArtifactRecord | undefined,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  if (error instanceof Inconclusive) return error.message;
  if (signal?.aborted || BackupError.hasCode(error, 'ABORTED')) return `aborted (${safeErrorMessage(error)})`;
  if (BackupError.hasCode(error, 'STORAGE_FAILED')) return `the storage failed: ${safeErrorMessage(error)}`;
  if (BackupError.hasCode(error, 'BACKUP_DECRYPT_FAILED') && artifact !== undefined) {
    try {
      await checkStoredArtifact(storage, artifact, signal);
    } catch (checkError) {
      // Damaged stored bytes are a finding; a storage that failed while they were read is not.
      return BackupError.hasCode(checkError, 'STORAGE_FAILED') || signal?.aborted
        ? `${safeErrorMessage(error)}; then the storage failed: ${safeErrorMessage(checkError)}`
        : undefined;
    }
    return `${safeErrorMessage(error)} (its stored bytes match the manifest: the key does not fit, the backup is intact)`;
  }
  return undefined;
}

async function testRestore(input: {
  storage: BackupStorage;
  backup: BackupManifest;
  source: SourceRecord;
  decryption: DecryptionOptions | undefined;
  scratch: ScratchTargets;
  temporaryDirectory: string;
  signal: AbortSignal | undefined;
  tools: RestoreTools;
}): Promise<string> {
  const { storage, backup, source, decryption, scratch, temporaryDirectory, signal, tools } = input;
  if (source.kind === 'postgres') {
    if (!scratch.postgres) throw new Inconclusive('test-restore of a PostgreSQL backup needs scratch.postgres');
    await checkTool(backup, source, tools);
    const database = `ops_verify_${Math.random().toString(36).slice(2, 10)}`;
    const pg = await loadPg();
    const admin = new pg.Client(
      pgClientConfig(resolveConnection({ ...scratch.postgres, database: 'postgres' }), 'postgres'),
    );
    await admin.connect().catch(async (error: unknown) => {
      await admin.end().catch(() => undefined);
      throw new Inconclusive(`cannot connect to the scratch PostgreSQL server: ${safeErrorMessage(error)}`);
    });
    try {
      await restorePostgres({
        storage,
        backup,
        source: source.name,
        ...(decryption ? { decryption } : {}),
        pgRestorePath: tools.pgRestorePath,
        psqlPath: tools.psqlPath,
        target: { ...scratch.postgres, database },
        create: true,
        noOwner: true,
        temporaryDirectory,
        ...(signal ? { signal } : {}),
      });
      const client = new pg.Client(pgClientConfig(resolveConnection({ ...scratch.postgres, database }), database));
      await client.connect();
      // Newer manifests record the tables the dump itself creates (`dumpedTables`): the restore must hold exactly
      // those, not counting tables an extension's CREATE EXTENSION made. Older ones recorded the database's tables
      // when the dump started (`tableCount`), extension tables included.
      const dumped = source.details.dumpedTables;
      const expected = typeof dumped === 'number' ? dumped : source.details.tableCount;
      let tables: number;
      try {
        const result = await client.query<{ tables: string }>(
          `SELECT count(*)::bigint AS tables FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
              AND ($1::boolean OR NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                                AND d.objid = c.oid AND d.deptype = 'e'))`,
          [typeof dumped !== 'number'],
        );
        tables = Number(result.rows[0]?.tables ?? 0);
      } finally {
        await client.end().catch(() => undefined);
      }
      if (typeof expected === 'number' && tables !== expected)
        throw new BackupError(
          'BACKUP_CORRUPT',
          typeof dumped === 'number'
            ? `test restore has ${tables} tables, the dump holds ${expected}`
            : `test restore has ${tables} tables, the source had ${expected}`,
        );
      return `restored into scratch database; ${tables} tables as recorded`;
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    }
  }
  if (source.kind === 'redis') {
    const redis = scratch.redis;
    if (!redis) throw new Inconclusive('test-restore of a Redis backup needs scratch.redis (an empty database)');
    if ((await redis.dbsize()) !== 0)
      throw new Inconclusive('scratch.redis must select an empty database (it is flushed after the test restore)');
    try {
      const summary = await restoreRedis({
        storage,
        backup,
        source: source.name,
        ...(decryption ? { decryption } : {}),
        redis,
        policy: 'fail',
        temporaryDirectory,
        ...(signal ? { signal } : {}),
      });
      const keys = await redis.dbsize();
      const expected = typeof source.details.dumpedKeys === 'number' ? source.details.dumpedKeys : undefined;
      if (expected !== undefined && keys + summary.expired !== expected)
        throw new BackupError(
          'BACKUP_CORRUPT',
          `test restore has ${keys} keys (+${summary.expired} expired), the backup recorded ${expected}`,
        );
      return `restored ${summary.restored} keys into scratch database (${summary.expired} already expired)`;
    } finally {
      await redis.flushdb();
    }
  }
  const directory = join(temporaryDirectory, 'files');
  const summary = await restoreFiles({
    storage,
    backup,
    source: source.name,
    ...(decryption ? { decryption } : {}),
    directory,
    temporaryDirectory,
    ...(signal ? { signal } : {}),
  });
  const expected = source.details.fileCount;
  if (typeof expected === 'number' && summary.files !== expected)
    throw new BackupError('BACKUP_CORRUPT', `test restore has ${summary.files} files, the backup recorded ${expected}`);
  return `extracted ${summary.files} files into a scratch directory`;
}

/**
 * Verifies a backup at one of three levels, each including the ones below:
 * - `checksum`: every artifact exists with the recorded size and stored sha256 (no key needed);
 * - `full-read`: decrypt, decompress, check the plain sha256, and parse the format (`pg_restore -f /dev/null`,
 *   a structural walk of the RDB with key counts per database plus its CRC-64, scan-dump records, tar entries);
 * - `test-restore`: restore into a scratch PostgreSQL database / empty Redis database / temp directory, run a
 *   sanity comparison with the manifest, and clean up.
 * The result is appended to the manifest (unless `record: false`) and reported as `verification.completed` to
 * `events`. Never throws for a bad backup: see `ok`.
 *
 * @example
 * ```ts
 * const report = await verifyBackup({ storage, backup: 'latest', job: 'pg-main', level: 'full-read', decryption: { identities: [key] } });
 * if (!report.ok) console.error(report.detail);
 * ```
 */
export async function verifyBackup(options: VerifyBackupOptions): Promise<VerificationReport> {
  const {
    storage,
    level = 'checksum',
    decryption,
    scratch = {},
    record = true,
    clock = systemClock,
    logger = silentLogger,
    signal,
    events,
    pgRestorePath = 'pg_restore',
    psqlPath = 'psql',
  } = options;
  const tools: RestoreTools = { pgRestorePath, psqlPath };
  if (!(level in VERIFICATION_RANK))
    throw new BackupError(
      'ARGUMENT_INVALID',
      `verification level must be checksum, full-read or test-restore, got ${JSON.stringify(level)}`,
    );
  const backup =
    typeof options.backup === 'string'
      ? await findBackup({ storage, id: options.backup, job: options.job })
      : options.backup;
  const artifacts: ArtifactVerification[] = [];
  let ok = backup.state === 'completed' || backup.state === 'partially-failed';
  if (!ok) artifacts.push({ key: `${backup.job}/${backup.id}`, ok: false, detail: `backup state is ${backup.state}` });
  /** Records a failed check: damage found, or (`inconclusive`) a check that could not be carried out. */
  const failed = async (key: string, error: unknown, artifact?: ArtifactRecord, prefix = '') => {
    ok = false;
    const reason = await outsideTheBackup(error, storage, artifact, signal);
    if (reason === undefined) artifacts.push({ key, ok: false, detail: `${prefix}${safeErrorMessage(error)}` });
    else artifacts.push({ key, ok: false, inconclusive: true, detail: `not verified: ${reason}` });
  };
  await withTemporaryDirectory(async (temporaryDirectory) => {
    for (const source of backup.sources.filter((candidate) => candidate.state === 'completed')) {
      for (const artifact of source.artifacts) {
        try {
          let detail = `size ${artifact.storedBytes} and sha256 match`;
          const found: { rdb?: RdbCheck } = {};
          if (!meetsVerification(level, 'full-read')) await checkStoredArtifact(storage, artifact, signal);
          else {
            // The tool that will read the dump runs and can read it, before a byte is read from the storage.
            if (artifact.format === 'pg-custom') await checkTool(backup, source, tools);
            // One read: openArtifact checks the stored size and sha256 as it decrypts (the stream fails at its end
            // on a mismatch), so only the existence and size check runs before it, not a separate read-and-hash.
            await checkStoredSize(storage, artifact);
            const plain = await openArtifact({ storage, artifact, decryption, signal });
            try {
              detail += `; ${await fullRead(artifact, plain, temporaryDirectory, signal, found, pgRestorePath)}`;
              await readToEnd(plain);
            } catch (error) {
              plain.destroy();
              throw error instanceof Inconclusive ? error : artifactReadError(artifact, error);
            }
          }
          artifacts.push({ key: artifact.key, ok: true, detail, ...(found.rdb ? { rdb: found.rdb } : {}) });
        } catch (error) {
          await failed(artifact.key, error, artifact);
        }
      }
      if (ok && level === 'test-restore') {
        const key = `${backup.job}/${backup.id}#${source.name}`;
        try {
          const detail = await testRestore({
            storage,
            backup,
            source,
            decryption,
            scratch,
            temporaryDirectory,
            signal,
            tools,
          });
          artifacts.push({ key, ok: true, detail });
        } catch (error) {
          await failed(key, error, undefined, 'test restore failed: ');
        }
      }
    }
  }, options.temporaryDirectory);
  if (manifestArtifacts(backup).length === 0 && ok) {
    ok = false;
    artifacts.push({ key: `${backup.job}/${backup.id}`, ok: false, detail: 'backup has no artifacts' });
  }
  const failures = artifacts.filter((artifact) => !artifact.ok);
  // Damage found is a result; checks that could not be carried out, and nothing else failed, are not.
  const inconclusive = !ok && failures.every((failure) => failure.inconclusive === true);
  // Counts found by parsing go into the recorded detail too, so the manifest keeps them.
  const counts = artifacts.flatMap((artifact) =>
    artifact.rdb ? [`${artifact.key}: ${describeRdbCounts(artifact.rdb)}`] : [],
  );
  const detail = ok
    ? `${level} verification passed (${artifacts.length} check(s))${counts.length > 0 ? `; ${counts.join('; ')}` : ''}`
    : failures.map((failure) => `${failure.key}: ${failure.detail}`).join('; ');
  const report: VerificationReport = {
    backupId: backup.id,
    job: backup.job,
    level,
    ok,
    ...(inconclusive ? { inconclusive } : {}),
    artifacts,
    detail,
  };
  if (record && backup.state !== 'in-progress' && !inconclusive) {
    backup.verifications.push({ level, at: new Date(clock.now()).toISOString(), ok, detail: detail.slice(0, 2000) });
    await writeManifest(storage, backup).catch((error: unknown) =>
      logger.warn(
        { backup: backup.id, error: safeErrorMessage(error) },
        'cannot record the verification in the manifest',
      ),
    );
  }
  logger[ok ? 'info' : 'error']({ backup: backup.id, level, ok }, detail);
  if (events?.has('verification.completed')) {
    events.emit('verification.completed', {
      at: clock.now(),
      job: backup.job,
      backupId: backup.id,
      level,
      ok,
      detail,
      report,
      manifest: backup,
    });
  }
  return report;
}
