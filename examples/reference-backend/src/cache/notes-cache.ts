import { systemClock, type Clock } from '@ops/core';
import type { Redis } from 'ioredis';
import { noteSchema, type Note } from '../notes/note.js';

/**
 * A read-through cache of single notes. It is an optimisation only: the service treats every cache error as a
 * miss (and logs it), so a cache outage slows reads down but never fails them.
 */
export interface NotesCache {
  readonly kind: 'memory' | 'redis';
  get(id: string): Promise<Note | undefined>;
  set(note: Note): Promise<void>;
  delete(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link createMemoryNotesCache}. */
export interface MemoryNotesCacheOptions {
  /** How long an entry lives, milliseconds. Default 60 000. */
  ttlMs?: number;
  /** Most entries kept (oldest evicted first). Default 1000. */
  maxEntries?: number;
  clock?: Clock;
}

/**
 * The default cache: a bounded `Map` with a TTL, measured with `clock`.
 *
 * @example
 * ```ts
 * const cache = createMemoryNotesCache({ ttlMs: 30_000 });
 * ```
 */
export function createMemoryNotesCache(options: MemoryNotesCacheOptions = {}): NotesCache {
  const { ttlMs = 60_000, maxEntries = 1_000, clock = systemClock } = options;
  const entries = new Map<string, { note: Note; expiresAt: number }>();
  return {
    kind: 'memory',
    async get(id) {
      const entry = entries.get(id);
      if (!entry) return undefined;
      if (entry.expiresAt <= clock.now()) {
        entries.delete(id);
        return undefined;
      }
      return { ...entry.note };
    },
    async set(note) {
      entries.delete(note.id);
      entries.set(note.id, { note: { ...note }, expiresAt: clock.now() + ttlMs });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    async delete(id) {
      entries.delete(id);
    },
    async close() {
      entries.clear();
    },
  };
}

/** Options of {@link createRedisNotesCache}. */
export interface RedisNotesCacheOptions {
  /** The application's ioredis client (shared with the readiness probe); quit by `close()`. */
  redis: Redis;
  /** Prefix of every key. Default `notes:`. */
  keyPrefix?: string;
  /** Expiry of each entry in seconds. Default 60. */
  ttlSeconds?: number;
}

/**
 * A cache in Redis: one JSON string per note with an expiry. Entries read back are validated, so a foreign or
 * corrupt value counts as a miss instead of reaching a client.
 *
 * @example
 * ```ts
 * const cache = createRedisNotesCache({ redis: new Redis(process.env.REDIS_URL) });
 * ```
 */
export function createRedisNotesCache(options: RedisNotesCacheOptions): NotesCache {
  const { redis, keyPrefix = 'notes:', ttlSeconds = 60 } = options;
  const key = (id: string) => `${keyPrefix}${id}`;
  return {
    kind: 'redis',
    async get(id) {
      const text = await redis.get(key(id));
      if (text === null) return undefined;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return undefined;
      }
      const parsed = noteSchema.safeParse(value);
      return parsed.success ? parsed.data : undefined;
    },
    async set(note) {
      await redis.set(key(note.id), JSON.stringify(note), 'EX', ttlSeconds);
    },
    async delete(id) {
      await redis.del(key(id));
    },
    async close() {
      if (redis.status === 'end') return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
