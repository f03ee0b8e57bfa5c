import { randomUUID } from 'node:crypto';
import { OpsError } from '../errors/ops-error.js';
import { guardLogger, silentLogger, type Logger } from '../logging/logger.js';
import { safeErrorMessage } from '../redaction/redact.js';
import { createPeriodicTask, type PeriodicTask } from '../tasks/periodic-task.js';
import { systemClock, type Clock } from '../time/clock.js';
import { parseDuration, parseOptionalDuration, type Duration } from '../time/duration.js';

/** A lease granted by a {@link LockStore}. */
export interface LockGrant {
  /** Strictly increasing per key across all owners: a guarded write carries it so a stale owner is refused. */
  fencingToken: number;
  /** When the lease ends unless renewed (epoch ms, the store's view). */
  expiresAt: number;
}

/**
 * The three primitives a lock backend implements: in memory ({@link createMemoryLockStore}), Redis, PostgreSQL.
 * Every implementation passes `lockStoreContract` from `@ops/core/testing`.
 */
export interface LockStore {
  /** Takes `key` for `owner` for `ttlMs` when it is free or expired; `undefined` while another owner holds it. */
  tryAcquire(key: string, owner: string, ttlMs: number): Promise<LockGrant | undefined>;
  /** Extends the lease when `owner` still holds `key` with `fencingToken`; `undefined` when it was lost. */
  renew(key: string, owner: string, fencingToken: number, ttlMs: number): Promise<LockGrant | undefined>;
  /** Frees `key` when `owner` holds it with `fencingToken`; otherwise does nothing. */
  release(key: string, owner: string, fencingToken: number): Promise<void>;
}

/** A held lock. Work guarded by it watches {@link LockLease.signal} and stops when the lease is lost. */
export interface LockLease {
  readonly key: string;
  /** This holder's identity (random per {@link Lock} unless given). */
  readonly owner: string;
  /** Pass it along with guarded writes; a larger token always wins. */
  readonly fencingToken: number;
  /** When the lease ends unless renewed (epoch ms). */
  readonly expiresAt: number;
  /** Whether the lease was lost (renewal refused, or expired before a renewal got through). */
  readonly lost: boolean;
  /** Aborts, with an `OpsError` code `LOCK_LOST`, when the lease is lost. Never aborts after `release()`. */
  readonly signal: AbortSignal;
  /** Renews now. @throws OpsError `LOCK_LOST` when the lease is gone. */
  renew(): Promise<void>;
  /** Stops renewing and frees the key. Idempotent. */
  release(): Promise<void>;
}

/** Options of {@link Lock.tryAcquire} and {@link Lock.acquire}. */
export interface AcquireOptions {
  /** Lease length; renewed every `ttl / 3` while held (unless `autoRenew: false`). */
  ttl: Duration;
  /** Renew in the background while held. Default `true`. */
  autoRenew?: boolean;
}

/** Options of {@link Lock.acquire}: waiting for a held key. */
export interface WaitOptions extends AcquireOptions {
  /** How long to wait for the key. Default `0` (one try). */
  waitTimeout?: Duration;
  /** Pause between tries while waiting. Default `'100ms'`. */
  retryEvery?: Duration;
  /** Cancels the wait. */
  signal?: AbortSignal;
}

/** Acquires leases from a {@link LockStore}, renews them and reports their loss. */
export interface Lock {
  /** This holder's owner id. */
  readonly owner: string;
  /** One attempt: the lease, or `undefined` when another owner holds the key. */
  tryAcquire(key: string, options: AcquireOptions): Promise<LockLease | undefined>;
  /** Waits up to `waitTimeout` for the key. @throws OpsError `LOCK_HELD` when it stays held. */
  acquire(key: string, options: WaitOptions): Promise<LockLease>;
  /**
   * Runs `work` holding the key and releases it afterwards. `work` gets the lease; its `signal` aborts when the
   * lease is lost. @throws OpsError `LOCK_HELD` when the key stays held past `waitTimeout`.
   */
  withLock<T>(key: string, options: WaitOptions, work: (lease: LockLease) => Promise<T>): Promise<T>;
}

/** Options of {@link createLock}. */
export interface LockOptions {
  /** The backend. */
  store: LockStore;
  /** Owner id, e.g. `${hostname}:${pid}`. Default a random UUID. */
  owner?: string;
  /** Source of time and timers. Default {@link systemClock}. */
  clock?: Clock;
  /** Where renewal errors and losses are logged. Default silent. */
  logger?: Logger;
}

/**
 * Creates a {@link Lock} over a {@link LockStore}: TTL leases with fencing tokens, background renewal every
 * `ttl / 3` on a periodic task, and a `signal` that aborts when the lease is lost. A renewal that fails on a
 * transient error is retried at the next tick; the lease counts as lost once its known expiry passes without a
 * successful renewal, so work never runs on a lease the store may have given away.
 *
 * @example
 * ```ts
 * const lock = createLock({ store: createMemoryLockStore() });
 * await lock.withLock('backup:nightly', { ttl: '30s', waitTimeout: '5s' }, async (lease) => {
 *   await runBackup({ signal: lease.signal, fencingToken: lease.fencingToken });
 * });
 * ```
 */
export function createLock(options: LockOptions): Lock {
  const { store, owner = randomUUID(), clock = systemClock } = options;
  const logger = guardLogger(options.logger ?? silentLogger);

  const lease = (key: string, ttlMs: number, grant: LockGrant, autoRenew: boolean): LockLease => {
    const controller = new AbortController();
    let expiresAt = grant.expiresAt;
    let released = false;
    let renewer: PeriodicTask | undefined;
    const markLost = (why: string) => {
      if (controller.signal.aborted || released) return;
      logger.warn({ key, owner, fencingToken: grant.fencingToken, why }, 'lock lost');
      void renewer?.stop();
      controller.abort(new OpsError('LOCK_LOST', `lock "${key}" was lost (${why}); stop work guarded by it`));
    };
    const renew = async () => {
      if (released) return;
      if (controller.signal.aborted) throw controller.signal.reason;
      let next: LockGrant | undefined;
      try {
        next = await store.renew(key, owner, grant.fencingToken, ttlMs);
      } catch (error) {
        if (clock.now() >= expiresAt) markLost(`renewal failed past expiry: ${safeErrorMessage(error)}`);
        else logger.warn({ key, owner, error: safeErrorMessage(error) }, 'lock renewal failed; retrying before expiry');
        if (controller.signal.aborted) throw controller.signal.reason;
        throw error;
      }
      if (!next) {
        markLost('the store no longer has it for this owner');
        throw controller.signal.reason;
      }
      expiresAt = next.expiresAt;
    };
    if (autoRenew) {
      renewer = createPeriodicTask({
        name: `lock-renew:${key}`,
        every: Math.max(1, Math.floor(ttlMs / 3)),
        clock,
        run: renew,
      });
      renewer.start();
    }
    return {
      key,
      owner,
      fencingToken: grant.fencingToken,
      get expiresAt() {
        return expiresAt;
      },
      get lost() {
        return controller.signal.aborted;
      },
      signal: controller.signal,
      renew,
      async release() {
        if (released) return;
        released = true;
        await renewer?.stop();
        await store.release(key, owner, grant.fencingToken);
      },
    };
  };

  const tryAcquire = async (key: string, acquireOptions: AcquireOptions) => {
    const ttlMs = parseDuration(acquireOptions.ttl, 'ttl');
    if (!(ttlMs > 0)) throw new OpsError('ARGUMENT_INVALID', `ttl must be > 0, got ${ttlMs} ms`);
    const grant = await store.tryAcquire(key, owner, ttlMs);
    return grant ? lease(key, ttlMs, grant, acquireOptions.autoRenew ?? true) : undefined;
  };

  const acquire = async (key: string, waitOptions: WaitOptions) => {
    const waitMs = parseOptionalDuration(waitOptions.waitTimeout, 'waitTimeout') ?? 0;
    const retryEveryMs = parseOptionalDuration(waitOptions.retryEvery, 'retryEvery') ?? 100;
    const startedAt = clock.monotonic();
    for (;;) {
      if (waitOptions.signal?.aborted) throw waitOptions.signal.reason;
      const acquired = await tryAcquire(key, waitOptions);
      if (acquired) return acquired;
      const remainingMs = waitMs - (clock.monotonic() - startedAt);
      if (remainingMs <= 0) {
        throw new OpsError(
          'LOCK_HELD',
          `lock "${key}" is held by another owner${waitMs > 0 ? ` (waited ${waitMs} ms)` : ''}`,
          { isRetryable: true },
        );
      }
      await clock.sleep(Math.min(retryEveryMs, remainingMs), waitOptions.signal);
    }
  };

  return {
    owner,
    tryAcquire,
    acquire,
    async withLock(key, waitOptions, work) {
      const held = await acquire(key, waitOptions);
      try {
        return await work(held);
      } finally {
        await held.release();
      }
    },
  };
}

/** Options of {@link createMemoryLockStore}. */
export interface MemoryLockStoreOptions {
  /** Source of time for expiry. Default {@link systemClock}. */
  clock?: Clock;
}

/**
 * A {@link LockStore} in process memory: one process's workers share it; it does not coordinate processes (use
 * the Redis or PostgreSQL store for a fleet).
 */
export function createMemoryLockStore(options: MemoryLockStoreOptions = {}): LockStore {
  const { clock = systemClock } = options;
  const held = new Map<string, { owner: string; fencingToken: number; expiresAt: number }>();
  const lastToken = new Map<string, number>();
  return {
    async tryAcquire(key, owner, ttlMs) {
      const current = held.get(key);
      const now = clock.now();
      if (current && current.expiresAt > now) return undefined;
      const fencingToken = (lastToken.get(key) ?? 0) + 1;
      lastToken.set(key, fencingToken);
      const entry = { owner, fencingToken, expiresAt: now + ttlMs };
      held.set(key, entry);
      return { fencingToken, expiresAt: entry.expiresAt };
    },
    async renew(key, owner, fencingToken, ttlMs) {
      const current = held.get(key);
      const now = clock.now();
      if (!current || current.owner !== owner || current.fencingToken !== fencingToken || current.expiresAt <= now)
        return undefined;
      current.expiresAt = now + ttlMs;
      return { fencingToken, expiresAt: current.expiresAt };
    },
    async release(key, owner, fencingToken) {
      const current = held.get(key);
      if (current && current.owner === owner && current.fencingToken === fencingToken) held.delete(key);
    },
  };
}
