import { randomUUID } from 'node:crypto';
import { createLock } from '@ops/core';
import { lockStoreContract, runStoreContract } from '@ops/core/testing';
import { createRedisNamespace, type RedisNamespace } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisAuditStore } from '../../audit/redis-audit-store.js';
import { auditStoreContract } from '../../testing/audit-store-contract.js';
import { healingStoreContract } from '../../testing/healing-store-contract.js';
import { railKey } from '../healing-state-store.js';
import { createRedisHealingStore, createRedisLockStore } from './redis-healing-store.js';

let namespace: RedisNamespace;
beforeAll(async () => {
  namespace = await createRedisNamespace();
});
afterAll(() => namespace?.dispose());

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

runStoreContract(
  healingStoreContract,
  {
    name: 'redis',
    create: () => ({
      store: createRedisHealingStore({ redis: namespace.client(), prefix: `${namespace.keyPrefix}${randomUUID()}:` }),
      advance: sleep,
    }),
  },
  { describe, it },
);

runStoreContract(
  lockStoreContract,
  {
    name: 'redis (createRedisLockStore)',
    create: () => ({
      store: createRedisLockStore({ redis: namespace.client(), prefix: `${namespace.keyPrefix}${randomUUID()}:` }),
      advance: sleep,
    }),
  },
  { describe, it },
);

runStoreContract(
  auditStoreContract,
  {
    name: 'redis stream',
    create: () => ({
      store: createRedisAuditStore({ redis: namespace.client(), key: `${namespace.keyPrefix}${randomUUID()}:audit` }),
      advance: sleep,
    }),
  },
  { describe, it },
);

describe('Redis healing store', () => {
  it('runs its scripts with EVALSHA after a SCRIPT FLUSH (falls back to EVAL once)', async () => {
    const redis = namespace.client();
    const store = createRedisHealingStore({ redis, prefix: `${namespace.keyPrefix}flush:` });
    expect((await store.acquire({ key: railKey('r', 'a'), owner: 'one', ttlMs: 5_000 })).granted).toBe(true);
    await redis.call('SCRIPT', 'FLUSH');
    expect((await store.acquire({ key: railKey('r', 'b'), owner: 'one', ttlMs: 5_000 })).granted).toBe(true);
  });

  it('backs core createLock', async () => {
    const lock = createLock({
      store: createRedisLockStore({ redis: namespace.client(), prefix: namespace.keyPrefix }),
    });
    const result = await lock.withLock('job', { ttl: '2s' }, async (lease) => lease.fencingToken);
    expect(result).toBeGreaterThan(0);
  });

  it('trims the audit stream to about maxLength', async () => {
    const redis = namespace.client();
    const key = `${namespace.keyPrefix}trim:audit`;
    const audit = createRedisAuditStore({ redis, key, maxLength: 100 });
    for (let index = 0; index < 1_000; index++)
      await audit.append({ at: index, kind: 'action.skipped', rule: 'r', target: 't', instanceId: 'i' });
    const length = Number(await redis.call('XLEN', key));
    expect(length).toBeLessThan(1_000);
    expect(length).toBeGreaterThanOrEqual(100);
  });
});
