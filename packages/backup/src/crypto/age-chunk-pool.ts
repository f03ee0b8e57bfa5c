import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CHUNK_BYTES, SEALED_CHUNK_BYTES } from './age-payload.js';

// The worker seals or opens a batch of full (non-final) age STREAM chunks: chunk i of a batch uses the counter
// `first + i` (11 bytes big-endian) and the last-chunk flag 0. Self-contained source, so it runs from the ESM and CJS
// builds alike without a separate worker file.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createDecipheriv } = require('node:crypto');
const CHUNK = ${CHUNK_BYTES};
const SEALED = ${SEALED_CHUNK_BYTES};
parentPort.on('message', (job) => {
  const started = performance.now();
  const key = Buffer.from(job.key);
  const input = Buffer.from(job.data);
  const nonce = Buffer.alloc(12);
  const seal = job.mode === 'seal';
  const out = Buffer.allocUnsafeSlow(job.count * (seal ? SEALED : CHUNK));
  let offset = 0;
  for (let index = 0; index < job.count; index++) {
    nonce.writeBigUInt64BE(BigInt(job.first + index), 3);
    if (seal) {
      const plain = input.subarray(index * CHUNK, (index + 1) * CHUNK);
      const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      offset += cipher.update(plain).copy(out, offset);
      offset += cipher.final().copy(out, offset);
      offset += cipher.getAuthTag().copy(out, offset);
    } else {
      const sealed = input.subarray(index * SEALED, (index + 1) * SEALED);
      const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      decipher.setAuthTag(sealed.subarray(CHUNK));
      offset += decipher.update(sealed.subarray(0, CHUNK)).copy(out, offset);
      try {
        offset += decipher.final().copy(out, offset);
      } catch {
        parentPort.postMessage({ id: job.id, failedAt: job.first + index });
        return;
      }
    }
  }
  parentPort.postMessage({ id: job.id, data: out.buffer, ms: performance.now() - started }, [out.buffer]);
});
`;

interface Pending {
  resolve: (value: Buffer) => void;
  reject: (error: Error) => void;
}

/** A batch that did not authenticate: `chunk` is the index (counter) of the first chunk that failed. */
export class ChunkAuthenticationError extends Error {
  constructor(readonly chunk: number) {
    super(`age payload chunk ${chunk} failed authentication`);
  }
}

/**
 * Worker threads that seal or open batches of age STREAM chunks, so ChaCha20-Poly1305 runs beside the main thread
 * (reading the source, hashing, writing) instead of in turn with it. Batches are independent (each chunk's nonce is
 * its counter), results come back per batch; the caller keeps them in order. Workers are unref'd: they never keep a
 * process alive, and {@link close} ends them.
 */
export class AgeChunkPool {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #turn = 0;
  #failure: Error | undefined;
  #busyMs = 0;

  constructor(size: number) {
    for (let index = 0; index < size; index++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      worker.on('message', (message: { id: number; data?: ArrayBuffer; failedAt?: number; ms?: number }) => {
        const pending = this.#pending.get(message.id);
        if (!pending) return;
        this.#pending.delete(message.id);
        this.#busyMs += message.ms ?? 0;
        if (message.data) pending.resolve(Buffer.from(message.data));
        else pending.reject(new ChunkAuthenticationError(message.failedAt ?? 0));
      });
      worker.on('error', (error) => this.#fail(error));
      worker.on('exit', (code) => {
        if (this.#pending.size > 0) this.#fail(new Error(`age worker exited with code ${code}`));
      });
      this.#workers.push(worker);
    }
  }

  /** Milliseconds the workers spent sealing or opening so far. */
  get busyMs(): number {
    return this.#busyMs;
  }

  /**
   * Workers for this machine: none below 4 cores — measured on a busy 2-core host, a worker cost more CPU (copies,
   * messages, a second isolate) than it saved, 2.6–3.0 s against 1.9–2.2 s for a 255 MB dump — else one, so the
   * main thread keeps reading, hashing and writing while the worker seals or opens.
   */
  static defaultSize(): number {
    return availableParallelism() >= 4 ? 1 : 0;
  }

  /**
   * Seals (`seal`: `count` plaintext chunks of {@link CHUNK_BYTES}) or opens (`open`: `count` sealed chunks of
   * {@link SEALED_CHUNK_BYTES}) the chunks numbered `first …` of `data`. `data` is handed over: do not reuse it.
   */
  run(mode: 'seal' | 'open', key: Uint8Array, first: number, data: Buffer, count: number): Promise<Buffer> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#next++;
    const worker = this.#workers[this.#turn++ % this.#workers.length] as Worker;
    // A buffer that owns its whole ArrayBuffer moves without a copy; anything else is copied first.
    const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : Buffer.from(data);
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, mode, key, first, count, data: owned.buffer }, [owned.buffer as ArrayBuffer]);
    });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  /** Ends the workers (pending batches fail). */
  close(): void {
    this.#fail(new Error('age worker pool closed'));
    for (const worker of this.#workers) void worker.terminate();
  }
}
