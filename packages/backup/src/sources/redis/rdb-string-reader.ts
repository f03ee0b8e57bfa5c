import type { ByteReader } from './byte-reader.js';
import { lzfDecompress } from './lzf.js';
import { RdbCorruption } from './rdb-corruption.js';

/** Strings longer than this are never held in memory unless they are LZF-compressed blobs that must be parsed. */
const HOLD_LIMIT = 1 << 20;

/** A plain string value: either held (small) or only its length (large, skipped). */
export type RdbString = { bytes: Buffer; length: number } | { bytes: undefined; length: number };

/**
 * Reads the two primitives everything in an RDB is made of: lengths (6/14/32/64-bit) and strings (plain,
 * integer-encoded or LZF-compressed). Each has a synchronous fast path for what is already buffered and an async
 * path that waits for more bytes and reports problems with their offset.
 */
export class RdbStringReader {
  readonly #reader: ByteReader;
  readonly #maxDecompressed: number;

  constructor(reader: ByteReader, maxDecompressedBytes: number) {
    this.#reader = reader;
    this.#maxDecompressed = maxDecompressedBytes;
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
      default:
        return this.#syncEncodedString(first & 0x3f);
    }
    if (available < header + length) return undefined;
    reader.advance(header + length);
    return buffer.subarray(position + header, position + header + length);
  }

  /** {@link syncString} for the special encodings (8/16/32-bit integers, LZF); the reader is at the encoding byte. */
  #syncEncodedString(encoding: number): Buffer | undefined {
    const reader = this.#reader;
    const { buffer, position } = reader;
    const available = buffer.length - position;
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
    if (
      compressed === undefined ||
      decompressed === undefined ||
      compressed === 0 ||
      decompressed === 0 ||
      decompressed > this.#maxDecompressed ||
      reader.available < compressed
    ) {
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
          if (value > BigInt(Number.MAX_SAFE_INTEGER))
            throw new RdbCorruption(reader.offset - 9, `${what} has the impossible length ${value}`);
          return { value: Number(value), encoded: false };
        }
        throw new RdbCorruption(reader.offset - 1, `${what} has the invalid length prefix 0x${first.toString(16)}`);
      }
      default:
        return { value: first & 0x3f, encoded: true };
    }
  }

  /** A length that must not be a string encoding; `wide` allows full 64-bit values (IDs, counters). */
  async plainLength(what: string, wide = false): Promise<number> {
    const start = this.#reader.offset;
    const length = await this.length(what, wide);
    if (length.encoded) throw new RdbCorruption(start, `${what} is a string encoding where a length was expected`);
    return length.value;
  }

  /** A string; held in memory when `hold` (blobs to parse, AUX fields) or small, otherwise skipped by length. */
  async string(what: string, hold: boolean): Promise<RdbString> {
    const reader = this.#reader;
    const start = reader.offset;
    const length = await this.length(what);
    if (length.encoded) return this.#encodedString(length.value, what, hold, start);
    if (hold || length.value <= HOLD_LIMIT) {
      if (hold && length.value > this.#maxDecompressed)
        throw new RdbCorruption(
          start,
          `${what} of ${length.value} bytes is larger than the walker will hold (maxDecompressedBytes)`,
        );
      return { bytes: Buffer.from(await reader.take(length.value, what)), length: length.value };
    }
    await reader.skip(length.value, what);
    return { bytes: undefined, length: length.value };
  }

  /** The rest of a string in a special encoding: an 8/16/32-bit integer as text, or LZF-compressed bytes. */
  async #encodedString(encoding: number, what: string, hold: boolean, start: number): Promise<RdbString> {
    const reader = this.#reader;
    switch (encoding) {
      case 0:
        return { bytes: Buffer.from(String((await reader.take(1, what)).readInt8(0))), length: 1 };
      case 1:
        return { bytes: Buffer.from(String((await reader.take(2, what)).readInt16LE(0))), length: 2 };
      case 2:
        return { bytes: Buffer.from(String((await reader.take(4, what)).readInt32LE(0))), length: 4 };
      case 3:
        return this.#compressedString(what, hold, start);
      default:
        throw new RdbCorruption(start, `${what} has the unknown string encoding ${encoding}`);
    }
  }

  /** An LZF string: decompressed (validating it) up to `maxDecompressedBytes`, skipped by length above that. */
  async #compressedString(what: string, hold: boolean, start: number): Promise<RdbString> {
    const reader = this.#reader;
    const compressed = await this.plainLength(`${what} (compressed length)`);
    const decompressed = await this.plainLength(`${what} (decompressed length)`);
    if (compressed === 0 || decompressed === 0)
      throw new RdbCorruption(start, `${what} is an LZF string with a zero length`);
    if (decompressed > this.#maxDecompressed) {
      if (hold)
        throw new RdbCorruption(
          start,
          `${what} decompresses to ${decompressed} bytes, more than the walker will hold (maxDecompressedBytes)`,
        );
      await reader.skip(compressed, what);
      return { bytes: undefined, length: decompressed };
    }
    const dataOffset = reader.offset;
    const input = await reader.take(compressed, what);
    try {
      return { bytes: lzfDecompress(input, decompressed), length: decompressed };
    } catch (error) {
      throw new RdbCorruption(dataOffset, `${what} is not valid LZF data: ${(error as Error).message}`);
    }
  }

  /** A string held in memory and validated by `check` (a listpack, ziplist, intset or zipmap parser). */
  async blob(what: string, check: (blob: Buffer) => unknown): Promise<void> {
    const start = this.#reader.offset;
    const value = await this.string(what, true);
    try {
      check(value.bytes as Buffer);
    } catch (error) {
      throw new RdbCorruption(start, `${what}: ${(error as Error).message}`);
    }
  }
}
