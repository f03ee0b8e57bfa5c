import { describe, expect, it } from 'vitest';
import { createManualClock } from '../time/clock.js';
import { lockStoreContract } from '../testing/lock-store-contract.js';
import { runStoreContract } from '../testing/store-contract.js';
import type { LockGrant, LockStore } from './lock.js';
import { createLock, createMemoryLockStore } from './lock.js';

runStoreContract(
  lockStoreContract,
  {
    name: 'memory',
    create: () => {
      const clock = createManualClock();
      return { store: createMemoryLockStore({ clock }), advance: (ms) => clock.advanceAsync(ms) };
    },
  },
  { describe, it },
);

describe('createLock', () => {
  it('renews in the background every ttl/3 and keeps the lease past its first expiry', async () => {
    const clock = createManualClock();
    const store = createMemoryLockStore({ clock });
    const lock = createLock({ store, clock, owner: 'a' });
    const lease = await lock.tryAcquire('job', { ttl: '3s' });
    expect(lease).toBeDefined();
    await clock.advanceAsync(10_000);
    expect(lease!.lost).toBe(false);
    expect(lease!.expiresAt).toBeGreaterThan(clock.now());
    expect(await createLock({ store, clock, owner: 'b' }).tryAcquire('job', { ttl: '3s' })).toBeUndefined();
    await lease!.release();
    await lease!.release();
    expect(await createLock({ store, clock, owner: 'b' }).tryAcquire('job', { ttl: '3s' })).toBeDefined();
    expect(clock.pendingTimers()).toBeGreaterThan(0);
  });

  it('aborts the lease signal with LOCK_LOST when another owner took the key (renewal refused)', async () => {
    const clock = createManualClock();
    const store = createMemoryLockStore({ clock });
    const lease = await createLock({ store, clock, owner: 'a' }).tryAcquire('job', { ttl: '3s', autoRenew: false });
    await clock.advanceAsync(3_000);
    const thief = await createLock({ store, clock, owner: 'b' }).tryAcquire('job', { ttl: '3s', autoRenew: false });
    expect(thief!.fencingToken).toBeGreaterThan(lease!.fencingToken);
    await expect(lease!.renew()).rejects.toMatchObject({ code: 'LOCK_LOST' });
    expect(lease!.lost).toBe(true);
    expect(lease!.signal.reason).toMatchObject({ code: 'LOCK_LOST' });
  });

  it('counts the lease lost once its expiry passes while the store is unreachable, not before', async () => {
    const clock = createManualClock();
    const memory = createMemoryLockStore({ clock });
    let reachable = true;
    const flaky: LockStore = {
      tryAcquire: (...args) => memory.tryAcquire(...args),
      renew: async (...args): Promise<LockGrant | undefined> => {
        if (!reachable) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return memory.renew(...args);
      },
      release: (...args) => memory.release(...args),
    };
    const lease = await createLock({ store: flaky, clock }).tryAcquire('job', { ttl: '3s' });
    await clock.advanceAsync(1_000);
    const expiresAt = lease!.expiresAt;
    reachable = false;
    await clock.advanceAsync(expiresAt - clock.now() - 1);
    expect(lease!.lost).toBe(false);
    await clock.advanceAsync(1_001);
    expect(lease!.lost).toBe(true);
  });

  it('acquire waits for the key up to waitTimeout, then throws LOCK_HELD; withLock releases on error', async () => {
    const clock = createManualClock();
    const store = createMemoryLockStore({ clock });
    const holder = await createLock({ store, clock }).tryAcquire('job', { ttl: '2s', autoRenew: false });
    const waiter = createLock({ store, clock });
    const waited = waiter.acquire('job', { ttl: '2s', waitTimeout: '5s', retryEvery: '250ms' });
    await clock.advanceAsync(2_000);
    const lease = await waited;
    expect(lease.fencingToken).toBe(holder!.fencingToken + 1);

    const refused = waiter.acquire('job', { ttl: '2s', waitTimeout: '1s' }).catch((error: unknown) => error);
    await clock.advanceAsync(1_000);
    expect(await refused).toMatchObject({ code: 'LOCK_HELD', isRetryable: true });
    await lease.release();

    await expect(
      waiter.withLock('job', { ttl: '2s' }, async (held) => {
        expect(held.signal.aborted).toBe(false);
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(await waiter.tryAcquire('job', { ttl: '2s' })).toBeDefined();
  });
});
