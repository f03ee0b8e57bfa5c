/**
 * What `pipeline()` of a {@link RedisClientLike} returns: the commands @ops/backup queues, and `exec`. Each command
 * returns the pipeline in ioredis (its return value is not used here).
 */
export interface RedisPipelineLike {
  exists(key: Buffer): unknown;
  dumpBuffer(key: Buffer): unknown;
  pttl(key: Buffer): unknown;
  call(command: string, ...args: (string | number | Buffer)[]): unknown;
  /** `[error, result]` per queued command, in order. */
  exec(): Promise<[error: Error | null, result: unknown][] | null>;
}

/**
 * The part of an ioredis client (`new Redis(url)`, ioredis 5 or 6) that the Redis source, `restoreRedis` and
 * `verifyBackup` use. Structural, so ioredis stays an optional peer: a user who does not back up Redis never needs
 * its types, and a user who does passes their `Redis` client as it is.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const redis: RedisClientLike = new Redis('redis://127.0.0.1:6379/0');
 * ```
 */
export interface RedisClientLike {
  /** Connection settings; host, port (or path), username and password also open the replication socket of `rdb`. */
  readonly options: {
    host?: string | undefined;
    port?: number | undefined;
    path?: string | undefined;
    username?: string | undefined;
    password?: string | undefined;
    tls?: unknown;
    db?: number | undefined;
  };
  info(section: string): Promise<string>;
  dbsize(): Promise<number>;
  flushdb(): Promise<unknown>;
  /** `SCAN cursor COUNT n` with binary keys: `[next cursor, keys]`. */
  scanBuffer(cursor: string, countToken: 'COUNT', count: number): Promise<[cursor: Buffer, elements: Buffer[]]>;
  /** `SCAN cursor MATCH pattern COUNT n` with binary keys. */
  scanBuffer(
    cursor: string,
    patternToken: 'MATCH',
    pattern: string,
    countToken: 'COUNT',
    count: number,
  ): Promise<[cursor: Buffer, elements: Buffer[]]>;
  /** Any command, binary replies (the `EVAL` of the scan-dump batches). */
  callBuffer(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
  pipeline(): RedisPipelineLike;
}
