import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '@ops/core';
import type { BackupStorage } from '../storages/storage.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { acquireStorageLock, listLocks } from './storage-lock.js';

describe('storage lock', () => {
  it('a second run of the same job is refused while the first holds the lock; another job is not', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const storage = createMemoryStorage({ clock });
    const first = await acquireStorageLock({ storage, job: 'pg', clock, settle: 0 });
    await expect(
      acquireStorageLock({ storage, job: 'pg', clock, settle: 0, pid: process.pid + 1 }),
    ).rejects.toMatchObject({ code: 'BACKUP_LOCKED', isRetryable: true });
    const other = await acquireStorageLock({ storage, job: 'redis', clock, settle: 0 });
    await other.release();
    await first.release();
    const again = await acquireStorageLock({ storage, job: 'pg', clock, settle: 0 });
    expect((await listLocks(storage, 'pg')).map((lock) => lock.id)).toEqual([again.record.id]);
    await again.release();
  });

  it('a lock of a dead pid on this host is stale at once; a lock on another host only after staleAfter', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const storage = createMemoryStorage({ clock });
    await acquireStorageLock({ storage, job: 'pg', clock, settle: 0, pid: 999_999, isProcessAlive: () => false });
    const taken = await acquireStorageLock({
      storage,
      job: 'pg',
      clock,
      settle: 0,
      isProcessAlive: (pid) => pid !== 999_999,
    });
    await taken.release();

    await acquireStorageLock({ storage, job: 'pg', clock, settle: 0, host: 'other-host', refreshEvery: '1h' });
    await expect(acquireStorageLock({ storage, job: 'pg', clock, settle: 0 })).rejects.toMatchObject({
      code: 'BACKUP_LOCKED',
    });
    clock.advance(31 * 60_000);
    const late = await acquireStorageLock({ storage, job: 'pg', clock, settle: 0 });
    expect((await listLocks(storage, 'pg')).map((lock) => lock.host)).toEqual([late.record.host]);
    await late.release();
  });

  it('the holder refreshes its lock so it never goes stale while running', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const storage = createMemoryStorage({ clock });
    const held = await acquireStorageLock({
      storage,
      job: 'pg',
      clock,
      settle: 0,
      host: 'runner',
      refreshEvery: '5m',
      staleAfter: '30m',
    });
    for (let step = 0; step < 12; step++) {
      clock.advance(5 * 60_000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect(acquireStorageLock({ storage, job: 'pg', clock, settle: 0 })).rejects.toMatchObject({
      code: 'BACKUP_LOCKED',
    });
    await held.release();
  });

  it('release waits for a refresh in flight, so the refresh cannot re-create the released lock', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const memory = createMemoryStorage({ clock });
    let gate: (() => void) | undefined;
    let refreshStarted: () => void = () => undefined;
    const refreshing = new Promise<void>((resolve) => (refreshStarted = resolve));
    // A storage whose lock writes hang while `gate` is set: a slow object store.
    const storage: BackupStorage = {
      ...memory,
      location: memory.location,
      list: (prefix) => memory.list(prefix),
      write: async (key: string, body: Readable) => {
        if (gate) {
          refreshStarted();
          await new Promise<void>((resolve) => (gate = resolve));
        }
        return memory.write(key, body);
      },
    };
    const held = await acquireStorageLock({ storage, job: 'pg', clock, settle: 0, refreshEvery: '5m' });
    gate = () => undefined;
    await clock.advanceAsync(5 * 60_000);
    await refreshing;
    let released = false;
    const releasing = held.release().then(() => (released = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(released).toBe(false);
    gate();
    gate = undefined;
    await releasing;
    expect(await listLocks(memory, 'pg')).toEqual([]);
    expect(held.lost).toBe(false);
  });

  it('two racing writers: the younger withdraws after the settle re-list', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const storage = createMemoryStorage({ clock });
    const first = acquireStorageLock({ storage, job: 'pg', clock, settle: '200ms', host: 'a' });
    const second = acquireStorageLock({ storage, job: 'pg', clock, settle: '200ms', host: 'b' });
    const settled = Promise.allSettled([first, second]);
    for (let step = 0; step < 30; step++) {
      await new Promise((resolve) => setImmediate(resolve));
      await clock.advanceAsync(20);
    }
    const results = await settled;
    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.filter((result) => result.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(await listLocks(storage, 'pg')).toHaveLength(1);
  });

  it('two racing writers with the default (no settle wait): exactly one holds', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const storage = createMemoryStorage({ clock });
    const racers = ['a', 'b', 'c'].map((host) => acquireStorageLock({ storage, job: 'pg', clock, host }));
    const settled = Promise.allSettled(racers);
    for (let step = 0; step < 60; step++) {
      await new Promise((resolve) => setImmediate(resolve));
      await clock.advanceAsync(10);
    }
    const results = await settled;
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((result) => result.status === 'rejected')).toHaveLength(2);
    expect(await listLocks(storage, 'pg')).toHaveLength(1);
  });

  it('a slow older writer does not hold beside a younger one that already holds (it waits, then gives up)', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const memory = createMemoryStorage({ clock });
    let releaseSlowWrite: (() => void) | undefined;
    let slowWriteStarted: () => void = () => undefined;
    const slowWriteSeen = new Promise<void>((resolve) => (slowWriteStarted = resolve));
    // The first lock write hangs until released: a writer that listed (and found nothing) long before its write lands.
    const storage: BackupStorage = {
      ...memory,
      location: memory.location,
      list: (prefix) => memory.list(prefix),
      write: async (key: string, body: Readable) => {
        if (releaseSlowWrite === undefined && key.includes('/locks/')) {
          await new Promise<void>((resolve) => {
            releaseSlowWrite = resolve;
            slowWriteStarted();
          });
        }
        return memory.write(key, body);
      },
    };
    const older = acquireStorageLock({ storage, job: 'pg', clock, host: 'slow', settle: 0, raceTimeout: '5s' });
    older.catch(() => undefined);
    await slowWriteSeen;
    clock.advance(1_000);
    // The younger run lists (nothing yet), writes, re-lists (only its own) and holds.
    const younger = await acquireStorageLock({ storage, job: 'pg', clock, host: 'fast', settle: 0 });
    (releaseSlowWrite as () => void)();
    let outcome: unknown;
    older.then(
      () => (outcome = 'held'),
      (error: unknown) => (outcome = error),
    );
    for (let step = 0; step < 100 && outcome === undefined; step++) {
      await new Promise((resolve) => setImmediate(resolve));
      await clock.advanceAsync(100);
    }
    // Before: the older lock won the re-list against the younger one and both held.
    expect(outcome).toMatchObject({ code: 'BACKUP_LOCKED' });
    expect((await listLocks(memory, 'pg')).map((lock) => lock.host)).toEqual(['fast']);
    await younger.release();
  });

  it('an older racer waits for a younger one that saw it to withdraw, then holds', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 3));
    const storage = createMemoryStorage({ clock });
    // Both write before either re-lists: each sees the other, the younger withdraws, the older holds.
    const older = acquireStorageLock({ storage, job: 'pg', clock, host: 'a', settle: '50ms' });
    clock.advance(1);
    const younger = acquireStorageLock({ storage, job: 'pg', clock, host: 'b', settle: '50ms' });
    const settled = Promise.allSettled([older, younger]);
    for (let step = 0; step < 40; step++) {
      await new Promise((resolve) => setImmediate(resolve));
      await clock.advanceAsync(10);
    }
    const [first, second] = await settled;
    expect(first?.status).toBe('fulfilled');
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'BACKUP_LOCKED' } });
    expect((await listLocks(storage, 'pg')).map((lock) => lock.host)).toEqual(['a']);
  });
});
