import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayRedis, tempDir, type TempDir, type ThrowawayRedis } from '@ops/testkit';
import { runBackup } from '../../jobs/run-backup.js';
import { createLocalStorage } from '../../storages/local/local-storage.js';
import { verifyBackup } from '../../verify/verify-backup.js';
import { Crc64 } from './crc64.js';
import { createRedisSource } from './redis-source.js';
import { walkRdbStream, type RdbSummary } from './rdb-walker.js';

let redis: ThrowawayRedis;
let directory: TempDir;
const clients: Redis[] = [];
/** RDB files written by the local redis-server: with and without LZF compression. */
let compressed: Buffer;
let uncompressed: Buffer;

function client(database: number): Redis {
  const created = new Redis(redis.url, { db: database });
  clients.push(created);
  return created;
}

/** Every value type and encoding Redis 7 writes, big values past the listpack thresholds, TTLs, three databases. */
async function seed(): Promise<void> {
  const zero = client(0);
  const pipeline = zero.pipeline();
  pipeline.set('string:plain', 'hello');
  pipeline.set('string:integer', '12345');
  pipeline.set('string:compressible', 'abc'.repeat(1000));
  pipeline.set('string:random', randomBytes(100_000));
  pipeline.set('string:big', 'x'.repeat(2 * 1024 * 1024));
  pipeline.set('string:ttl', 'soon', 'PX', 3_600_000);
  pipeline.set('string:expireat', 'later', 'EXAT', Math.floor(Date.now() / 1000) + 86_400);
  pipeline.rpush('list:small', 'a', 'b', 'c');
  for (let index = 0; index < 10; index++)
    pipeline.rpush('list:big', ...Array.from({ length: 1000 }, (_, item) => `item-${index}-${item}-${'y'.repeat(80)}`));
  pipeline.sadd('set:intset', 1, 2, 3, 70_000, -5);
  pipeline.sadd('set:strings', 'x', 'y', 'z');
  pipeline.sadd('set:big-intset-overflow', ...Array.from({ length: 600 }, (_, index) => index));
  pipeline.zadd('zset:small', 1.5, 'one', 2.25, 'two', -1e-9, 'tiny');
  pipeline.zadd('zset:big', ...Array.from({ length: 200 }, (_, index) => [index / 3, `member-${index}`]).flat());
  pipeline.hset('hash:small', { 'lp-field-1': 'value', other: 'thing' });
  pipeline.hset(
    'hash:big',
    Object.fromEntries(Array.from({ length: 200 }, (_, index) => [`field-${index}`, `value-${index}`])),
  );
  pipeline.hset('hash:long-value', { field: 'v'.repeat(100) });
  pipeline.pfadd('hll', 'a', 'b', 'c');
  pipeline.expire('hash:small', 7200);
  for (let index = 0; index < 300; index++) pipeline.xadd('stream', '*', 'event', `e-${index}`, 'n', String(index));
  pipeline.xgroup('CREATE', 'stream', 'workers', '0');
  pipeline.xgroup('CREATE', 'stream', 'late', '$');
  pipeline.xreadgroup('GROUP', 'workers', 'alice', 'COUNT', '5', 'STREAMS', 'stream', '>');
  pipeline.xreadgroup('GROUP', 'workers', 'bob', 'COUNT', '3', 'STREAMS', 'stream', '>');
  pipeline.xadd('stream:empty-after-trim', '*', 'a', '1');
  pipeline.xtrim('stream:empty-after-trim', 'MAXLEN', 0);
  await pipeline.exec();
  const pending = (await zero.xpending('stream', 'workers', '-', '+', 1)) as [string][];
  await zero.xack('stream', 'workers', pending[0]?.[0] ?? '0-0');
  await zero.call(
    'FUNCTION',
    'LOAD',
    'REPLACE',
    "#!lua name=walkerlib\nredis.register_function('walker_one', function() return 1 end)",
  );
  const one = client(1);
  await one.set('db1:key', 'value');
  await one.set('db1:ttl', 'value', 'EX', 600);
  const three = client(3);
  for (let index = 0; index < 50; index++) await three.set(`db3:${index}`, String(index), 'PX', 900_000 + index);
  await three.set('db3:persistent', 'kept');
}

async function saveRdb(compression: 'yes' | 'no'): Promise<Buffer> {
  const admin = client(0);
  await admin.config('SET', 'rdbcompression', compression);
  await admin.save();
  const [, dir] = (await admin.config('GET', 'dir')) as [string, string];
  const [, file] = (await admin.config('GET', 'dbfilename')) as [string, string];
  return readFile(join(dir, file));
}

/** Recomputes the trailing CRC-64 so that only the structure check can notice a change. */
function withFreshChecksum(file: Buffer): Buffer {
  const copy = Buffer.from(file);
  copy.writeBigUInt64LE(new Crc64().update(copy.subarray(0, copy.length - 8)).digest(), copy.length - 8);
  return copy;
}

function walk(file: Buffer, chunkSize = 65_536): Promise<RdbSummary> {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < file.length; offset += chunkSize)
    chunks.push(file.subarray(offset, offset + chunkSize));
  return walkRdbStream(Readable.from(chunks));
}

beforeAll(async () => {
  redis = await startThrowawayRedis();
  directory = await tempDir('backup-rdb-walker');
  await seed();
  compressed = await saveRdb('yes');
  uncompressed = await saveRdb('no');
});

afterAll(async () => {
  for (const created of clients) created.disconnect();
  await redis?.dispose();
  await directory?.dispose();
});

describe('RDB structure walker against RDBs written by redis-server 7', () => {
  it('counts keys and expiring keys per database and every value type, with and without LZF compression', async () => {
    const expectedDatabases = {
      0: { keys: await client(0).dbsize(), expiringKeys: 3 },
      1: { keys: 2, expiringKeys: 1 },
      3: { keys: 51, expiringKeys: 50 },
    };
    for (const file of [compressed, uncompressed]) {
      // Odd chunk sizes put every field across chunk boundaries.
      for (const chunkSize of file === compressed ? [65_536, 7] : [65_536]) {
        const summary = await walk(file, chunkSize);
        expect(summary.checksumVerified).toBe(true);
        expect(summary.bytes).toBe(file.length);
        expect(summary.databases).toEqual(expectedDatabases);
        expect(summary.keys).toBe(expectedDatabases[0].keys + 2 + 51);
        expect(summary.expiringKeys).toBe(54);
        expect(summary.functionLibraries).toBe(1);
        expect(summary.auxiliary['redis-ver']).toMatch(/^7\./);
        expect(Object.keys(summary.valueTypes).sort()).toEqual([
          'hash',
          'hash-listpack',
          'list-quicklist-2',
          'set',
          'set-intset',
          'stream-listpacks-2',
          'string',
          'zset-2',
          'zset-listpack',
        ]);
        expect(summary.valueTypes['stream-listpacks-2']).toBe(2);
      }
    }
  });

  it('agrees with redis-check-rdb on the key and expiry counts', async () => {
    const file = join(directory.path, 'dump.rdb');
    await writeFile(file, compressed);
    const result = spawnSync('redis-check-rdb', [file], { encoding: 'utf8' });
    if (result.error)
      throw new Error(
        `redis-check-rdb did not run (${result.error.message}); it ships with redis-server (apt-get install redis-server)`,
      );
    expect(result.status, result.stdout).toBe(0);
    const summary = await walk(compressed);
    expect(result.stdout).toContain(`[info] ${summary.keys} keys read`);
    expect(result.stdout).toContain(`[info] ${summary.expiringKeys} expires`);
  });

  it('refuses a truncated RDB at any point, naming the offset', async () => {
    for (const length of [
      0,
      5,
      9,
      100,
      Math.floor(compressed.length / 3),
      Math.floor(compressed.length / 2),
      compressed.length - 9,
      compressed.length - 1,
    ]) {
      const error = await walk(compressed.subarray(0, length)).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, `truncated at ${length}`).toMatchObject({
        code: 'BACKUP_CORRUPT',
        message: expect.stringMatching(/byte offset \d+/),
      });
    }
    await expect(walk(Buffer.concat([compressed, Buffer.from('junk')]))).rejects.toMatchObject({
      code: 'BACKUP_CORRUPT',
      message: expect.stringContaining(`byte offset ${compressed.length}: RDB has 4 bytes after its checksum`),
    });
  });

  it('catches a changed type byte even when the CRC-64 is recomputed', async () => {
    const keyOffset = uncompressed.indexOf('string:plain');
    const typeOffset = keyOffset - 2; // type byte, then the 6-bit key length
    expect(uncompressed[typeOffset]).toBe(0);
    const file = Buffer.from(uncompressed);
    file[typeOffset] = 0x42;
    await expect(walk(withFreshChecksum(file))).rejects.toMatchObject({
      code: 'BACKUP_CORRUPT',
      message: `RDB is corrupt at byte offset ${typeOffset}: unknown opcode or value type 0x42`,
    });
  });

  it('catches one flipped bit inside a listpack even when the CRC-64 is recomputed', async () => {
    const entry = uncompressed.indexOf('lp-field-1') - 1;
    expect(uncompressed[entry]).toBe(0x80 | 'lp-field-1'.length);
    const file = Buffer.from(uncompressed);
    file[entry] = (file[entry] as number) ^ 0x01;
    await expect(walk(withFreshChecksum(file))).rejects.toMatchObject({
      code: 'BACKUP_CORRUPT',
      message: expect.stringMatching(
        /byte offset \d+: the value of key "hash:small" .*\(listpack\): listpack entry at \d+ has back-length/,
      ),
    });
    // The CRC alone would have caught the unrepaired file too.
    await expect(walk(file)).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
  });

  it('decompresses LZF strings and catches a wrong decompressed length even when the CRC-64 is recomputed', async () => {
    const keyOffset = compressed.indexOf('string:compressible');
    const valueOffset = keyOffset + 'string:compressible'.length;
    expect(compressed[valueOffset]).toBe(0xc3); // LZF-compressed string
    // After the 0xC3 marker: compressed length, then the decompressed length 3000 as a 14-bit length (0x4B 0xB8).
    const lengthOffset = compressed.indexOf(Buffer.from([0x4b, 0xb8]), valueOffset);
    expect(lengthOffset).toBeGreaterThan(valueOffset);
    expect(lengthOffset).toBeLessThan(valueOffset + 5);
    const file = Buffer.from(compressed);
    file[lengthOffset + 1] = 0xb9;
    await expect(walk(withFreshChecksum(file))).rejects.toMatchObject({
      code: 'BACKUP_CORRUPT',
      message: expect.stringMatching(
        /is not valid LZF data: LZF data decompresses to 3000 bytes, the header says 3001/,
      ),
    });
  });

  it('answers every single-byte change with BACKUP_CORRUPT or a clean walk, never another error or a hang', async () => {
    const small = await (async () => {
      const admin = client(5);
      await admin.flushall();
      await seedSmall(admin);
      return saveRdb('yes');
    })();
    let refused = 0;
    for (let offset = 9; offset < small.length - 9; offset++) {
      const file = Buffer.from(small);
      file[offset] = (file[offset] as number) ^ 0x55;
      const outcome = await walk(withFreshChecksum(file)).then(
        () => 'walked',
        (error: unknown) => (error as { code?: string }).code ?? String(error),
      );
      expect(['walked', 'BACKUP_CORRUPT']).toContain(outcome);
      if (outcome === 'BACKUP_CORRUPT') refused++;
    }
    expect(refused).toBeGreaterThan(0);
  });

  it('full-read verification of an RDB backup records the counts in the result and the manifest', async () => {
    await client(0).flushall();
    await seed();
    await client(0).config('SET', 'repl-diskless-sync-delay', '0');
    const storage = createLocalStorage({ directory: join(directory.path, 'verify') });
    const manifest = await runBackup({
      job: 'redis-rdb',
      storage,
      sources: [createRedisSource({ redis: client(0), method: 'rdb' })],
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const report = await verifyBackup({ storage, backup: manifest, level: 'full-read' });
    expect(report.ok, report.detail).toBe(true);
    expect(report.artifacts[0]?.rdb?.databases[3]).toEqual({ keys: 51, expiringKeys: 50 });
    expect(report.artifacts[0]?.rdb?.databases[1]).toEqual({ keys: 2, expiringKeys: 1 });
    expect(report.artifacts[0]?.detail).toContain('db3: 51 keys (50 expiring)');
    expect(report.detail).toContain('db3: 51 keys (50 expiring)');
    expect(manifest.verifications.at(-1)?.detail).toBe(report.detail);
  });
});

async function seedSmall(admin: Redis): Promise<void> {
  await admin.set('s', 'hello');
  await admin.set('n', '42', 'PX', 600_000);
  await admin.rpush('l', 'a', 'bb');
  await admin.sadd('i', 1, 2);
  await admin.zadd('z', 1, 'm');
  await admin.hset('h', { f: 'v' });
  await admin.xadd('x', '1-1', 'k', 'v');
}
