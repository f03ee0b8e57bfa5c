import assert from 'node:assert/strict';
import type { LockStore } from '../lock/lock.js';
import { defineStoreContract } from './store-contract.js';

const TTL_MS = 400;

/**
 * The contract every {@link LockStore} passes (in-memory, Redis, PostgreSQL): exclusive leases, strictly
 * increasing fencing tokens, renewal only by the holder, expiry, and release only by the holder.
 */
export const lockStoreContract = defineStoreContract<LockStore>('LockStore', {
  'grants a free key and refuses it to a second owner while held': async ({ store }) => {
    const first = await store.tryAcquire('job', 'a', TTL_MS);
    assert.ok(first, 'a free key is granted');
    assert.equal(await store.tryAcquire('job', 'b', TTL_MS), undefined, 'a held key is refused to another owner');
    assert.equal(
      await store.tryAcquire('job', 'a', TTL_MS),
      undefined,
      'a held key is refused to its own owner too (no re-entry)',
    );
    assert.ok(await store.tryAcquire('other', 'b', TTL_MS), 'keys are independent');
  },
  'fencing tokens increase strictly across owners and releases': async ({ store }) => {
    const tokens: number[] = [];
    for (const owner of ['a', 'b', 'c']) {
      const grant = await store.tryAcquire('job', owner, TTL_MS);
      assert.ok(grant);
      tokens.push(grant.fencingToken);
      await store.release('job', owner, grant.fencingToken);
    }
    assert.ok(tokens[0]! < tokens[1]! && tokens[1]! < tokens[2]!, `tokens must increase: ${tokens.join(', ')}`);
  },
  'an expired lease can be taken by another owner, with a larger token': async ({ store, advance }) => {
    const first = await store.tryAcquire('job', 'a', TTL_MS);
    assert.ok(first);
    await advance(TTL_MS + 200);
    const second = await store.tryAcquire('job', 'b', TTL_MS);
    assert.ok(second, 'an expired lease is free');
    assert.ok(second.fencingToken > first.fencingToken);
    assert.equal(await store.renew('job', 'a', first.fencingToken, TTL_MS), undefined, 'the old holder cannot renew');
  },
  'renewal extends the lease for its holder only': async ({ store, advance }) => {
    const grant = await store.tryAcquire('job', 'a', TTL_MS);
    assert.ok(grant);
    assert.equal(await store.renew('job', 'b', grant.fencingToken, TTL_MS), undefined, 'another owner cannot renew');
    assert.equal(
      await store.renew('job', 'a', grant.fencingToken + 1, TTL_MS),
      undefined,
      'a wrong token cannot renew',
    );
    await advance(TTL_MS / 2);
    const renewed = await store.renew('job', 'a', grant.fencingToken, TTL_MS);
    assert.ok(renewed, 'the holder renews');
    assert.equal(renewed.fencingToken, grant.fencingToken, 'renewal keeps the token');
    await advance(TTL_MS * 0.75);
    assert.equal(
      await store.tryAcquire('job', 'b', TTL_MS),
      undefined,
      'a renewed lease is still held past its first expiry',
    );
  },
  'release frees the key for its holder only': async ({ store }) => {
    const grant = await store.tryAcquire('job', 'a', TTL_MS);
    assert.ok(grant);
    await store.release('job', 'b', grant.fencingToken);
    assert.equal(await store.tryAcquire('job', 'b', TTL_MS), undefined, 'release by another owner is ignored');
    await store.release('job', 'a', grant.fencingToken + 1);
    assert.equal(await store.tryAcquire('job', 'b', TTL_MS), undefined, 'release with a wrong token is ignored');
    await store.release('job', 'a', grant.fencingToken);
    assert.ok(await store.tryAcquire('job', 'b', TTL_MS), 'release by the holder frees the key');
  },
  'concurrent attempts grant exactly one': async ({ store }) => {
    const owners = Array.from({ length: 20 }, (_, index) => `owner-${index}`);
    const grants = await Promise.all(owners.map((owner) => store.tryAcquire('race', owner, TTL_MS * 10)));
    assert.equal(grants.filter(Boolean).length, 1);
  },
});
