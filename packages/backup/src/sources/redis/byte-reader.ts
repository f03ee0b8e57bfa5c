import type { Readable } from 'node:stream';
import { Crc64 } from './crc64.js';
import { RdbCorruption } from './rdb-corruption.js';

/**
 * Pull reader over a byte stream: bounded buffering, CRC of every consumed byte (computed in bulk when the buffer is
 * replaced), absolute offsets. The `buffer`/`position`/`advance` members let the walker parse what is already
 * buffered without a promise per field.
 */
export class ByteReader {
  readonly #crc = new Crc64();
  #iterator: AsyncIterator<Buffer>;
  /** The buffered bytes; `buffer[position]` is the next unread byte. */
  buffer: Buffer = Buffer.alloc(0);
  /** Index of the next unread byte in `buffer`. */
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

  /** Bytes buffered and not yet consumed. */
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
      if (this.#ended) throw new RdbCorruption(this.offset + this.available, `RDB is truncated while reading ${what}`);
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

  /** Consumes one byte and returns it. */
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
