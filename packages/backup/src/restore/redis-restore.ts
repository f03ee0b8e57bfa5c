import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, systemClock, type Clock, type Logger } from '@ops/core';
import { withTemporaryDirectory } from '../jobs/temporary-directories.js';
import type { BackupManifest } from '../manifest/manifest.js';
import type { DecryptionOptions } from '../pipeline/artifact-pipeline.js';
import { Crc64 } from '../sources/redis/crc64.js';
import { readDumpRecords, type DumpRecord } from '../sources/redis/redis-dump-format.js';
import { createScanDumpStream } from '../sources/redis/redis-scan-dump.js';
import type { BackupStorage } from '../storages/storage.js';
import { downloadArtifact } from './download-artifact.js';
import { pickSource } from './postgres-restore.js';
import { BackupError } from '../errors.js';
import type { RedisClientLike } from '../sources/redis/redis-client-like.js';

/** What to do with keys that already exist in the target: overwrite, keep theirs, or stop with an error. */
export type RedisReplacePolicy = 'replace' | 'skip-existing' | 'fail';

/** Options of {@link restoreRedis}. */
export interface RestoreRedisOptions {
  storage: BackupStorage;
  backup: BackupManifest;
  /** Which redis source; default the only one. */
  source?: string;
  decryption?: DecryptionOptions;
  /** Target client (its selected database receives the keys). */
  redis: RedisClientLike;
  /** Default `replace`. */
  policy?: RedisReplacePolicy;
  /** RESTORE commands per pipeline. Default 500. */
  batchSize?: number;
  /** For RDB backups: which database of the snapshot to copy. Default the one recorded in the manifest. */
  sourceDatabase?: number;
  /** For RDB backups: `redis-server` used to load the snapshot. Default from PATH. */
  redisServerPath?: string;
  temporaryDirectory?: string;
  signal?: AbortSignal;
  logger?: Logger;
  /** Source of time: the wait for the private `redis-server` of RDB restores, and which restored keys had expired. Default `systemClock`. */
  clock?: Clock;
}

/** What a Redis restore did. */
export interface RedisRestoreSummary {
  restored: number;
  skippedExisting: number;
  expired: number;
}

const describeKey = (key: Buffer): string => JSON.stringify(key.toString('utf8').slice(0, 100));

/** A DUMP payload ends with its RDB version (2 bytes) and a CRC-64 of everything before it (8 bytes, little-endian). */
function checkPayload(record: DumpRecord): void {
  const { payload } = record;
  const valid =
    payload.length >= 10 &&
    new Crc64().update(payload.subarray(0, payload.length - 8)).digest() ===
      payload.readBigUInt64LE(payload.length - 8);
  if (!valid)
    throw new BackupError(
      'BACKUP_CORRUPT',
      `the DUMP payload of key ${describeKey(record.key)} fails its CRC-64 (damaged); nothing was restored`,
    );
}

/**
 * Restores records with pipelined RESTORE … ABSTTL, applying the replace policy. `records` is read twice: first
 * every record is checked — the payload's own CRC-64 and, with policy `fail`, whether the key already exists in
 * the target — and only when all pass is anything written. So a damaged record or a conflict refuses the restore
 * with the target untouched.
 */
export async function restoreRecords(
  records: () => AsyncIterable<DumpRecord>,
  redis: RedisClientLike,
  options: { policy: RedisReplacePolicy; batchSize: number; clock?: Clock },
): Promise<RedisRestoreSummary> {
  const { policy, batchSize, clock = systemClock } = options;
  let pending: DumpRecord[] = [];
  const findConflicts = async () => {
    if (pending.length === 0) return;
    const pipeline = redis.pipeline();
    for (const record of pending) pipeline.exists(record.key);
    const results = (await pipeline.exec()) ?? [];
    results.forEach(([error, exists], index) => {
      const record = pending[index] as DumpRecord;
      if (error)
        throw new BackupError(
          'RESTORE_FAILED',
          `cannot check key ${describeKey(record.key)} in the target: ${error.message}`,
          { cause: error },
        );
      if (exists === 1)
        throw new BackupError(
          'RESTORE_FAILED',
          `key ${describeKey(record.key)} already exists in the target (policy "fail"); nothing was restored`,
        );
    });
    pending = [];
  };
  for await (const record of records()) {
    checkPayload(record);
    if (policy !== 'fail') continue;
    pending.push(record);
    if (pending.length >= batchSize) await findConflicts();
  }
  await findConflicts();

  const summary: RedisRestoreSummary = { restored: 0, skippedExisting: 0, expired: 0 };
  let batch: DumpRecord[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const pipeline = redis.pipeline();
    for (const record of batch) {
      const args: (string | number | Buffer)[] = [
        record.key,
        record.expireAtMs > 0 ? record.expireAtMs : 0,
        record.payload,
      ];
      if (record.expireAtMs > 0) args.push('ABSTTL');
      if (policy === 'replace') args.push('REPLACE');
      pipeline.call('RESTORE', ...args);
    }
    const results = (await pipeline.exec()) ?? [];
    const at = clock.now();
    results.forEach(([error], index) => {
      const record = batch[index] as DumpRecord;
      if (!error) {
        if (record.expireAtMs > 0 && record.expireAtMs <= at) summary.expired++;
        else summary.restored++;
        return;
      }
      if (/BUSYKEY/.test(error.message) && policy === 'skip-existing') {
        summary.skippedExisting++;
        return;
      }
      throw new BackupError('RESTORE_FAILED', `RESTORE of key ${describeKey(record.key)} failed: ${error.message}`, {
        cause: error,
      });
    });
    batch = [];
  };
  for await (const record of records()) {
    batch.push(record);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return summary;
}

async function waitForSocket(
  path: string,
  child: ReturnType<typeof spawn>,
  options: { timeoutMs: number; clock: Clock; signal?: AbortSignal | undefined },
): Promise<void> {
  const { timeoutMs, clock, signal } = options;
  const { connect } = await import('node:net');
  const deadline = clock.now() + timeoutMs;
  for (let attempt = 0; attempt < 400; attempt++) {
    if (child.exitCode !== null)
      throw new BackupError(
        'RESTORE_FAILED',
        `redis-server exited with code ${child.exitCode} while loading the RDB (corrupt or incompatible snapshot?)`,
      );
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ path });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (clock.now() > deadline) break;
    await clock.sleep(50, signal);
  }
  throw new BackupError('RESTORE_FAILED', `redis-server did not start within ${timeoutMs} ms to load the RDB`);
}

/**
 * Loads an RDB file into a private `redis-server` (unix socket only, no persistence) and hands a client to `work`.
 * The server is stopped (by its pid) afterwards. `signal` stops the wait for the server to start.
 */
export async function withRdbServer<T>(
  options: {
    rdbPath: string;
    directory: string;
    redisServerPath?: string;
    database?: number;
    clock?: Clock;
    signal?: AbortSignal | undefined;
  },
  work: (client: RedisClientLike) => Promise<T>,
): Promise<T> {
  const { rdbPath, directory, redisServerPath = 'redis-server', database = 0, clock = systemClock, signal } = options;
  const socketPath = join(directory, 'redis.sock');
  const child = spawn(
    redisServerPath,
    [
      '--port',
      '0',
      '--unixsocket',
      socketPath,
      '--unixsocketperm',
      '700',
      '--dir',
      directory,
      '--dbfilename',
      rdbPath.slice(directory.length + 1),
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      '--databases',
      '64',
    ],
    { stdio: 'ignore' },
  );
  const spawnFailed = new Promise<never>((_resolve, reject) =>
    child.once('error', (error) =>
      reject(
        new BackupError(
          'RESTORE_FAILED',
          `cannot start ${redisServerPath}: ${error.message} (install redis-server to restore RDB backups)`,
          { cause: error },
        ),
      ),
    ),
  );
  spawnFailed.catch(() => undefined);
  try {
    await Promise.race([waitForSocket(socketPath, child, { timeoutMs: 60_000, clock, signal }), spawnFailed]);
    const { Redis: RedisClient } = await import('ioredis');
    const client = new RedisClient({ path: socketPath, db: database, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      return await work(client);
    } finally {
      client.disconnect();
    }
  } finally {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/**
 * Restores a Redis source into the target client's database. Nothing reaches the target before the whole artifact
 * has authenticated: it is first decrypted, decompressed and checked against both sha256 sums into a 0600 file
 * (a flipped byte, a truncation, a chunk failing authentication or a wrong key is refused with the target
 * untouched); then every record is checked (the DUMP payload's CRC-64; with policy `fail`, keys already in the
 * target) before the first write. Scan-dump backups are then applied with pipelined RESTORE … ABSTTL batches; RDB
 * backups are loaded into a private `redis-server` and copied key by key (DUMP → RESTORE). Expired keys are not
 * restored. What can still stop a restore midway is the target itself (out of memory, connection lost, a payload
 * from a newer Redis, a key created concurrently under policy `fail`): `RESTORE_FAILED` names the key, and the keys
 * restored before it stay.
 *
 * @example
 * ```ts
 * await restoreRedis({ storage, backup, redis: new Redis('redis://127.0.0.1:6379/3'), policy: 'replace' });
 * ```
 */
export async function restoreRedis(options: RestoreRedisOptions): Promise<RedisRestoreSummary> {
  const {
    storage,
    backup,
    decryption,
    redis,
    policy = 'replace',
    batchSize = 500,
    signal,
    logger = silentLogger,
    clock = systemClock,
  } = options;
  if (!['replace', 'skip-existing', 'fail'].includes(policy))
    throw new BackupError(
      'ARGUMENT_INVALID',
      `redis replace policy must be replace, skip-existing or fail, got ${JSON.stringify(policy)}`,
    );
  const source = pickSource(backup, 'redis', options.source);
  const artifact = source.artifacts[0];
  if (!artifact) throw new BackupError('RESTORE_FAILED', `source ${source.name} has no artifact`);
  logger.info({ backup: backup.id, source: source.name, format: artifact.format }, 'restoring Redis');
  if (artifact.format !== 'redis-scan-dump' && artifact.format !== 'redis-rdb')
    throw new BackupError('RESTORE_FAILED', `unknown Redis artifact format ${artifact.format}`);
  const database = options.sourceDatabase ?? Number(source.details.db ?? 0);
  return withTemporaryDirectory(async (directory) => {
    // Nothing reaches the target before the whole artifact has authenticated (age MAC, both sha256 sums): it is
    // staged to a 0600 file first, as the PostgreSQL restore does.
    const staged = join(directory, artifact.format === 'redis-rdb' ? 'dump.rdb' : 'dump.scan');
    await downloadArtifact({ storage, artifact, decryption, path: staged, signal });
    if (artifact.format === 'redis-scan-dump') {
      return restoreRecords(() => readDumpRecords(createReadStream(staged)), redis, { policy, batchSize, clock });
    }
    return withRdbServer(
      {
        rdbPath: staged,
        directory,
        database,
        clock,
        signal,
        ...(options.redisServerPath ? { redisServerPath: options.redisServerPath } : {}),
      },
      async (scratch) =>
        restoreRecords(() => readDumpRecords(createScanDumpStream({ redis: scratch })), redis, {
          policy,
          batchSize,
          clock,
        }),
    );
  }, options.temporaryDirectory);
}

/** Exposed for verification: counts keys of an RDB file per database by loading it into a private server. */
export async function countRdbKeys(
  rdbPath: string,
  directory: string,
  database: number,
  redisServerPath?: string,
): Promise<number> {
  return withRdbServer({ rdbPath, directory, database, ...(redisServerPath ? { redisServerPath } : {}) }, (client) =>
    client.dbsize(),
  );
}
