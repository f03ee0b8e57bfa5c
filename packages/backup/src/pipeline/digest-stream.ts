import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { StageTimer } from '../jobs/run-timings.js';

/**
 * A pass-through that counts bytes and computes SHA-256 as data flows, so hashing never needs a second read.
 * An optional `expect` check runs at the end of the stream and fails it (with the error `onMismatch` returns).
 */
export class DigestStream extends Transform {
  #hash: Hash = createHash('sha256');
  #bytes = 0;
  #digest: string | undefined;
  readonly #expect: { sha256?: string; bytes?: number; onMismatch: (problem: string) => Error } | undefined;
  readonly #timer: StageTimer | undefined;

  constructor(
    expect?: { sha256?: string; bytes?: number; onMismatch: (problem: string) => Error },
    internal: { timer?: StageTimer | undefined } = {},
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.#expect = expect;
    this.#timer = internal.timer;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Hex SHA-256 of everything seen; only after the stream ended. */
  get sha256(): string {
    if (this.#digest === undefined) throw new Error('DigestStream: digest read before the stream ended');
    return this.#digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#timer) this.#timer.time(() => this.#hash.update(chunk));
    else this.#hash.update(chunk);
    this.#bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#digest = this.#hash.digest('hex');
    const expect = this.#expect;
    if (expect) {
      if (expect.bytes !== undefined && expect.bytes !== this.#bytes) {
        callback(expect.onMismatch(`size is ${this.#bytes} bytes, expected ${expect.bytes}`));
        return;
      }
      if (expect.sha256 !== undefined && expect.sha256 !== this.#digest) {
        callback(expect.onMismatch(`sha256 is ${this.#digest}, expected ${expect.sha256}`));
        return;
      }
    }
    callback();
  }
}
