import { createWriteStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { chunkRecycler } from '../storages/local/local-storage.js';
import type { BackupStorage } from '../storages/storage.js';
import {
  artifactReadError,
  assertDecryptionGiven,
  corruptError,
  createDecryptStage,
  openArtifact,
  readStored,
  type ArtifactRecord,
  type DecryptionOptions,
} from './artifact-pipeline.js';
import { isZstdAvailable } from './compression.js';
import { whenClosed } from '../internal/when-closed.js';

// The authenticating read of a restore keeps nothing, so its work splits across two threads without sending
// plaintext back: the main thread reads the stored object, hashes it and decrypts it (no key leaves it) as the load of
// a restore does (createDecryptStage: on the main thread below 4 cores); a worker decompresses and hashes the plain
// bytes (and writes them, when kept). Decrypted on the main thread, the plaintext buffers (a fresh one per 64 KiB
// chunk, freed only once V8 has ~32 MiB of them to collect) come from the main thread's malloc arena, which the load
// then reuses; decrypted on the worker, they stayed resident in the worker's arena (~22 MiB once it ended) under the
// load's own. A restore of a 255 MB dump on 2 cores (63 MiB before it), alternating runs: peak RSS 120.6–125 MiB
// (8 runs), against 137.9–149.4 MiB decrypting on the worker (9 runs); this read 365–399 ms, against 310–368 ms. On
// one thread it takes 427–436 ms (4 runs, against 336–384 ms on two). Self-contained source, so it runs from the ESM
// and CJS builds alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { writeSync } = require('node:fs');
const zlib = require('node:zlib');
// The plain bytes go to this file descriptor too when the caller keeps them (a local copy).
const fd = workerData.fd;
const hash = createHash('sha256');
let plainBytes = 0;
let stopped = false;
const fail = (failure) => {
  if (stopped) return;
  stopped = true;
  parentPort.postMessage({ failure });
};
const inflate =
  workerData.compression === 'gzip'
    ? zlib.createGunzip()
    : workerData.compression === 'zstd'
      ? zlib.createZstdDecompress()
      : undefined;
function keep(plain) {
  hash.update(plain);
  plainBytes += plain.length;
  if (fd === undefined || stopped) return;
  try {
    for (let offset = 0; offset < plain.length; ) offset += writeSync(fd, plain, offset);
  } catch (error) {
    fail({ kind: 'write', message: error.message, code: error.code });
  }
}
if (inflate) {
  inflate.on('data', keep);
  inflate.on('error', (error) => fail({ kind: 'inflate', message: error.message, code: error.code }));
}
parentPort.on('message', (message) => {
  if (stopped) return;
  if (message.data) {
    // The buffers go back with the ack once nothing here holds them: hashing and writing are done with them, and
    // zlib with its input when the callback of its last write runs (it takes the writes in order and buffers them;
    // the ack waiting for the last one bounds what is queued).
    const ack = () => parentPort.postMessage({ ack: true, data: message.data }, message.data);
    const parts = message.data.map((data, index) => Buffer.from(data, 0, message.lengths[index]));
    if (inflate) {
      const last = parts.length - 1;
      parts.forEach((part, index) => inflate.write(part, index === last ? () => stopped || ack() : undefined));
      return;
    }
    for (const part of parts) keep(part);
    if (!stopped) ack();
    return;
  }
  const done = () => {
    if (!stopped) parentPort.postMessage({ done: { sha256: hash.digest('hex'), bytes: plainBytes } });
  };
  if (!inflate) return done();
  inflate.once('end', done);
  inflate.end();
});
`;

/** Bytes the main thread hands the worker in one message, and the size of the blocks it copies into. */
const BLOCK_BYTES = 1024 * 1024;
/** Messages handed over and not yet processed before the main thread stops reading (bounds memory at ~4 MiB). */
const MAX_IN_FLIGHT = 4;
/** Copy blocks back from the worker that are kept for the next copies: enough for every message in flight. */
const MAX_POOLED_BLOCKS = MAX_IN_FLIGHT + 2;
/** Below this, starting a worker costs more than it saves. */
const WORKER_MIN_BYTES = 4 * 1024 * 1024;

interface WorkerFailure {
  kind: 'inflate' | 'write';
  message?: string;
  code?: string;
}

/** The worker could not start or died: not a verdict on the artifact (the read is done again on one thread). */
class WorkerUnavailable extends Error {}

/** Bytes handed to the worker: it reads `length` bytes of `data`; `handBack` takes `data` when it comes back. */
interface Part {
  data: ArrayBuffer;
  length: number;
  handBack: (data: ArrayBuffer) => void;
}

/** What to do with a buffer the worker handed back that nothing here reuses: let V8 collect it. */
const drop = (): void => undefined;

/**
 * The end of the two-thread authenticating read: hands the plain bytes to the worker in messages of ~1 MiB, at most
 * {@link MAX_IN_FLIGHT} unprocessed, and ends once the worker checked their size and sha256.
 *
 * It allocates nothing per message once the read is under way. Buffers this read may give away (`giveAway` set: the
 * opened chunks, or a local storage's chunks) are transferred as they are and come back with the worker's ack; any
 * other bytes (a third-party storage's chunks, which it may keep or refill) are copied into blocks that come back
 * with the ack and are reused. Opened chunks come back to be collected on the main thread: left to the worker, which
 * allocates nothing and so never triggers V8's collection of young ArrayBuffers, they piled up (a restore of the
 * 255 MB dump peaked at 171–179 MiB).
 */
class WorkerPlainCheck extends Writable {
  readonly #artifact: ArtifactRecord;
  /** Takes back a buffer given away, or `undefined` when the chunks written are not this read's to give. */
  readonly #giveAway: ((data: ArrayBuffer) => void) | undefined;
  #worker: Worker | undefined;
  /** The next message, in order; its last part may be a copy block still filling. */
  #parts: Part[] = [];
  #partsBytes = 0;
  #filling: Buffer | undefined;
  /** Copy blocks back from the worker, free to fill. */
  readonly #pool: ArrayBuffer[] = [];
  /** The parts of each message in flight, in the order they were sent (the worker acks in that order). */
  readonly #sent: Part[][] = [];
  #waiting: ((error?: Error | null) => void) | undefined;
  #failure: Error | undefined;
  #finalCallback: ((error?: Error | null) => void) | undefined;
  /** Resolves once the worker has ended. */
  #exited: Promise<unknown> = Promise.resolve();

  constructor(
    artifact: ArtifactRecord,
    fd: number | undefined,
    giveAway: ((data: ArrayBuffer) => void) | undefined,
    source: string,
  ) {
    super({ highWaterMark: BLOCK_BYTES });
    this.#artifact = artifact;
    this.#giveAway = giveAway;
    let worker: Worker;
    try {
      worker = new Worker(source, { eval: true, workerData: { compression: artifact.compression.algorithm, fd } });
    } catch (error) {
      this.#fail(new WorkerUnavailable(`cannot start a worker thread: ${(error as Error).message}`));
      return;
    }
    worker.unref();
    worker.on(
      'message',
      (message: { ack?: true; data?: ArrayBuffer[]; failure?: WorkerFailure; done?: WorkerDigest }) => {
        if (message.ack) this.#acknowledged(message.data ?? []);
        else if (message.failure) {
          // As zlib or the file's write stream reports it on one thread.
          const { kind, message: text, code } = message.failure;
          this.#fail(Object.assign(new Error(text ?? `${kind} failed`), { code }));
        } else if (message.done) this.#done(message.done);
      },
    );
    worker.on('error', (error) => this.#fail(new WorkerUnavailable(`the worker thread failed: ${error.message}`)));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#fail(new WorkerUnavailable(`the worker thread exited with code ${code}`));
    });
    this.#worker = worker;
  }

  /** Why the worker stopped before its verdict, if it did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  #acknowledged(data: ArrayBuffer[]): void {
    const parts = this.#sent.shift() ?? [];
    parts.forEach((part, index) => {
      const back = data[index];
      if (back) part.handBack(back);
    });
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiting = this.#waiting;
    const final = this.#finalCallback;
    this.#waiting = undefined;
    this.#finalCallback = undefined;
    this.#stop();
    waiting?.(this.#failure);
    final?.(this.#failure);
  }

  #stop(): void {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) this.#exited = worker.terminate().catch(() => undefined);
  }

  /** Resolves once the worker thread has ended (its last write to the file, if any, is done). */
  exited(): Promise<unknown> {
    this.#stop();
    return this.#exited;
  }

  /** Adds `bytes` to the next message: given away as they are when allowed, else copied into blocks. */
  #add(bytes: Buffer): void {
    const data = bytes.buffer as ArrayBuffer;
    const whole = bytes.byteOffset === 0 && bytes.length === data.byteLength && bytes.length > 0;
    // One ArrayBuffer cannot be transferred twice in a message.
    if (this.#giveAway && whole && !this.#parts.some((part) => part.data === data)) {
      this.#filling = undefined;
      this.#parts.push({ data, length: bytes.length, handBack: this.#giveAway });
      this.#partsBytes += bytes.length;
      return;
    }
    for (let offset = 0; offset < bytes.length;) {
      if (!this.#filling) {
        const pooled = this.#pool.pop();
        this.#filling = pooled ? Buffer.from(pooled) : Buffer.allocUnsafeSlow(BLOCK_BYTES);
        this.#parts.push({ data: this.#filling.buffer as ArrayBuffer, length: 0, handBack: this.#poolBlock });
      }
      const part = this.#parts[this.#parts.length - 1] as Part;
      const copied = bytes.copy(this.#filling, part.length, offset);
      part.length += copied;
      this.#partsBytes += copied;
      offset += copied;
      if (part.length === BLOCK_BYTES) this.#filling = undefined;
    }
  }

  readonly #poolBlock = (block: ArrayBuffer): void => {
    if (block.byteLength === BLOCK_BYTES && this.#pool.length < MAX_POOLED_BLOCKS) this.#pool.push(block);
  };

  /** Transfers the parts gathered so far to the worker. */
  #flush(): void {
    const parts = this.#parts;
    if (parts.length === 0 || !this.#worker) return;
    this.#parts = [];
    this.#partsBytes = 0;
    this.#filling = undefined;
    this.#sent.push(parts);
    const data = parts.map((part) => part.data);
    try {
      this.#worker.postMessage({ data, lengths: parts.map((part) => part.length) }, data);
    } catch (error) {
      this.#fail(new WorkerUnavailable(`cannot hand bytes to the worker thread: ${(error as Error).message}`));
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.#worker) return callback(this.#failure);
    this.#add(chunk);
    if (this.#partsBytes >= BLOCK_BYTES) this.#flush();
    if (this.#failure) return callback(this.#failure);
    if (this.#sent.length < MAX_IN_FLIGHT) return callback();
    this.#waiting = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flush();
    if (!this.#worker) return callback(this.#failure);
    this.#finalCallback = callback;
    this.#worker.postMessage({ end: true });
  }

  #done(result: WorkerDigest): void {
    const callback = this.#finalCallback;
    this.#finalCallback = undefined;
    this.#stop();
    const { plainBytes, plainSha256 } = this.#artifact;
    const problem =
      plainBytes !== result.bytes
        ? `size is ${result.bytes} bytes, expected ${plainBytes}`
        : plainSha256 !== result.sha256
          ? `sha256 is ${result.sha256}, expected ${plainSha256}`
          : undefined;
    callback?.(problem === undefined ? null : corruptError(this.#artifact, 'plain data', problem));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#waiting = undefined;
    this.#finalCallback = undefined;
    this.#stop();
    callback(error);
  }
}

/** The size and sha256 of the plain bytes, as the worker computed them. */
interface WorkerDigest {
  sha256: string;
  bytes: number;
}

/**
 * Whether a read of `artifact` splits across two threads: on a machine with two or more, for 4 MiB or more (and not
 * for zstd where this Node cannot decompress it: the one-thread read says so).
 */
function useWorker(artifact: ArtifactRecord): boolean {
  if (artifact.compression.algorithm === 'zstd' && !isZstdAvailable()) return false;
  return availableParallelism() >= 2 && artifact.storedBytes >= WORKER_MIN_BYTES;
}

/** Options of {@link authenticateArtifact}. */
export interface AuthenticateArtifactOptions {
  storage: BackupStorage;
  artifact: ArtifactRecord;
  decryption?: DecryptionOptions | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Keep the plain bytes in this new file (created 0600, refused if it exists). It is removed when any check fails, so
   * a caller only ever sees a complete, verified file.
   */
  path?: string | undefined;
  /** Called with the stored bytes read so far. */
  onProgress?: ((storedBytes: number) => void) | undefined;
  /** @internal Force the worker on or off (tests); default {@link useWorker}. */
  worker?: boolean | undefined;
  /** @internal The worker's source (tests: one that fails). */
  workerSource?: string | undefined;
  /** @internal Worker threads opening the age chunks (tests: as on 4 or more cores); default by core count. */
  decryptWorkers?: number | undefined;
}

/**
 * Reads the whole artifact through every check (stored size and sha256, every age chunk, decompression, plain size
 * and sha256), keeping the plain bytes only in `path` when given. With two or more cores, the plain bytes are
 * decompressed, hashed (and written) on a worker thread while the main thread reads, hashes and decrypts the stored
 * bytes. Rejects as
 * {@link openArtifact}'s stream errors (`BACKUP_CORRUPT`, `BACKUP_DECRYPT_FAILED`, the storage's or the file's
 * error), named after the artifact.
 */
export async function authenticateArtifact(options: AuthenticateArtifactOptions): Promise<void> {
  const { storage, artifact, decryption, signal, path, onProgress } = options;
  let file: Writable | undefined;
  try {
    if (options.worker ?? useWorker(artifact)) {
      try {
        return await authenticateOnTwoThreads(options);
      } catch (error) {
        // A worker that cannot run (thread limits, a runtime without workers) costs a second read, not the restore;
        // that read creates the file anew.
        if (!(error instanceof WorkerUnavailable)) throw error;
        if (path !== undefined) await unlink(path).catch(() => undefined);
      }
    }
    const plain = await openArtifact({ storage, artifact, decryption, signal, onProgress });
    if (path !== undefined) {
      file = createWriteStream(path, { mode: 0o600, flags: 'wx', highWaterMark: BLOCK_BYTES });
      await pipeline(plain, file);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      plain.once('error', reject);
      plain.once('end', resolve);
      plain.resume();
    });
  } catch (error) {
    // Remove what this read created (not a file that was there before: 'wx' refused it), once the write stream has
    // closed: its open, still running, would create the file again after the unlink.
    if (file) await whenClosed(file);
    if (path !== undefined && (error as NodeJS.ErrnoException)?.code !== 'EEXIST')
      await unlink(path).catch(() => undefined);
    throw artifactReadError(artifact, error);
  }
}

async function authenticateOnTwoThreads(options: AuthenticateArtifactOptions): Promise<void> {
  const { storage, artifact, decryption, signal, path, onProgress } = options;
  assertDecryptionGiven(artifact, decryption);
  const file = path === undefined ? undefined : await open(path, 'wx', 0o600);
  let sink: WorkerPlainCheck | undefined;
  try {
    const { source, storedCheck } = await readStored(storage, artifact, signal);
    if (onProgress) storedCheck.on('data', () => onProgress(storedCheck.bytes));
    // The opened chunks are this read's own (V8 collects them once back); a local storage's chunks go back to it.
    const recycle = chunkRecycler(source);
    const giveAway = artifact.encryption ? drop : recycle && ((data: ArrayBuffer) => recycle(new Uint8Array(data)));
    sink = new WorkerPlainCheck(artifact, file?.fd, giveAway, options.workerSource ?? WORKER_SOURCE);
    if (sink.failure) {
      source.destroy();
      throw sink.failure;
    }
    // The stored bytes go nowhere but through the check into the decryption, which hands a local read its chunks back.
    const stages = artifact.encryption ? [createDecryptStage(decryption, recycle, options.decryptWorkers)] : [];
    await pipeline([source, storedCheck, ...stages, sink]);
  } finally {
    // The worker writes to the descriptor: it is closed only once the worker has ended, never under its last write.
    await sink?.exited();
    await file?.close().catch(() => undefined);
  }
}
