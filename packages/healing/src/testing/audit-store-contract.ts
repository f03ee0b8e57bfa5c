import assert from 'node:assert/strict';
import { defineStoreContract } from '@ops/core/testing';
import type { AuditRecord, AuditStore } from '../audit/audit-store.js';

const record = (overrides: Partial<AuditRecord>): AuditRecord => ({
  at: 1_000,
  kind: 'step.completed',
  rule: 'memory',
  target: 'api-1',
  instanceId: 'healer-1',
  ...overrides,
});

/**
 * The contract every {@link AuditStore} passes (memory, Redis stream, PostgreSQL, yours): records come back as
 * appended (all fields), oldest first, filtered by episode, rule, target and time, the newest `limit`.
 *
 * @example
 * ```ts
 * runStoreContract(auditStoreContract, { name: 'mine', create: () => ({ store: myAudit(), advance: sleep }) }, { describe, it });
 * ```
 */
export const auditStoreContract = defineStoreContract<AuditStore>('AuditStore', {
  'returns what was appended, in order, with ids': async ({ store }) => {
    const full = record({
      episodeId: 'e1',
      decision: 'act',
      reason: 'ok',
      trigger: { value: 0.91, above: 0.85 },
      holder: { owner: 'healer-1', fencingToken: 7 },
      action: { kind: 'function', name: 'clear caches', step: 0, run: 1 },
      result: 'ok',
      detail: 'cleared 3 caches',
      data: { freedBytes: 1024 },
      verify: { passed: true, method: 'condition', detail: 'clear' },
    });
    const first = await store.append(full);
    const second = await store.append(record({ at: 2_000, kind: 'episode.closed', episodeId: 'e1' }));
    assert.notEqual(first, second);
    const listed = await store.list();
    assert.equal(listed.length, 2);
    assert.deepEqual(listed[0], { ...full, id: first });
    assert.equal(listed[1]!.kind, 'episode.closed');
    assert.equal(listed[1]!.id, second);
  },
  'filters by episode, rule, target and since; limit keeps the newest, oldest first': async ({ store }) => {
    for (let index = 0; index < 10; index++) {
      await store.append(
        record({ at: 1_000 + index, episodeId: `e${index % 2}`, rule: index < 5 ? 'a' : 'b', target: `t${index % 3}` }),
      );
    }
    assert.equal((await store.list({ episodeId: 'e0' })).length, 5);
    assert.equal((await store.list({ rule: 'b' })).length, 5);
    assert.deepEqual(
      (await store.list({ target: 't0' })).map((entry) => entry.at),
      [1_000, 1_003, 1_006, 1_009],
    );
    assert.deepEqual(
      (await store.list({ since: 1_007 })).map((entry) => entry.at),
      [1_007, 1_008, 1_009],
    );
    assert.deepEqual(
      (await store.list({ limit: 3 })).map((entry) => entry.at),
      [1_007, 1_008, 1_009],
    );
    assert.deepEqual(
      (await store.list({ rule: 'a', episodeId: 'e1', limit: 1 })).map((entry) => entry.at),
      [1_003],
    );
  },
  'records outside an episode have no episode id': async ({ store }) => {
    await store.append(record({ kind: 'action.skipped', reason: 'paused' }));
    const [entry] = await store.list();
    assert.equal(entry!.episodeId, undefined);
    assert.equal(entry!.reason, 'paused');
  },
});
