import { createRedisNamespace, startThrowawayRedis, type RedisNamespace } from '@ops/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionContext } from './action-context.fixture.js';
import { reconnectRedis } from './reconnect-redis.js';

let namespace: RedisNamespace;
beforeAll(async () => {
  namespace = await createRedisNamespace();
}, 60_000);
afterAll(async () => {
  await namespace?.dispose();
});

describe('reconnectRedis against Redis', () => {
  it('drops the connection and comes back ready on a new one', async () => {
    const redis = namespace.client();
    try {
      const before = await redis.client('ID');
      const outcome = await reconnectRedis(redis).run(actionContext());
      expect(redis.status).toBe('ready');
      const after = await redis.client('ID');
      expect(after).not.toBe(before);
      expect(outcome?.data).toMatchObject({ before: 'ready' });
    } finally {
      redis.disconnect();
    }
  });

  it('connects a client that had ended', async () => {
    const redis = namespace.client();
    try {
      await redis.ping();
      const ended = new Promise((resolve) => redis.once('end', resolve));
      await redis.quit();
      await ended;
      expect(redis.status).toBe('end');
      await reconnectRedis(redis).run(actionContext());
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('gives up when the step is aborted while the server is down', async () => {
    const server = await startThrowawayRedis();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    redis.on('error', () => undefined);
    try {
      await redis.ping();
      await server.stop();
      const controller = new AbortController();
      const running = reconnectRedis(redis).run(actionContext({ signal: controller.signal }));
      setTimeout(() => controller.abort(new Error('step timed out')), 500);
      await expect(running).rejects.toThrow('step timed out');
    } finally {
      redis.disconnect();
      await server.dispose();
    }
  });
});
