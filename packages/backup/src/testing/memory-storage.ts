import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OpsError, systemClock, type Clock } from '@ops/core';
import type { BackupStorage, StorageReadOptions, StorageWriteOptions, StoredObject } from '../storages/storage.js';
import { assertReadRange } from '../storages/read-range.js';
import { assertStorageKey, assertStoragePrefix } from '../storages/storage-key.js';
import { BackupError } from '../errors.js';

/** Options of {@link createMemoryStorage}. */
export interface MemoryStorageOptions {
  /** Supplies `modifiedAt`. Default the system clock. */
  clock?: Clock;
  /** Simulates a full disk: a write that would bring the total above this fails with `STORAGE_FAILED` (ENOSPC). */
  capacityBytes?: number;
  /** Simulates a read-only storage: every write and delete fails with `STORAGE_FAILED` (EROFS). */
  readOnly?: boolean;
}

/** The in-memory storage plus test helpers. */
export interface MemoryStorage extends BackupStorage {
  /** Raw bytes of an object (a copy), or `undefined`. */
  get(key: string): Buffer | undefined;
  /** Replaces the bytes of an object, e.g. to flip a byte or truncate it in a test. */
  set(key: string, bytes: Buffer): void;
  /** Every key, sorted. */
  keys(): string[];
  /** Total bytes stored. */
  readonly usedBytes: number;
  /** Switch read-only mode on or off. */
  readOnly: boolean;
}

/**
 * An in-memory {@link BackupStorage} for users' tests: atomic writes (visible only when complete), key validation as
 * the real storages, and switches to simulate a full or read-only storage.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from '@ops/backup/testing';
 * const storage = createMemoryStorage({ capacityBytes: 1024 * 1024 });
 * ```
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const { clock = systemClock, capacityBytes = Number.POSITIVE_INFINITY } = options;
  const objects = new Map<string, { bytes: Buffer; modifiedAt: Date }>();
  let readOnly = options.readOnly ?? false;
  const used = () => [...objects.values()].reduce((total, object) => total + object.bytes.length, 0);
  const refuseReadOnly = (key: string) => {
    if (readOnly)
      throw new BackupError(
        'STORAGE_FAILED',
        `memory storage: cannot write ${JSON.stringify(key)}: read-only file system (EROFS)`,
      );
  };

  return {
    location: 'memory:',
    get usedBytes() {
      return used();
    },
    get readOnly() {
      return readOnly;
    },
    set readOnly(value: boolean) {
      readOnly = value;
    },
    async write(key: string, body: Readable, writeOptions: StorageWriteOptions = {}) {
      assertStorageKey(key);
      try {
        refuseReadOnly(key);
      } catch (error) {
        body.destroy();
        throw error;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const existing = objects.get(key)?.bytes.length ?? 0;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (used() - existing + size > capacityBytes) {
            callback(
              new BackupError(
                'STORAGE_FAILED',
                `memory storage: cannot write ${JSON.stringify(key)}: no space left on device (ENOSPC)`,
              ),
            );
            return;
          }
          chunks.push(Buffer.from(chunk));
          callback();
        },
      });
      try {
        await pipeline(body, sink, writeOptions.signal ? { signal: writeOptions.signal } : {});
      } catch (error) {
        if (OpsError.isInstance(error)) throw error;
        // As the real storages: a cancelled write is ABORTED, not a storage failure.
        if ((error as Error | undefined)?.name === 'AbortError' || writeOptions.signal?.aborted) {
          throw new BackupError('ABORTED', `memory storage: write of ${JSON.stringify(key)} was aborted`, {
            cause: error,
          });
        }
        throw new BackupError(
          'STORAGE_FAILED',
          `memory storage: cannot write ${JSON.stringify(key)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      objects.set(key, { bytes: Buffer.concat(chunks), modifiedAt: new Date(clock.now()) });
      return { bytes: size };
    },
    async read(key: string, readOptions: StorageReadOptions = {}) {
      assertStorageKey(key);
      assertReadRange(readOptions, 'memory storage');
      const object = objects.get(key);
      if (!object) throw new BackupError('BACKUP_NOT_FOUND', `memory storage: ${JSON.stringify(key)} does not exist`);
      const start = readOptions.start ?? 0;
      const end = readOptions.end === undefined ? object.bytes.length : readOptions.end + 1;
      const slice = object.bytes.subarray(start, end);
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < slice.length; offset += 64 * 1024)
        chunks.push(slice.subarray(offset, offset + 64 * 1024));
      return Readable.from(chunks);
    },
    async stat(key: string): Promise<StoredObject | undefined> {
      assertStorageKey(key);
      const object = objects.get(key);
      return object ? { key, bytes: object.bytes.length, modifiedAt: object.modifiedAt } : undefined;
    },
    async *list(prefix: string) {
      assertStoragePrefix(prefix);
      for (const [key, object] of [...objects.entries()]) {
        if (key.startsWith(prefix)) yield { key, bytes: object.bytes.length, modifiedAt: object.modifiedAt };
      }
    },
    async delete(key: string) {
      assertStorageKey(key);
      refuseReadOnly(key);
      objects.delete(key);
    },
    get(key: string) {
      const object = objects.get(key);
      return object ? Buffer.from(object.bytes) : undefined;
    },
    set(key: string, bytes: Buffer) {
      assertStorageKey(key);
      objects.set(key, { bytes: Buffer.from(bytes), modifiedAt: new Date(clock.now()) });
    },
    keys() {
      return [...objects.keys()].sort();
    },
  };
}
