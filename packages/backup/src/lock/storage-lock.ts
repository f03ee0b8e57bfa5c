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
  /**
   * Wait after writing before re-listing. Default `0`: not needed where a listing shows every write that completed
   * before it (local directories, S3); set it for a storage whose listings lag behind writes.
   */
  settle?: Duration;
  /**
   * How long to wait for a younger racing lock to withdraw (it does when it sees ours) before giving up with
   * `BACKUP_LOCKED`. Default `'5s'`.
   */
  raceTimeout?: Duration;
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
 * it works across hosts sharing an object store. After writing, it re-lists: if an older live lock exists, it
 * withdraws and throws `BACKUP_LOCKED`; if only younger ones exist, it re-lists until they are gone (a younger racer
 * that saw ours withdraws) and gives up with `BACKUP_LOCKED` after `raceTimeout` (a younger racer that listed before
 * ours was written holds the lock); with no other lock it holds the lock at once. A lock is stale when not refreshed for `staleAfter`, or
 * sooner when it was taken on this host by a pid that is gone (a `kill -9`); stale locks are removed. The holder
 * rewrites its lock every `refreshEvery` on a periodic task from `@ops/core` (never two refreshes at once; `release`
 * waits for one in flight).
 *
 * This is deliberately not a `LockStore` of `@ops/core`: {@link BackupStorage} has no conditional write (no
 * create-if-absent, no compare-and-swap), so acquiring cannot be atomic and there is no strictly increasing fencing
 * token. Mutual exclusion rests on write → re-list: of two racers, the one that lists last sees both locks, and a
 * racer holds only when it sees no other live lock (the other then sees it and withdraws or waits). That holds
 * without timing assumptions when a listing shows every write completed before it (local directories, S3's strong
 * read-after-write consistency; `settle` covers storages that lag), and when the clocks of the hosts agree to well
 * within `staleAfter`. For a fleet that needs a fenced lock, guard the run with core's
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
  const settleMs = parseDuration(options.settle ?? 0, 'settle');
  const raceTimeoutMs = parseDuration(options.raceTimeout ?? '5s', 'raceTimeout');
  const now = clock.now();
  const id = `${now.toString(36).padStart(10, '0')}-${randomBytes(4).toString('hex')}`;
  const record: LockRecord = { id, job, host, pid, acquiredAt: now, refreshedAt: now };
  const key = `${lockPrefix(job)}${id}.json`;

  const isStale = (other: LockRecord): boolean =>
    clock.now() - other.refreshedAt > staleAfterMs ||
    (other.host === host && other.pid !== pid && !isProcessAlive(other.pid));
  const writeRecord = () => storage.write(key, Readable.from([Buffer.from(JSON.stringify(record))]));
  const blockers = () => findBlockers({ storage, job, key, record, isStale, logger });
  const lockedError = (holder: LockRecord) =>
    new BackupError(
      'BACKUP_LOCKED',
      `job ${job} is locked by pid ${holder.pid} on ${holder.host} since ${new Date(holder.acquiredAt).toISOString()}`,
      { isRetryable: true },
    );

  const early = await blockers();
  if (early.older ?? early.younger) throw lockedError((early.older ?? early.younger) as LockRecord);
  await writeRecord();
  if (settleMs > 0) await clock.sleep(settleMs);
  // Racing writers: an older lock wins at once; a younger one either saw ours (it withdraws: wait for that) or listed
  // before ours was written (it holds: give up after raceTimeout). Holding while any other live lock is listed
  // would let a slow older writer and a younger one both hold.
  const waitUntil = clock.monotonic() + raceTimeoutMs;
  let pause = 10;
  for (;;) {
    const late = await blockers();
    const holder = late.older ?? (clock.monotonic() >= waitUntil ? late.younger : undefined);
    if (holder) {
      await storage.delete(key);
      throw lockedError(holder);
    }
    if (!late.younger) break;
    await clock.sleep(pause);
    pause = Math.min(pause * 2, 250);
  }
  return holdLock({ storage, job, key, record, writeRecord, clock, refreshEveryMs, logger });
}

/**
 * The live locks other than ours: the oldest one older than ours and the oldest younger one. Stale locks met on the
 * way are removed.
 */
async function findBlockers(input: {
  storage: BackupStorage;
  job: string;
  key: string;
  record: LockRecord;
  isStale: (other: LockRecord) => boolean;
  logger: Logger;
}): Promise<{ older?: LockRecord; younger?: LockRecord }> {
  const { storage, job, key, record, isStale, logger } = input;
  const found: { older?: LockRecord; younger?: LockRecord } = {};
  for (const { key: otherKey, record: other } of await readLocks(storage, job)) {
    if (otherKey === key) continue;
    if (!other) continue;
    if (isStale(other)) {
      logger.warn({ job, lock: other }, 'removing stale backup lock');
      await storage.delete(otherKey);
      continue;
    }
    const which = isOlder(other, record) ? 'older' : 'younger';
    const current = found[which];
    if (!current || isOlder(other, current)) found[which] = other;
  }
  return found;
}

/** Whether lock `a` was taken before lock `b` (ties broken by id, so every host orders two locks alike). */
function isOlder(a: LockRecord, b: LockRecord): boolean {
  return a.acquiredAt < b.acquiredAt || (a.acquiredAt === b.acquiredAt && a.id < b.id);
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
