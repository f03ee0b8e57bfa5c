/** A FIFO of byte chunks that hands out exact-size slices without re-copying everything on each push. */
export class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  /** Bytes currently queued. */
  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Removes and returns the first `count` bytes (`count` must be ≤ {@link length}). */
  take(count: number): Buffer {
    if (count > this.#length) throw new RangeError(`cannot take ${count} of ${this.#length} bytes`);
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= count) {
      const out = first.subarray(0, count);
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
      this.#length -= count;
      return out;
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.#chunks[0] as Buffer;
      const needed = count - filled;
      if (chunk.length <= needed) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.#chunks.shift();
      } else {
        chunk.copy(out, filled, 0, needed);
        this.#chunks[0] = chunk.subarray(needed);
        filled += needed;
      }
    }
    this.#length -= count;
    return out;
  }

  /** Removes and returns everything. */
  takeAll(): Buffer {
    return this.take(this.#length);
  }

  /** A copy of the first `count` bytes without removing them. */
  peek(count: number): Buffer {
    const size = Math.min(count, this.#length);
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    for (const chunk of this.#chunks) {
      if (filled >= size) break;
      const part = Math.min(chunk.length, size - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
    }
    return out;
  }
}
