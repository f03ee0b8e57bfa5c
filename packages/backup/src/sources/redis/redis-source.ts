import { systemClock, type Clock } from '@ops/core';
import { openRdbStream, ReplicationRefusedError } from './redis-replication.js';
import { createScanDumpStream } from './redis-scan-dump.js';
import type { BackupSource, SourceContext, SourceOutcome } from '../source.js';
import { BackupError } from '../../errors.js';
import type { RedisClientLike } from './redis-client-like.js';

/** How Redis is backed up: `rdb` (replication SYNC, point in time), `scan-dump` (SCAN + DUMP, not point in time), `auto`. */
export type RedisBackupMethod = 'auto' | 'rdb' | 'scan-dump';

/** Options of {@link createRedisSource}. */
export interface RedisSourceOptions {
  /** The user's ioredis client; connection facts (host, port, password) are also used for the SYNC socket. */
  redis: RedisClientLike;
  /** Source name in the job. Default `redis`. */
  name?: string;
  /** Default `auto`: try `rdb`, fall back to `scan-dump` when the server refuses SYNC (managed Redis). */
  method?: RedisBackupMethod;
  /** SCAN COUNT hint. Default 1000. */
  scanCount?: number;
  /** Only keys matching this pattern (scan-dump only). */
  match?: string;
  /** Timeout to get the RDB started (covers `repl-diskless-sync-delay`, default 5 s on the server). Default 30 s. */
  replicationTimeoutMs?: number;
  /** Source of time for the absolute expiries `scan-dump` records (restored with `RESTORE … ABSTTL`). Default {@link systemClock}. */
  clock?: Clock;
  /**
   * Reads the time for `scan-dump` expiries.
   *
   * @deprecated Pass `clock` instead (a `Clock` from `@ops/core`); when both are given, `now` wins.
   */
  now?: () => number;
}

/** Artifact formats written by the Redis source. */
export const REDIS_ARTIFACT_FORMATS = { rdb: 'redis-rdb', scanDump: 'redis-scan-dump' } as const;

async function serverFacts(redis: RedisClientLike): Promise<{ redisVersion: string; keyCount: number; db: number }> {
  const info = await redis.info('server');
  const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
  const keyCount = await redis.dbsize();
  return { redisVersion: version, keyCount, db: Number(redis.options.db ?? 0) };
}

/**
 * A Redis source. With `rdb` it takes a point-in-time RDB over the replication protocol (as `redis-cli --rdb`);
 * that includes every database of the server. With `scan-dump` it writes every key of the client's database with
 * `DUMP` (binary) and its expiry, restored later with `RESTORE … ABSTTL`; that works on managed Redis but is not
 * point in time (keys changing during the scan may be seen before or after the change). The manifest records the
 * method and `pointInTime`.
 *
 * @example
 * ```ts
 * const source = createRedisSource({ redis: new Redis('redis://127.0.0.1:6379/0') });
 * ```
 */
export function createRedisSource(options: RedisSourceOptions): BackupSource {
  const {
    redis,
    name = 'redis',
    method = 'auto',
    scanCount = 1000,
    match,
    replicationTimeoutMs = 30_000,
    clock = systemClock,
    now,
  } = options;
  if (!['auto', 'rdb', 'scan-dump'].includes(method))
    throw new BackupError(
      'ARGUMENT_INVALID',
      `redis method must be auto, rdb or scan-dump, got ${JSON.stringify(method)}`,
    );

  async function backup(context: SourceContext): Promise<SourceOutcome> {
    const facts = await serverFacts(redis).catch((error: unknown) => {
      throw new BackupError('BACKUP_FAILED', `cannot reach Redis: ${(error as Error).message}`, {
        cause: error,
        isRetryable: true,
      });
    });
    const warnings: string[] = [];
    if (method !== 'scan-dump' && !match) {
      const clientOptions = redis.options as {
        host?: string;
        port?: number;
        path?: string;
        username?: string;
        password?: string;
        tls?: unknown;
      };
      if (clientOptions.tls) {
        if (method === 'rdb')
          throw new BackupError(
            'BACKUP_FAILED',
            'redis rdb method does not support TLS connections; use method "scan-dump"',
          );
        warnings.push('TLS connection: used scan-dump instead of rdb');
      } else {
        try {
          const rdb = await openRdbStream({
            ...(clientOptions.path
              ? { path: clientOptions.path }
              : { host: clientOptions.host ?? '127.0.0.1', port: clientOptions.port ?? 6379 }),
            ...(clientOptions.username ? { username: clientOptions.username } : {}),
            ...(clientOptions.password ? { password: clientOptions.password } : {}),
            timeoutMs: replicationTimeoutMs,
          });
          const artifact = await context.writeArtifact(`${name}.rdb`, REDIS_ARTIFACT_FORMATS.rdb, rdb.stream);
          if (rdb.declaredBytes !== undefined && artifact.plainBytes !== rdb.declaredBytes) {
            throw new BackupError(
              'BACKUP_FAILED',
              `RDB is ${artifact.plainBytes} bytes, server announced ${rdb.declaredBytes}`,
            );
          }
          if (artifact.plainBytes < 18) throw new BackupError('BACKUP_FAILED', 'RDB is too short to be valid');
          return {
            details: {
              ...facts,
              method: 'rdb-sync',
              pointInTime: true,
              consistency: 'point-in-time RDB snapshot (fork) of every database',
              diskless: rdb.diskless,
            },
            warnings,
          };
        } catch (error) {
          if (!(error instanceof ReplicationRefusedError) || method === 'rdb') throw error;
          warnings.push(`${error.message}; fell back to scan-dump (not point in time)`);
          context.logger.warn({ source: name }, 'redis refused SYNC; falling back to scan-dump');
        }
      }
    }
    const stream = createScanDumpStream({
      redis,
      scanCount,
      clock,
      ...(now ? { now } : {}),
      header: { redisVersion: facts.redisVersion, db: facts.db },
      ...(match ? { match } : {}),
    });
    await context.writeArtifact(`${name}.rdump`, REDIS_ARTIFACT_FORMATS.scanDump, stream);
    return {
      details: {
        ...facts,
        method: 'scan-dump',
        pointInTime: false,
        consistency:
          'SCAN + DUMP per key: not point in time (keys changed during the scan may be before or after the change)',
        dumpedKeys: stream.stats.keys,
        skippedKeys: stream.stats.skipped,
        largestPayloadBytes: stream.stats.largestPayloadBytes,
        ...(match ? { match } : {}),
      },
      warnings,
    };
  }

  return { kind: 'redis', name, backup };
}
