import { Transform, type TransformCallback } from 'node:stream';
import { assertAgePrefix, headerMacKey, MAX_HEADER_BYTES, parseHeader, type AgeStanza } from './age-header.js';
import { identitySecret, parseIdentity, parseIdentityFile, type AgeIdentity } from './age-keys.js';
import { ageScrypt } from './age-encrypt-stream.js';
import {
  CHUNK_BYTES,
  ChunkNonce,
  openChunk,
  PAYLOAD_NONCE_BYTES,
  payloadKey,
  SEALED_CHUNK_BYTES,
  TAG_BYTES,
} from './age-payload.js';
import {
  bytesEqual,
  decodeBase64,
  hkdfSha256,
  hmacSha256,
  unwrapFileKey,
  x25519SharedSecret,
} from './age-primitives.js';
import { ByteQueue } from './byte-queue.js';
import { AgeChunkPool, ChunkAuthenticationError } from './age-chunk-pool.js';
import { BackupError } from '../errors.js';

/** Options of {@link createAgeDecryptStream}. Give `identities`, `passphrase`, or both. */
export interface AgeDecryptOptions {
  /**
   * X25519 identities: each entry is one `AGE-SECRET-KEY-1…` key or the contents of an identity file as written by
   * `age-keygen` (comments allowed). Any one matching a stanza decrypts.
   */
  identities?: readonly string[];
  /** Passphrase for files encrypted with a scrypt stanza. */
  passphrase?: string;
  /** Highest log2 scrypt work factor accepted (protects against a file that asks for huge CPU/memory); default 22. */
  maxScryptWorkFactor?: number;
}

const X25519_LABEL = 'age-encryption.org/v1/X25519';
/** Full chunks a worker opens per batch (1 MiB): one message per batch, not one per 64 KiB chunk. */
const CHUNKS_PER_BATCH = 16;
const WORK_FACTOR = /^[1-9][0-9]*$/;

function corrupt(message: string): BackupError {
  return new BackupError('BACKUP_CORRUPT', message);
}

function decryptFailed(message: string): BackupError {
  return new BackupError('BACKUP_DECRYPT_FAILED', message);
}

function unwrapX25519(stanza: AgeStanza, identity: AgeIdentity): Buffer | undefined {
  const share = stanza.args.length === 2 ? decodeBase64(stanza.args[1] as string) : undefined;
  if (share === undefined || share.length !== 32)
    throw corrupt('age header is malformed: X25519 stanza needs one base64 32-byte share');
  if (stanza.body.length !== 32) throw corrupt('age header is malformed: X25519 stanza body must be 32 bytes');
  let shared: Buffer;
  try {
    shared = x25519SharedSecret(identitySecret(identity), share);
  } catch (error) {
    // OpenSSL refuses an all-zero shared secret (a low-order share), as the age specification requires.
    throw new BackupError('BACKUP_CORRUPT', 'age header is malformed: X25519 share is a low-order point', {
      cause: error,
    });
  }
  if (shared.every((byte) => byte === 0)) throw corrupt('age header is malformed: X25519 share is a low-order point');
  const wrapKey = hkdfSha256(shared, Buffer.concat([share, identity.publicKey]), X25519_LABEL);
  return unwrapFileKey(wrapKey, stanza.body);
}

async function unwrapScrypt(stanza: AgeStanza, passphrase: string, maxWorkFactor: number): Promise<Buffer | undefined> {
  const [, saltText, workFactorText] = stanza.args;
  const salt = stanza.args.length === 3 && saltText !== undefined ? decodeBase64(saltText) : undefined;
  if (salt === undefined || salt.length !== 16)
    throw corrupt('age header is malformed: scrypt stanza needs a base64 16-byte salt');
  if (workFactorText === undefined || !WORK_FACTOR.test(workFactorText))
    throw corrupt('age header is malformed: bad scrypt work factor');
  const workFactor = Number(workFactorText);
  if (workFactor > maxWorkFactor) {
    throw decryptFailed(
      `age file asks for scrypt work factor 2^${workFactor}, above the allowed maximum 2^${maxWorkFactor} (raise maxScryptWorkFactor if you trust the file)`,
    );
  }
  if (stanza.body.length !== 32) throw corrupt('age header is malformed: scrypt stanza body must be 32 bytes');
  return unwrapFileKey(await ageScrypt(passphrase, salt, workFactor), stanza.body);
}

async function recoverFileKey(
  stanzas: readonly AgeStanza[],
  identities: readonly AgeIdentity[],
  passphrase: string | undefined,
  maxWorkFactor: number,
): Promise<Buffer> {
  const scryptStanzas = stanzas.filter((stanza) => stanza.args[0] === 'scrypt');
  if (scryptStanzas.length > 0) {
    if (stanzas.length !== 1) throw corrupt('age header is malformed: a scrypt stanza must be the only stanza');
    if (passphrase === undefined)
      throw decryptFailed('this backup is encrypted with a passphrase, but no passphrase was given');
    const fileKey = await unwrapScrypt(scryptStanzas[0] as AgeStanza, passphrase, maxWorkFactor);
    if (fileKey === undefined) throw decryptFailed('wrong passphrase for this backup');
    return fileKey;
  }
  const x25519Stanzas = stanzas.filter((stanza) => stanza.args[0] === 'X25519');
  if (identities.length === 0)
    throw decryptFailed('this backup is encrypted to X25519 recipients, but no identity was given');
  for (const stanza of x25519Stanzas) {
    for (const identity of identities) {
      const fileKey = unwrapX25519(stanza, identity);
      if (fileKey !== undefined) return fileKey;
    }
  }
  const types = [...new Set(stanzas.map((stanza) => stanza.args[0]))].join(', ');
  throw decryptFailed(
    `no identity matches any recipient of this backup (${stanzas.length} stanza(s) of type ${types}; tried ${identities.map((identity) => identity.recipient).join(', ')})`,
  );
}

/**
 * Collects header bytes in a growing buffer and finds the end of the MAC line incrementally, so that many tiny
 * writes of a large header cost O(n) in total rather than O(n²).
 */
class HeaderCollector {
  #buffer = Buffer.alloc(0);
  #length = 0;
  #markerSearchFrom = 0;
  #markerAt = -1;
  #newlineSearchFrom = 0;

  get length(): number {
    return this.#length;
  }

  /** Adds bytes; returns the header length once the MAC line is complete, else -1. Throws on non-age input. */
  append(chunk: Buffer): number {
    if (this.#length + chunk.length > this.#buffer.length) {
      const grown = Buffer.alloc(Math.max(1024, 2 * this.#buffer.length, this.#length + chunk.length));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    chunk.copy(this.#buffer, this.#length);
    this.#length += chunk.length;
    const bytes = this.bytes();
    assertAgePrefix(bytes);
    if (this.#markerAt === -1) {
      // "\n---" starts the MAC line; it cannot occur earlier (stanza lines start with "->" or base64 characters).
      this.#markerAt = bytes.indexOf('\n---', this.#markerSearchFrom, 'ascii');
      if (this.#markerAt === -1) {
        this.#markerSearchFrom = Math.max(0, this.#length - 3);
        return this.#needMore();
      }
      this.#newlineSearchFrom = this.#markerAt + 1;
    }
    const lineEnd = bytes.indexOf(0x0a, this.#newlineSearchFrom);
    if (lineEnd === -1) {
      this.#newlineSearchFrom = this.#length;
      return this.#needMore();
    }
    return lineEnd + 1;
  }

  #needMore(): -1 {
    if (this.#length > MAX_HEADER_BYTES) throw corrupt(`age header is larger than ${MAX_HEADER_BYTES} bytes`);
    return -1;
  }

  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  release(): void {
    this.#buffer = Buffer.alloc(0);
    this.#length = 0;
  }
}

/**
 * Reads an age file's header and payload nonce from the front of its bytes: unwraps the file key with an identity or
 * the passphrase, checks the header MAC and derives the payload key. {@link createAgeDecryptStream} starts with it.
 */
class AgeHeaderReader {
  readonly #identities: readonly AgeIdentity[];
  readonly #passphrase: string | undefined;
  readonly #maxScryptWorkFactor: number;
  readonly #header = new HeaderCollector();
  #fileKey: Buffer | undefined;
  #rest = Buffer.alloc(0);

  constructor(options: AgeDecryptOptions) {
    const { identities = [], passphrase, maxScryptWorkFactor = 22 } = options;
    if (identities.length === 0 && passphrase === undefined) {
      throw new BackupError('ARGUMENT_INVALID', 'age decryption: at least one identity or a passphrase is required');
    }
    this.#identities = identities.flatMap((identity) =>
      /[\n#]/.test(identity.trim()) ? parseIdentityFile(identity) : [parseIdentity(identity)],
    );
    this.#passphrase = passphrase;
    this.#maxScryptWorkFactor = maxScryptWorkFactor;
  }

  /**
   * Takes the next bytes of the file. Resolves with the payload key and the bytes after the payload nonce once both
   * are read, else `undefined` (more bytes needed). Rejects with `BACKUP_DECRYPT_FAILED` (no identity matches, wrong
   * passphrase) or `BACKUP_CORRUPT` (malformed header, bad MAC).
   */
  async push(chunk: Buffer): Promise<{ key: Buffer; rest: Buffer } | undefined> {
    if (this.#fileKey === undefined) {
      // The header is collected separately (amortised O(n), searched incrementally) so that tiny writes of a large
      // header cannot make the scan quadratic.
      const end = this.#header.append(chunk);
      if (end === -1) return undefined;
      const parsed = parseHeader(this.#header.bytes().subarray(0, end));
      this.#rest = Buffer.from(this.#header.bytes().subarray(end));
      this.#header.release();
      const fileKey = await recoverFileKey(
        parsed.stanzas,
        this.#identities,
        this.#passphrase,
        this.#maxScryptWorkFactor,
      );
      if (!bytesEqual(hmacSha256(headerMacKey(fileKey), parsed.macInput), parsed.mac)) {
        throw corrupt('age header MAC does not match: the header was modified');
      }
      this.#fileKey = fileKey;
    } else {
      this.#rest = Buffer.concat([this.#rest, chunk]);
    }
    if (this.#rest.length < PAYLOAD_NONCE_BYTES) return undefined;
    const rest = this.#rest;
    this.#rest = Buffer.alloc(0);
    return {
      key: payloadKey(this.#fileKey, rest.subarray(0, PAYLOAD_NONCE_BYTES)),
      rest: rest.subarray(PAYLOAD_NONCE_BYTES),
    };
  }

  /** The error for a file that ended before {@link push} resolved the payload key. */
  truncated(): BackupError {
    if (this.#fileKey === undefined)
      return corrupt(
        this.#header.length === 0 ? 'empty input: not an age file' : 'age file is truncated inside the header',
      );
    return corrupt('age file is truncated: payload nonce missing');
  }
}

/**
 * A Transform that decrypts an age v1 file. Every 64 KiB chunk is authenticated before its plaintext is pushed, so
 * nothing unauthenticated is ever emitted; a stream that ends without a valid final chunk (truncation) fails.
 *
 * Errors (emitted on the stream): `BACKUP_DECRYPT_FAILED` when no identity matches or the passphrase is wrong;
 * `BACKUP_CORRUPT` for a malformed header, a bad header MAC, a tampered or truncated payload.
 *
 * @example
 * ```ts
 * await pipeline(storageStream, createAgeDecryptStream({ identities: [process.env.BACKUP_AGE_IDENTITY!] }), output);
 * ```
 */
export function createAgeDecryptStream(
  options: AgeDecryptOptions,
  internal: {
    /** @internal Worker threads for the payload (default: {@link AgeChunkPool.defaultSize}); 0 = the main thread. */
    workers?: number;
    /**
     * @internal Called with each chunk written once this stream holds no view of it any more (on the main thread
     * only: a worker may be given the bytes), so the reader can read into it again.
     */
    release?: ((chunk: Buffer) => void) | undefined;
  } = {},
): Transform {
  const reader = new AgeHeaderReader(options);
  const queue = new ByteQueue();
  let state: 'header' | 'payload' | 'failed' = 'header';
  let key: Buffer | undefined;
  const chunkNonce = new ChunkNonce();
  let chunksOpened = 0;

  async function advance(stream: Transform): Promise<void> {
    if (state === 'header') {
      const read = await reader.push(queue.takeAll());
      if (read === undefined) return;
      key = read.key;
      queue.push(read.rest);
      state = 'payload';
    }
    // A sealed chunk is known not to be the last one only once at least one more byte follows it.
    // A batch is pushed only once every chunk in it authenticated: nothing unauthenticated is ever emitted.
    if (workers > 0) {
      pool ??= new AgeChunkPool(workers);
      while (queue.length > SEALED_CHUNK_BYTES) {
        const count = Math.min(CHUNKS_PER_BATCH, Math.floor((queue.length - 1) / SEALED_CHUNK_BYTES));
        const batch = pool
          .run('open', key as Buffer, chunksOpened, queue.take(count * SEALED_CHUNK_BYTES), count)
          .catch((error: unknown) => {
            if (error instanceof ChunkAuthenticationError)
              throw corrupt(
                `age payload chunk ${error.chunk} failed authentication: the backup was modified or damaged`,
              );
            throw error;
          });
        batch.catch(() => undefined); // awaited in order below
        inFlight.push(batch);
        chunksOpened += count;
        chunkNonce.skip(count);
      }
      await pushReady(stream, maxInFlight);
      return;
    }
    // On the main thread each chunk's plaintext is pushed as OpenSSL returned it, once the chunk authenticated: no
    // copy into a fresh 1 MiB batch, which is mmap'd and page-faulted in every time (the decrypt stream alone: 864 →
    // 732 ms of CPU per 255 MB; a whole download to a file: within the noise). Sealing keeps its 1 MiB batches: there,
    // 64 KiB pushes cost more downstream (hash, file writes) than the copies they save.
    while (queue.length > SEALED_CHUNK_BYTES) {
      const opened = openChunk(key as Buffer, chunkNonce, queue.take(SEALED_CHUNK_BYTES), false);
      if (opened === undefined)
        throw corrupt(`age payload chunk ${chunksOpened} failed authentication: the backup was modified or damaged`);
      chunksOpened += 1;
      stream.push(opened);
    }
  }

  const workers = internal.workers ?? AgeChunkPool.defaultSize();
  const release = workers === 0 ? internal.release : undefined;
  /** Chunks written and not yet released, oldest first, and their total bytes. */
  const held: Buffer[] = [];
  let heldBytes = 0;

  // The queue holds the unread end of the held chunks, after at most a copy of the bytes that followed the header:
  // the oldest chunk is read through once the others cover all the queue still holds.
  function releaseRead(): void {
    while (held.length > 0 && heldBytes - (held[0] as Buffer).length >= queue.length) {
      const chunk = held.shift() as Buffer;
      heldBytes -= chunk.length;
      (release as (chunk: Buffer) => void)(chunk);
    }
  }
  let pool: AgeChunkPool | undefined;
  const inFlight: Promise<Buffer>[] = [];
  const maxInFlight = 2 * Math.max(1, workers);

  async function pushReady(stream: Transform, keep: number): Promise<void> {
    while (inFlight.length > keep) stream.push(await (inFlight.shift() as Promise<Buffer>));
  }

  function close(): void {
    pool?.close();
    pool = undefined;
  }

  function finish(stream: Transform): void {
    if (state === 'header') throw reader.truncated();
    const rest = queue.takeAll();
    if (rest.length < TAG_BYTES || (rest.length === TAG_BYTES && chunksOpened > 0)) {
      throw corrupt('age file is truncated: the final chunk is missing');
    }
    const plaintext = openChunk(key as Buffer, chunkNonce, rest, true);
    if (plaintext === undefined) {
      // A full-size chunk that opens as non-final means the file was cut exactly at a chunk boundary.
      throw corrupt(
        `age payload final chunk ${chunksOpened} failed authentication: the backup is truncated or was modified`,
      );
    }
    stream.push(plaintext);
  }

  return new Transform({
    highWaterMark: 1024 * 1024,
    transform(this: Transform, chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback) {
      if (state === 'failed') return callback();
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
      queue.push(bytes);
      if (release && bytes.length > 0) {
        held.push(bytes);
        heldBytes += bytes.length;
      }
      advance(this).then(
        () => {
          if (release) releaseRead();
          callback();
        },
        (error: unknown) => {
          state = 'failed';
          close();
          callback(error as Error);
        },
      );
    },
    flush(this: Transform, callback: TransformCallback) {
      if (state === 'failed') return callback();
      // The header may still need to be processed if everything arrived in the last write.
      advance(this)
        .then(() => pushReady(this, 0))
        .then(
          () => {
            close();
            try {
              finish(this);
              callback();
            } catch (error) {
              callback(error as Error);
            }
          },
          (error: unknown) => {
            close();
            callback(error as Error);
          },
        );
    },
    destroy(this: Transform, error: Error | null, callback: (error?: Error | null) => void) {
      close();
      callback(error);
    },
  });
}
