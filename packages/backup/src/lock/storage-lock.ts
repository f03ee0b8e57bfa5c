import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import {
  createPeriodicTask,
  OpsError,
  parseDuration,
  safeErrorMessage,
  systemClock,
  silentLogger,
  type Clock,
  type Duration,
  type Logger,
} from '@ops/core';
import { readAll } from '../internal/read-all.js';
import type { BackupStorage } from '../storages/storage.js';
import { BackupError } from '../errors.js';

/** What a lock object records. */
export interface LockRecord {
  id: string;
  job: string;
  host: string;
  pid: number;
  /** Epoch ms when taken. */
  acquiredAt: number;
  /** Epoch ms of the last refresh. */
  refreshedAt: number;
}

/** Options of {@link acquireStorageLock}. */
export interface StorageLockOptions {
  storage: BackupStorage;
  /** The job the lock protects; two runs of one job never overlap. */
  job: string;
  /** A lock not refreshed for this long is stale and removed. Default `'30m'`. */
  staleAfter?: Duration;
  /** How often the holder rewrites its lock. Default `'5m'`. */
  refreshEvery?: Duration;
  /** Wait after writing before re-listing, to see a racing writer. Default `'200ms'`. */
  settle?: Duration;
  clock?: Clock;
  logger?: Logger;
  /** Host name recorded (default `os.hostname()`). */
  host?: string;
  /** Pid recorded (default `process.pid`). */
  pid?: number;
  /** Whether a pid on this host is alive; default `process.kill(pid, 0)`. Injectable for tests. */
  isProcessAlive?: (pid: number) => boolean;
}

/** A held lock. */
export interface HeldLock {
  readonly record: LockRecord;
  /** Set when a refresh failed; the holder should stop destructive work. */
  readonly lost: boolean;
  /** Stops refreshing (waiting for a refresh in flight, so it cannot re-create the lock) and deletes the lock. */
  release(): Promise<void>;
}

const lockPrefix = (job: string): string => `${job}/locks/`;

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLocks(
  storage: BackupStorage,
  job: string,
): Promise<{ key: string; record: LockRecord | undefined }[]> {
  const found: { key: string; record: LockRecord | undefined }[] = [];
  for await (const object of storage.list(lockPrefix(job))) {
    if (!object.key.endsWith('.json')) continue;
    try {
      const record = JSON.parse(
        (await readAll(await storage.read(object.key), 64 * 1024)).toString('utf8'),
      ) as LockRecord;
      found.push({ key: object.key, record });
    } catch (error) {
      if (OpsError.hasCode(error, 'BACKUP_NOT_FOUND')) continue;
      found.push({ key: object.key, record: undefined });
    }
  }
  return found;
}

/**
 * Takes the lock of a job as an object in the storage itself (`<job>/locks/<id>.json` with host, pid and times), so
 * it works across hosts sharing an object store. After writing, it waits `settle` and re-lists: if an older live
 * lock exists, it withdraws and throws `BACKUP_LOCKED`. A lock is stale when not refreshed for `staleAfter`, or
 * sooner when it was taken on this host by a pid that is gone (a `kill -9`); stale locks are removed. The holder
 * rewrites its lock every `refreshEvery` on a periodic task from `@ops/core` (never two refreshes at once; `release`
 * waits for one in flight).
 *
 * This is deliberately not a `LockStore` of `@ops/core`: {@link BackupStorage} has no conditional write (no
 * create-if-absent, no compare-and-swap), so acquiring cannot be atomic and there is no strictly increasing fencing
 * token. Mutual exclusion rests on write → settle → re-list (the older lock wins), which holds when every writer
 * sees the others' locks within `settle` (local directories, S3's read-after-write consistency) and the clocks of
 * the hosts agree to well within `staleAfter`. For a fleet that needs a fenced lock, guard the run with core's
 * `createLock` over a Redis or PostgreSQL `LockStore` instead.
 *
 * @example
 * ```ts
 * const lock = await acquireStorageLock({ storage, job: 'pg-main' });
 * try { await work(); } finally { await lock.release(); }
 * ```
 */
export async function acquireStorageLock(options: StorageLockOptions): Promise<HeldLock> {
  const {
    storage,
    job,
    clock = systemClock,
    logger = silentLogger,
    host = hostname(),
    pid = process.pid,
    isProcessAlive = defaultIsAlive,
  } = options;
  const staleAfterMs = parseDuration(options.staleAfter ?? '30m', 'staleAfter');
  const refreshEveryMs = parseDuration(options.refreshEvery ?? '5m', 'refreshEvery');
  const settleMs = parseDuration(options.settle ?? '200ms', 'settle');
  const now = clock.now();
  const id = `${now.toString(36).padStart(10, '0')}-${randomBytes(4).toString('hex')}`;
  const record: LockRecord = { id, job, host, pid, acquiredAt: now, refreshedAt: now };
  const key = `${lockPrefix(job)}${id}.json`;

  const isStale = (other: LockRecord): boolean =>
    clock.now() - other.refreshedAt > staleAfterMs ||
    (other.host === host && other.pid !== pid && !isProcessAlive(other.pid));
  const writeRecord = () => storage.write(key, Readable.from([Buffer.from(JSON.stringify(record))]));
  const blocker = (onlyOlder: boolean) => findBlocker({ storage, job, key, record, onlyOlder, isStale, logger });
  const lockedError = (holder: LockRecord) =>
    new BackupError(
      'BACKUP_LOCKED',
      `job ${job} is locked by pid ${holder.pid} on ${holder.host} since ${new Date(holder.acquiredAt).toISOString()}`,
      { isRetryable: true },
    );

  const early = await blocker(false);
  if (early) throw lockedError(early);
  await writeRecord();
  if (settleMs > 0) await clock.sleep(settleMs);
  const late = await blocker(true);
  if (late) {
    await storage.delete(key);
    throw lockedError(late);
  }
  return holdLock({ storage, job, key, record, writeRecord, clock, refreshEveryMs, logger });
}

/**
 * A live lock that blocks ours: before writing, any live lock; after writing (racing writers), only an older one.
 * Stale locks met on the way are removed.
 */
async function findBlocker(input: {
  storage: BackupStorage;
  job: string;
  key: string;
  record: LockRecord;
  onlyOlder: boolean;
  isStale: (other: LockRecord) => boolean;
  logger: Logger;
}): Promise<LockRecord | undefined> {
  const { storage, job, key, record, onlyOlder, isStale, logger } = input;
  for (const { key: otherKey, record: other } of await readLocks(storage, job)) {
    if (otherKey === key) continue;
    if (!other) continue;
    if (isStale(other)) {
      logger.warn({ job, lock: other }, 'removing stale backup lock');
      await storage.delete(otherKey);
      continue;
    }
    if (
      !onlyOlder ||
      other.acquiredAt < record.acquiredAt ||
      (other.acquiredAt === record.acquiredAt && other.id < record.id)
    )
      return other;
  }
  return undefined;
}

/**
 * Refreshes the written lock every `refreshEveryMs` on a periodic task until released; a failed refresh marks it
 * lost (and later refreshes still try, so a lock that comes back is kept fresh).
 */
function holdLock(input: {
  storage: BackupStorage;
  job: string;
  key: string;
  record: LockRecord;
  writeRecord: () => Promise<unknown>;
  clock: Clock;
  refreshEveryMs: number;
  logger: Logger;
}): HeldLock {
  const { storage, job, key, record, writeRecord, clock, refreshEveryMs, logger } = input;
  let lost = false;
  const refresher = createPeriodicTask({
    name: `backup-lock-refresh:${job}`,
    every: refreshEveryMs,
    clock,
    run: async () => {
      record.refreshedAt = clock.now();
      try {
        await writeRecord();
      } catch (error) {
        lost = true;
        logger.error({ job, error: safeErrorMessage(error) }, 'cannot refresh backup lock');
      }
    },
  });
  refresher.start();

  return {
    record,
    get lost() {
      return lost;
    },
    async release() {
      await refresher.stop();
      await storage.delete(key);
    },
  };
}

/** Lists the current locks of a job (for `ops-backup list`/diagnostics). */
export async function listLocks(storage: BackupStorage, job: string): Promise<LockRecord[]> {
  return (await readLocks(storage, job)).flatMap((entry) => (entry.record ? [entry.record] : []));
}
