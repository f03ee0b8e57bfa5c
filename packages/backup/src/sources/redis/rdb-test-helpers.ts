import { Crc64 } from './crc64.js';

// Builders of RDB bytes from the format, for tests: lengths, strings, the compact encodings and whole files.

/** An RDB length: 6, 14 or 32 bits. */
export function length(value: number): Buffer {
  if (value < 64) return Buffer.from([value]);
  if (value < 16_384) return Buffer.from([0x40 | (value >> 8), value & 0xff]);
  const bytes = Buffer.alloc(5);
  bytes[0] = 0x80;
  bytes.writeUInt32BE(value, 1);
  return bytes;
}

/** An RDB length in the 64-bit form (IDs, counters, module ids). */
export function wide(value: bigint): Buffer {
  const bytes = Buffer.alloc(9);
  bytes[0] = 0x81;
  bytes.writeBigUInt64BE(value, 1);
  return bytes;
}

/** A plain length-prefixed RDB string. */
export function text(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([length(bytes.length), bytes]);
}

/** A ziplist of short string entries. */
export function ziplist(entries: string[]): Buffer {
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

/** A listpack of short strings and 7-bit integers. */
export function listpack(entries: (string | number)[]): Buffer {
  const encoded = entries.map((entry) => {
    const body =
      typeof entry === 'number'
        ? Buffer.from([entry])
        : Buffer.concat([Buffer.from([0x80 | entry.length]), Buffer.from(entry)]);
    return Buffer.concat([body, Buffer.from([body.length])]);
  });
  const header = Buffer.alloc(6);
  const total = 6 + encoded.reduce((sum, entry) => sum + entry.length, 0) + 1;
  header.writeUInt32LE(total, 0);
  header.writeUInt16LE(entries.length, 4);
  return Buffer.concat([header, ...encoded, Buffer.from([0xff])]);
}

/** An intset of 16-bit integers. */
export function intset(values: number[]): Buffer {
  const bytes = Buffer.alloc(8 + values.length * 2);
  bytes.writeUInt32LE(2, 0);
  bytes.writeUInt32LE(values.length, 4);
  values.forEach((value, index) => bytes.writeInt16LE(value, 8 + index * 2));
  return bytes;
}

/** A zipmap of short field/value pairs. */
export function zipmap(pairs: [string, string][]): Buffer {
  const parts = [Buffer.from([pairs.length])];
  for (const [field, value] of pairs)
    parts.push(Buffer.from([field.length]), Buffer.from(field), Buffer.from([value.length, 0]), Buffer.from(value));
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}

/** A whole RDB file: header, `body`, EOF and the checksum (`right`; `zero` as with rdbchecksum no; `none` as before version 5). */
export function rdb(body: Buffer[], options: { version?: number; checksum?: 'right' | 'zero' | 'none' } = {}): Buffer {
  const { version = 10, checksum = 'right' } = options;
  const content = Buffer.concat([
    Buffer.from(`REDIS${String(version).padStart(4, '0')}`),
    ...body,
    Buffer.from([0xff]),
  ]);
  if (checksum === 'none') return content;
  const trailer = Buffer.alloc(8);
  if (checksum === 'right') trailer.writeBigUInt64LE(new Crc64().update(content).digest());
  return Buffer.concat([content, trailer]);
}
