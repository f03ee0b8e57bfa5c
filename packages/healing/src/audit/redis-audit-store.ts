import { HealingError } from '../errors.js';
import type { RedisCommandClient } from '../stores/redis/redis-like.js';
import type { AuditEntry, AuditQuery, AuditRecord, AuditStore } from './audit-store.js';
import { matchesAuditQuery } from './audit-store.js';

/** Options of {@link createRedisAuditStore}. */
export interface RedisAuditStoreOptions {
  /** Your ioredis client (any object with `call(command, ...args)`). */
  redis: RedisCommandClient;
  /** The stream's key. Default `'ops:healing:audit'`. */
  key?: string;
  /** Approximate length cap of the stream (`XADD … MAXLEN ~`). Default 100,000. */
  maxLength?: number;
}

const PAGE = 500;

/**
 * The {@link AuditStore} on a Redis stream: `XADD key MAXLEN ~ N * record <json>` (append-only; the oldest records
 * are trimmed past about `maxLength`), read back newest first with `XREVRANGE`. The stream id is the record id.
 *
 * @example
 * ```ts
 * const audit = createRedisAuditStore({ redis, key: 'myapp:healing:audit' });
 * const healer = createHealer({ rules, store, audit });
 * ```
 */
export function createRedisAuditStore(options: RedisAuditStoreOptions): AuditStore {
  const { redis, key = 'ops:healing:audit', maxLength = 100_000 } = options;
  if (!redis || typeof redis.call !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'createRedisAuditStore: redis must be an ioredis client (with call())');
  return {
    async append(record: AuditRecord) {
      return String(await redis.call('XADD', key, 'MAXLEN', '~', maxLength, '*', 'record', JSON.stringify(record)));
    },
    async list(query: AuditQuery = {}) {
      const { limit = 100 } = query;
      const found: AuditEntry[] = [];
      let end = '+';
      // Newest first, page by page, until `limit` matches or the stream (or `since`) ends; bounded by maxLength.
      for (let scanned = 0; found.length < limit && scanned <= maxLength * 2; scanned += PAGE) {
        const page = (await redis.call('XREVRANGE', key, end, '-', 'COUNT', PAGE)) as [string, string[]][];
        if (page.length === 0) break;
        let pastSince = false;
        for (const [id, fields] of page) {
          const index = fields.indexOf('record');
          if (index < 0) continue;
          const record = JSON.parse(fields[index + 1]!) as AuditRecord;
          if (query.since !== undefined && record.at < query.since) {
            pastSince = true;
            break;
          }
          if (matchesAuditQuery(record, query)) found.push({ ...record, id });
          if (found.length >= limit) break;
        }
        if (pastSince || page.length < PAGE) break;
        end = `(${page[page.length - 1]![0]}`;
      }
      return found.reverse();
    },
  };
}
