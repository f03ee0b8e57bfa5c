import { createCipheriv, createDecipheriv } from 'node:crypto';
import { chachaOpen, chachaSeal, hkdfSha256 } from './age-primitives.js';

/** Plaintext bytes per STREAM chunk (64 KiB). */
export const CHUNK_BYTES = 64 * 1024;
/** Poly1305 tag bytes appended to each chunk. */
export const TAG_BYTES = 16;
/** Bytes of the payload nonce that precedes the first chunk. */
export const PAYLOAD_NONCE_BYTES = 16;

/** Derives the payload key from the file key and the payload nonce. */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return hkdfSha256(fileKey, nonce, 'payload');
}

/** The STREAM chunk counter: an 11-byte big-endian counter followed by the last-chunk flag. */
export class ChunkNonce {
  readonly #nonce = Buffer.alloc(12);

  /** The nonce for the current chunk, with the last-chunk flag set as asked. */
  current(last: boolean): Buffer {
    this.#nonce[11] = last ? 1 : 0;
    return this.#nonce;
  }

  /** Moves `count` chunks on (batches sealed or opened elsewhere). */
  skip(count: number): void {
    for (let index = 0; index < count; index++) this.increment();
  }

  /** Moves to the next chunk. Throws when the 11-byte counter would wrap (2^88 chunks, never in practice). */
  increment(): void {
    for (let index = 10; index >= 0; index -= 1) {
      const next = ((this.#nonce[index] as number) + 1) & 0xff;
      this.#nonce[index] = next;
      if (next !== 0) return;
    }
    throw new RangeError('age STREAM chunk counter overflow');
  }
}

/** Encrypts one chunk. */
export function sealChunk(key: Uint8Array, nonce: ChunkNonce, plaintext: Uint8Array, last: boolean): Buffer {
  const sealed = chachaSeal(key, nonce.current(last), plaintext);
  nonce.increment();
  return sealed;
}

/** Decrypts one chunk; `undefined` when it does not authenticate. */
export function openChunk(key: Uint8Array, nonce: ChunkNonce, sealed: Uint8Array, last: boolean): Buffer | undefined {
  const opened = chachaOpen(key, nonce.current(last), sealed);
  if (opened !== undefined) nonce.increment();
  return opened;
}

/** Bytes of one sealed full chunk (plaintext plus tag). */
export const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES;

/**
 * Encrypts one chunk into `target` at `offset` (no intermediate concatenation); returns the bytes written
 * (`plaintext.length + TAG_BYTES`). `target` must have room.
 */
export function sealChunkInto(
  key: Uint8Array,
  nonce: ChunkNonce,
  plaintext: Uint8Array,
  last: boolean,
  target: Buffer,
  offset: number,
): number {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce.current(last), { authTagLength: TAG_BYTES });
  let written = cipher.update(plaintext).copy(target, offset);
  written += cipher.final().copy(target, offset + written);
  written += cipher.getAuthTag().copy(target, offset + written);
  nonce.increment();
  return written;
}
