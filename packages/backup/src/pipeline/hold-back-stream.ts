import { Transform, type TransformCallback } from 'node:stream';

/**
 * A pass-through that keeps the last chunk it was given until its input ends cleanly. Placed after the checks of
 * {@link openArtifact} (whose sha256 and size checks fail the stream only at its end), it makes sure a consumer never
 * sees the final bytes of an artifact that turns out to be corrupt: a reader that needs the end of its input to finish
 * (pg_restore needs the end marker of the last data block, psql the end of its script to commit) cannot complete a
 * load from a damaged artifact. On an upstream error the held chunk is dropped, never emitted.
 */
export class HoldBackStream extends Transform {
  #held: Buffer | undefined;

  constructor() {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    const previous = this.#held;
    this.#held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    const held = this.#held;
    this.#held = undefined;
    callback(null, held);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#held = undefined;
    callback(error);
  }
}
