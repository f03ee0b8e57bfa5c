import { describe, expect, it } from 'vitest';
import { createMemoryIncidentStore } from '../stores/memory-incident-store.js';
import type { IncidentStore } from '../stores/incident-store.js';
import { createIncidentManager, type AlertEvent } from './incident-manager.js';

const event = (dedupKey: string, action: AlertEvent['action'] = 'trigger', alertKey = dedupKey): AlertEvent => ({
  action,
  service: 'checkout',
  dedupKey,
  alertKey,
  summary: `${action} ${alertKey}`,
  source: 'test',
  severity: 'P2',
});

describe('inbox mode (memory store)', () => {
  it('answers queued, applies nothing until drained, then applies in arrival order', async () => {
    const store = createMemoryIncidentStore();
    const incidents = createIncidentManager({ store, autoStart: false, inbox: { batchSize: 3 } });
    const results = await Promise.all([
      incidents.ingest(event('a')),
      incidents.ingestBatch([event('a', 'trigger', 'a/2'), event('b')]),
      incidents.ingest(event('a', 'resolve')),
      incidents.ingest(event('c')),
    ]);
    expect(results.flat().map((result) => result.action)).toEqual(['queued', 'queued', 'queued', 'queued', 'queued']);
    // Applied in the background after the enqueue; drainInbox waits for it and for anything left.
    await incidents.drainInbox();
    expect(await store.inboxSize?.()).toBe(0);
    const [c, b, a] = await incidents.list({ limit: 10 });
    expect(a).toMatchObject({ dedupKey: 'a', status: 'resolved', occurrences: 2 });
    expect(b).toMatchObject({ dedupKey: 'b', status: 'triggered', occurrences: 1 });
    expect(c).toMatchObject({ dedupKey: 'c', status: 'triggered' });
    expect((await incidents.alerts(a!.id)).map((alert) => alert.alertKey).sort()).toEqual(['a', 'a/2']);
    await incidents.close();
  });

  it('leaves a batch in the inbox when applying it fails, and applies it later', async () => {
    const store = createMemoryIncidentStore();
    let failures = 1;
    const failingOnce: IncidentStore = {
      ...store,
      transaction: (work) =>
        store.transaction(async (transaction) => {
          const result = await work(transaction);
          if (failures-- > 0) throw new Error('lost the database');
          return result;
        }),
    };
    const incidents = createIncidentManager({ store: failingOnce, autoStart: false, inbox: true });
    await incidents.ingest(event('x'));
    await incidents.drainInbox(); // the first attempt fails (logged), its events stay queued
    expect(await incidents.list()).toHaveLength(0);
    expect(await store.inboxSize?.()).toBe(1);
    expect(await incidents.drainInbox()).toBe(1);
    expect(await incidents.list()).toMatchObject([{ dedupKey: 'x', status: 'triggered' }]);
    await incidents.close();
  });

  it('classifies a queued event whose severity the current policy does not have, instead of stalling on it', async () => {
    const store = createMemoryIncidentStore();
    // Queued by a replica running the default policy (P0–P3), applied by one whose levels are SEV1–SEV2.
    await store.enqueueInbox?.([event('old'), { ...event('next'), severity: undefined }]);
    const incidents = createIncidentManager({
      store,
      autoStart: false,
      inbox: true,
      severityPolicy: {
        levels: [
          { name: 'SEV1', route: 'page' },
          { name: 'SEV2', route: 'ticket' },
        ],
      },
    });
    expect(await incidents.drainInbox()).toBe(2);
    const list = await incidents.list();
    expect(list.map((incident) => incident.dedupKey).sort()).toEqual(['next', 'old']);
    expect(new Set(list.map((incident) => incident.severity))).toEqual(new Set(['SEV2']));
    await incidents.close();
  });

  it('refuses a bad batch size and a store without an inbox, naming the option', () => {
    expect(() => createIncidentManager({ autoStart: false, inbox: { batchSize: 0 } })).toThrow(
      /inbox\.batchSize must be an integer from 1 to 10000, got 0/,
    );
    const store = createMemoryIncidentStore();
    const { enqueueInbox, ...withoutInbox } = store;
    expect(enqueueInbox).toBeTypeOf('function');
    expect(() => createIncidentManager({ store: withoutInbox, autoStart: false, inbox: true })).toThrow(
      /inbox mode needs a store with an inbox/,
    );
  });
});
