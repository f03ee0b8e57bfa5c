import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock, systemClock } from '@ops/core';
import {
  createRedisNamespace,
  startThrowawayRedis,
  tempDir,
  type RedisNamespace,
  type TempDir,
  type ThrowawayRedis,
} from '@ops/testkit';
import { runBackup } from '../../jobs/run-backup.js';
import { restoreRedis } from '../../restore/redis-restore.js';
import { createLocalStorage } from '../../storages/local/local-storage.js';
import { verifyBackup } from '../../verify/verify-backup.js';
import { createRedisSource } from './redis-source.js';

let source: RedisNamespace;
let target: RedisNamespace;
let scratch: RedisNamespace;
let throwaway: ThrowawayRedis;
let directory: TempDir;
const clients: Redis[] = [];

/** Every data type, binary keys and values, TTLs, and one big key (2 MB hash). */
async function seed(redis: Redis): Promise<void> {
  const pipeline = redis.pipeline();
  pipeline.set('string:plain', 'hello');
  pipeline.set(Buffer.from([0xff, 0x00, 0xfe, 0x10]), Buffer.from([0x00, 0x01, 0xff, 0x80, 0x7f]));
  pipeline.set('string:ttl', 'soon', 'PX', 3_600_000);
  pipeline.rpush('list', 'a', 'b', 'c');
  pipeline.sadd('set', 'x', 'y', 'z');
  pipeline.zadd('zset', 1.5, 'one', 2.25, 'two', -1e-9, 'tiny');
  pipeline.hset('hash', { field: 'value', other: 'thing' });
  pipeline.xadd('stream', '1-1', 'event', 'created');
  pipeline.xadd('stream', '2-1', 'event', 'updated');
  pipeline.pfadd('hll', 'a', 'b', 'c');
  for (let index = 0; index < 500; index++) pipeline.set(`bulk:${index}`, `value-${index}`);
  await pipeline.exec();
  const big = redis.pipeline();
  for (let index = 0; index < 20_000; index++) big.hset('big:hash', `field-${index}`, 'x'.repeat(100));
  await big.exec();
}

async function snapshot(redis: Redis): Promise<Record<string, unknown>> {
  return {
    size: await redis.dbsize(),
    plain: await redis.get('string:plain'),
    binary: (await redis.getBuffer(Buffer.from([0xff, 0x00, 0xfe, 0x10])))?.toString('hex'),
    ttlSet: (await redis.pttl('string:ttl')) > 3_000_000,
    list: await redis.lrange('list', 0, -1),
    set: (await redis.smembers('set')).sort(),
    zset: await redis.call('ZRANGE', 'zset', '0', '-1', 'WITHSCORES'),
    hash: await redis.hgetall('hash'),
    stream: await redis.xrange('stream', '-', '+'),
    hll: await redis.pfcount('hll'),
    bigFields: await redis.hlen('big:hash'),
    noTtl: await redis.pttl('list'),
  };
}

beforeAll(async () => {
  [source, target, scratch] = await Promise.all([
    createRedisNamespace(),
    createRedisNamespace(),
    createRedisNamespace(),
  ]);
  throwaway = await startThrowawayRedis();
  directory = await tempDir('backup-redis');
  await seed(source.client());
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all([source?.dispose(), target?.dispose(), scratch?.dispose()]);
  await throwaway?.dispose();
  await directory?.dispose();
});

describe('Redis backup → verify → restore', () => {
  it('scan-dump keeps every type, binary data, TTLs and big keys, and says it is not point in time', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'scan') });
    const manifest = await runBackup({
      job: 'redis-scan',
      storage,
      sources: [createRedisSource({ redis: source.client(), method: 'scan-dump', scanCount: 100 })],
    });
    expect(manifest.state, manifest.error).toBe('completed');
    expect(manifest.sources[0]?.details).toMatchObject({ method: 'scan-dump', pointInTime: false, dumpedKeys: 510 });
    const full = await verifyBackup({ storage, backup: manifest, level: 'full-read' });
    expect(full.ok, full.detail).toBe(true);
    expect(full.artifacts[0]?.detail).toContain('510 keys');
    const restoredClient = target.client();
    const summary = await restoreRedis({
      storage,
      backup: manifest,
      redis: restoredClient,
      policy: 'fail',
      batchSize: 50,
    });
    expect(summary.restored).toBe(510);
    expect(await snapshot(restoredClient)).toEqual(await snapshot(source.client()));

    // Replace policies: fail stops at an existing key, skip-existing keeps theirs, replace overwrites.
    await restoredClient.set('string:plain', 'changed');
    await expect(
      restoreRedis({ storage, backup: manifest, redis: restoredClient, policy: 'fail' }),
    ).rejects.toMatchObject({ code: 'RESTORE_FAILED' });
    const skipped = await restoreRedis({ storage, backup: manifest, redis: restoredClient, policy: 'skip-existing' });
    expect(skipped.skippedExisting).toBe(510);
    expect(await restoredClient.get('string:plain')).toBe('changed');
    await restoreRedis({ storage, backup: manifest, redis: restoredClient, policy: 'replace' });
    expect(await restoredClient.get('string:plain')).toBe('hello');

    const testRestore = await verifyBackup({
      storage,
      backup: manifest,
      level: 'test-restore',
      scratch: { redis: scratch.client() },
    });
    expect(testRestore.ok, testRestore.detail).toBe(true);
    expect(await scratch.client().dbsize()).toBe(0);
  });

  it("scan-dump records absolute expiries from the source's clock (and from the deprecated `now`)", async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'clock') });
    // Two hours behind: the key's remaining hour ends an hour before the real now, so a restore finds it expired.
    const behind = createManualClock(systemClock.now() - 2 * 3600_000);
    const restoredClient = target.client();
    for (const options of [{ clock: behind }, { now: () => behind.now() }]) {
      const manifest = await runBackup({
        job: 'redis-clock',
        storage,
        sources: [createRedisSource({ redis: source.client(), method: 'scan-dump', match: 'string:ttl', ...options })],
      });
      expect(manifest.state, manifest.error).toBe('completed');
      await restoredClient.flushdb();
      expect(await restoreRedis({ storage, backup: manifest, redis: restoredClient })).toMatchObject({
        restored: 0,
        expired: 1,
      });
    }
  });

  it('rdb method streams a point-in-time RDB over the replication protocol and restores it', async () => {
    const admin = new Redis(throwaway.url);
    clients.push(admin);
    await admin.config('SET', 'repl-diskless-sync-delay', '0');
    await seed(admin);
    for (const diskless of ['yes', 'no']) {
      await admin.config('SET', 'repl-diskless-sync', diskless);
      const storage = createLocalStorage({ directory: join(directory.path, `rdb-${diskless}`) });
      const manifest = await runBackup({
        job: 'redis-rdb',
        storage,
        sources: [createRedisSource({ redis: admin, method: 'rdb' })],
        compression: { algorithm: 'gzip', level: 1 },
      });
      expect(manifest.state, manifest.error).toBe('completed');
      expect(manifest.sources[0]?.details).toMatchObject({
        method: 'rdb-sync',
        pointInTime: true,
        diskless: diskless === 'yes',
      });
      const full = await verifyBackup({ storage, backup: manifest, level: 'full-read' });
      expect(full.ok, full.detail).toBe(true);
      expect(full.artifacts[0]?.detail).toContain('CRC-64 verified');
      const restoredClient = target.client();
      await restoredClient.flushdb();
      const summary = await restoreRedis({ storage, backup: manifest, redis: restoredClient });
      expect(summary.restored).toBe(510);
      expect(await snapshot(restoredClient)).toEqual(await snapshot(admin));
    }
  });

  it('auto falls back to scan-dump when the server refuses SYNC, and records why', async () => {
    const admin = new Redis(throwaway.url);
    clients.push(admin);
    await admin.call('ACL', 'SETUSER', 'nosync', 'on', '>pw-for-test', '~*', '+@all', '-sync', '-psync');
    const limited = new Redis(throwaway.url, { username: 'nosync', password: 'pw-for-test' });
    clients.push(limited);
    const storage = createLocalStorage({ directory: join(directory.path, 'auto') });
    const manifest = await runBackup({ job: 'redis-auto', storage, sources: [createRedisSource({ redis: limited })] });
    expect(manifest.state, manifest.error).toBe('completed');
    expect(manifest.sources[0]?.details).toMatchObject({ method: 'scan-dump', pointInTime: false });
    expect(manifest.warnings.join(' ')).toMatch(/refused SYNC.*fell back to scan-dump/);
    expect(JSON.stringify(manifest)).not.toContain('pw-for-test');

    // Scripting refused too: the per-batch Lua script falls back to a pipeline, with the same result.
    await admin.call(
      'ACL',
      'SETUSER',
      'noscript',
      'on',
      '>pw-for-test',
      '~*',
      '+@all',
      '-sync',
      '-psync',
      '-@scripting',
    );
    const noScript = new Redis(throwaway.url, { username: 'noscript', password: 'pw-for-test' });
    clients.push(noScript);
    const fallback = await runBackup({
      job: 'redis-noscript',
      storage,
      sources: [createRedisSource({ redis: noScript, method: 'scan-dump' })],
    });
    expect(fallback.state, fallback.error).toBe('completed');
    expect(fallback.sources[0]?.details.dumpedKeys).toBe(manifest.sources[0]?.details.dumpedKeys);
    const restoredClient = target.client();
    await restoredClient.flushdb();
    await restoreRedis({ storage, backup: fallback, redis: restoredClient });
    expect(await snapshot(restoredClient)).toEqual(await snapshot(admin));
  });
});
