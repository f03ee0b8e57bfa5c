import { randomBytes } from 'node:crypto';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIncidentManager, type AlertEvent } from '../../lifecycle/incident-manager.js';
import { createMemoryIncidentStore } from '../memory-incident-store.js';
import { createPostgresIncidentStore } from './postgres-incident-store.js';

let database: PostgresDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'incident_inbox' });
  pool = new pg.Pool({ connectionString: database.connectionString, max: 10 });
  pool.on('error', () => {});
});
afterAll(async () => {
  await pool?.end();
  await database?.dispose();
});

const freshStore = () => createPostgresIncidentStore({ pool, schema: `inbox_${randomBytes(4).toString('hex')}` });

/** 30 keys, each: 3 alerts fire, one resolves; every third key is then resolved, and re-triggered every ninth. */
function storm(): AlertEvent[] {
  const events: AlertEvent[] = [];
  const base = { service: 'checkout', source: 'test', severity: 'P2' } as const;
  for (let round = 0; round < 3; round++) {
    for (let key = 0; key < 30; key++) {
      events.push({ ...base, action: 'trigger', dedupKey: `k${key}`, alertKey: `k${key}/a${round}`, summary: 'x' });
    }
  }
  for (let key = 0; key < 30; key++) {
    events.push({ ...base, action: 'resolve', dedupKey: `k${key}`, alertKey: `k${key}/a0`, summary: 'x' });
    if (key % 3 === 0) events.push({ ...base, action: 'resolve', dedupKey: `k${key}`, summary: 'x' });
    if (key % 9 === 0) events.push({ ...base, action: 'trigger', dedupKey: `k${key}`, summary: 'again' });
  }
  return events;
}

/** What the incidents look like, comparable across stores. */
async function outcome(manager: ReturnType<typeof createIncidentManager>) {
  const list = await manager.list({ limit: 1000 });
  return list
    .map((incident) => `${incident.dedupKey} ${incident.status} ${incident.occurrences}`)
    .sort()
    .join('\n');
}

describe('inbox mode on PostgreSQL', () => {
  it('queues durably, then applies in arrival order: the same incidents as applying each event at once', async () => {
    const events = storm();
    const reference = createIncidentManager({ store: createMemoryIncidentStore(), autoStart: false });
    for (const event of events) await reference.ingest(event);

    const store = freshStore();
    const incidents = createIncidentManager({ store, autoStart: false, inbox: { batchSize: 40 } });
    // 8 senders at once, each in arrival order of its share: the inbox keeps the order they were queued in.
    const results = [];
    for (let index = 0; index < events.length; index += 8)
      results.push(...(await Promise.all(events.slice(index, index + 8).map((event) => incidents.ingest(event)))));
    expect(new Set(results.map((result) => result.action))).toEqual(new Set(['queued']));
    await incidents.drainInbox();
    expect(await store.inboxSize?.()).toBe(0);
    expect(await outcome(incidents)).toBe(await outcome(reference));
    await incidents.close();
    await reference.close();
  });

  it('a transaction that fails leaves what it took in the inbox; one taker at a time', async () => {
    const store = freshStore();
    await store.migrate();
    await store.enqueueInbox?.([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await expect(
      store.transaction(async (transaction) => {
        expect(await transaction.takeInbox?.(2)).toEqual([{ n: 1 }, { n: 2 }]);
        throw new Error('crash while applying');
      }),
    ).rejects.toThrow(/crash while applying/);
    expect(await store.inboxSize?.()).toBe(3);

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const holds = new Promise<void>((resolve) => (holding = resolve));
    const first = store.transaction(async (transaction) => {
      const taken = await transaction.takeInbox?.(1);
      holding();
      await held;
      return taken;
    });
    await holds;
    const second = await store.transaction(async (transaction) => transaction.takeInbox?.(10));
    expect(second, 'the inbox is held by the first transaction').toBeUndefined();
    release();
    expect(await first).toEqual([{ n: 1 }]);
    expect(await store.transaction(async (transaction) => transaction.takeInbox?.(10))).toEqual([{ n: 2 }, { n: 3 }]);
    expect(await store.inboxSize?.()).toBe(0);
  });
});
