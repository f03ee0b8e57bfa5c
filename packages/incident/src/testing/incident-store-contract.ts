import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { defineStoreContract } from '@ops/core/testing';
import { IncidentError } from '../errors.js';
import type { Incident, IncidentAlert, NewTimelineEvent, NotificationRecord } from '../model/records.js';
import type { IncidentStore } from '../stores/incident-store.js';

const T0 = Date.UTC(2026, 0, 13, 10, 0, 0);

/** A complete incident record for store tests; `overrides` replace fields. */
export function sampleIncident(overrides: Partial<Incident> = {}): Incident {
  const id = overrides.id ?? `INC-2026-0113-${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  return {
    id,
    number: 1,
    service: 'checkout',
    title: 'Checkout errors above 90%',
    summary: 'Error ratio 0.93 for 3 minutes',
    dedupKey: 'checkout-errors',
    status: 'triggered',
    severity: 'P0',
    urgency: 'high',
    source: 'sdk',
    labels: { service: 'checkout' },
    triggeredAt: T0,
    lastStatusChangeAt: T0,
    lastSeenAt: T0,
    occurrences: 1,
    reopenCount: 0,
    escalation: { level: -1, loop: 0, exhausted: false },
    roles: { responders: [] },
    components: [],
    actionItems: [],
    version: 1,
    ...overrides,
  };
}

function sampleAlert(incidentId: string, alertKey: string, overrides: Partial<IncidentAlert> = {}): IncidentAlert {
  return {
    id: randomUUID(),
    incidentId,
    source: 'alertmanager',
    dedupKey: 'checkout-errors',
    alertKey,
    status: 'firing',
    severity: 'P0',
    summary: 'errors',
    labels: { alertname: 'HighErrorRate', instance: alertKey },
    annotations: {},
    startsAt: T0,
    receivedAt: T0,
    lastSeenAt: T0,
    occurrences: 1,
    ...overrides,
  };
}

function notification(
  incidentId: string,
  index: number,
  overrides: Partial<NotificationRecord> = {},
): NotificationRecord {
  return {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    incidentId,
    target: 'slack',
    event: 'incident.triggered',
    payload: { event: 'incident.triggered', incident: sampleIncident({ id: incidentId }), at: T0 },
    status: 'pending',
    attempts: 0,
    nextAttemptAt: T0 + index,
    createdAt: T0 + index,
    ...overrides,
  };
}

function note(
  incidentId: string,
  at: number,
  description: string,
  visibility: 'internal' | 'public' = 'internal',
): NewTimelineEvent {
  return {
    id: randomUUID(),
    incidentId,
    at,
    kind: 'note',
    actor: { type: 'user', id: 'alice' },
    description,
    visibility,
  };
}

async function rejectsWithCode(promise: Promise<unknown>, code: string, message: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(
      IncidentError.hasCode(error, code as never),
      `${message}: expected IncidentError ${code}, got ${String(error)}`,
    );
    return true;
  });
}

/**
 * The contract every {@link IncidentStore} passes (in memory, PostgreSQL, yours): atomic transactions, one open
 * incident per (service, dedup key) also under concurrency, numbering, an append-only timeline, alert upserts and
 * moves, postmortems, and timers that two claimants never share.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { runStoreContract } from '@ops/core/testing';
 * import { incidentStoreContract } from '@ops/incident/testing';
 * runStoreContract(incidentStoreContract, { name: 'mine', create: () => ({ store: createMyStore(), advance: async () => {} }) }, { describe, it });
 * ```
 */
export const incidentStoreContract = defineStoreContract<IncidentStore>('IncidentStore', {
  'stores an incident and reads it back exactly': async ({ store }) => {
    const incident = sampleIncident({
      id: 'INC-2026-0113-001',
      acknowledgedAt: T0 + 1,
      impactStartedAt: T0 - 60_000,
      roles: { commander: 'alice', responders: ['bob', 'carol'] },
      components: [{ id: 'api', status: 'major_outage' }],
      actionItems: [
        { id: 'a1', title: 'Add a replica', priority: 'high', status: 'open', createdAt: T0, dueAt: T0 + 86_400_000 },
      ],
      escalation: { policyId: 'default', level: 1, loop: 0, nextAt: T0 + 300_000, exhausted: false },
      labels: { service: 'checkout', region: 'eu-1', 'a.b/c': 'ünïcode ✓' },
    });
    await store.transaction(async (transaction) => transaction.insertIncident(incident));
    assert.deepEqual(await store.getIncident(incident.id), incident);
    assert.equal(await store.getIncident('INC-2026-0113-999'), undefined);
    await store.transaction(async (transaction) => {
      const loaded = await transaction.getIncident(incident.id);
      assert.ok(loaded);
      loaded.status = 'resolved';
      loaded.resolvedAt = T0 + 10;
      loaded.resolveReason = 'user';
      delete loaded.acknowledgedAt;
      loaded.version = 2;
      await transaction.updateIncident(loaded);
    });
    const updated = await store.getIncident(incident.id);
    assert.equal(updated?.status, 'resolved');
    assert.equal(updated?.resolveReason, 'user');
    assert.equal(updated?.acknowledgedAt, undefined, 'a removed optional field is removed');
    assert.equal(updated?.version, 2);
    // Replaced without being read in the transaction first: every field is written.
    const replacement = { ...incident, title: 'Replaced', occurrences: 7, labels: { only: 'this' }, version: 3 };
    await store.transaction(async (transaction) => transaction.updateIncident(replacement));
    assert.deepEqual(await store.getIncident(incident.id), replacement);
    await assert.rejects(
      store.transaction(async (transaction) => transaction.updateIncident({ ...replacement, id: 'INC-2026-0113-404' })),
      'an incident that does not exist is not updated silently',
    );
  },

  'a transaction that throws stores nothing': async ({ store }) => {
    const incident = sampleIncident({ id: 'INC-2026-0113-001' });
    await assert.rejects(
      store.transaction(async (transaction) => {
        const { number } = await transaction.nextIncidentNumber('2026-0113');
        assert.equal(number, 1);
        await transaction.insertIncident(incident);
        await transaction.upsertAlert(sampleAlert(incident.id, 'a'));
        await transaction.appendTimeline([note(incident.id, T0, 'first')]);
        await transaction.setTimer({ incidentId: incident.id, kind: 'ack_target', dueAt: T0, data: {} });
        await transaction.savePostmortem({
          incidentId: incident.id,
          status: 'draft',
          sections: [],
          actionItems: [],
          createdAt: T0,
          updatedAt: T0,
        });
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await store.getIncident(incident.id), undefined);
    assert.deepEqual(await store.listIncidents(), []);
    assert.deepEqual(await store.listTimeline(incident.id), []);
    assert.deepEqual(await store.listAlerts(incident.id), []);
    assert.deepEqual(await store.listTimers(), []);
    assert.equal(await store.getPostmortem(incident.id), undefined);
    const numbers = await store.transaction((transaction) => transaction.nextIncidentNumber('2026-0113'));
    assert.deepEqual(numbers, { number: 1, daySequence: 1 }, 'numbers taken by a rolled-back transaction are reused');
  },

  'allows one open incident per (service, dedup key)': async ({ store }) => {
    await store.transaction((transaction) => transaction.insertIncident(sampleIncident({ id: 'INC-1' })));
    await rejectsWithCode(
      store.transaction((transaction) =>
        transaction.insertIncident(sampleIncident({ id: 'INC-2', status: 'acknowledged' })),
      ),
      'STORE_CONFLICT',
      'a second open incident for the key',
    );
    await store.transaction(async (transaction) => {
      await transaction.insertIncident(sampleIncident({ id: 'INC-3', status: 'resolved', resolvedAt: T0 }));
      await transaction.insertIncident(sampleIncident({ id: 'INC-4', status: 'closed', resolvedAt: T0, closedAt: T0 }));
      await transaction.insertIncident(sampleIncident({ id: 'INC-5', service: 'search' }));
      await transaction.insertIncident(sampleIncident({ id: 'INC-6', dedupKey: 'other' }));
    });
    await rejectsWithCode(
      store.transaction(async (transaction) => {
        const resolved = await transaction.getIncident('INC-3');
        assert.ok(resolved);
        await transaction.updateIncident({ ...resolved, status: 'triggered' });
      }),
      'STORE_CONFLICT',
      'reopening while another is open for the key',
    );
    await rejectsWithCode(
      store.transaction((transaction) => transaction.insertIncident(sampleIncident({ id: 'INC-1', dedupKey: 'x' }))),
      'STORE_CONFLICT',
      'a taken id',
    );
    await store.transaction(async (transaction) => {
      const open = await transaction.getIncident('INC-1');
      assert.ok(open);
      await transaction.updateIncident({ ...open, status: 'resolved', resolvedAt: T0 + 1 });
      const resolved = await transaction.getIncident('INC-3');
      assert.ok(resolved);
      await transaction.updateIncident({ ...resolved, status: 'triggered' });
    });
    const found = await store.transaction((transaction) => transaction.findOpenIncident('checkout', 'checkout-errors'));
    assert.equal(found?.id, 'INC-3', 'after the first resolved, the other may reopen');
  },

  'in one transaction, a resolve frees the key for a reopen written after it (same columns changed)': async ({
    store,
  }) => {
    // The resolved one first on disk, the open one second: a store that wrote both updates as one statement would
    // let the database reopen the first before it resolved the second, and refuse the transaction.
    await store.transaction(async (transaction) => {
      await transaction.insertIncident(sampleIncident({ id: 'INC-A', status: 'resolved', resolvedAt: T0 }));
      await transaction.insertIncident(sampleIncident({ id: 'INC-B' }));
    });
    await store.transaction(async (transaction) => {
      const open = await transaction.getIncident('INC-B');
      const resolved = await transaction.getIncident('INC-A');
      assert.ok(open && resolved);
      await transaction.updateIncident({ ...open, status: 'resolved' });
      await transaction.updateIncident({ ...resolved, status: 'triggered' });
    });
    const found = await store.transaction((transaction) => transaction.findOpenIncident('checkout', 'checkout-errors'));
    assert.equal(found?.id, 'INC-A');
    assert.equal((await store.getIncident('INC-B'))?.status, 'resolved');
  },

  'concurrent find-or-create under lockDedupKey yields exactly one incident': async ({ store }) => {
    const attempts = Array.from({ length: 12 }, (_, index) =>
      store.transaction(async (transaction) => {
        await transaction.lockDedupKey('checkout', 'race');
        const open = await transaction.findOpenIncident('checkout', 'race');
        if (open) {
          await transaction.updateIncident({ ...open, occurrences: open.occurrences + 1, version: open.version + 1 });
          return 'appended';
        }
        const { daySequence } = await transaction.nextIncidentNumber('2026-0113');
        await transaction.insertIncident(
          sampleIncident({
            id: `INC-2026-0113-${String(daySequence).padStart(3, '0')}`,
            dedupKey: 'race',
            number: index,
          }),
        );
        return 'created';
      }),
    );
    const outcomes = await Promise.all(attempts);
    assert.equal(outcomes.filter((outcome) => outcome === 'created').length, 1);
    const incidents = await store.listIncidents({ service: 'checkout' });
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0]!.occurrences, 12);
  },

  'without the lock, the second concurrent insert is refused as a conflict': async ({ store }) => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, index) =>
        store.transaction((transaction) =>
          transaction.insertIncident(sampleIncident({ id: `INC-R-${index}`, dedupKey: 'unlocked' })),
        ),
      ),
    );
    assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    for (const result of results) {
      if (result.status === 'rejected')
        assert.ok(IncidentError.hasCode(result.reason, 'STORE_CONFLICT'), String(result.reason));
    }
  },

  'numbers incidents per store and per day': async ({ store }) => {
    const taken = [];
    for (const day of ['2026-0113', '2026-0113', '2026-0114', '2026-0113'])
      taken.push(await store.transaction((transaction) => transaction.nextIncidentNumber(day)));
    assert.deepEqual(taken, [
      { number: 1, daySequence: 1 },
      { number: 2, daySequence: 2 },
      { number: 3, daySequence: 1 },
      { number: 4, daySequence: 3 },
    ]);
  },

  'finds the open and the latest incident of a key': async ({ store }) => {
    await store.transaction(async (transaction) => {
      await transaction.insertIncident(
        sampleIncident({ id: 'INC-A', status: 'resolved', triggeredAt: T0, resolvedAt: T0 + 5 }),
      );
      await transaction.insertIncident(
        sampleIncident({ id: 'INC-B', status: 'resolved', triggeredAt: T0 + 10, resolvedAt: T0 + 20, number: 2 }),
      );
    });
    await store.transaction(async (transaction) => {
      assert.equal(await transaction.findOpenIncident('checkout', 'checkout-errors'), undefined);
      assert.equal((await transaction.findLatestIncident('checkout', 'checkout-errors'))?.id, 'INC-B');
      assert.equal(await transaction.findLatestIncident('checkout', 'nothing'), undefined);
    });
  },

  'lists incidents newest first with filters': async ({ store }) => {
    await store.transaction(async (transaction) => {
      await transaction.insertIncident(sampleIncident({ id: 'INC-1', dedupKey: 'a', triggeredAt: T0, severity: 'P0' }));
      await transaction.insertIncident(
        sampleIncident({ id: 'INC-2', dedupKey: 'b', triggeredAt: T0 + 1000, severity: 'P2', status: 'acknowledged' }),
      );
      await transaction.insertIncident(
        sampleIncident({ id: 'INC-3', dedupKey: 'c', triggeredAt: T0 + 2000, status: 'resolved', service: 'search' }),
      );
      await transaction.insertIncident(
        sampleIncident({ id: 'INC-4', dedupKey: 'd', triggeredAt: T0 + 3000, status: 'closed' }),
      );
    });
    const ids = async (query: Parameters<IncidentStore['listIncidents']>[0]) =>
      (await store.listIncidents(query)).map((incident) => incident.id);
    assert.deepEqual(await ids({}), ['INC-4', 'INC-3', 'INC-2', 'INC-1']);
    assert.deepEqual(await ids({ open: true }), ['INC-2', 'INC-1']);
    assert.deepEqual(await ids({ open: false }), ['INC-4', 'INC-3']);
    assert.deepEqual(await ids({ status: ['acknowledged', 'closed'] }), ['INC-4', 'INC-2']);
    assert.deepEqual(await ids({ service: 'search' }), ['INC-3']);
    assert.deepEqual(await ids({ severity: ['P2'] }), ['INC-2']);
    assert.deepEqual(await ids({ since: T0 + 1000, until: T0 + 3000 }), ['INC-3', 'INC-2']);
    assert.deepEqual(await ids({ limit: 2 }), ['INC-4', 'INC-3']);
    await rejectsWithCode(store.listIncidents({ limit: 0 }), 'ARGUMENT_INVALID', 'limit 0');
  },

  'keeps the timeline append-only, in order, filtered by visibility': async ({ store }) => {
    await store.transaction((transaction) => transaction.insertIncident(sampleIncident({ id: 'INC-1' })));
    const first = await store.transaction((transaction) =>
      transaction.appendTimeline([note('INC-1', T0, 'one'), note('INC-1', T0, 'two', 'public')]),
    );
    const second = await store.transaction((transaction) =>
      transaction.appendTimeline([
        {
          ...note('INC-1', T0 - 5, 'three (earlier clock)'),
          kind: 'status_update',
          details: { statuspageStatus: 'identified' },
          pinned: true,
          endedAt: T0,
        },
      ]),
    );
    assert.ok(
      first[0]!.sequence < first[1]!.sequence && first[1]!.sequence < second[0]!.sequence,
      'sequence grows with each append',
    );
    const all = await store.listTimeline('INC-1');
    assert.deepEqual(
      all.map((event) => event.description),
      ['one', 'two', 'three (earlier clock)'],
      'append order, not clock order',
    );
    assert.deepEqual(all[2], second[0]);
    assert.deepEqual(all[2]!.details, { statuspageStatus: 'identified' });
    assert.deepEqual(
      (await store.listTimeline('INC-1', { visibility: 'public' })).map((event) => event.description),
      ['two'],
    );
    assert.deepEqual(await store.listTimeline('INC-other'), []);
  },

  'upserts alerts per (incident, alert key) and moves them on merge': async ({ store }) => {
    await store.transaction(async (transaction) => {
      await transaction.insertIncident(sampleIncident({ id: 'INC-1' }));
      await transaction.insertIncident(sampleIncident({ id: 'INC-2', dedupKey: 'other' }));
      await transaction.upsertAlert(
        sampleAlert('INC-1', 'fp-1', {
          raw: { nested: [1, 2, { x: 'y' }] },
          fingerprint: 'fp-1',
          generatorUrl: 'http://prometheus/graph',
        }),
      );
      await transaction.upsertAlert(sampleAlert('INC-1', 'fp-2'));
      await transaction.upsertAlert(sampleAlert('INC-2', 'fp-2'));
      await transaction.upsertAlert(sampleAlert('INC-2', 'fp-3'));
    });
    await store.transaction(async (transaction) => {
      const alert = await transaction.getAlert('INC-1', 'fp-1');
      assert.ok(alert);
      assert.deepEqual(alert.raw, { nested: [1, 2, { x: 'y' }] });
      await transaction.upsertAlert({ ...alert, status: 'resolved', endsAt: T0 + 60_000, occurrences: 3 });
    });
    const alerts = await store.listAlerts('INC-1');
    assert.equal(alerts.length, 2);
    const fp1 = alerts.find((alert) => alert.alertKey === 'fp-1');
    assert.equal(fp1?.status, 'resolved');
    assert.equal(fp1?.occurrences, 3);
    assert.equal(fp1?.endsAt, T0 + 60_000);
    const moved = await store.transaction((transaction) => transaction.moveAlerts('INC-2', 'INC-1'));
    assert.equal(moved, 1, 'fp-2 already exists on the target and stays where it was');
    assert.deepEqual((await store.listAlerts('INC-1')).map((alert) => alert.alertKey).sort(), ['fp-1', 'fp-2', 'fp-3']);
    assert.deepEqual(
      (await store.listAlerts('INC-2')).map((alert) => alert.alertKey),
      ['fp-2'],
    );
  },

  'saves and reads postmortems': async ({ store }) => {
    await store.transaction((transaction) => transaction.insertIncident(sampleIncident({ id: 'INC-1' })));
    const postmortem = {
      incidentId: 'INC-1',
      status: 'draft' as const,
      sections: [{ title: 'Summary', required: true, body: 'The database failed over.' }],
      actionItems: [
        { id: 'x', title: 'Alert on replica lag', priority: 'medium' as const, status: 'open' as const, createdAt: T0 },
      ],
      createdAt: T0,
      updatedAt: T0,
    };
    await store.transaction((transaction) => transaction.savePostmortem(postmortem));
    assert.deepEqual(await store.getPostmortem('INC-1'), postmortem);
    await store.transaction((transaction) =>
      transaction.savePostmortem({ ...postmortem, status: 'published', publishedAt: T0 + 1, updatedAt: T0 + 1 }),
    );
    assert.equal((await store.getPostmortem('INC-1'))?.status, 'published');
  },

  'timers: one per (incident, kind); claims lease them to one owner': async ({ store }) => {
    await store.transaction(async (transaction) => {
      await transaction.insertIncident(sampleIncident({ id: 'INC-1' }));
      await transaction.setTimer({ incidentId: 'INC-1', kind: 'ack_target', dueAt: T0 + 100, data: { level: 0 } });
      await transaction.setTimer({ incidentId: 'INC-1', kind: 'ack_target', dueAt: T0 + 200, data: { level: 1 } });
      await transaction.setTimer({ incidentId: 'INC-1', kind: 'escalation', dueAt: T0 + 50, data: {} });
    });
    assert.deepEqual(
      (await store.listTimers('INC-1')).map((timer) => [timer.kind, timer.dueAt, timer.data]),
      [
        ['escalation', T0 + 50, {}],
        ['ack_target', T0 + 200, { level: 1 }],
      ],
    );
    assert.equal(await store.nextTimerDueAt(), T0 + 50);
    assert.deepEqual(
      await store.claimDueTimers({ now: T0 + 10, owner: 'a', leaseMs: 1000, limit: 10 }),
      [],
      'nothing is due yet',
    );
    const claimed = await store.claimDueTimers({ now: T0 + 250, owner: 'a', leaseMs: 1000, limit: 1 });
    assert.deepEqual(
      claimed.map((timer) => [timer.kind, timer.claimedBy, timer.claimedUntil]),
      [['escalation', 'a', T0 + 1250]],
      'oldest first, limit honoured',
    );
    const other = await store.claimDueTimers({ now: T0 + 300, owner: 'b', leaseMs: 1000, limit: 10 });
    assert.deepEqual(
      other.map((timer) => timer.kind),
      ['ack_target'],
      'a claimed timer is not handed out again while its lease holds',
    );
    const lapsed = await store.claimDueTimers({ now: T0 + 1250, owner: 'c', leaseMs: 1000, limit: 10 });
    assert.deepEqual(
      lapsed.map((timer) => [timer.kind, timer.claimedBy]),
      [['escalation', 'c']],
      'a lapsed claim can be taken by another owner',
    );
    assert.equal(
      await store.transaction((transaction) => transaction.deleteTimer('INC-1', 'escalation', 'a')),
      false,
      'the old owner cannot delete it',
    );
    await store.transaction(async (transaction) => {
      const timer = await transaction.getTimer('INC-1', 'escalation');
      assert.equal(timer?.claimedBy, 'c');
    });
    assert.equal(await store.transaction((transaction) => transaction.deleteTimer('INC-1', 'escalation', 'c')), true);
    await store.transaction((transaction) =>
      transaction.setTimer({ incidentId: 'INC-1', kind: 'ack_target', dueAt: T0 + 5000, data: {} }),
    );
    const reset = await store.listTimers('INC-1');
    assert.deepEqual(
      reset.map((timer) => [timer.kind, timer.claimedBy]),
      [['ack_target', undefined]],
      'setTimer frees the claim',
    );
    await store.transaction((transaction) => transaction.deleteTimers('INC-1'));
    assert.deepEqual(await store.listTimers(), []);
    assert.equal(await store.nextTimerDueAt(), undefined);
  },

  'concurrent claimants never share a timer': async ({ store }) => {
    await store.transaction(async (transaction) => {
      for (let index = 0; index < 40; index++) {
        await transaction.insertIncident(sampleIncident({ id: `INC-${index}`, dedupKey: `k${index}` }));
        await transaction.setTimer({
          incidentId: `INC-${index}`,
          kind: 'escalation',
          dueAt: T0 + index,
          data: { index },
        });
      }
    });
    const batches = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((owner) =>
        store.claimDueTimers({ now: T0 + 1000, owner, leaseMs: 60_000, limit: 15 }),
      ),
    );
    const ids = batches.flat().map((timer) => timer.incidentId);
    assert.equal(new Set(ids).size, ids.length, 'no timer handed to two owners');
    assert.equal(ids.length, 40, 'every due timer was claimed');
  },

  'keeps notifications in the transactional outbox: rolled back with it, claimed once, updated by the holder': async ({
    store,
  }) => {
    await store.transaction((transaction) => transaction.insertIncident(sampleIncident({ id: 'INC-1' })));
    await assert.rejects(
      store.transaction(async (transaction) => {
        await transaction.enqueueNotifications([notification('INC-1', 1)]);
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    assert.deepEqual(await store.listNotifications(), [], 'a rolled-back enqueue leaves nothing');
    const rows = [
      notification('INC-1', 1),
      notification('INC-1', 2, { target: 'pagerduty', event: 'incident.escalated' }),
      notification('INC-1', 3, { nextAttemptAt: T0 + 10_000 }),
    ];
    await store.transaction((transaction) => transaction.enqueueNotifications(rows));
    assert.deepEqual(await store.listNotifications(), rows);
    assert.deepEqual(
      (await store.listNotifications({ target: 'pagerduty' })).map((row) => row.id),
      [rows[1]!.id],
    );
    const claimed = await store.claimNotifications({ now: T0 + 100, owner: 'a', leaseMs: 1000, limit: 10 });
    assert.deepEqual(
      claimed.map((row) => [row.id, row.claimedBy, row.claimedUntil]),
      [
        [rows[0]!.id, 'a', T0 + 1100],
        [rows[1]!.id, 'a', T0 + 1100],
      ],
      'due rows only, oldest first',
    );
    assert.deepEqual(
      await store.claimNotifications({ now: T0 + 200, owner: 'b', leaseMs: 1000, limit: 10 }),
      [],
      'claimed rows are not handed out again',
    );
    await store.transaction(async (transaction) => {
      const row = await transaction.getNotification(rows[0]!.id);
      assert.ok(row);
      await transaction.updateNotification({ ...row, status: 'delivered', attempts: 1, deliveredAt: T0 + 300 });
      const second = await transaction.getNotification(rows[1]!.id);
      assert.ok(second);
      await transaction.updateNotification({ ...second, attempts: 1, nextAttemptAt: T0 + 5000, lastError: 'HTTP 429' });
    });
    const after = await store.listNotifications({ incidentId: 'INC-1' });
    assert.deepEqual(
      after.map((row) => [row.status, row.attempts, row.lastError, row.claimedBy]),
      [
        ['delivered', 1, undefined, undefined],
        ['pending', 1, 'HTTP 429', undefined],
        ['pending', 0, undefined, undefined],
      ],
    );
    assert.deepEqual(
      await store.listNotifications({ status: ['delivered'] }).then((list) => list.map((row) => row.deliveredAt)),
      [T0 + 300],
    );
    assert.deepEqual(
      await store.claimNotifications({ now: T0 + 2000, owner: 'b', leaseMs: 1000, limit: 10 }),
      [],
      'a retry waits for its next attempt time',
    );
    const retried = await store.claimNotifications({ now: T0 + 10_000, owner: 'b', leaseMs: 1000, limit: 10 });
    assert.deepEqual(
      retried.map((row) => row.id),
      [rows[1]!.id, rows[2]!.id],
      'delivered rows are never claimed again',
    );
    await rejectsWithCode(
      store.transaction((transaction) => transaction.enqueueNotifications([rows[0]!])),
      'STORE_CONFLICT',
      'an id already in the outbox',
    );
  },

  'concurrent claimants never share a notification': async ({ store }) => {
    await store.transaction(async (transaction) => {
      await transaction.insertIncident(sampleIncident({ id: 'INC-1' }));
      await transaction.enqueueNotifications(
        Array.from({ length: 30 }, (_, index) => notification('INC-1', index + 1)),
      );
    });
    const batches = await Promise.all(
      ['a', 'b', 'c', 'd'].map((owner) =>
        store.claimNotifications({ now: T0 + 1000, owner, leaseMs: 60_000, limit: 10 }),
      ),
    );
    const ids = batches.flat().map((row) => row.id);
    assert.equal(new Set(ids).size, ids.length, 'no row handed to two owners');
    assert.equal(ids.length, 30);
  },

  'an inbox (where the store has one) keeps entries in order; a rolled-back take leaves them': async ({ store }) => {
    if (!store.enqueueInbox) return; // optional: only inbox mode needs it
    await store.enqueueInbox([{ n: 1 }, { n: 2, labels: { a: 'ü' } }]);
    await store.enqueueInbox([{ n: 3 }]);
    assert.equal(await store.inboxSize?.(), 3);
    await assert.rejects(
      store.transaction(async (transaction) => {
        assert.deepEqual(await transaction.takeInbox?.(2), [{ n: 1 }, { n: 2, labels: { a: 'ü' } }]);
        throw new Error('crash while applying');
      }),
      /crash while applying/,
    );
    assert.deepEqual(await store.transaction(async (transaction) => transaction.takeInbox?.(10)), [
      { n: 1 },
      { n: 2, labels: { a: 'ü' } },
      { n: 3 },
    ]);
    assert.equal(await store.inboxSize?.(), 0);
    assert.deepEqual(await store.transaction(async (transaction) => transaction.takeInbox?.(10)), []);
  },

  'keeps silences and maintenance windows, filtered by when they end': async ({ store }) => {
    const silence = {
      id: 's1',
      matchers: [
        { name: 'service', value: 'checkout' },
        { name: 'env', value: 'stag.*', isRegex: true, isEqual: false },
      ],
      startsAt: T0,
      endsAt: T0 + 3_600_000,
      createdBy: 'alice',
      comment: 'deploy',
      createdAt: T0,
    };
    await assert.rejects(
      store.transaction(async (transaction) => {
        await transaction.saveSilence(silence);
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    assert.deepEqual(await store.listSilences(), []);
    await store.transaction(async (transaction) => {
      await transaction.saveSilence(silence);
      await transaction.saveSilence({ ...silence, id: 's2', startsAt: T0 + 1, endsAt: T0 + 60_000 });
    });
    assert.deepEqual(await store.listSilences(), [
      silence,
      { ...silence, id: 's2', startsAt: T0 + 1, endsAt: T0 + 60_000 },
    ]);
    assert.deepEqual(
      (await store.listSilences({ endsAfter: T0 + 60_000 })).map((entry) => entry.id),
      ['s1'],
    );
    await store.transaction((transaction) => transaction.saveSilence({ ...silence, expiredAt: T0 + 10 }));
    assert.deepEqual(
      (await store.listSilences({ endsAfter: T0 + 60_000 })).map((entry) => entry.id),
      [],
      'an expired silence ends when it was expired',
    );
    const window = {
      id: 'm1',
      title: 'Nightly database maintenance',
      services: ['checkout'],
      recurrence: { frequency: 'daily' as const, timeZone: 'Europe/Berlin', start: '02:00', duration: '3h' },
      suppressPaging: true,
      createdBy: 'bob',
      createdAt: T0,
    };
    await store.transaction(async (transaction) => {
      await transaction.saveMaintenanceWindow(window);
      await transaction.saveMaintenanceWindow({
        ...window,
        id: 'm2',
        createdAt: T0 + 1,
        cancelledAt: T0 + 100,
        recurrence: undefined as never,
        startsAt: T0,
        endsAt: T0 + 1000,
      });
    });
    assert.deepEqual(
      (await store.listMaintenanceWindows()).map((entry) => entry.id),
      ['m1', 'm2'],
    );
    assert.deepEqual(
      (await store.listMaintenanceWindows({ activeAfter: T0 + 100 })).map((entry) => entry.id),
      ['m1'],
    );
    await store.transaction(async (transaction) =>
      assert.deepEqual((await transaction.listMaintenanceWindows())[0], window),
    );
  },
});
