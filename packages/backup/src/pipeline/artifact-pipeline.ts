import { pipeline as pipelineCallback, type Readable, type Transform } from 'node:stream';
import { OpsError } from '@ops/core';
import { createAgeDecryptStream } from '../crypto/age-decrypt-stream.js';
import { createAgeEncryptStream } from '../crypto/age-encrypt-stream.js';
import { chunkRecycler } from '../storages/local/local-storage.js';
import type { BackupStorage } from '../storages/storage.js';
import {
  createCompressStream,
  createDecompressStream,
  effectiveLevel,
  type CompressionAlgorithm,
  type CompressionOptions,
} from './compression.js';
import { DigestStream } from './digest-stream.js';
import { BlockStream } from './block-stream.js';
import { StageTimer, timingReporter } from '../jobs/run-timings.js';
import { BackupError } from '../errors.js';

/** How artifacts are encrypted (the age format). Give `recipients` (recommended) or `passphrase`. */
export interface EncryptionOptions {
  /** X25519 recipients (`age1…`). The backup host needs no secret: it cannot read old backups. */
  recipients?: readonly string[];
  /** A passphrase (age scrypt stanza). Never written to the manifest. */
  passphrase?: string;
  /** log2 scrypt work factor for `passphrase`; default 18. */
  scryptWorkFactor?: number;
}

/** Keys that open encrypted artifacts. */
export interface DecryptionOptions {
  /** age identities (`AGE-SECRET-KEY-1…`). */
  identities?: readonly string[];
  /** The passphrase the backup was written with. */
  passphrase?: string;
  /** Highest scrypt work factor accepted; default 22. */
  maxScryptWorkFactor?: number;
}

/**
 * Compression inside the artifact's own format, done by the tool that wrote it (not by the pipeline): e.g. a
 * custom-format dump written by `pg_dump -Z 1`. The reader of the format undoes it (pg_restore), not the pipeline.
 */
export interface ContentCompression {
  /** The tool that compressed, e.g. `pg_dump`. */
  by: string;
  /** Its algorithm, e.g. `gzip`. */
  algorithm: string;
  /** Its level, e.g. `1` for `pg_dump -Z 1`. */
  level?: number;
}

/** What the manifest says about one stored artifact. Never contains a secret. */
export interface ArtifactRecord {
  /** Artifact name inside the backup, e.g. `main.pgdump`. */
  name: string;
  /** Storage key. */
  key: string;
  /** What the bytes are, e.g. `pg-custom`, `redis-rdb`, `redis-scan-dump`, `tar`. */
  format: string;
  /** Bytes produced by the source (before compression and encryption). */
  plainBytes: number;
  plainSha256: string;
  /** Bytes as stored (after compression and encryption): `sha256sum` of the object gives `storedSha256`. */
  storedBytes: number;
  storedSha256: string;
  /** What the pipeline did to the stream (undone on restore); `none` when the source compressed inside its format. */
  compression: { algorithm: CompressionAlgorithm; level?: number };
  /** Compression inside the format by the tool that wrote it (e.g. `pg_dump -Z 1`); absent when there was none. */
  contentCompression?: ContentCompression;
  encryption: null | { scheme: 'age'; recipients: string[]; passphrase: boolean };
}

/** Options of {@link writeArtifact}. */
export interface WriteArtifactOptions {
  storage: BackupStorage;
  /** Storage key of the artifact. */
  key: string;
  /** Artifact name recorded in the manifest. */
  name: string;
  /** Format recorded in the manifest. */
  format: string;
  /** The plain bytes. */
  body: Readable;
  compression: CompressionOptions;
  /** Recorded as is: the body is already compressed inside its format (e.g. by `pg_dump -Z`). */
  contentCompression?: ContentCompression | undefined;
  /** Omit for no encryption. */
  encryption?: EncryptionOptions | undefined;
  signal?: AbortSignal | undefined;
  /** Called with the plain bytes read so far. */
  onProgress?: ((plainBytes: number) => void) | undefined;
}

const isQuietStreamError = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ERR_STREAM_DESTROYED' ||
    (error as Error | undefined)?.name === 'AbortError'
  );
};

/**
 * Streams `body` in 1 MiB blocks (plain sha256) through compress → encrypt → stored sha256 into the storage, with
 * backpressure end to end, so memory stays bounded by a few blocks whatever the size. Resolves only when the storage has the complete object;
 * rejects (and leaves no object) when the source, a transform or the storage fails.
 */
export async function writeArtifact(options: WriteArtifactOptions): Promise<ArtifactRecord> {
  const { storage, key, name, format, body, compression, contentCompression, encryption, signal, onProgress } = options;
  const report = timingReporter();
  const timers = {
    read: new StageTimer(report !== undefined),
    hashPlain: new StageTimer(report !== undefined),
    encrypt: new StageTimer(report !== undefined),
    encryptWorkers: new StageTimer(report !== undefined),
    hashStored: new StageTimer(report !== undefined),
  };
  const started = performance.now();
  const plain = new BlockStream({ onBlock: onProgress, readTimer: timers.read, hashTimer: timers.hashPlain });
  const stored = new DigestStream(undefined, { timer: timers.hashStored });
  const stages: Transform[] = compression.algorithm === 'none' ? [] : [createCompressStream(compression)];
  if (encryption) {
    stages.push(
      createAgeEncryptStream(
        {
          ...(encryption.recipients ? { recipients: encryption.recipients } : {}),
          ...(encryption.passphrase === undefined ? {} : { passphrase: encryption.passphrase }),
          ...(encryption.scryptWorkFactor === undefined ? {} : { scryptWorkFactor: encryption.scryptWorkFactor }),
        },
        { timer: timers.encrypt, workerTimer: timers.encryptWorkers },
      ),
    );
  }
  let sourceError: unknown;
  body.once('error', (error) => {
    sourceError ??= error;
  });
  let streamEnded = started;
  const chain = new Promise<void>((resolve, reject) => {
    pipelineCallback([body, plain, ...stages, stored], (error) => (error ? reject(error) : resolve()));
  });
  stored.once('end', () => {
    streamEnded = performance.now();
  });
  const upload = storage.write(key, stored, signal ? { signal } : {});
  const [chainResult, uploadResult] = await Promise.allSettled([chain, upload]);
  if (chainResult.status === 'rejected' || uploadResult.status === 'rejected') {
    await storage.delete(key).catch(() => undefined);
    const chainError = chainResult.status === 'rejected' ? chainResult.reason : undefined;
    const uploadError = uploadResult.status === 'rejected' ? uploadResult.reason : undefined;
    const first =
      sourceError ??
      (uploadError !== undefined && !isQuietStreamError(uploadError) ? uploadError : (chainError ?? uploadError));
    if (OpsError.isInstance(first)) throw first;
    throw new BackupError('BACKUP_FAILED', `artifact ${name}: ${(first as Error)?.message ?? String(first)}`, {
      cause: first,
    });
  }
  if (report) {
    const firstByte = plain.firstByteAt ?? streamEnded;
    report('artifact.first-byte', firstByte - started, name);
    report('artifact.stream', streamEnded - firstByte, name);
    report('artifact.commit', performance.now() - streamEnded, name);
    report('stage.read', timers.read.ms, name);
    report('stage.hash-plain', timers.hashPlain.ms, name);
    if (encryption) {
      report('stage.encrypt', timers.encrypt.ms, name);
      report('stage.encrypt-workers', timers.encryptWorkers.ms, name);
    }
    report('stage.hash-stored', timers.hashStored.ms, name);
  }
  const level = effectiveLevel(compression);
  return {
    name,
    key,
    format,
    plainBytes: plain.bytes,
    plainSha256: plain.sha256,
    storedBytes: stored.bytes,
    storedSha256: stored.sha256,
    compression:
      level === undefined ? { algorithm: compression.algorithm } : { algorithm: compression.algorithm, level },
    ...(contentCompression ? { contentCompression: { ...contentCompression } } : {}),
    encryption: encryption
      ? {
          scheme: 'age',
          recipients: [...(encryption.recipients ?? [])],
          passphrase: encryption.passphrase !== undefined,
        }
      : null,
  };
}

/** Options of {@link openArtifact}. */
export interface OpenArtifactOptions {
  storage: BackupStorage;
  artifact: ArtifactRecord;
  /** Needed when the artifact is encrypted. */
  decryption?: DecryptionOptions | undefined;
  signal?: AbortSignal | undefined;
  /** Called with the stored bytes read so far. */
  onProgress?: ((storedBytes: number) => void) | undefined;
  /**
   * Check the plain sha256 too (default `true`). A reader that already authenticated the same object in full may
   * skip it: bytes that match the stored sha256 decrypt and decompress to the plain bytes checked before.
   */
  checkPlain?: boolean | undefined;
}

/** `BACKUP_CORRUPT` naming the artifact and the layer (`stored object`, `plain data`) that failed a check. */
export function corruptError(artifact: ArtifactRecord, layer: string, problem: string, cause?: unknown): BackupError {
  return new BackupError(
    'BACKUP_CORRUPT',
    `artifact ${artifact.key} is corrupt: ${layer} ${problem}`,
    cause === undefined ? {} : { cause },
  );
}

/** Throws `BACKUP_DECRYPT_FAILED` when `artifact` is encrypted and `decryption` gives neither an identity nor a passphrase. */
export function assertDecryptionGiven(artifact: ArtifactRecord, decryption: DecryptionOptions | undefined): void {
  if (artifact.encryption && !decryption?.identities?.length && decryption?.passphrase === undefined) {
    throw new BackupError(
      'BACKUP_DECRYPT_FAILED',
      `artifact ${artifact.key} is encrypted with age (${artifact.encryption.passphrase ? 'a passphrase' : `recipients ${artifact.encryption.recipients.join(', ')}`}); give an identity or the passphrase`,
    );
  }
}

/** The stored object's read stream and the pass-through that checks its size and sha256 at its end (`BACKUP_CORRUPT`). */
export async function readStored(
  storage: BackupStorage,
  artifact: ArtifactRecord,
  signal: AbortSignal | undefined,
): Promise<{ source: Readable; storedCheck: DigestStream }> {
  const source = await storage.read(artifact.key, signal ? { signal } : {});
  const storedCheck = new DigestStream({
    sha256: artifact.storedSha256,
    bytes: artifact.storedBytes,
    onMismatch: (problem) => corruptError(artifact, 'stored object', problem),
  });
  return { source, storedCheck };
}

/**
 * The age decryption of stored bytes, handing each chunk it was written to `release` once it has opened its bytes (on
 * the main thread, below 4 cores). A local read takes its chunks back to read into again instead of a fresh 1 MiB
 * buffer (reading, hashing and decrypting 255 MB, 3 alternating runs: 3 buffers allocated instead of 243, 297–347 ms
 * against 376–415 ms).
 */
export function createDecryptStage(
  decryption: DecryptionOptions | undefined,
  release: ((chunk: Buffer) => void) | undefined,
  /** @internal Worker threads opening the chunks (tests); default the decrypt stream's own choice by core count. */
  workers?: number,
): Transform {
  return createAgeDecryptStream(
    {
      ...(decryption?.identities ? { identities: decryption.identities } : {}),
      ...(decryption?.passphrase === undefined ? {} : { passphrase: decryption.passphrase }),
      ...(decryption?.maxScryptWorkFactor === undefined ? {} : { maxScryptWorkFactor: decryption.maxScryptWorkFactor }),
    },
    { release, ...(workers === undefined ? {} : { workers }) },
  );
}

/**
 * Opens an artifact for reading its plain bytes: storage → check stored sha256 → decrypt → decompress → check plain
 * sha256. The returned stream errors with `BACKUP_CORRUPT` (checksum, truncation, bad gzip) or
 * `BACKUP_DECRYPT_FAILED` (wrong key or passphrase) — consumers must treat data as valid only after `end`.
 */
export async function openArtifact(options: OpenArtifactOptions): Promise<Readable> {
  const { storage, artifact, decryption, signal, onProgress, checkPlain = true } = options;
  assertDecryptionGiven(artifact, decryption);
  const { source, storedCheck } = await readStored(storage, artifact, signal);
  if (onProgress) storedCheck.on('data', () => onProgress(storedCheck.bytes));
  const stages: Transform[] = [];
  // The stored bytes go nowhere but through the check into the decryption, which hands a local read its chunks back.
  if (artifact.encryption) stages.push(createDecryptStage(decryption, chunkRecycler(source)));
  if (artifact.compression.algorithm !== 'none') stages.push(createDecompressStream(artifact.compression.algorithm));
  if (checkPlain)
    stages.push(
      new DigestStream({
        sha256: artifact.plainSha256,
        bytes: artifact.plainBytes,
        onMismatch: (problem) => corruptError(artifact, 'plain data', problem),
      }),
    );
  return pipelineCallback([source, storedCheck, ...stages], () => undefined) as unknown as Readable;
}

/** Normalises a stream error of {@link openArtifact} into an `OpsError` naming the artifact (a `BackupError` `BACKUP_CORRUPT` unless it already is an `OpsError`). */
export function artifactReadError(artifact: ArtifactRecord, error: unknown): OpsError {
  if (OpsError.isInstance(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return corruptError(artifact, 'compressed data', `is damaged or truncated (${(error as Error).message})`, error);
  }
  return new BackupError('BACKUP_CORRUPT', `artifact ${artifact.key}: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
  });
}

/**
 * The cheap part of {@link checkStoredArtifact}: the object exists and has the recorded size (no read). Throws
 * `BACKUP_CORRUPT`. A caller that goes on to {@link openArtifact} gets the sha256 check in that same read.
 */
export async function checkStoredSize(storage: BackupStorage, artifact: ArtifactRecord): Promise<void> {
  const facts = await storage.stat(artifact.key);
  if (!facts) throw new BackupError('BACKUP_CORRUPT', `artifact ${artifact.key} is missing from the storage`);
  if (facts.bytes !== artifact.storedBytes)
    throw corruptError(artifact, 'stored object', `size is ${facts.bytes} bytes, expected ${artifact.storedBytes}`);
}

/**
 * Reads the stored bytes of an artifact and compares size and sha256 with the manifest, without decrypting
 * (level `checksum`: no key needed), through the storage's `digest` when it has one. Resolves with the stored bytes
 * read.
 */
export async function checkStoredArtifact(
  storage: BackupStorage,
  artifact: ArtifactRecord,
  signal?: AbortSignal,
): Promise<number> {
  await checkStoredSize(storage, artifact);
  if (storage.digest) {
    const read = await storage.digest(artifact.key, signal ? { signal } : {});
    if (read.bytes !== artifact.storedBytes)
      throw corruptError(artifact, 'stored object', `size is ${read.bytes} bytes, expected ${artifact.storedBytes}`);
    if (read.sha256 !== artifact.storedSha256)
      throw corruptError(artifact, 'stored object', `sha256 is ${read.sha256}, expected ${artifact.storedSha256}`);
    return read.bytes;
  }
  const source = await storage.read(artifact.key, signal ? { signal } : {});
  const check = new DigestStream({
    sha256: artifact.storedSha256,
    bytes: artifact.storedBytes,
    onMismatch: (problem) => corruptError(artifact, 'stored object', problem),
  });
  await new Promise<void>((resolve, reject) => {
    pipelineCallback([source, check], (error) => (error ? reject(error) : resolve()));
    check.resume();
  });
  return check.bytes;
}
