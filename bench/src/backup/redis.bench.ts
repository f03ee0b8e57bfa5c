import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createLocalStorage, createRedisSource, runBackup, type RedisBackupMethod } from '@ops/backup';
import { startThrowawayRedis } from '@ops/testkit';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';

const execFileAsync = promisify(execFile);
const KEYS = Number(process.env.OPS_BENCH_REDIS_KEYS ?? 1_000_000);
const SAMPLES = Number(process.env.OPS_BENCH_BACKUP_SAMPLES ?? 3);

/** 1M mixed keys: 70% strings, 10% hashes, 10% lists, 5% sets, 5% sorted sets; 10% with a TTL. */
async function seed(redis: Redis): Promise<void> {
  const batch = 10_000;
  for (let start = 0; start < KEYS; start += batch) {
    const pipeline = redis.pipeline();
    for (let index = start; index < Math.min(KEYS, start + batch); index++) {
      const kind = index % 20;
      const key = `bench:${index}`;
      if (kind < 14) pipeline.set(key, `value-${index}-${'x'.repeat(index % 64)}`);
      else if (kind < 16) pipeline.hset(key, { a: String(index), b: 'two', c: 'three' });
      else if (kind < 18) pipeline.rpush(key, 'a', 'b', String(index));
      else if (kind < 19) pipeline.sadd(key, 'x', 'y', String(index));
      else pipeline.zadd(key, 1, 'one', index, 'n');
      if (index % 10 === 0) pipeline.pexpire(key, 86_400_000);
    }
    await pipeline.exec();
  }
}

const suite: BenchSuite = {
  name: 'backup-redis',
  description: `Keys per second backing up ${KEYS.toLocaleString('en')} mixed keys from a private redis-server (repl-diskless-sync-delay 0): @ops/backup scan-dump and rdb methods (gzip 1, local file, verifyStored off) against redis-cli --rdb for the same data; ${SAMPLES} samples, alternating.`,
  async run(): Promise<BenchRow[]> {
    const server = await startThrowawayRedis();
    const redis = new Redis(server.url);
    const directory = await mkdtemp(join(tmpdir(), 'ops-bench-backup-redis-'));
    try {
      await redis.config('SET', 'repl-diskless-sync-delay', '0');
      await seed(redis);
      const keys = await redis.dbsize();
      const peer: number[] = [];
      const results: Record<Exclude<RedisBackupMethod, 'auto'>, number[]> = { 'scan-dump': [], rdb: [] };
      let storedBytes = 0;
      for (let sample = 0; sample < SAMPLES; sample++) {
        const file = join(directory, `peer-${sample}.rdb`);
        const started = performance.now();
        await execFileAsync('redis-cli', ['-u', server.url, '--rdb', file], { maxBuffer: 1024 * 1024 });
        peer.push(keys / ((performance.now() - started) / 1000));
        await rm(file);
        for (const method of ['scan-dump', 'rdb'] as const) {
          const storageDirectory = await mkdtemp(join(directory, 'ours-'));
          const began = performance.now();
          const manifest = await runBackup({
            job: 'bench-redis',
            storage: createLocalStorage({ directory: storageDirectory }),
            sources: [createRedisSource({ redis, method })],
            verifyStored: false,
            lock: false,
          });
          if (manifest.state !== 'completed') throw new Error(`backup ${manifest.state}: ${manifest.error}`);
          results[method].push(keys / ((performance.now() - began) / 1000));
          storedBytes = manifest.storedBytes;
          await rm(storageDirectory, { recursive: true, force: true });
        }
      }
      const group = `Redis backup, ${keys.toLocaleString('en')} mixed keys`;
      return [
        compareRow({
          group,
          metric: 'scan-dump (SCAN + DUMP + PTTL, gzip 1)',
          unit: 'keys/s',
          ours: stats(results['scan-dump']),
          peer: { ...stats(peer), name: 'redis-cli --rdb' },
          higherIsBetter: true,
          notes: 'not point in time; works where SYNC is refused',
        }),
        compareRow({
          group,
          metric: 'rdb (replication SYNC, gzip 1)',
          unit: 'keys/s',
          ours: stats(results.rdb),
          peer: { ...stats(peer), name: 'redis-cli --rdb' },
          higherIsBetter: true,
          notes: `point in time; stored ${(storedBytes / 1e6).toFixed(1)} MB`,
        }),
      ];
    } finally {
      redis.disconnect();
      await server.dispose();
      await rm(directory, { recursive: true, force: true });
    }
  },
};

export default suite;
