import { withDeadline } from '@ops/core';
import { createManualClock } from '@ops/core/testing';
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
      const deep = await withDeadline(
        (signal) =>
          redisProbe({ redis, memoryWarnRatio: 0.9, maxConnectedClients: 100_000, replication: true })(signal),
        { timeoutMs: 2_000 },
      );
      expect(deep.status).toBe('pass');
      expect(deep.details).toMatchObject({
        usedMemoryBytes: expect.any(Number),
        connectedClients: expect.any(Number),
        role: 'master',
      });
      const crowded = await withDeadline((signal) => redisProbe({ redis, maxConnectedClients: 0 })(signal), {
        timeoutMs: 2_000,
      });
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
    health.register({
      name: 'cache',
      check: (signal) => {
        pings++;
        return probe(signal);
      },
      timeout: '300ms',
      mode: { ttl: '200ms' },
    });
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
          // the first round's PING times out; it stays unanswered, so later rounds report it instead of sending another
          expect(report.checks[0]?.output).toMatch(
            round === 0 ? /^timed out after 300ms$/ : /^timed out, still pending: /,
          );
        }
        expect(pings - before).toBe(1);
      }
      expect(redis.commandQueue.length).toBeLessThanOrEqual(1);
      server.resume();
      await eventually(async () => (await health.ready()).status === 'pass');
    } finally {
      server.resume();
      health.close();
      redis.disconnect();
    }
  });

  // A long outage, polled every second (manual clock: 60 polls; a short real pause between polls lets ioredis'
  // own commandTimeout fire where set). The PING queue must not grow: at most one outstanding PING, with or
  // without commandTimeout (ioredis rejects a timed-out command but keeps it queued until a reply arrives).
  it.each([
    ['without commandTimeout', {}],
    ['with commandTimeout: 200', { commandTimeout: 200 }],
  ] as const)(
    'a 60 s freeze polled every 1 s keeps the ioredis command queue at <= 1 (%s)',
    async (_label, clientOptions) => {
      const redis = new Redis(server.url, { maxRetriesPerRequest: 1, ...clientOptions });
      redis.on('error', () => undefined);
      const clock = createManualClock();
      const health = createHealth({ clock, startReady: true, shutdown: { signals: [] } });
      health.register({ name: 'cache', check: redisProbe({ redis }), timeout: '300ms', mode: { every: '1s' } });
      let maxQueue = 0;
      const outputs = new Set<string>();
      try {
        await clock.advanceAsync(0);
        await eventually(async () => (await health.ready()).status === 'pass');
        server.pause();
        for (let second = 0; second < 60; second++) {
          await clock.advanceAsync(1_000);
          await new Promise((resolve) => setTimeout(resolve, 10));
          maxQueue = Math.max(maxQueue, redis.commandQueue.length);
          const report = await health.ready();
          // (the first poll's PING reaches its deadline 300 ms later, within the next second)
          if (second > 0) expect(report.status).toBe('fail');
          outputs.add(String(report.checks[0]?.output).replace(/\d+ms/g, 'Nms'));
        }
        expect(maxQueue).toBeLessThanOrEqual(1);
        expect([...outputs].some((output) => output.startsWith('timed out, still pending: '))).toBe(true);
        server.resume();
        await eventually(async () => {
          await clock.advanceAsync(1_000);
          return (await health.ready()).status === 'pass';
        });
        await eventually(async () => redis.commandQueue.length === 0);
      } finally {
        server.resume();
        health.close();
        redis.disconnect();
      }
      console.info(`redis freeze (${_label}): max ioredis command queue length over 60 polls = ${maxQueue}`);
    },
  );
});
