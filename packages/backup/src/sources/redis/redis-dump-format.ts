import { Readable } from 'node:stream';
import { OpsError } from '@ops/core';
import { BackupError } from '../../errors.js';

// The scan-dump artifact: "OPSRDMP" 0x01 | u32 header length | JSON header | records | 0xFF u64 count.
// A record: 0x01 | u32 key length | key | u32 payload length | DUMP payload | i64 absolute expiry in ms (-1: none).
const MAGIC = Buffer.from('OPSRDMP\x01', 'latin1');
const RECORD = 0x01;
const END = 0xff;

/** One key of a scan-dump artifact. */
export interface DumpRecord {
  key: Buffer;
  /** The `DUMP` payload (RDB-encoded value with version and CRC-64). */
  payload: Buffer;
  /** Absolute expiry in epoch ms, or -1 for none. */
  expireAtMs: number;
}

/** Encodes the artifact header. */
export function encodeDumpHeader(header: Record<string, unknown>): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([MAGIC, length, json]);
}

/** Encodes one record. */
export function encodeDumpRecord(record: DumpRecord): Buffer {
  const out = Buffer.alloc(1 + 4 + record.key.length + 4 + record.payload.length + 8);
  let offset = out.writeUInt8(RECORD, 0);
  offset = out.writeUInt32BE(record.key.length, offset);
  offset += record.key.copy(out, offset);
  offset = out.writeUInt32BE(record.payload.length, offset);
  offset += record.payload.copy(out, offset);
  out.writeBigInt64BE(BigInt(record.expireAtMs), offset);
  return out;
}

/** Encodes the trailer with the record count (a missing trailer means truncation). */
export function encodeDumpTrailer(count: number): Buffer {
  const out = Buffer.alloc(9);
  out.writeUInt8(END, 0);
  out.writeBigUInt64BE(BigInt(count), 1);
  return out;
}

const corrupt = (message: string) => new BackupError('BACKUP_CORRUPT', `redis scan-dump artifact: ${message}`);

/** Reads exactly-sized pieces from a byte stream, holding at most one record in memory. */
class ByteReader {
  #iterator: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;
  constructor(stream: Readable) {
    this.#iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }
  async take(length: number, what: string): Promise<Buffer> {
    while (this.#buffer.length < length) {
      if (this.#ended) throw corrupt(`truncated while reading ${what}`);
      const next = await this.#iterator.next();
      if (next.done) this.#ended = true;
      else this.#buffer = this.#buffer.length === 0 ? next.value : Buffer.concat([this.#buffer, next.value]);
    }
    const out = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return out;
  }
  async atEnd(): Promise<boolean> {
    if (this.#buffer.length > 0) return false;
    const next = await this.#iterator.next();
    if (next.done) return true;
    this.#buffer = next.value;
    return this.#buffer.length === 0 ? this.atEnd() : false;
  }
}

/**
 * Parses a scan-dump artifact, yielding the header first and then each record. Throws `BACKUP_CORRUPT` on a bad
 * magic, a truncation, a wrong record count or trailing bytes.
 */
export async function* readDumpRecords(
  stream: Readable,
): AsyncGenerator<DumpRecord, { header: Record<string, unknown>; count: number }> {
  const reader = new ByteReader(stream);
  const magic = await reader.take(MAGIC.length, 'the magic');
  if (!magic.equals(MAGIC)) throw corrupt('bad magic (not an @ops/backup redis scan-dump)');
  const headerLength = (await reader.take(4, 'the header length')).readUInt32BE(0);
  if (headerLength > 1024 * 1024) throw corrupt('header too large');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse((await reader.take(headerLength, 'the header')).toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    if (OpsError.isInstance(error)) throw error;
    throw corrupt('header is not JSON');
  }
  let count = 0;
  for (;;) {
    const tag = (await reader.take(1, 'a record tag'))[0];
    if (tag === END) {
      const declared = Number((await reader.take(8, 'the trailer')).readBigUInt64BE(0));
      if (declared !== count) throw corrupt(`trailer says ${declared} keys but ${count} were read`);
      if (!(await reader.atEnd())) throw corrupt('bytes after the trailer');
      return { header, count };
    }
    if (tag !== RECORD) throw corrupt(`unknown record tag ${String(tag)}`);
    const keyLength = (await reader.take(4, 'a key length')).readUInt32BE(0);
    const key = Buffer.from(await reader.take(keyLength, 'a key'));
    const payloadLength = (await reader.take(4, 'a payload length')).readUInt32BE(0);
    const payload = Buffer.from(await reader.take(payloadLength, 'a payload'));
    const expireAtMs = Number((await reader.take(8, 'an expiry')).readBigInt64BE(0));
    count++;
    yield { key, payload, expireAtMs };
  }
}

/** Convenience: consumes a scan-dump stream, returning its header and record count (full-read verification). */
export async function checkDumpStream(
  stream: Readable,
): Promise<{ header: Record<string, unknown>; count: number; bytes: number }> {
  const generator = readDumpRecords(stream);
  let bytes = 0;
  for (;;) {
    const next = await generator.next();
    if (next.done) return { ...next.value, bytes };
    bytes += next.value.payload.length;
  }
}

/** Wraps an async iterable of buffers as a byte Readable with backpressure. */
export function bytesReadable(chunks: AsyncIterable<Buffer>): Readable {
  return Readable.from(chunks, { objectMode: false, highWaterMark: 256 * 1024 });
}
