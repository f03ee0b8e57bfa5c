import { randomBytes, scrypt as scryptCallback, generateKeyPairSync } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { encodeHeader, type AgeStanza } from './age-header.js';
import { parseRecipient, type AgeRecipient } from './age-keys.js';
import {
  CHUNK_BYTES,
  ChunkNonce,
  PAYLOAD_NONCE_BYTES,
  payloadKey,
  SEALED_CHUNK_BYTES,
  sealChunkInto,
  TAG_BYTES,
} from './age-payload.js';
import {
  encodeBase64,
  hkdfSha256,
  wrapFileKey,
  x25519RawSecret,
  x25519PublicFromSecret,
  x25519SharedSecret,
} from './age-primitives.js';
import { ByteQueue } from './byte-queue.js';
import { AgeChunkPool } from './age-chunk-pool.js';
import { BackupError } from '../errors.js';
import type { StageTimer } from '../jobs/run-timings.js';

/** Full chunks sealed into one output buffer (1 MiB): one push per batch, not one per 64 KiB chunk. */
const CHUNKS_PER_BATCH = 16;

/** Options of {@link createAgeEncryptStream}. Give either `recipients` or `passphrase`, not both. */
export interface AgeEncryptOptions {
  /** X25519 recipients (`age1…`). Anyone holding one of the matching identities can decrypt. */
  recipients?: readonly string[];
  /** Passphrase (scrypt recipient). The age format allows it only alone, never mixed with recipients. */
  passphrase?: string;
  /** log2 of the scrypt work factor N for `passphrase`; default 18 (as the age CLI), allowed 10–30. */
  scryptWorkFactor?: number;
}

const SCRYPT_SALT_LABEL = 'age-encryption.org/v1/scrypt';
const X25519_LABEL = 'age-encryption.org/v1/X25519';

/** Runs scrypt with r = 8, p = 1 and enough `maxmem` for the work factor. */
export function ageScrypt(passphrase: string, salt: Uint8Array, workFactor: number): Promise<Buffer> {
  const cost = 2 ** workFactor;
  return new Promise((resolve, reject) => {
    scryptCallback(
      Buffer.from(passphrase, 'utf8'),
      Buffer.concat([Buffer.from(SCRYPT_SALT_LABEL, 'ascii'), salt]),
      32,
      { N: cost, r: 8, p: 1, maxmem: 128 * cost * 8 + 16 * 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

function x25519Stanza(fileKey: Buffer, recipient: AgeRecipient): AgeStanza {
  const { publicKey } = recipient;
  const ephemeralSecret = x25519RawSecret(generateKeyPairSync('x25519').privateKey);
  const share = x25519PublicFromSecret(ephemeralSecret);
  let shared: Buffer;
  try {
    shared = x25519SharedSecret(ephemeralSecret, publicKey);
  } catch (error) {
    throw new BackupError(
      'ARGUMENT_INVALID',
      `invalid age recipient ${JSON.stringify(recipient.recipient)}: a low-order point, no one can decrypt for it`,
      { cause: error },
    );
  }
  const wrapKey = hkdfSha256(shared, Buffer.concat([share, publicKey]), X25519_LABEL);
  return { args: ['X25519', encodeBase64(share)], body: wrapFileKey(wrapKey, fileKey) };
}

async function scryptStanza(fileKey: Buffer, passphrase: string, workFactor: number): Promise<AgeStanza> {
  const salt = randomBytes(16);
  const wrapKey = await ageScrypt(passphrase, salt, workFactor);
  return { args: ['scrypt', encodeBase64(salt), String(workFactor)], body: wrapFileKey(wrapKey, fileKey) };
}

/**
 * A Transform that encrypts its input into the age v1 format (https://age-encryption.org/v1): X25519 recipients or
 * one scrypt passphrase, 64 KiB ChaCha20-Poly1305 STREAM chunks. Memory stays bounded (about one chunk plus the
 * stream buffers) whatever the input size; the output is readable by `age -d`.
 *
 * @throws BackupError `ARGUMENT_INVALID` synchronously for bad options (no recipient, both kinds, a bad recipient).
 *
 * @example
 * ```ts
 * await pipeline(createReadStream('dump.pgc'), createAgeEncryptStream({ recipients: ['age1…'] }), createWriteStream('dump.pgc.age'));
 * ```
 */
export function createAgeEncryptStream(
  options: AgeEncryptOptions,
  /** @internal Busy-time measurement of the pipeline. */
  internal: { timer?: StageTimer; workerTimer?: StageTimer; workers?: number } = {},
): Transform {
  const { recipients = [], passphrase, scryptWorkFactor = 18 } = options;
  if (passphrase !== undefined && recipients.length > 0) {
    throw new BackupError(
      'ARGUMENT_INVALID',
      'age encryption: give either recipients or a passphrase, not both (the age format requires a passphrase stanza to be alone)',
    );
  }
  if (passphrase === undefined && recipients.length === 0) {
    throw new BackupError('ARGUMENT_INVALID', 'age encryption: at least one recipient or a passphrase is required');
  }
  if (passphrase !== undefined && passphrase.length === 0)
    throw new BackupError('ARGUMENT_INVALID', 'age encryption: passphrase must not be empty');
  if (!Number.isInteger(scryptWorkFactor) || scryptWorkFactor < 10 || scryptWorkFactor > 30) {
    throw new BackupError(
      'ARGUMENT_INVALID',
      `age encryption: scryptWorkFactor must be an integer from 10 to 30, got ${String(scryptWorkFactor)}`,
    );
  }
  const parsedRecipients = recipients.map((recipient) => parseRecipient(recipient));

  const fileKey = randomBytes(16);
  const payloadNonce = randomBytes(PAYLOAD_NONCE_BYTES);
  const key = payloadKey(fileKey, payloadNonce);
  const chunkNonce = new ChunkNonce();
  const queue = new ByteQueue();
  let headerSent = false;

  // X25519 stanzas are computed now, so a bad recipient throws synchronously; scrypt runs in the thread pool.
  const x25519Stanzas = parsedRecipients.map((recipient) => x25519Stanza(fileKey, recipient));
  const headerPromise: Promise<Buffer> = (async () => {
    const stanzas =
      passphrase === undefined ? x25519Stanzas : [await scryptStanza(fileKey, passphrase, scryptWorkFactor)];
    return Buffer.concat([encodeHeader(fileKey, stanzas), payloadNonce]);
  })();
  // Errors surface through the stream callbacks; this only prevents an unhandled-rejection warning.
  headerPromise.catch(() => undefined);

  async function ensureHeader(stream: Transform): Promise<void> {
    if (headerSent) return;
    const header = await headerPromise;
    headerSent = true;
    stream.push(header);
  }

  // Seals every full chunk but the last queued byte (only the flush knows which chunk is the final one), up to
  // CHUNKS_PER_BATCH chunks per output buffer. Returns the sealed batches without pushing them: a push can run the
  // next stages synchronously (the stored sha256, the storage's write), which must not count as sealing time.
  function sealQueued(): Buffer[] {
    const batches: Buffer[] = [];
    while (queue.length > CHUNK_BYTES) {
      const count = Math.min(CHUNKS_PER_BATCH, Math.floor((queue.length - 1) / CHUNK_BYTES));
      const out = Buffer.allocUnsafe(count * SEALED_CHUNK_BYTES);
      let offset = 0;
      for (let index = 0; index < count; index++)
        offset += sealChunkInto(key, chunkNonce, queue.take(CHUNK_BYTES), false, out, offset);
      batches.push(out);
    }
    return batches;
  }

  const failed = (error: unknown) =>
    new BackupError('BACKUP_FAILED', `age encryption failed: ${(error as Error).message}`, { cause: error });
  const time = <T>(work: () => T): T => (internal.timer ? internal.timer.time(work) : work());

  // With worker threads, full chunks are sealed beside the main thread, a few batches in flight, pushed in order.
  const workers = internal.workers ?? AgeChunkPool.defaultSize();
  let pool: AgeChunkPool | undefined;
  const inFlight: Promise<Buffer>[] = [];
  const maxInFlight = 2 * Math.max(1, workers);
  let counter = 0;

  function dispatchQueued(): void {
    pool ??= new AgeChunkPool(workers);
    while (queue.length > CHUNK_BYTES) {
      const count = Math.min(CHUNKS_PER_BATCH, Math.floor((queue.length - 1) / CHUNK_BYTES));
      const batch = pool.run('seal', key, counter, queue.take(count * CHUNK_BYTES), count);
      batch.catch(() => undefined); // awaited in order by pushReady
      inFlight.push(batch);
      counter += count;
      chunkNonce.skip(count);
    }
  }

  async function pushReady(stream: Transform, keep: number): Promise<void> {
    while (inFlight.length > keep) stream.push(await (inFlight.shift() as Promise<Buffer>));
  }

  function close(): void {
    if (!pool) return;
    internal.workerTimer?.add(pool.busyMs);
    pool.close();
    pool = undefined;
  }

  return new Transform({
    // Large buffers on both sides: the stream moves 1 MiB blocks, not 16 KiB ones.
    highWaterMark: 1024 * 1024,
    transform(this: Transform, chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback) {
      queue.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
      const seal = () => {
        try {
          if (workers > 0) time(() => dispatchQueued());
          else for (const batch of time(() => sealQueued())) this.push(batch);
        } catch (error) {
          callback(failed(error));
          return;
        }
        if (workers === 0) callback();
        else
          pushReady(this, maxInFlight).then(
            () => callback(),
            (error: unknown) => callback(failed(error)),
          );
      };
      if (headerSent) seal();
      else ensureHeader(this).then(seal, (error: unknown) => callback(failed(error)));
    },
    flush(this: Transform, callback: TransformCallback) {
      ensureHeader(this)
        .then(() => pushReady(this, 0))
        .then(
          () => {
            close();
            try {
              const out = time(() => {
                const rest = queue.takeAll();
                const sealed = Buffer.allocUnsafe(rest.length + TAG_BYTES);
                sealChunkInto(key, chunkNonce, rest, true, sealed, 0);
                return sealed;
              });
              this.push(out);
            } catch (error) {
              callback(failed(error));
              return;
            }
            callback();
          },
          (error: unknown) => {
            close();
            callback(failed(error));
          },
        );
    },
    destroy(this: Transform, error: Error | null, callback: (error?: Error | null) => void) {
      close();
      callback(error);
    },
  });
}
