import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Crc64 } from './crc64.js';
import { checkListpack, checkZiplist, lzfDecompress, walkRdbStream } from './rdb-walker.js';

// Redis 7 no longer writes the older encodings (ziplist, zipmap, quicklist v1, stream v1, text zset scores) and the
// local server has no modules, so these RDBs are built by hand from the format; the int test covers what
// redis-server 7 writes itself.

function length(value: number): Buffer {
  if (value < 64) return Buffer.from([value]);
  if (value < 16_384) return Buffer.from([0x40 | (value >> 8), value & 0xff]);
  const bytes = Buffer.alloc(5);
  bytes[0] = 0x80;
  bytes.writeUInt32BE(value, 1);
  return bytes;
}

function wide(value: bigint): Buffer {
  const bytes = Buffer.alloc(9);
  bytes[0] = 0x81;
  bytes.writeBigUInt64BE(value, 1);
  return bytes;
}

function text(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([length(bytes.length), bytes]);
}

function ziplist(entries: string[]): Buffer {
  const encoded: Buffer[] = [];
  let previous = 0;
  let tail = 10;
  let offset = 10;
  for (const entry of entries) {
    const body = Buffer.concat([Buffer.from([previous, entry.length]), Buffer.from(entry)]);
    tail = offset;
    offset += body.length;
    previous = body.length;
    encoded.push(body);
  }
  const header = Buffer.alloc(10);
  const total = offset + 1;
  header.writeUInt32LE(total, 0);
  header.writeUInt32LE(tail, 4);
  header.writeUInt16LE(entries.length, 8);
  return Buffer.concat([header, ...encoded, Buffer.from([0xff])]);
}

function listpack(entries: (string | number)[]): Buffer {
  const encoded = entries.map((entry) => {
    const body = typeof entry === 'number' ? Buffer.from([entry]) : Buffer.concat([Buffer.from([0x80 | entry.length]), Buffer.from(entry)]);
    return Buffer.concat([body, Buffer.from([body.length])]);
  });
  const header = Buffer.alloc(6);
  const total = 6 + encoded.reduce((sum, entry) => sum + entry.length, 0) + 1;
  header.writeUInt32LE(total, 0);
  header.writeUInt16LE(entries.length, 4);
  return Buffer.concat([header, ...encoded, Buffer.from([0xff])]);
}

function intset(values: number[]): Buffer {
  const bytes = Buffer.alloc(8 + values.length * 2);
  bytes.writeUInt32LE(2, 0);
  bytes.writeUInt32LE(values.length, 4);
  values.forEach((value, index) => bytes.writeInt16LE(value, 8 + index * 2));
  return bytes;
}

function zipmap(pairs: [string, string][]): Buffer {
  const parts = [Buffer.from([pairs.length])];
  for (const [field, value] of pairs) parts.push(Buffer.from([field.length]), Buffer.from(field), Buffer.from([value.length, 0]), Buffer.from(value));
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}

function rdb(body: Buffer[], options: { version?: number; checksum?: 'right' | 'zero' | 'none' } = {}): Buffer {
  const { version = 10, checksum = 'right' } = options;
  const content = Buffer.concat([Buffer.from(`REDIS${String(version).padStart(4, '0')}`), ...body, Buffer.from([0xff])]);
  if (checksum === 'none') return content;
  const trailer = Buffer.alloc(8);
  if (checksum === 'right') trailer.writeBigUInt64LE(new Crc64().update(content).digest());
  return Buffer.concat([content, trailer]);
}

const streamId = Buffer.alloc(16, 1);
const millisecondTime = Buffer.alloc(8, 2);

function walk(file: Buffer, chunkSize = 3) {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < file.length; offset += chunkSize) chunks.push(file.subarray(offset, offset + chunkSize));
  return walkRdbStream(Readable.from(chunks));
}

describe('walkRdbStream on the older and module encodings', () => {
  it('walks ziplist, zipmap, intset, quicklist v1, text zset scores, stream v1 and v3, module values and module aux records', async () => {
    const file = rdb([
      Buffer.from([0xfa]), text('redis-ver'), text('6.2.0'),
      Buffer.from([0xfe]), length(0), Buffer.from([0xfb]), length(9), length(1),
      Buffer.from([10]), text('list:ziplist'), text(ziplist(['a', 'bb', 'ccc'])),
      Buffer.from([14]), text('list:quicklist'), length(2), text(ziplist(['one'])), text(ziplist(['two', 'three'])),
      Buffer.from([9]), text('hash:zipmap'), text(zipmap([['field', 'value'], ['f2', 'v2']])),
      Buffer.from([13]), text('hash:ziplist'), text(ziplist(['field', 'value'])),
      Buffer.from([12]), text('zset:ziplist'), text(ziplist(['member', '1'])),
      Buffer.from([11]), text('set:intset'), text(intset([1, 2, 3])),
      Buffer.from([0xfc]), Buffer.alloc(8, 9),
      Buffer.from([3]), text('zset:text-scores'), length(3), text('a'), Buffer.from([3]), Buffer.from('1.5'), text('b'), Buffer.from([253]), text('c'), Buffer.from([254]),
      Buffer.from([0xf8]), length(100),
      Buffer.from([1]), text('list:linked'), length(2), text('x'), text('y'),
      Buffer.from([0xf9]), Buffer.from([5]),
      Buffer.from([15]), text('stream:v1'), length(1), text(streamId), text(listpack(['master', 1, 2])), length(1), length(5), length(0),
      length(1), text('group'), length(5), length(0), length(1), streamId, millisecondTime, length(1), length(1), text('consumer'), millisecondTime, length(1), streamId,
      Buffer.from([21]), text('stream:v3'), length(1), text(streamId), text(listpack(['master'])), length(1), length(5), length(0), length(5), length(0), length(0), length(0), length(1),
      length(1), text('group'), length(5), length(0), wide(2n ** 64n - 1n), length(0), length(1), text('consumer'), millisecondTime, millisecondTime, length(0),
      Buffer.from([0xfe]), length(2),
      Buffer.from([0xfd]), Buffer.alloc(4, 1),
      Buffer.from([7]), text('module:value'), wide(0x1234_5678_9abc_de00n), length(1), length(7), length(3), Buffer.alloc(4), length(4), Buffer.alloc(8), length(5), text('payload'), length(0),
      Buffer.from([0xf7]), wide(0x1234_5678_9abc_de00n), length(2), length(2), length(5), text('aux'), length(0),
      Buffer.from([0xf5]), text("#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
      Buffer.from([0]), text('string:lzf'), Buffer.from([0xc3]), length(5), length(11), Buffer.from([0x00, 0x61, 0xe0, 0x01, 0x00]),
      Buffer.from([16]), text('hash:lzf-listpack'), Buffer.from([0xc3]), length(listpack(['f', 'v']).length + 1), length(listpack(['f', 'v']).length), Buffer.from([listpack(['f', 'v']).length - 1]), listpack(['f', 'v']),
      Buffer.from([0]), text('string:int8'), Buffer.from([0xc0, 0x7f]),
      Buffer.from([0]), text('string:int32'), Buffer.from([0xc2, 1, 2, 3, 4]),
    ]);
    const summary = await walk(file);
    expect(summary).toMatchObject({
      rdbVersion: 10,
      checksumVerified: true,
      bytes: file.length,
      keys: 15,
      expiringKeys: 2,
      databases: { 0: { keys: 10, expiringKeys: 1 }, 2: { keys: 5, expiringKeys: 1 } },
      functionLibraries: 1,
      moduleAuxiliaryRecords: 1,
      auxiliary: { 'redis-ver': '6.2.0' },
    });
    expect(summary.valueTypes).toMatchObject({ 'list-ziplist': 1, 'list-quicklist': 1, 'hash-zipmap': 1, 'stream-listpacks': 1, 'stream-listpacks-3': 1, 'module-2': 1, string: 3 });
  });

  it('walks the field-expiry hash types of Redis 7.4+ (built from the format; the local redis-server 7.0 does not write them)', async () => {
    const file = rdb([
      Buffer.from([24]), text('hash:metadata'), Buffer.alloc(8, 3), length(2), length(0), text('f1'), text('v1'), length(5), text('f2'), text('v2'),
      Buffer.from([22]), text('hash:metadata-pre-ga'), length(1), wide(1_700_000_000_000n), text('f'), text('v'),
      Buffer.from([25]), text('hash:listpack-ex'), Buffer.alloc(8, 3), text(listpack(['f', 'v', 0])),
      Buffer.from([23]), text('hash:listpack-ex-pre-ga'), text(listpack(['f', 'v', 0, 'g', 'w', 5])),
    ]);
    const summary = await walk(file);
    expect(summary.valueTypes).toEqual({ 'hash-metadata': 1, 'hash-metadata-pre-ga': 1, 'hash-listpack-ex': 1, 'hash-listpack-ex-pre-ga': 1 });
    await expect(walk(rdb([Buffer.from([25]), text('h'), Buffer.alloc(8), text(listpack(['f', 'v']))]))).rejects.toMatchObject({ message: expect.stringContaining('listpack has 2 elements, not field/value/expiry triples') });
  });

  it('accepts an RDB written without a checksum (rdbchecksum no, or a version before 5)', async () => {
    const body = [Buffer.from([0]), text('key'), text('value')];
    await expect(walk(rdb(body, { checksum: 'zero' }))).resolves.toMatchObject({ checksumVerified: false, keys: 1 });
    await expect(walk(rdb(body, { version: 4, checksum: 'none' }))).resolves.toMatchObject({ rdbVersion: 4, checksumVerified: false, keys: 1 });
  });

  it('refuses what it cannot skip or does not know, naming the offset', async () => {
    const key = [text('key')];
    await expect(walk(rdb([Buffer.from([6]), ...key, Buffer.alloc(8)]))).rejects.toMatchObject({ code: 'BACKUP_CORRUPT', message: expect.stringContaining('pre-release MODULE format, which cannot be skipped without the module') });
    await expect(walk(rdb([Buffer.from([0xf6]), text('lib')]))).rejects.toMatchObject({ code: 'BACKUP_CORRUPT', message: 'RDB is corrupt at byte offset 9: RDB holds functions in the pre-release FUNCTION format, which Redis 7 itself refuses' });
    await expect(walk(rdb([Buffer.from([0x1f]), ...key, text('v')]))).rejects.toMatchObject({ message: 'RDB is corrupt at byte offset 9: unknown opcode or value type 0x1f' });
    await expect(walk(rdb([Buffer.from([0]), ...key, Buffer.from([0xc5])]))).rejects.toMatchObject({ message: expect.stringContaining('byte offset 14: the value of key "key" at offset 10 has the unknown string encoding 5') });
    await expect(walk(rdb([Buffer.from([7]), ...key, length(1), length(9)]))).rejects.toMatchObject({ message: expect.stringContaining('has the unknown module opcode 9') });
    await expect(walk(rdb([Buffer.from([0xfc]), Buffer.alloc(8)]))).rejects.toMatchObject({ message: expect.stringContaining('ends after an expiry time without a key') });
    await expect(walk(Buffer.from('REDIX0010\xff'))).rejects.toMatchObject({ message: 'RDB is corrupt at byte offset 0: RDB does not start with the REDIS magic and a version' });
    await expect(walk(rdb([], { version: 99 }))).rejects.toMatchObject({ message: expect.stringContaining('RDB version 99 is not supported') });
    const badChecksum = rdb([Buffer.from([0]), ...key, text('value')]);
    badChecksum[badChecksum.length - 1] = (badChecksum.at(-1) as number) ^ 1;
    await expect(walk(badChecksum)).rejects.toMatchObject({ code: 'BACKUP_CORRUPT', message: expect.stringContaining('RDB checksum mismatch') });
  });

  it('refuses malformed listpacks, ziplists, intsets and LZF data', async () => {
    const good = listpack(['a', 'b']);
    expect(checkListpack(good)).toBe(2);
    const wrongTotal = Buffer.from(good);
    wrongTotal.writeUInt32LE(good.length + 1, 0);
    expect(() => checkListpack(wrongTotal)).toThrow(/header says/);
    const wrongCount = Buffer.from(good);
    wrongCount.writeUInt16LE(3, 4);
    expect(() => checkListpack(wrongCount)).toThrow(/header says 3 elements, found 2/);
    expect(() => checkListpack(listpack([]))).toThrow(/empty/);
    const zip = ziplist(['a', 'bb']);
    expect(checkZiplist(zip)).toBe(2);
    const wrongTail = Buffer.from(zip);
    wrongTail.writeUInt32LE(10, 4);
    expect(() => checkZiplist(wrongTail)).toThrow(/tail offset/);
    const wrongPrevious = Buffer.from(zip);
    wrongPrevious[13] = 7; // the second entry's prevlen
    expect(() => checkZiplist(wrongPrevious)).toThrow(/previous entry has 7 bytes, it has 3/);
    await expect(walk(rdb([Buffer.from([11]), text('set'), text(intset([1, 2]).subarray(0, 10))]))).rejects.toMatchObject({ message: expect.stringMatching(/intset of 2 × 2-byte elements cannot be 10 bytes/) });
    expect(lzfDecompress(Buffer.from([0x00, 0x61, 0xe0, 0x01, 0x00]), 11).toString()).toBe('a'.repeat(11));
    expect(() => lzfDecompress(Buffer.from([0x00, 0x61, 0xe0, 0x01, 0x05]), 11)).toThrow(/points before the start/);
    expect(() => lzfDecompress(Buffer.from([0x03, 0x61]), 4)).toThrow(/overruns the compressed data/);
    expect(() => lzfDecompress(Buffer.from([0x00, 0x61]), 2)).toThrow(/decompresses to 1 bytes, the header says 2/);
  });

  it('walks a string longer than it holds in memory by skipping it by its length', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const summary = await walk(rdb([Buffer.from([0]), text('big'), text(big)]), 65_536);
    expect(summary.keys).toBe(1);
  });
});
