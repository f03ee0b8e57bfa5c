import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TestkitError } from '../errors.js';
import { findFreePort } from '../process/process-utilities.js';
import { REDIS_LEASE_KEY_PREFIX, createRedisNamespace, locateRedisServer } from './redis-namespace.js';
import type { RedisNamespace } from './redis-namespace.js';
import { redisUrlWithDatabase } from './redis-ping.js';

describe('createRedisNamespace', () => {
  let namespace: RedisNamespace;
  beforeAll(async () => {
    namespace = await createRedisNamespace();
  });
  afterAll(() => namespace.dispose());

  it('talks to a real Redis server on a leased database', async () => {
    const client = namespace.client();
    const info = await client.info('server');
    expect(info).toMatch(/redis_version:\d+\.\d+/);
    expect(namespace.db).toBeGreaterThan(0);
    expect(namespace.url.endsWith(`/${namespace.db}`)).toBe(true);
    expect(namespace.keyPrefix).toMatch(/^ops-test:[0-9a-f]{12}:$/);
    await client.set('greeting', 'hello');
    const [[, database]] = [(await client.client('INFO')).toString().match(/ db=(\d+)/) ?? []];
    expect(Number(database)).toBe(namespace.db);
  });

  it('applies the key prefix only when asked', async () => {
    const prefixed = namespace.client({ keyPrefix: namespace.keyPrefix });
    await prefixed.set('counter', '1');
    const plain = namespace.client();
    expect(await plain.get(`${namespace.keyPrefix}counter`)).toBe('1');
  });

  it('never hands the same database to two namespaces, and flushes and releases it on dispose', async () => {
    const first = await createRedisNamespace();
    const second = await createRedisNamespace();
    expect(new Set([namespace.db, first.db, second.db]).size).toBe(3);

    const client = first.client();
    await client.set('left-behind', 'value');
    await first.dispose();
    expect(client.status).toBe('end');

    const inspector = new Redis(redisUrlWithDatabase(first.url, first.db));
    try {
      expect(await inspector.dbsize()).toBe(0);
      await inspector.select(0);
      expect(await inspector.get(`${REDIS_LEASE_KEY_PREFIX}${first.db}`)).toBeNull();
      expect(await inspector.get(`${REDIS_LEASE_KEY_PREFIX}${second.db}`)).not.toBeNull();
    } finally {
      inspector.disconnect();
      await second.dispose();
    }
    expect(() => first.client()).toThrow(TestkitError);
  });
});

describe('createRedisNamespace under contention', () => {
  it('gives namespaces created at the same moment distinct databases, skipping ones leased elsewhere', async () => {
    const server = await locateRedisServer();
    const control = new Redis(redisUrlWithDatabase(server.url, 0));
    // A lease held by some other process must be respected.
    const free: number[] = [];
    for (let database = 1; database < 16 && free.length === 0; database += 1) {
      if ((await control.exists(`${REDIS_LEASE_KEY_PREFIX}${database}`)) === 0) free.push(database);
    }
    const foreign = free[0] ?? 1;
    const claimed = await control.set(`${REDIS_LEASE_KEY_PREFIX}${foreign}`, 'another-process', 'PX', 60_000, 'NX');
    try {
      const namespaces = await Promise.all(Array.from({ length: 6 }, () => createRedisNamespace()));
      const databases = namespaces.map((namespace) => namespace.db);
      expect(new Set(databases).size).toBe(6);
      if (claimed === 'OK') expect(databases).not.toContain(foreign);
      await Promise.all(namespaces.map((namespace) => namespace.dispose()));
    } finally {
      if (claimed === 'OK') await control.del(`${REDIS_LEASE_KEY_PREFIX}${foreign}`);
      control.disconnect();
    }
  });
});

describe('locateRedisServer', () => {
  it('uses OPS_TEST_REDIS_URL first and names it, without the password, when it does not answer', async () => {
    const port = await findFreePort();
    const failure = await locateRedisServer({ OPS_TEST_REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TestkitError);
    expect((failure as TestkitError).code).toBe('SERVICE_UNAVAILABLE');
    expect((failure as TestkitError).message).toContain('OPS_TEST_REDIS_URL=redis://:***@127.0.0.1');
    expect((failure as TestkitError).message).not.toContain('hunter2');
  });

  it('falls back to a throwaway redis-server when nothing answers locally', async () => {
    const deadPort = await findFreePort();
    const server = await locateRedisServer({}, `redis://127.0.0.1:${deadPort}`);
    try {
      expect(server.source).toBe('throwaway');
      const client = new Redis(server.url);
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
    } finally {
      await server.throwaway?.dispose();
    }
  });
});
