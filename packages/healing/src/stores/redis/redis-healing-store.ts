import { systemClock, type Clock, type LockStore } from '@ops/core';
import { HealingError } from '../../errors.js';
import type { HealingStateStore, PauseEntry, RailState } from '../healing-state-store.js';
import { pauseKey } from '../healing-state-store.js';
import type { RedisCommandClient } from './redis-like.js';
import { ACQUIRE, IN_REMEDIATION, PUT_STATE, RELEASE, RENEW, REPORT, runScript } from './redis-scripts.js';

/** Options of {@link createRedisHealingStore}. */
export interface RedisHealingStoreOptions {
  /** Your ioredis client (any object with `call(command, ...args)`). */
  redis: RedisCommandClient;
  /** Prefix of every key. Default `'ops:healing:'`. */
  prefix?: string;
  /** Source of time for pause expiry. Default the system clock. Lock and budget expiry use the server's clock. */
  clock?: Clock;
}

const asNumber = (value: unknown): number => Number(value);

function checkClient(redis: unknown, where: string): asserts redis is RedisCommandClient {
  if (!redis || typeof (redis as RedisCommandClient).call !== 'function')
    throw new HealingError('ARGUMENT_INVALID', `${where}: redis must be an ioredis client (with call())`);
}

/**
 * The Redis {@link HealingStateStore}, for a fleet of healers on one Redis: a lock per (rule, target) with a
 * fencing token and the fleet disruption budget taken in ONE Lua script (no replica slips between the lock and
 * the budget), the rails state as fenced JSON with a TTL, pauses every replica sees, and instance reports. Expiry
 * uses the server's clock. Scripts run with EVALSHA, falling back to EVAL. Works on a standalone or Sentinel Redis
 * (keys of one healer are not hash-tagged for Cluster).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const store = createRedisHealingStore({ redis: new Redis(process.env.REDIS_URL!), prefix: 'myapp:healing:' });
 * const healer = createHealer({ rules, store });
 * ```
 */
export function createRedisHealingStore(options: RedisHealingStoreOptions): HealingStateStore {
  checkClient(options.redis, 'createRedisHealingStore');
  const { redis, prefix = 'ops:healing:', clock = systemClock } = options;
  const lockKey = (key: string) => `${prefix}lock:${key}`;
  const fenceKey = (key: string) => `${prefix}fence:${key}`;
  const stateKey = (key: string) => `${prefix}state:${key}`;
  const budgetKey = (scope: string) => `${prefix}budget:${scope}`;
  const pausesKey = `${prefix}pauses`;
  const locks = redisLockOperations(redis, prefix);

  return {
    async acquire(request) {
      const reply = (await runScript(
        redis,
        ACQUIRE,
        [lockKey(request.key), fenceKey(request.key), budgetKey(request.budget?.scope ?? '')],
        [request.owner, Math.max(1, Math.round(request.ttlMs)), request.budget ? request.budget.max : -1],
      )) as [number, number | string, number | string];
      if (asNumber(reply[0]) === 1)
        return { granted: true, fencingToken: asNumber(reply[1]), expiresAt: asNumber(reply[2]) };
      return reply[1] === 'budget'
        ? { granted: false, reason: 'budget', inRemediation: asNumber(reply[2]) }
        : { granted: false, reason: 'held', holder: String(reply[2]) };
    },
    renew: locks.renew,
    release: locks.release,
    async checkFence(key, fencingToken) {
      return asNumber(await redis.call('GET', fenceKey(key))) === fencingToken;
    },
    async getState(key) {
      const text = await redis.call('GET', stateKey(key));
      return typeof text === 'string' ? (JSON.parse(text) as RailState) : undefined;
    },
    async putState(key, state, write) {
      const reply = await runScript(
        redis,
        PUT_STATE,
        [fenceKey(key), stateKey(key)],
        [write.fencingToken, JSON.stringify(state), Math.max(1, Math.round(write.ttlMs))],
      );
      return asNumber(reply) === 1;
    },
    async pause(entry) {
      await redis.call('HSET', pausesKey, pauseKey(entry), JSON.stringify(entry));
    },
    async resume(scope) {
      return asNumber(await redis.call('HDEL', pausesKey, pauseKey(scope))) > 0;
    },
    async listPauses() {
      const flat = (await redis.call('HGETALL', pausesKey)) as string[];
      const now = clock.now();
      const out: PauseEntry[] = [];
      const expired: string[] = [];
      for (let index = 0; index + 1 < flat.length; index += 2) {
        const entry = JSON.parse(flat[index + 1]!) as PauseEntry;
        if (entry.until !== undefined && entry.until <= now) expired.push(flat[index]!);
        else out.push(entry);
      }
      if (expired.length > 0) await redis.call('HDEL', pausesKey, ...expired);
      return out;
    },
    async report(group, reporter, active, ttlMs) {
      const reply = (await runScript(
        redis,
        REPORT,
        [`${prefix}reporters:${group}`, `${prefix}reporters-active:${group}`],
        [reporter, active ? 1 : 0, Math.max(1, Math.round(ttlMs))],
      )) as [number, number];
      return { active: asNumber(reply[0]), total: asNumber(reply[1]) };
    },
    async inRemediation(scope) {
      return asNumber(await runScript(redis, IN_REMEDIATION, [budgetKey(scope)], []));
    },
  };
}

function redisLockOperations(redis: RedisCommandClient, prefix: string) {
  const lockKey = (key: string) => `${prefix}lock:${key}`;
  return {
    async renew(key: string, owner: string, fencingToken: number, ttlMs: number) {
      const reply = (await runScript(
        redis,
        RENEW,
        [lockKey(key)],
        [owner, fencingToken, Math.max(1, Math.round(ttlMs))],
      )) as [number, number?];
      return asNumber(reply[0]) === 1 ? { fencingToken, expiresAt: asNumber(reply[1]) } : undefined;
    },
    async release(key: string, owner: string, fencingToken: number) {
      await runScript(redis, RELEASE, [lockKey(key)], [owner, fencingToken]);
    },
  };
}

/** Options of {@link createRedisLockStore}. */
export interface RedisLockStoreOptions {
  /** Your ioredis client (any object with `call(command, ...args)`). */
  redis: RedisCommandClient;
  /** Prefix of every key. Default `'ops:lock:'`. */
  prefix?: string;
}

/**
 * A core `LockStore` on Redis (for `createLock` from `@ops/core`): `SET NX PX` semantics with a fencing token from
 * a per-key counter, renewal and release by the holder only (Lua compare-and-set). Passes core's
 * `lockStoreContract`.
 *
 * @example
 * ```ts
 * const lock = createLock({ store: createRedisLockStore({ redis }) });
 * await lock.withLock('nightly-report', { ttl: '1m' }, (lease) => run(lease.signal));
 * ```
 */
export function createRedisLockStore(options: RedisLockStoreOptions): LockStore {
  checkClient(options.redis, 'createRedisLockStore');
  const { redis, prefix = 'ops:lock:' } = options;
  const locks = redisLockOperations(redis, prefix);
  return {
    async tryAcquire(key, owner, ttlMs) {
      const reply = (await runScript(
        redis,
        ACQUIRE,
        [`${prefix}lock:${key}`, `${prefix}fence:${key}`, `${prefix}budget:`],
        [owner, Math.max(1, Math.round(ttlMs)), -1],
      )) as [number, number | string, number | string];
      return asNumber(reply[0]) === 1 ? { fencingToken: asNumber(reply[1]), expiresAt: asNumber(reply[2]) } : undefined;
    },
    renew: locks.renew,
    release: locks.release,
  };
}
