import { withDeadline } from '@ops/core';
import { createRedisNamespace, startThrowawayRedis, type ThrowawayRedis } from '@ops/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealth } from '../registry/health.js';
import { redisProbe } from './redis-probe.js';

async function eventually(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not met within the bounded wait');
}

describe('redisProbe against a real Redis', () => {
  it('passes with PING and reads memory, clients and role from INFO', async () => {
    const namespace = await createRedisNamespace();
    try {
      const redis = namespace.client();
      const plain = await withDeadline((signal) => redisProbe({ redis })(signal), { timeoutMs: 2_000 });
      expect(plain).toMatchObject({ status: 'pass', observedUnit: 'ms' });
      const deep = await withDeadline((signal) => redisProbe({ redis, memoryWarnRatio: 0.9, maxConnectedClients: 100_000, replication: true })(signal), { timeoutMs: 2_000 });
      expect(deep.status).toBe('pass');
      expect(deep.details).toMatchObject({ usedMemoryBytes: expect.any(Number), connectedClients: expect.any(Number), role: 'master' });
      const crowded = await withDeadline((signal) => redisProbe({ redis, maxConnectedClients: 0 })(signal), { timeoutMs: 2_000 });
      expect(crowded).toMatchObject({ status: 'warn', output: expect.stringMatching(/connected clients \(limit 0\)/) });
    } finally {
      await namespace.dispose();
    }
  });
});

describe('Redis hung with SIGSTOP', () => {
  let server: ThrowawayRedis;
  beforeAll(async () => {
    server = await startThrowawayRedis();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('the endpoint answers by the deadline every time, runs one PING for concurrent callers, and recovers after SIGCONT', async () => {
    const redis = new Redis(server.url, { commandTimeout: 2_000, maxRetriesPerRequest: 1, lazyConnect: false });
    redis.on('error', () => undefined);
    const health = createHealth({ startReady: true, shutdown: { signals: [] } });
    const probe = redisProbe({ redis });
    let pings = 0;
    health.register({ name: 'cache', check: (signal) => { pings++; return probe(signal); }, timeout: '300ms', mode: { ttl: '200ms' } });
    try {
      expect((await health.ready()).status).toBe('pass');
      server.pause();
      for (let round = 0; round < 5; round++) {
        // let the cached result of the previous round (ttl 200ms) expire
        await new Promise((resolve) => setTimeout(resolve, 210));
        const before = pings;
        const reports = await Promise.all(Array.from({ length: 20 }, () => health.ready()));
        for (const report of reports) {
          expect(report.status).toBe('fail');
          expect(report.checks[0]).toMatchObject({ timedOut: true, output: 'timed out after 300ms' });
        }
        expect(pings - before).toBe(1);
      }
      server.resume();
      await eventually(async () => (await health.ready()).status === 'pass');
    } finally {
      server.resume();
      health.close();
      redis.disconnect();
    }
  });
});
