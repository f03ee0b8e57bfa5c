import type { Readable } from 'node:stream';
import { OpsError } from '@ops/core';
import { Crc64 } from './crc64.js';

/** Keys found in one logical database of an RDB file. */
export interface RdbDatabaseCounts {
  /** Keys in this database. */
  keys: number;
  /** Keys with an expiry time (EXPIRETIME / EXPIRETIME_MS before the key). */
  expiringKeys: number;
}

/** What {@link walkRdbStream} found. */
export interface RdbSummary {
  /** The four-digit version after the `REDIS` magic (Redis 7.0 writes 10). */
  rdbVersion: number;
  /** Bytes read, checksum included. */
  bytes: number;
  /** `false` when the file was written with `rdbchecksum no` (checksum field 0). */
  checksumVerified: boolean;
  /** Keys per database number (only databases with at least one key). */
  databases: Record<number, RdbDatabaseCounts>;
  /** Keys in all databases. */
  keys: number;
  /** Keys with an expiry in all databases. */
  expiringKeys: number;
  /** Keys per value type name (`string`, `list-quicklist-2`, `hash-listpack`, `stream-listpacks-2`, ...). */
  valueTypes: Record<string, number>;
  /** AUX fields (`redis-ver`, `redis-bits`, `ctime`, ...) as text. */
  auxiliary: Record<string, string>;
  /** Function libraries (FUNCTION2 opcode) in the file. */
  functionLibraries: number;
  /** Module auxiliary records (MODULE_AUX opcode) skipped. */
  moduleAuxiliaryRecords: number;
}

/** Options of {@link walkRdbStream}. */
export interface RdbWalkOptions {
  /**
   * LZF-compressed strings up to this decompressed size are decompressed to validate them (and to parse listpacks,
   * ziplists and intsets inside); larger ones are skipped by their length. Bounds the memory of the walk. Default 64 MiB.
   */
  maxDecompressedBytes?: number;
}

const OPCODE = {
  SLOT_INFO: 0xf4,
  FUNCTION2: 0xf5,
  FUNCTION_PRE_GA: 0xf6,
  MODULE_AUX: 0xf7,
  IDLE: 0xf8,
  FREQ: 0xf9,
  AUX: 0xfa,
  RESIZEDB: 0xfb,
  EXPIRETIME_MS: 0xfc,
  EXPIRETIME: 0xfd,
  SELECTDB: 0xfe,
  EOF: 0xff,
} as const;

const VALUE_TYPE_NAMES: Record<number, string> = {
  0: 'string',
  1: 'list',
  2: 'set',
  3: 'zset',
  4: 'hash',
  5: 'zset-2',
  6: 'module-pre-ga',
  7: 'module-2',
  9: 'hash-zipmap',
  10: 'list-ziplist',
  11: 'set-intset',
  12: 'zset-ziplist',
  13: 'hash-ziplist',
  14: 'list-quicklist',
  15: 'stream-listpacks',
  16: 'hash-listpack',
  17: 'zset-listpack',
  18: 'list-quicklist-2',
  19: 'stream-listpacks-2',
  20: 'set-listpack',
  21: 'stream-listpacks-3',
  22: 'hash-metadata-pre-ga',
  23: 'hash-listpack-ex-pre-ga',
  24: 'hash-metadata',
  25: 'hash-listpack-ex',
};

const MAX_RDB_VERSION = 12;
/** Strings longer than this are never held in memory unless they are LZF-compressed blobs that must be parsed. */
const HOLD_LIMIT = 1 << 20;

/** A plain string value: either held (small) or only its length (large, skipped). */
type RdbString = { bytes: Buffer; length: number } | { bytes: undefined; length: number };

class Corrupt extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Pull reader over a byte stream: bounded buffering, CRC of every consumed byte (computed in bulk when the buffer is
 * replaced), absolute offsets. The `buffer`/`position`/`advance` members let the walker parse what is already
 * buffered without a promise per field.
 */
class ByteReader {
  readonly #crc = new Crc64();
  #iterator: AsyncIterator<Buffer>;
  buffer: Buffer = Buffer.alloc(0);
  position = 0;
  #checksummed = 0;
  #ended = false;
  /** Absolute offset of `buffer[0]`. */
  #base = 0;

  constructor(stream: Readable) {
    this.#iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Absolute offset of the next unread byte. */
  get offset(): number {
    return this.#base + this.position;
  }

  get available(): number {
    return this.buffer.length - this.position;
  }

  /** CRC-64 of every byte consumed so far. */
  digest(): bigint {
    this.#updateCrc();
    return this.#crc.digest();
  }

  #updateCrc(): void {
    if (this.position > this.#checksummed) this.#crc.update(this.buffer.subarray(this.#checksummed, this.position));
    this.#checksummed = this.position;
  }

  /** Buffers at least `count` bytes, or throws a truncation error naming what was being read. */
  async fill(count: number, what: string): Promise<void> {
    while (this.available < count) {
      if (this.#ended) throw new Corrupt(this.offset + this.available, `RDB is truncated while reading ${what}`);
      const next = await this.#iterator.next();
      if (next.done) {
        this.#ended = true;
        continue;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.#updateCrc();
      this.#base += this.position;
      this.buffer = this.available === 0 ? chunk : Buffer.concat([this.buffer.subarray(this.position), chunk]);
      this.position = 0;
      this.#checksummed = 0;
    }
  }

  /** Consumes `count` already-buffered bytes. */
  advance(count: number): void {
    this.position += count;
  }

  /** Consumes `count` bytes and returns them (a view into an immutable chunk). */
  async take(count: number, what: string): Promise<Buffer> {
    if (this.available < count) await this.fill(count, what);
    const bytes = this.buffer.subarray(this.position, this.position + count);
    this.position += count;
    return bytes;
  }

  async byte(what: string): Promise<number> {
    if (this.available < 1) await this.fill(1, what);
    return this.buffer[this.position++] as number;
  }

  /** Consumes `count` bytes without holding more than one chunk at a time. */
  async skip(count: number, what: string): Promise<void> {
    let remaining = count;
    while (remaining > 0) {
      if (this.available === 0) await this.fill(1, what);
      const step = Math.min(remaining, this.available);
      this.position += step;
      remaining -= step;
    }
  }

  /** Bytes after the current position until the end of the stream (not checksummed). */
  async rest(): Promise<number> {
    let bytes = this.available;
    this.#updateCrc();
    this.#base += this.buffer.length;
    this.buffer = Buffer.alloc(0);
    this.position = 0;
    this.#checksummed = 0;
    while (!this.#ended) {
      const next = await this.#iterator.next();
      if (next.done) this.#ended = true;
      else bytes += next.value.length;
    }
    return bytes;
  }

  /** Reads `count` bytes that are not part of the CRC (the trailing checksum). */
  async takeUnchecked(count: number, what: string): Promise<Buffer> {
    if (this.available < count) await this.fill(count, what);
    this.#updateCrc();
    const bytes = this.buffer.subarray(this.position, this.position + count);
    this.position += count;
    this.#checksummed = this.position;
    return bytes;
  }
}

/** Decompresses one LZF block (liblzf format as used by Redis) into exactly `outputLength` bytes, or throws. */
export function lzfDecompress(input: Uint8Array, outputLength: number): Buffer {
  const output = Buffer.alloc(outputLength);
  let inputIndex = 0;
  let outputIndex = 0;
  while (inputIndex < input.length) {
    const control = input[inputIndex++] as number;
    if (control < 32) {
      const run = control + 1;
      if (outputIndex + run > outputLength) throw new Error('LZF literal run overflows the declared length');
      if (inputIndex + run > input.length) throw new Error('LZF literal run overruns the compressed data');
      output.set(input.subarray(inputIndex, inputIndex + run), outputIndex);
      inputIndex += run;
      outputIndex += run;
      continue;
    }
    let length = control >> 5;
    let reference = outputIndex - ((control & 0x1f) << 8) - 1;
    if (inputIndex >= input.length) throw new Error('LZF back reference is cut off');
    if (length === 7) {
      length += input[inputIndex++] as number;
      if (inputIndex >= input.length) throw new Error('LZF back reference is cut off');
    }
    reference -= input[inputIndex++] as number;
    length += 2;
    if (outputIndex + length > outputLength) throw new Error('LZF back reference overflows the declared length');
    if (reference < 0) throw new Error('LZF back reference points before the start');
    for (let index = 0; index < length; index++) output[outputIndex++] = output[reference++] as number;
  }
  if (outputIndex !== outputLength) throw new Error(`LZF data decompresses to ${outputIndex} bytes, the header says ${outputLength}`);
  return output;
}

/** Validates a listpack blob (header, every entry and its back-length, terminator); returns its element count. */
export function checkListpack(blob: Buffer): number {
  if (blob.length < 7) throw new Error(`listpack of ${blob.length} bytes is shorter than its header`);
  const total = blob.readUInt32LE(0);
  if (total !== blob.length) throw new Error(`listpack header says ${total} bytes, the string has ${blob.length}`);
  const declared = blob.readUInt16LE(4);
  let index = 6;
  let count = 0;
  for (;;) {
    if (index >= blob.length) throw new Error('listpack has no terminator');
    const first = blob[index] as number;
    if (first === 0xff) break;
    const start = index;
    let size: number;
    if ((first & 0x80) === 0) size = 1;
    else if ((first & 0xc0) === 0x80) size = 1 + (first & 0x3f);
    else if ((first & 0xe0) === 0xc0) size = 2;
    else if ((first & 0xf0) === 0xe0) {
      if (index + 1 >= blob.length) throw new Error('listpack entry header is cut off');
      size = 2 + (((first & 0x0f) << 8) | (blob[index + 1] as number));
    } else if (first === 0xf0) {
      if (index + 5 > blob.length) throw new Error('listpack entry header is cut off');
      size = 5 + blob.readUInt32LE(index + 1);
    } else if (first === 0xf1) size = 3;
    else if (first === 0xf2) size = 4;
    else if (first === 0xf3) size = 5;
    else if (first === 0xf4) size = 9;
    else throw new Error(`listpack entry at ${index} has the invalid encoding byte 0x${first.toString(16)}`);
    const backlengthSize = size < 128 ? 1 : size < 16_384 ? 2 : size < 2_097_152 ? 3 : size < 268_435_456 ? 4 : 5;
    index += size + backlengthSize;
    if (index >= blob.length) throw new Error('listpack entry overruns the listpack');
    // The back-length is stored last-byte-first with a continuation bit, so it is decoded from its end.
    let backlength = 0;
    let shift = 0;
    for (let position = index - 1; position >= start + size; position--) {
      const byte = blob[position] as number;
      backlength += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    if (backlength !== size) throw new Error(`listpack entry at ${start} has back-length ${backlength}, expected ${size}`);
    count++;
  }
  if (index !== blob.length - 1) throw new Error('listpack has bytes after its terminator');
  if (declared !== 0xffff && declared !== count) throw new Error(`listpack header says ${declared} elements, found ${count}`);
  if (count === 0) throw new Error('listpack is empty');
  return count;
}

/** Validates a ziplist blob (header, prevlen chain, tail offset, terminator); returns its entry count. */
export function checkZiplist(blob: Buffer): number {
  if (blob.length < 11) throw new Error(`ziplist of ${blob.length} bytes is shorter than its header`);
  const total = blob.readUInt32LE(0);
  if (total !== blob.length) throw new Error(`ziplist header says ${total} bytes, the string has ${blob.length}`);
  const tail = blob.readUInt32LE(4);
  const declared = blob.readUInt16LE(8);
  let index = 10;
  let previousSize = 0;
  let lastStart = 10;
  let count = 0;
  for (;;) {
    if (index >= blob.length) throw new Error('ziplist has no terminator');
    if (blob[index] === 0xff) break;
    const start = index;
    let previousLength = blob[index] as number;
    if (previousLength === 0xfe) {
      if (index + 5 > blob.length) throw new Error('ziplist entry header is cut off');
      previousLength = blob.readUInt32LE(index + 1);
      index += 5;
    } else index += 1;
    if (previousLength !== previousSize) throw new Error(`ziplist entry at ${start} says the previous entry has ${previousLength} bytes, it has ${previousSize}`);
    if (index >= blob.length) throw new Error('ziplist entry header is cut off');
    const encoding = blob[index] as number;
    let header = 1;
    let data: number;
    switch (encoding >> 6) {
      case 0:
        data = encoding & 0x3f;
        break;
      case 1:
        if (index + 2 > blob.length) throw new Error('ziplist entry header is cut off');
        header = 2;
        data = ((encoding & 0x3f) << 8) | (blob[index + 1] as number);
        break;
      case 2:
        if (encoding !== 0x80 || index + 5 > blob.length) throw new Error(`ziplist entry at ${start} has an invalid string encoding`);
        header = 5;
        data = blob.readUInt32BE(index + 1);
        break;
      default:
        if (encoding === 0xc0) data = 2;
        else if (encoding === 0xd0) data = 4;
        else if (encoding === 0xe0) data = 8;
        else if (encoding === 0xf0) data = 3;
        else if (encoding === 0xfe) data = 1;
        else if (encoding >= 0xf1 && encoding <= 0xfd) data = 0;
        else throw new Error(`ziplist entry at ${start} has the invalid encoding byte 0x${encoding.toString(16)}`);
    }
    index += header + data;
    if (index >= blob.length) throw new Error('ziplist entry overruns the ziplist');
    previousSize = index - start;
    lastStart = start;
    count++;
  }
  if (index !== blob.length - 1) throw new Error('ziplist has bytes after its terminator');
  if (tail !== lastStart) throw new Error(`ziplist tail offset ${tail} does not point at the last entry (${lastStart})`);
  if (declared !== 0xffff && declared !== count) throw new Error(`ziplist header says ${declared} entries, found ${count}`);
  return count;
}

function checkIntset(blob: Buffer): number {
  if (blob.length < 8) throw new Error('intset is shorter than its header');
  const width = blob.readUInt32LE(0);
  const length = blob.readUInt32LE(4);
  if (width !== 2 && width !== 4 && width !== 8) throw new Error(`intset has the invalid element width ${width}`);
  if (blob.length !== 8 + width * length) throw new Error(`intset of ${length} × ${width}-byte elements cannot be ${blob.length} bytes`);
  return length;
}

function checkZipmap(blob: Buffer): void {
  let index = 1;
  const readLength = (): number => {
    const first = blob[index];
    if (first === undefined) throw new Error('zipmap is cut off');
    if (first < 254) {
      index += 1;
      return first;
    }
    if (first === 254 && index + 5 <= blob.length) {
      index += 5;
      return blob.readUInt32LE(index - 4);
    }
    throw new Error('zipmap has an invalid length');
  };
  for (;;) {
    if (index >= blob.length) throw new Error('zipmap has no terminator');
    if (blob[index] === 0xff) break;
    const fieldLength = readLength();
    index += fieldLength;
    const valueLength = readLength();
    const free = blob[index];
    if (free === undefined) throw new Error('zipmap is cut off');
    index += 1 + valueLength + free;
  }
  if (index !== blob.length - 1) throw new Error('zipmap has bytes after its terminator');
}

class RdbWalker {
  readonly #reader: ByteReader;
  readonly #maxDecompressed: number;

  constructor(reader: ByteReader, maxDecompressed: number) {
    this.#reader = reader;
    this.#maxDecompressed = maxDecompressed;
  }

  /**
   * Fast path: a plain 6/14/32-bit length that is already buffered, consumed; `undefined` (nothing consumed) for
   * anything else, which the async path then reads or reports.
   */
  syncLength(): number | undefined {
    const reader = this.#reader;
    const { buffer, position } = reader;
    const available = buffer.length - position;
    if (available < 1) return undefined;
    const first = buffer[position] as number;
    const kind = first >> 6;
    if (kind === 0) {
      reader.advance(1);
      return first & 0x3f;
    }
    if (kind === 1 && available >= 2) {
      reader.advance(2);
      return ((first & 0x3f) << 8) | (buffer[position + 1] as number);
    }
    if (first === 0x80 && available >= 5) {
      reader.advance(5);
      return buffer.readUInt32BE(position + 1);
    }
    return undefined;
  }

  /**
   * Fast path: a string whose header and bytes are already buffered (plain, integer-encoded, or LZF that
   * decompresses cleanly), consumed and returned; `undefined` (nothing consumed) otherwise.
   */
  syncString(): Buffer | undefined {
    const reader = this.#reader;
    const { buffer, position } = reader;
    const available = buffer.length - position;
    if (available < 1) return undefined;
    const first = buffer[position] as number;
    let header: number;
    let length: number;
    switch (first >> 6) {
      case 0:
        header = 1;
        length = first & 0x3f;
        break;
      case 1:
        if (available < 2) return undefined;
        header = 2;
        length = ((first & 0x3f) << 8) | (buffer[position + 1] as number);
        break;
      case 2:
        if (first !== 0x80 || available < 5) return undefined;
        header = 5;
        length = buffer.readUInt32BE(position + 1);
        break;
      default: {
        const encoding = first & 0x3f;
        if (encoding === 0 && available >= 2) {
          reader.advance(2);
          return buffer.subarray(position + 1, position + 2);
        }
        if (encoding === 1 && available >= 3) {
          reader.advance(3);
          return buffer.subarray(position + 1, position + 3);
        }
        if (encoding === 2 && available >= 5) {
          reader.advance(5);
          return buffer.subarray(position + 1, position + 5);
        }
        if (encoding !== 3) return undefined;
        reader.advance(1);
        const compressed = this.syncLength();
        const decompressed = compressed === undefined ? undefined : this.syncLength();
        if (compressed === undefined || decompressed === undefined || compressed === 0 || decompressed === 0 || decompressed > this.#maxDecompressed || reader.available < compressed) {
          reader.position = position;
          return undefined;
        }
        try {
          const output = lzfDecompress(reader.buffer.subarray(reader.position, reader.position + compressed), decompressed);
          reader.advance(compressed);
          return output;
        } catch {
          reader.position = position;
          return undefined;
        }
      }
    }
    if (available < header + length) return undefined;
    reader.advance(header + length);
    return buffer.subarray(position + header, position + header + length);
  }

  /** A length (6/14/32/64-bit) or, with `encoded`, the special string encoding number. */
  async length(what: string, wide = false): Promise<{ value: number; encoded: boolean }> {
    const reader = this.#reader;
    const first = await reader.byte(what);
    switch (first >> 6) {
      case 0:
        return { value: first & 0x3f, encoded: false };
      case 1:
        return { value: ((first & 0x3f) << 8) | (await reader.byte(what)), encoded: false };
      case 2: {
        if (first === 0x80) return { value: (await reader.take(4, what)).readUInt32BE(0), encoded: false };
        if (first === 0x81) {
          const value = (await reader.take(8, what)).readBigUInt64BE(0);
          // Stream IDs, counters and module ids are full 64-bit values (-1 is stored as 2^64-1); lengths are not.
          if (wide) return { value: Number(value), encoded: false };
          if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Corrupt(reader.offset - 9, `${what} has the impossible length ${value}`);
          return { value: Number(value), encoded: false };
        }
        throw new Corrupt(reader.offset - 1, `${what} has the invalid length prefix 0x${first.toString(16)}`);
      }
      default:
        return { value: first & 0x3f, encoded: true };
    }
  }

  async plainLength(what: string, wide = false): Promise<number> {
    const start = this.#reader.offset;
    const length = await this.length(what, wide);
    if (length.encoded) throw new Corrupt(start, `${what} is a string encoding where a length was expected`);
    return length.value;
  }

  /** A string; held in memory when `hold` (blobs to parse, AUX fields) or small, otherwise skipped by length. */
  async string(what: string, hold: boolean): Promise<RdbString> {
    const reader = this.#reader;
    const start = reader.offset;
    const length = await this.length(what);
    if (!length.encoded) {
      if (hold || length.value <= HOLD_LIMIT) {
        if (hold && length.value > this.#maxDecompressed) throw new Corrupt(start, `${what} of ${length.value} bytes is larger than the walker will hold (maxDecompressedBytes)`);
        return { bytes: Buffer.from(await reader.take(length.value, what)), length: length.value };
      }
      await reader.skip(length.value, what);
      return { bytes: undefined, length: length.value };
    }
    switch (length.value) {
      case 0:
        return { bytes: Buffer.from(String((await reader.take(1, what)).readInt8(0))), length: 1 };
      case 1:
        return { bytes: Buffer.from(String((await reader.take(2, what)).readInt16LE(0))), length: 2 };
      case 2:
        return { bytes: Buffer.from(String((await reader.take(4, what)).readInt32LE(0))), length: 4 };
      case 3: {
        const compressed = await this.plainLength(`${what} (compressed length)`);
        const decompressed = await this.plainLength(`${what} (decompressed length)`);
        if (compressed === 0 || decompressed === 0) throw new Corrupt(start, `${what} is an LZF string with a zero length`);
        if (decompressed > this.#maxDecompressed) {
          if (hold) throw new Corrupt(start, `${what} decompresses to ${decompressed} bytes, more than the walker will hold (maxDecompressedBytes)`);
          await reader.skip(compressed, what);
          return { bytes: undefined, length: decompressed };
        }
        const dataOffset = reader.offset;
        const input = await reader.take(compressed, what);
        try {
          return { bytes: lzfDecompress(input, decompressed), length: decompressed };
        } catch (error) {
          throw new Corrupt(dataOffset, `${what} is not valid LZF data: ${(error as Error).message}`);
        }
      }
      default:
        throw new Corrupt(start, `${what} has the unknown string encoding ${length.value}`);
    }
  }

  async blob(what: string, check: (blob: Buffer) => unknown): Promise<void> {
    const start = this.#reader.offset;
    const value = await this.string(what, true);
    try {
      check(value.bytes as Buffer);
    } catch (error) {
      throw new Corrupt(start, `${what}: ${(error as Error).message}`);
    }
  }

  async moduleValue(what: string): Promise<void> {
    // Module values written with the MODULE_2 type are a sequence of typed opcodes ending with 0, so any can be skipped.
    for (;;) {
      const start = this.#reader.offset;
      const opcode = await this.plainLength(`${what} opcode`);
      if (opcode === 0) return;
      if (opcode === 1 || opcode === 2) await this.plainLength(`${what} integer`, true);
      else if (opcode === 3) await this.#reader.take(4, `${what} float`);
      else if (opcode === 4) await this.#reader.take(8, `${what} double`);
      else if (opcode === 5) await this.string(`${what} string`, false);
      else throw new Corrupt(start, `${what} has the unknown module opcode ${opcode}`);
    }
  }

  async value(type: number, describeKey: () => string): Promise<void> {
    const reader = this.#reader;
    if (type === 0 && this.syncString()) return;
    const what = `the value of ${describeKey()}`;
    switch (type) {
      case 0:
        await this.string(what, false);
        return;
      case 1:
      case 2: {
        const count = this.syncLength() ?? (await this.plainLength(`${what} element count`));
        for (let index = 0; index < count; index++) if (!this.syncString()) await this.string(`${what} element ${index}`, false);
        return;
      }
      case 3:
      case 5: {
        const count = this.syncLength() ?? (await this.plainLength(`${what} member count`));
        for (let index = 0; index < count; index++) {
          if (!this.syncString()) await this.string(`${what} member ${index}`, false);
          if (type === 5) {
            if (reader.available >= 8) reader.advance(8);
            else await reader.take(8, `${what} score ${index}`);
          }
          else {
            const scoreLength = await reader.byte(`${what} score ${index}`);
            if (scoreLength < 253) await reader.take(scoreLength, `${what} score ${index}`);
          }
        }
        return;
      }
      case 4: {
        const count = this.syncLength() ?? (await this.plainLength(`${what} field count`));
        for (let index = 0; index < count; index++) {
          if (!this.syncString()) await this.string(`${what} field ${index}`, false);
          if (!this.syncString()) await this.string(`${what} field ${index} value`, false);
        }
        return;
      }
      case 6:
        throw new Corrupt(reader.offset, `${what} is a module value in the pre-release MODULE format, which cannot be skipped without the module`);
      case 7: {
        await this.plainLength(`${what} module id`, true);
        await this.moduleValue(what);
        return;
      }
      case 9:
        await this.blob(`${what} (zipmap)`, checkZipmap);
        return;
      case 10:
      case 12:
      case 13:
        await this.blob(`${what} (ziplist)`, checkZiplist);
        return;
      case 11:
        await this.blob(`${what} (intset)`, checkIntset);
        return;
      case 16:
      case 17:
      case 20:
        await this.blob(`${what} (listpack)`, checkListpack);
        return;
      case 14: {
        const count = await this.plainLength(`${what} node count`);
        for (let index = 0; index < count; index++) await this.blob(`${what} node ${index} (ziplist)`, checkZiplist);
        return;
      }
      case 18: {
        const count = await this.plainLength(`${what} node count`);
        for (let index = 0; index < count; index++) {
          const start = reader.offset;
          const container = await this.plainLength(`${what} node ${index} container`);
          if (container === 1) await this.string(`${what} node ${index} (plain)`, false);
          else if (container === 2) await this.blob(`${what} node ${index} (listpack)`, checkListpack);
          else throw new Corrupt(start, `${what} node ${index} has the unknown container ${container}`);
        }
        return;
      }
      case 15:
      case 19:
      case 21:
        await this.stream(type, what);
        return;
      // Hashes with field expiry (Redis 7.4+): the GA forms start with the smallest field expiry time.
      case 22:
      case 24: {
        if (type === 24) await reader.take(8, `${what} minimum field expiry`);
        const count = await this.plainLength(`${what} field count`);
        for (let index = 0; index < count; index++) {
          await this.plainLength(`${what} field ${index} expiry`, true);
          if (!this.syncString()) await this.string(`${what} field ${index}`, false);
          if (!this.syncString()) await this.string(`${what} field ${index} value`, false);
        }
        return;
      }
      case 23:
      case 25:
        if (type === 25) await reader.take(8, `${what} minimum field expiry`);
        await this.blob(`${what} (listpack of field, value, expiry)`, (blob) => {
          const elements = checkListpack(blob);
          if (elements % 3 !== 0) throw new Error(`listpack has ${elements} elements, not field/value/expiry triples`);
        });
        return;
      default:
        throw new Corrupt(reader.offset - 1, `unknown value type ${type} (for a key)`);
    }
  }

  async stream(type: number, what: string): Promise<void> {
    const reader = this.#reader;
    const nodes = await this.plainLength(`${what} listpack count`);
    for (let index = 0; index < nodes; index++) {
      const start = reader.offset;
      const nodeKey = await this.string(`${what} node ${index} key`, true);
      if (nodeKey.length !== 16) throw new Corrupt(start, `${what} node ${index} key is ${nodeKey.length} bytes, a stream ID has 16`);
      await this.blob(`${what} node ${index} (listpack)`, checkListpack);
    }
    await this.plainLength(`${what} length`, true);
    await this.plainLength(`${what} last id`, true);
    await this.plainLength(`${what} last id sequence`, true);
    if (type >= 19) {
      await this.plainLength(`${what} first id`, true);
      await this.plainLength(`${what} first id sequence`, true);
      await this.plainLength(`${what} max deleted id`, true);
      await this.plainLength(`${what} max deleted id sequence`, true);
      await this.plainLength(`${what} entries added`, true);
    }
    const groups = await this.plainLength(`${what} consumer group count`);
    for (let group = 0; group < groups; group++) {
      const groupWhat = `${what} consumer group ${group}`;
      await this.string(`${groupWhat} name`, false);
      await this.plainLength(`${groupWhat} last id`, true);
      await this.plainLength(`${groupWhat} last id sequence`, true);
      if (type >= 19) await this.plainLength(`${groupWhat} entries read`, true);
      const pending = await this.plainLength(`${groupWhat} pending count`);
      for (let entry = 0; entry < pending; entry++) {
        await reader.take(16, `${groupWhat} pending id`);
        await reader.take(8, `${groupWhat} pending delivery time`);
        await this.plainLength(`${groupWhat} pending delivery count`);
      }
      const consumers = await this.plainLength(`${groupWhat} consumer count`);
      for (let consumer = 0; consumer < consumers; consumer++) {
        await this.string(`${groupWhat} consumer name`, false);
        await reader.take(8, `${groupWhat} consumer seen time`);
        if (type >= 21) await reader.take(8, `${groupWhat} consumer active time`);
        const owned = await this.plainLength(`${groupWhat} consumer pending count`);
        await reader.skip(16 * owned, `${groupWhat} consumer pending ids`);
      }
    }
  }

  async walk(): Promise<Omit<RdbSummary, 'bytes'>> {
    const reader = this.#reader;
    const header = await reader.take(9, 'the header');
    const version = header.subarray(5, 9).toString('latin1');
    if (header.subarray(0, 5).toString('latin1') !== 'REDIS' || !/^\d{4}$/.test(version)) throw new Corrupt(0, 'RDB does not start with the REDIS magic and a version');
    const rdbVersion = Number(version);
    if (rdbVersion < 1 || rdbVersion > MAX_RDB_VERSION) throw new Corrupt(5, `RDB version ${rdbVersion} is not supported (1 to ${MAX_RDB_VERSION})`);
    const databases: Record<number, RdbDatabaseCounts> = {};
    const valueTypes: Record<string, number> = {};
    const auxiliary: Record<string, string> = {};
    let database = 0;
    let keys = 0;
    let expiringKeys = 0;
    let functionLibraries = 0;
    let moduleAuxiliaryRecords = 0;
    let expiring = false;
    for (;;) {
      const start = reader.offset;
      const opcode = reader.available > 0 ? (reader.buffer[reader.position++] as number) : await reader.byte('an opcode');
      switch (opcode) {
        case OPCODE.EOF: {
          if (expiring) throw new Corrupt(start, 'RDB ends after an expiry time without a key');
          let checksumVerified = false;
          if (rdbVersion >= 5) {
            const computed = reader.digest();
            const stored = (await reader.takeUnchecked(8, 'the checksum')).readBigUInt64LE(0);
            if (stored !== 0n && stored !== computed) throw new Corrupt(start + 1, `RDB checksum mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)})`);
            checksumVerified = stored !== 0n;
          }
          return { rdbVersion, checksumVerified, databases, keys, expiringKeys, valueTypes, auxiliary, functionLibraries, moduleAuxiliaryRecords };
        }
        case OPCODE.SELECTDB:
          database = await this.plainLength('the SELECTDB number');
          continue;
        case OPCODE.RESIZEDB:
          await this.plainLength('the RESIZEDB key count');
          await this.plainLength('the RESIZEDB expires count');
          continue;
        case OPCODE.AUX: {
          const name = await this.string('an AUX field name', true);
          const value = await this.string('an AUX field value', false);
          const text = (name.bytes as Buffer).toString('utf8');
          if (value.bytes && value.length <= 1024) auxiliary[text] = value.bytes.toString('utf8');
          continue;
        }
        case OPCODE.EXPIRETIME_MS:
          await reader.take(8, 'an expiry time');
          expiring = true;
          continue;
        case OPCODE.EXPIRETIME:
          await reader.take(4, 'an expiry time');
          expiring = true;
          continue;
        case OPCODE.IDLE:
          await this.plainLength('an LRU idle time');
          continue;
        case OPCODE.FREQ:
          await reader.byte('an LFU frequency');
          continue;
        case OPCODE.SLOT_INFO:
          await this.plainLength('the slot number');
          await this.plainLength('the slot size');
          await this.plainLength('the slot expires size');
          continue;
        case OPCODE.MODULE_AUX: {
          await this.plainLength('a module id', true);
          const when = await this.plainLength('a module aux "when" opcode');
          if (when !== 2) throw new Corrupt(start, `module aux record has the invalid "when" opcode ${when}`);
          await this.plainLength('a module aux "when"', true);
          await this.moduleValue('a module aux record');
          moduleAuxiliaryRecords++;
          continue;
        }
        case OPCODE.FUNCTION2:
          await this.string('a function library', false);
          functionLibraries++;
          continue;
        case OPCODE.FUNCTION_PRE_GA:
          throw new Corrupt(start, 'RDB holds functions in the pre-release FUNCTION format, which Redis 7 itself refuses');
        default: {
          const name = VALUE_TYPE_NAMES[opcode];
          if (name === undefined) throw new Corrupt(start, `unknown opcode or value type 0x${opcode.toString(16)}`);
          const keyStart = reader.offset;
          const key = this.syncString() ?? (await this.string('a key', false)).bytes;
          await this.value(opcode, () => `key ${key ? JSON.stringify(key.subarray(0, 64).toString('latin1')) : 'of more than 1 MiB'} at offset ${keyStart}`);
          const counts = (databases[database] ??= { keys: 0, expiringKeys: 0 });
          counts.keys++;
          keys++;
          if (expiring) {
            counts.expiringKeys++;
            expiringKeys++;
            expiring = false;
          }
          valueTypes[name] = (valueTypes[name] ?? 0) + 1;
        }
      }
    }
  }
}

/**
 * Walks a whole RDB stream structurally with bounded memory: the header, every opcode (AUX, SELECTDB, RESIZEDB,
 * expiry times, LRU/LFU, module aux, functions), every key and value of every Redis 7 type and the field-expiry
 * hashes of Redis 7.4+ (including the
 * listpacks, ziplists and intsets inside, and LZF-compressed strings, which are decompressed to validate them up to
 * `maxDecompressedBytes`), the EOF opcode and the trailing CRC-64, and nothing after it. Counts keys and expiring
 * keys per database.
 *
 * Throws `BACKUP_CORRUPT` naming the byte offset of the first problem (truncation, unknown opcode or type, bad
 * length, malformed listpack or LZF data, checksum mismatch, trailing bytes). Module values in the pre-release
 * MODULE format cannot be skipped and are refused with a message saying so.
 *
 * @example
 * ```ts
 * const summary = await walkRdbStream(createReadStream('dump.rdb'));
 * console.log(summary.keys, summary.databases[0]?.expiringKeys);
 * ```
 */
export async function walkRdbStream(stream: Readable, options: RdbWalkOptions = {}): Promise<RdbSummary> {
  const { maxDecompressedBytes = 64 * 1024 * 1024 } = options;
  const reader = new ByteReader(stream);
  try {
    const summary = await new RdbWalker(reader, maxDecompressedBytes).walk();
    const end = reader.offset;
    const trailing = await reader.rest();
    if (trailing > 0) throw new Corrupt(end, `RDB has ${trailing} bytes after its checksum`);
    return { ...summary, bytes: end };
  } catch (error) {
    if (error instanceof Corrupt) throw new OpsError('BACKUP_CORRUPT', `RDB is corrupt at byte offset ${error.offset}: ${error.message}`);
    throw error;
  }
}
