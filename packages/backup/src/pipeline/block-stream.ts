import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { StageTimer } from '../jobs/run-timings.js';

/** Bytes per block the pipeline moves between its stages (sources often write 4–64 KiB at a time). */
export const BLOCK_BYTES = 1024 * 1024;

/**
 * The first stage of the write pipeline: gathers the source's small chunks (pg_dump writes 4 KiB at a time into its
 * pipe) into {@link BLOCK_BYTES} blocks, counting and hashing them (the plain sha256), so every later stage — gzip,
 * age, the stored sha256, the storage — handles a few hundred large blocks instead of tens of thousands of small
 * chunks. Memory stays bounded: one block being filled plus the stream buffers.
 */
export class BlockStream extends Transform {
  readonly #hash: Hash = createHash('sha256');
  readonly #blockBytes: number;
  readonly #onBlock: ((bytes: number) => void) | undefined;
  readonly #readTimer: StageTimer | undefined;
  readonly #hashTimer: StageTimer | undefined;
  #block: Buffer | undefined;
  #filled = 0;
  #bytes = 0;
  #digest: string | undefined;
  #firstByteAt: number | undefined;

  constructor(
    options: {
      blockBytes?: number;
      /** Called with the bytes seen so far, once per block. */
      onBlock?: ((bytes: number) => void) | undefined;
      readTimer?: StageTimer | undefined;
      hashTimer?: StageTimer | undefined;
    } = {},
  ) {
    const blockBytes = options.blockBytes ?? BLOCK_BYTES;
    super({ writableHighWaterMark: blockBytes, readableHighWaterMark: blockBytes });
    this.#blockBytes = blockBytes;
    this.#onBlock = options.onBlock;
    this.#readTimer = options.readTimer;
    this.#hashTimer = options.hashTimer;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** `performance.now()` when the first byte arrived (undefined before). */
  get firstByteAt(): number | undefined {
    return this.#firstByteAt;
  }

  /** Hex SHA-256 of everything seen; only after the stream ended. */
  get sha256(): string {
    if (this.#digest === undefined) throw new Error('BlockStream: digest read before the stream ended');
    return this.#digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    this.#firstByteAt ??= performance.now();
    this.#bytes += chunk.length;
    let offset = 0;
    // A chunk at least a block long with nothing pending goes on as it is (no copy).
    if (this.#filled === 0 && chunk.length >= this.#blockBytes) {
      this.#emit(chunk);
      return callback();
    }
    const time = this.#readTimer ? this.#readTimer.time.bind(this.#readTimer) : <T>(work: () => T): T => work();
    while (offset < chunk.length) {
      const block = (this.#block ??= Buffer.allocUnsafe(this.#blockBytes));
      const copied = time(() => chunk.copy(block, this.#filled, offset));
      this.#filled += copied;
      offset += copied;
      if (this.#filled === this.#blockBytes) {
        this.#block = undefined;
        this.#filled = 0;
        this.#emit(block);
      }
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#block && this.#filled > 0) this.#emit(this.#block.subarray(0, this.#filled));
    this.#block = undefined;
    this.#filled = 0;
    this.#digest = this.#hash.digest('hex');
    callback();
  }

  #emit(block: Buffer): void {
    if (this.#hashTimer) this.#hashTimer.time(() => this.#hash.update(block));
    else this.#hash.update(block);
    this.push(block);
    this.#onBlock?.(this.#bytes);
  }
}
