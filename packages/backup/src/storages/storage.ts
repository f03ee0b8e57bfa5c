import type { Readable } from 'node:stream';

/** Facts about one stored object. */
export interface StoredObject {
  /** Relative POSIX key, e.g. `pg-main/2026-11-22T03-00-00Z-ab12cd/manifest.json`. */
  key: string;
  /** Size in bytes. */
  bytes: number;
  /** Last modification time. */
  modifiedAt: Date;
}

/** Options accepted by {@link BackupStorage.write}. */
export interface StorageWriteOptions {
  /** Cancels the upload; a cancelled write leaves no object under `key`. */
  signal?: AbortSignal;
  /** Expected size, when known (lets object stores pick part sizes). */
  contentLength?: number;
}

/** Options accepted by {@link BackupStorage.read}. */
export interface StorageReadOptions {
  signal?: AbortSignal;
  /** First byte to read (inclusive). */
  start?: number;
  /** Last byte to read (inclusive). */
  end?: number;
}

/** Options accepted by {@link BackupStorage.digest}. */
export interface StorageDigestOptions {
  signal?: AbortSignal;
}

/**
 * Where backup artifacts and manifests live. Implementations: a local directory (default) and S3-compatible object
 * storage. Keys are relative POSIX paths; implementations refuse absolute keys and `..` segments.
 *
 * Contract: `write` is atomic — the object becomes visible under `key` only after every byte is durably stored
 * (local: temp file, fsync, rename; S3: completed (multipart) upload); a failed or aborted write leaves nothing
 * under `key` and rejects with a `BackupError` (`STORAGE_FAILED`, with `isRetryable` set when retrying may help).
 */
export interface BackupStorage {
  /** Human-readable location without secrets, e.g. `local:/var/backups/ops` or `s3://bucket/prefix`. */
  readonly location: string;
  /**
   * Optional: `true` when reading an object again costs no transfer (a local disk). A PostgreSQL restore then
   * authenticates the artifact in one read and loads it in a second, instead of staging a decrypted copy on disk.
   */
  readonly localReads?: boolean;
  /** Streams `body` to `key`, honouring backpressure. Resolves with the number of bytes stored. */
  write(key: string, body: Readable, options?: StorageWriteOptions): Promise<{ bytes: number }>;
  /** Opens `key` for reading. Rejects with `BACKUP_NOT_FOUND` when it does not exist. */
  read(key: string, options?: StorageReadOptions): Promise<Readable>;
  /** Facts about `key`, or `undefined` when it does not exist. */
  stat(key: string): Promise<StoredObject | undefined>;
  /** Every object whose key starts with `prefix` (recursively), in no particular order. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /**
   * Optional: reads `key` back in full and resolves with its size and SHA-256 (what `read` and hashing would give),
   * without handing the bytes out, so the implementation can reuse its buffers: the local storage reads into two
   * 1 MiB buffers, the next read overlapping the hashing of the last. The verify-stored and `full-read` checks use it
   * when present, `read` otherwise. Rejects with `BACKUP_NOT_FOUND` when `key` does not exist.
   */
  digest?(key: string, options?: StorageDigestOptions): Promise<{ bytes: number; sha256: string }>;
  /** Deletes `key`; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Optional: removes partial writes left under `prefix` by a writer that was killed (local: temporary files;
   * object stores: incomplete multipart uploads). Resolves with how many were removed.
   */
  cleanup?(prefix: string): Promise<number>;
}
