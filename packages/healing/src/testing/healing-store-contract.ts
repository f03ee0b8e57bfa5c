import assert from 'node:assert/strict';
import { defineStoreContract } from '@ops/core/testing';
import { emptyRailState, railKey, type HealingStateStore } from '../stores/healing-state-store.js';

const TTL_MS = 400;

/**
 * The contract every {@link HealingStateStore} passes (in memory, Redis, yours): exclusive locks with strictly
 * increasing fencing tokens, renewal and release by the holder only, expiry; the disruption budget taken
 * atomically with the lock (never more than `max` of a scope, also under a race); fenced state writes (a stale
 * holder is refused); state, pause and report expiry.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { runStoreContract } from '@ops/core/testing';
 * import { healingStoreContract } from '@ops/healing/testing';
 * runStoreContract(healingStoreContract, { name: 'mine', create: () => ({ store: myStore(), advance: sleep }) }, { describe, it });
 * ```
 */
export const healingStoreContract = defineStoreContract<HealingStateStore>('HealingStateStore', {
  'grants a free lock, refuses it to others while held, and tokens increase across holders': async ({ store }) => {
    const key = railKey('rule', 'a');
    const first = await store.acquire({ key, owner: 'one', ttlMs: TTL_MS });
    assert.ok(first.granted, 'a free key is granted');
    const second = await store.acquire({ key, owner: 'two', ttlMs: TTL_MS });
    assert.deepEqual(second, { granted: false, reason: 'held', holder: 'one' });
    await store.release(key, 'one', first.fencingToken);
    const third = await store.acquire({ key, owner: 'two', ttlMs: TTL_MS });
    assert.ok(third.granted);
    assert.ok(third.fencingToken > first.fencingToken, 'tokens increase');
    assert.ok(
      (await store.acquire({ key: railKey('rule', 'b'), owner: 'two', ttlMs: TTL_MS })).granted,
      'keys independent',
    );
  },
  'an expired lock goes to another owner with a larger token; the old holder can neither renew nor release it': async ({
    store,
    advance,
  }) => {
    const key = railKey('rule', 'a');
    const first = await store.acquire({ key, owner: 'one', ttlMs: TTL_MS });
    assert.ok(first.granted);
    await advance(TTL_MS + 200);
    const second = await store.acquire({ key, owner: 'two', ttlMs: TTL_MS * 5 });
    assert.ok(second.granted, 'an expired lock is free');
    assert.ok(second.fencingToken > first.fencingToken);
    assert.equal(await store.renew(key, 'one', first.fencingToken, TTL_MS), undefined, 'the stale holder cannot renew');
    await store.release(key, 'one', first.fencingToken);
    assert.equal((await store.acquire({ key, owner: 'three', ttlMs: TTL_MS })).granted, false, 'nor release');
    assert.equal(await store.checkFence(key, first.fencingToken), false, 'the stale token is not current');
    assert.equal(await store.checkFence(key, second.fencingToken), true);
  },
  'renewal extends the lease for its holder only': async ({ store, advance }) => {
    const key = railKey('rule', 'a');
    const grant = await store.acquire({ key, owner: 'one', ttlMs: TTL_MS });
    assert.ok(grant.granted);
    assert.equal(await store.renew(key, 'two', grant.fencingToken, TTL_MS), undefined);
    assert.equal(await store.renew(key, 'one', grant.fencingToken + 1, TTL_MS), undefined);
    await advance(TTL_MS / 2);
    const renewed = await store.renew(key, 'one', grant.fencingToken, TTL_MS);
    assert.ok(renewed);
    assert.equal(renewed.fencingToken, grant.fencingToken);
    await advance(TTL_MS * 0.75);
    assert.equal((await store.acquire({ key, owner: 'two', ttlMs: TTL_MS })).granted, false, 'still held');
  },
  'the disruption budget caps locks of a scope, is freed by release and by expiry, and scopes are independent': async ({
    store,
    advance,
  }) => {
    const budget = { scope: 'fleet', max: 2 };
    const a = await store.acquire({ key: railKey('r', 'a'), owner: 'x', ttlMs: TTL_MS, budget });
    const b = await store.acquire({ key: railKey('r', 'b'), owner: 'y', ttlMs: TTL_MS * 10, budget });
    assert.ok(a.granted && b.granted);
    const c = await store.acquire({ key: railKey('r', 'c'), owner: 'z', ttlMs: TTL_MS, budget });
    assert.deepEqual(c, { granted: false, reason: 'budget', inRemediation: 2 });
    assert.equal(await store.inRemediation('fleet'), 2);
    assert.ok(
      (await store.acquire({ key: railKey('r', 'c'), owner: 'z', ttlMs: TTL_MS, budget: { scope: 'other', max: 1 } }))
        .granted,
      'another scope has its own budget',
    );
    await store.release(railKey('r', 'b'), 'y', b.fencingToken);
    const d = await store.acquire({ key: railKey('r', 'd'), owner: 'z', ttlMs: TTL_MS * 10, budget });
    assert.ok(d.granted, 'release frees a slot');
    await advance(TTL_MS + 200);
    const e = await store.acquire({ key: railKey('r', 'e'), owner: 'z', ttlMs: TTL_MS * 10, budget });
    assert.ok(e.granted, 'an expired lock frees its slot');
    assert.equal(await store.inRemediation('fleet'), 2);
    const denied = await store.acquire({ key: railKey('r', 'f'), owner: 'z', ttlMs: TTL_MS, budget });
    assert.equal(denied.granted, false);
  },
  'concurrent acquisitions of many keys never exceed the budget (lock and budget are one atomic step)': async ({
    store,
  }) => {
    const budget = { scope: 'race', max: 2 };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        store.acquire({ key: railKey('r', `t${index}`), owner: `o${index}`, ttlMs: TTL_MS * 20, budget }),
      ),
    );
    assert.equal(results.filter((result) => result.granted).length, 2);
    const same = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        store.acquire({ key: railKey('r', 'same'), owner: `o${index}`, ttlMs: TTL_MS * 20 }),
      ),
    );
    assert.equal(same.filter((result) => result.granted).length, 1, 'one holder per key');
  },
  'state writes are fenced: a stale holder is refused once a newer token exists': async ({ store, advance }) => {
    const key = railKey('rule', 'a');
    assert.equal(await store.getState(key), undefined);
    const first = await store.acquire({ key, owner: 'one', ttlMs: TTL_MS });
    assert.ok(first.granted);
    const state = { ...emptyRailState(), backoffLevel: 1, attempts: [1, 2], lastActionAt: 2 };
    assert.equal(await store.putState(key, state, { fencingToken: first.fencingToken, ttlMs: 60_000 }), true);
    assert.deepEqual(await store.getState(key), state);
    await advance(TTL_MS + 200);
    const second = await store.acquire({ key, owner: 'two', ttlMs: TTL_MS });
    assert.ok(second.granted);
    const stale = { ...state, backoffLevel: 99 };
    assert.equal(await store.putState(key, stale, { fencingToken: first.fencingToken, ttlMs: 60_000 }), false);
    assert.equal((await store.getState(key))?.backoffLevel, 1, 'the stale write changed nothing');
    assert.equal(await store.putState(key, stale, { fencingToken: second.fencingToken, ttlMs: 60_000 }), true);
  },
  'state expires after its TTL': async ({ store, advance }) => {
    const key = railKey('rule', 'a');
    const grant = await store.acquire({ key, owner: 'one', ttlMs: TTL_MS });
    assert.ok(grant.granted);
    await store.putState(key, emptyRailState(), { fencingToken: grant.fencingToken, ttlMs: TTL_MS });
    assert.ok(await store.getState(key));
    await advance(TTL_MS + 200);
    assert.equal(await store.getState(key), undefined);
  },
  'pauses are listed until resumed or expired': async ({ store }) => {
    await store.pause({ at: 1, reason: 'maintenance', by: 'ops' });
    await store.pause({ rule: 'r', target: 't', at: 2 });
    await store.pause({ rule: 'old', at: 3, until: 10 });
    const listed = await store.listPauses();
    assert.deepEqual(
      listed.map((entry) => entry.rule ?? '*').sort(),
      ['*', 'r'],
      'an expired pause is not listed (until in the past)',
    );
    assert.equal(await store.resume({ rule: 'r', target: 't' }), true);
    assert.equal(await store.resume({ rule: 'r', target: 't' }), false);
    assert.deepEqual(await store.listPauses(), [{ at: 1, reason: 'maintenance', by: 'ops' }]);
  },
  'instance reports count live reporters and the ones showing the condition': async ({ store, advance }) => {
    assert.deepEqual(await store.report('rule', 'i1', true, TTL_MS), { active: 1, total: 1 });
    assert.deepEqual(await store.report('rule', 'i2', false, TTL_MS * 10), { active: 1, total: 2 });
    assert.deepEqual(await store.report('rule', 'i3', true, TTL_MS * 10), { active: 2, total: 3 });
    assert.deepEqual(await store.report('rule', 'i3', false, TTL_MS * 10), { active: 1, total: 3 });
    await advance(TTL_MS + 200);
    assert.deepEqual(await store.report('rule', 'i2', false, TTL_MS * 10), { active: 0, total: 2 }, 'i1 expired');
    assert.deepEqual(await store.report('other', 'i1', true, TTL_MS), { active: 1, total: 1 }, 'groups independent');
  },
});
