import { createManualClock, type OpsAlert } from '@ops/core';
import { describe, expect, it, vi } from 'vitest';
import { IncidentError } from '../errors.js';
import type { IncidentStore } from '../stores/incident-store.js';
import { createIncidentManager, type IncidentManagerOptions } from './incident-manager.js';

const T0 = Date.UTC(2026, 0, 13, 10, 0, 0);
const MINUTE = 60_000;

/**
 * The behaviour of the incident manager, run once per store (in memory, PostgreSQL): the same lifecycle must hold
 * whatever stores the incidents. `createStore` returns a fresh, empty store.
 */
export function describeIncidentManager(
  storeName: string,
  createStore: () => Promise<IncidentStore> | IncidentStore,
): void {
  async function setup(options: Partial<IncidentManagerOptions> = {}) {
    const clock = createManualClock(T0);
    const incidents = createIncidentManager({ store: await createStore(), clock, autoStart: false, ...options });
    return { clock, incidents };
  }

  const kinds = async (incidents: Awaited<ReturnType<typeof setup>>['incidents'], id: string) =>
    (await incidents.timeline(id)).map((event) => event.kind);

  describe(`incident manager on the ${storeName} store`, () => {
    describe('dedup and ids', () => {
      it('opens INC-YYYY-MMDD-NNN and appends repeats of an open dedup key (occurrences, lastSeenAt)', async () => {
        const { clock, incidents } = await setup();
        const first = await incidents.trigger({
          service: 'checkout',
          dedupKey: 'errors',
          title: 'Errors above 90%',
          severity: 'P0',
        });
        expect(first.action).toBe('created');
        expect(first.incident?.id).toBe('INC-2026-0113-001');
        clock.advance(MINUTE);
        const second = await incidents.trigger({
          service: 'checkout',
          dedupKey: 'errors',
          title: 'Errors above 90%',
          severity: 'P0',
        });
        expect(second.action).toBe('appended');
        expect(second.incident?.id).toBe('INC-2026-0113-001');
        const stored = await incidents.require('INC-2026-0113-001');
        expect(stored).toMatchObject({
          occurrences: 2,
          lastSeenAt: T0 + MINUTE,
          triggeredAt: T0,
          status: 'triggered',
          urgency: 'high',
        });
        expect(await kinds(incidents, stored.id)).toEqual(['triggered']); // a repeat is not a timeline event
        const other = await incidents.trigger({
          service: 'search',
          dedupKey: 'errors',
          title: 'Errors',
          severity: 'P2',
        });
        expect(other.incident?.id).toBe('INC-2026-0113-002');
        expect(other.incident?.urgency).toBe('low');
        clock.set(Date.UTC(2026, 0, 14, 0, 0, 1));
        const nextDay = await incidents.trigger({
          service: 'search',
          dedupKey: 'latency',
          title: 'Slow',
          severity: 'P3',
        });
        expect(nextDay.incident?.id).toBe('INC-2026-0114-001');
        expect(nextDay.incident?.number).toBe(3);
      });

      it('dates ids in the configured time zone', async () => {
        const { incidents } = await setup({ idTimeZone: 'Pacific/Auckland' });
        const { incident } = await incidents.trigger({ service: 'a', title: 'x', severity: 'P3' });
        expect(incident?.id).toBe('INC-2026-0113-001'); // 23:00 in Auckland on the 13th
        expect(() => createIncidentManager({ idTimeZone: 'Mars/Olympus', autoStart: false })).toThrow(
          /unknown time zone "Mars\/Olympus"/,
        );
      });

      it('follows PagerDuty after a resolve: a trigger opens a new incident, acknowledge and resolve are dropped', async () => {
        const { clock, incidents } = await setup();
        const { incident } = await incidents.ingest({
          action: 'trigger',
          service: 'api',
          dedupKey: 'srv01/mysql',
          summary: 'DISK at 99%',
          source: 'pagerduty-events',
        });
        const resolved = await incidents.ingest({
          action: 'resolve',
          service: 'api',
          dedupKey: 'srv01/mysql',
          summary: 'DISK at 99%',
          source: 'pagerduty-events',
        });
        expect(resolved).toMatchObject({
          action: 'resolved',
          incident: { status: 'resolved', resolveReason: 'source' },
        });
        clock.advance(1000);
        expect(
          await incidents.ingest({
            action: 'acknowledge',
            service: 'api',
            dedupKey: 'srv01/mysql',
            summary: 'x',
            source: 'pagerduty-events',
          }),
        ).toMatchObject({ action: 'ignored' });
        expect(
          await incidents.ingest({
            action: 'resolve',
            service: 'api',
            dedupKey: 'srv01/mysql',
            summary: 'x',
            source: 'pagerduty-events',
          }),
        ).toMatchObject({ action: 'ignored' });
        const again = await incidents.ingest({
          action: 'trigger',
          service: 'api',
          dedupKey: 'srv01/mysql',
          summary: 'DISK at 99%',
          source: 'pagerduty-events',
        });
        expect(again.action).toBe('created');
        expect(again.incident?.id).not.toBe(incident?.id);
        expect((await incidents.require(incident!.id)).status).toBe('resolved');
      });

      it('reopens an incident resolved within the reopen window, and opens a new one after it', async () => {
        const { clock, incidents } = await setup({ reopenWindow: '10m' });
        const event = {
          action: 'trigger' as const,
          service: 'api',
          dedupKey: 'flappy',
          summary: 'Flapping',
          source: 'sdk',
          severity: 'P1',
        };
        const { incident } = await incidents.ingest(event);
        await incidents.ingest({ ...event, action: 'resolve' });
        clock.advance(5 * MINUTE);
        const reopened = await incidents.ingest(event);
        expect(reopened).toMatchObject({
          action: 'reopened',
          incident: { id: incident!.id, status: 'triggered', reopenCount: 1, occurrences: 2 },
        });
        expect(reopened.incident?.resolvedAt).toBeUndefined();
        expect(await kinds(incidents, incident!.id)).toEqual(['triggered', 'resolved', 'reopened']);
        await incidents.ingest({ ...event, action: 'resolve' });
        clock.advance(10 * MINUTE + 1);
        const fresh = await incidents.ingest(event);
        expect(fresh.action).toBe('created');
        expect(fresh.incident?.id).not.toBe(incident!.id);
      });

      it('counts every event of one batch about the same incident, and a trigger after a resolve in it opens a new one', async () => {
        const { incidents } = await setup({ requireResolutionNote: false });
        const event = { action: 'trigger' as const, service: 'api', dedupKey: 'k', summary: 'Errors', source: 'sdk' };
        const { incident } = await incidents.ingest(event);
        const repeats = await incidents.ingestBatch([event, event, event]);
        expect(repeats.map((result) => result.action)).toEqual(['appended', 'appended', 'appended']);
        expect((await incidents.require(incident!.id)).occurrences).toBe(4);
        const results = await incidents.ingestBatch([event, { ...event, action: 'resolve' }, event, event]);
        expect(results.map((result) => result.action)).toEqual(['appended', 'resolved', 'created', 'appended']);
        expect(await incidents.require(incident!.id)).toMatchObject({ status: 'resolved', occurrences: 5 });
        expect(results[2]!.incident?.id).toBe('INC-2026-0113-002');
        expect(await incidents.require('INC-2026-0113-002')).toMatchObject({ status: 'triggered', occurrences: 2 });
        expect(await kinds(incidents, incident!.id)).toEqual(['triggered', 'resolved']);
      });

      it('numbers without gaps when a batch that may create incidents reopens or appends instead', async () => {
        const { clock, incidents } = await setup({ reopenWindow: '10m', requireResolutionNote: false });
        const event = { action: 'trigger' as const, service: 'api', summary: 'Errors', source: 'sdk' };
        await incidents.ingestBatch([
          { ...event, dedupKey: 'a' },
          { ...event, dedupKey: 'b' },
        ]);
        await incidents.ingest({ ...event, dedupKey: 'a', action: 'resolve' });
        clock.advance(MINUTE);
        // 'a' reopens (within the window), 'b' is open: no number is used; 'c' and 'd' are new.
        const results = await incidents.ingestBatch([
          { ...event, dedupKey: 'a' },
          { ...event, dedupKey: 'b' },
          { ...event, dedupKey: 'c' },
        ]);
        expect(results.map((result) => result.action)).toEqual(['reopened', 'appended', 'created']);
        expect(results[2]!.incident?.id).toBe('INC-2026-0113-003');
        const next = await incidents.ingest({ ...event, dedupKey: 'd' });
        expect(next.incident).toMatchObject({ id: 'INC-2026-0113-004', number: 4 });
        const all = await incidents.list({ limit: 10 });
        expect(all.map((incident) => incident.number).sort()).toEqual([1, 2, 3, 4]);
      });

      it('raises the severity when a more severe alert joins, never lowers it', async () => {
        const { incidents } = await setup();
        const seen: string[] = [];
        incidents.on('incident.severity_changed', (event) => seen.push(`${event.from}->${event.to}`));
        const base = { action: 'trigger' as const, service: 'api', dedupKey: 'k', summary: 's', source: 'sdk' };
        const { incident } = await incidents.ingest({ ...base, severity: 'P2' });
        await incidents.ingest({ ...base, severity: 'P0' });
        await incidents.ingest({ ...base, severity: 'P3' });
        expect(await incidents.require(incident!.id)).toMatchObject({ severity: 'P0', urgency: 'high' });
        expect(seen).toEqual(['P2->P0']);
      });

      it('classifies alerts without our severity through the policy', async () => {
        const { incidents } = await setup();
        const base = { action: 'trigger' as const, service: 'api', summary: 's', source: 'alertmanager' };
        expect(
          (await incidents.ingest({ ...base, dedupKey: 'a', labels: { severity: 'critical' } })).incident?.severity,
        ).toBe('P0');
        expect((await incidents.ingest({ ...base, dedupKey: 'b', alertSeverity: 'warning' })).incident?.severity).toBe(
          'P2',
        );
        expect((await incidents.ingest({ ...base, dedupKey: 'c' })).incident?.severity).toBe('P1');
      });
    });

    describe('lifecycle', () => {
      it('walks triggered → acknowledged → mitigated → resolved → closed, stamping each time', async () => {
        const { clock, incidents } = await setup();
        const { incident } = await incidents.trigger({
          service: 'api',
          title: 'Latency',
          severity: 'P2',
          startsAt: T0 - 2 * MINUTE,
        });
        const id = incident!.id;
        expect(incident?.impactStartedAt).toBe(T0 - 2 * MINUTE);
        clock.advance(MINUTE);
        await incidents.acknowledge(id, { by: 'alice' });
        clock.advance(MINUTE);
        await incidents.mitigate(id, { by: 'alice', note: 'scaled out' });
        clock.advance(MINUTE);
        await incidents.resolve(id, { reason: 'user', by: 'alice', note: 'root cause fixed' });
        clock.advance(MINUTE);
        const closed = await incidents.closeIncident(id, { by: 'alice' });
        expect(closed).toMatchObject({
          status: 'closed',
          acknowledgedAt: T0 + MINUTE,
          mitigatedAt: T0 + 2 * MINUTE,
          resolvedAt: T0 + 3 * MINUTE,
          closedAt: T0 + 4 * MINUTE,
          resolveReason: 'user',
          lastStatusChangeAt: T0 + 4 * MINUTE,
        });
        expect(await kinds(incidents, id)).toEqual(['triggered', 'acknowledged', 'mitigated', 'resolved', 'closed']);
        const timeline = await incidents.timeline(id);
        expect(timeline[2]).toMatchObject({
          actor: { type: 'user', id: 'alice' },
          description: 'Mitigated by alice: scaled out',
          visibility: 'internal',
        });
        expect(await incidents.store.listTimers(id)).toEqual([]);
      });

      it('refuses invalid transitions and says what is allowed', async () => {
        const { incidents } = await setup();
        const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P2' });
        const id = incident!.id;
        await expect(incidents.closeIncident(id)).rejects.toThrow(
          `cannot close ${id}: it is triggered; close is allowed from resolved`,
        );
        await expect(incidents.unacknowledge(id)).rejects.toMatchObject({ code: 'TRANSITION_INVALID' });
        await incidents.mitigate(id);
        await expect(incidents.acknowledge(id)).rejects.toThrow(
          `cannot acknowledge ${id}: it is mitigated; acknowledge is allowed from triggered or acknowledged`,
        );
        await expect(incidents.mitigate(id)).rejects.toMatchObject({ code: 'TRANSITION_INVALID' });
        await incidents.resolve(id, { reason: 'source' });
        await expect(incidents.resolve(id, { reason: 'source' })).rejects.toThrow(
          /it is resolved; resolve is allowed from triggered or acknowledged or mitigated/,
        );
        await expect(incidents.mitigate('INC-2026-0101-999')).rejects.toMatchObject({ code: 'INCIDENT_NOT_FOUND' });
        const error = await incidents.acknowledge(id).catch((thrown: unknown) => thrown);
        expect(IncidentError.isInstance(error)).toBe(true);
      });

      it('requires a resolve reason, and a note for user resolves', async () => {
        const { incidents } = await setup();
        const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P2' });
        await expect(incidents.resolve(incident!.id, {} as never)).rejects.toMatchObject({
          code: 'RESOLVE_REASON_REQUIRED',
        });
        await expect(incidents.resolve(incident!.id, { reason: 'user' })).rejects.toThrow(
          /needs a note saying what fixed it/,
        );
        await expect(incidents.resolve(incident!.id, { reason: 'whatever' as never })).rejects.toMatchObject({
          code: 'ARGUMENT_INVALID',
        });
        await expect(incidents.resolve(incident!.id, { reason: 'merged' })).rejects.toThrow(/use merge\(\)/);
        expect((await incidents.require(incident!.id)).status).toBe('triggered');
        const relaxed = await (await setup({ requireResolutionNote: false })).incidents;
        const other = await relaxed.trigger({ service: 'api', title: 'x', severity: 'P2' });
        expect((await relaxed.resolve(other.incident!.id, { reason: 'user' })).status).toBe('resolved');
      });

      it('closes a severity that needs a postmortem only once it is published (or excluded from review)', async () => {
        const { incidents } = await setup();
        const { incident } = await incidents.trigger({ service: 'api', title: 'Outage', severity: 'P0' });
        const id = incident!.id;
        await incidents.resolve(id, { reason: 'source' });
        // Resolving drafted the postmortem from the timeline; its root cause is required and empty.
        await expect(incidents.closeIncident(id)).rejects.toThrow(
          `cannot close ${id}: P0 needs a published postmortem (it is draft)`,
        );
        const draft = await incidents.getPostmortem(id);
        expect(draft?.sections.map((section) => [section.title, section.required])).toEqual([
          ['Summary', true],
          ['Impact', false],
          ['Detection', false],
          ['Response', false],
          ['Timeline', false],
          ['Contributing signals', false],
          ['Root cause', true],
          ['Action items', false],
        ]);
        await expect(incidents.publishPostmortem(id)).rejects.toThrow(/required section\(s\) empty: Root cause/);
        expect(await incidents.postmortemMarkdown(id)).toMatch(
          /^# Postmortem: Outage \(INC-[\d-]+\)\n\nStatus: draft[\s\S]*## Root cause\n\n_To be written._/,
        );
        await incidents.savePostmortem(id, {
          sections: [
            { title: 'Summary', required: true, body: '' },
            { title: 'Notes', required: false, body: '' },
          ],
        });
        await expect(incidents.publishPostmortem(id)).rejects.toThrow(/required section\(s\) empty: Summary/);
        await expect(incidents.closeIncident(id)).rejects.toThrow(/\(it is draft\)/);
        await incidents.savePostmortem(id, {
          sections: [{ title: 'Summary', required: true, body: 'Primary failed.' }],
        });
        const published = await incidents.publishPostmortem(id, { by: 'alice' });
        expect(published.status).toBe('published');
        await expect(incidents.savePostmortem(id, { sections: [] })).rejects.toMatchObject({
          code: 'TRANSITION_INVALID',
        });
        expect((await incidents.closeIncident(id)).status).toBe('closed');
        expect(await kinds(incidents, id)).toContain('postmortem_published');

        const second = await incidents.trigger({ service: 'api', title: 'Blip', severity: 'P1' });
        await incidents.resolve(second.incident!.id, { reason: 'source' });
        const closed = await incidents.closeIncident(second.incident!.id, {
          excludeFromReview: 'a known flaky dependency',
        });
        expect(closed.status).toBe('closed');
        expect((await incidents.timeline(closed.id)).at(-1)?.description).toMatch(
          /without review: a known flaky dependency/,
        );
      });

      it('reopens by hand from resolved, not from closed', async () => {
        const { incidents } = await setup();
        const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P3' });
        await incidents.resolve(incident!.id, { reason: 'source' });
        expect((await incidents.reopen(incident!.id, { by: 'bob' })).status).toBe('triggered');
        await incidents.resolve(incident!.id, { reason: 'source' });
        await incidents.closeIncident(incident!.id);
        await expect(incidents.reopen(incident!.id)).rejects.toMatchObject({ code: 'TRANSITION_INVALID' });
      });
    });

    describe('timers', () => {
      it('returns an acknowledged incident to triggered when the acknowledgement times out', async () => {
        const { clock, incidents } = await setup();
        const unacked: string[] = [];
        incidents.on('incident.unacknowledged', (event) => unacked.push(event.reason));
        const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P1' });
        await incidents.acknowledge(incident!.id);
        clock.advance(29 * MINUTE);
        await incidents.runDueTimers();
        expect((await incidents.require(incident!.id)).status).toBe('acknowledged');
        clock.advance(MINUTE);
        await incidents.runDueTimers();
        expect((await incidents.require(incident!.id)).status).toBe('triggered');
        expect(unacked).toEqual(['ack_timeout']);
        expect((await incidents.timeline(incident!.id)).at(-1)).toMatchObject({
          kind: 'unacknowledged',
          actor: { type: 'system' },
          description: 'Acknowledgement timed out after 30m; back to triggered',
        });
      });

      it('records a breached acknowledge target once, and none when acknowledged in time', async () => {
        const { clock, incidents } = await setup();
        const breaches: string[] = [];
        incidents.on('target.breached', (event) =>
          breaches.push(`${event.incident.id}:${event.target}:${event.targetMs}`),
        );
        const late = await incidents.trigger({ service: 'api', dedupKey: 'late', title: 'x', severity: 'P0' });
        const onTime = await incidents.trigger({ service: 'api', dedupKey: 'ontime', title: 'y', severity: 'P0' });
        clock.advance(4 * MINUTE);
        await incidents.acknowledge(onTime.incident!.id);
        clock.advance(MINUTE);
        expect(await incidents.runDueTimers()).toBe(1);
        clock.advance(MINUTE);
        await incidents.runDueTimers();
        expect(breaches).toEqual([`${late.incident!.id}:ack:300000`]);
        expect(
          (await incidents.timeline(late.incident!.id)).filter((event) => event.kind === 'target_breached'),
        ).toHaveLength(1);
      });

      it('records a missed update cadence until a public status update restarts it', async () => {
        const { clock, incidents } = await setup();
        const breaches: string[] = [];
        incidents.on('target.breached', (event) => breaches.push(event.target));
        const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P0' });
        await incidents.acknowledge(incident!.id);
        await incidents.mitigate(incident!.id); // ack/mitigate targets met
        clock.advance(20 * MINUTE);
        await incidents.postUpdate(incident!.id, { body: 'We are monitoring the fix.' });
        clock.advance(29 * MINUTE);
        await incidents.runDueTimers();
        expect(breaches).toEqual([]);
        clock.advance(MINUTE);
        await incidents.runDueTimers();
        expect(breaches).toEqual(['update']);
        await incidents.addNote(incident!.id, { body: 'internal notes do not count' });
        clock.advance(30 * MINUTE);
        await incidents.runDueTimers();
        expect(breaches).toEqual(['update', 'update']);
        const publicEvents = await incidents.timeline(incident!.id, { visibility: 'public' });
        expect(publicEvents.map((event) => [event.kind, event.description, event.details])).toEqual([
          ['status_update', 'We are monitoring the fix.', { statuspageStatus: 'monitoring' }],
        ]);
      });

      it('auto-resolves after silence, counting from the last alert', async () => {
        const { clock, incidents } = await setup({
          severityPolicy: {
            levels: [{ name: 'P0' }, { name: 'P1' }, { name: 'P2', autoResolveAfterSilence: '10m' }, { name: 'P3' }],
          },
        });
        const event = {
          action: 'trigger' as const,
          service: 'api',
          dedupKey: 'quiet',
          summary: 's',
          source: 'grafana',
          severity: 'P2',
        };
        const { incident } = await incidents.ingest(event);
        clock.advance(8 * MINUTE);
        await incidents.ingest(event);
        clock.advance(4 * MINUTE);
        await incidents.runDueTimers();
        expect((await incidents.require(incident!.id)).status).toBe('triggered');
        clock.advance(6 * MINUTE);
        await incidents.runDueTimers();
        expect(await incidents.require(incident!.id)).toMatchObject({
          status: 'resolved',
          resolveReason: 'auto_timeout',
          resolvedAt: T0 + 18 * MINUTE,
        });
      });

      it('runs timers from its loop on the clock when started', async () => {
        const clock = createManualClock(T0);
        const incidents = createIncidentManager({ store: await createStore(), clock, tickEvery: '10s' });
        const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P1' });
        await incidents.acknowledge(incident!.id);
        await clock.advanceAsync(31 * MINUTE);
        // A real store answers in real time, after the manual clock moved on: keep ticking until the loop caught up.
        await vi.waitFor(
          async () => {
            await clock.advanceAsync(10_000);
            expect((await incidents.require(incident!.id)).status).toBe('triggered');
          },
          { timeout: 5000, interval: 20 },
        );
        await incidents.close();
      });

      it('does not run a timer that another process claimed', async () => {
        const store = await createStore();
        const clock = createManualClock(T0);
        const a = createIncidentManager({ store, clock, autoStart: false, owner: 'a' });
        const b = createIncidentManager({ store, clock, autoStart: false, owner: 'b', timerLease: '1m' });
        const { incident } = await a.trigger({ service: 'api', title: 'x', severity: 'P0' });
        clock.advance(6 * MINUTE);
        const stolen = await store.claimDueTimers({ now: clock.now(), owner: 'crashed', leaseMs: 60_000, limit: 10 });
        expect(stolen.map((timer) => timer.kind)).toEqual(['ack_target']);
        expect(await b.runDueTimers()).toBe(0);
        clock.advance(MINUTE);
        expect(await b.runDueTimers()).toBe(1); // the claim lapsed: b runs it, once
        expect(await a.runDueTimers()).toBe(0);
        expect((await a.timeline(incident!.id)).filter((event) => event.kind === 'target_breached')).toHaveLength(1);
      });
    });

    describe('merge, duplicates, roles, notes, action items', () => {
      it('merges an incident into another: alerts move, later triggers of its key join the target', async () => {
        const { incidents } = await setup();
        const a = await incidents.ingest({
          action: 'trigger',
          service: 'api',
          dedupKey: 'db',
          summary: 'DB down',
          source: 'sdk',
          severity: 'P1',
        });
        const b = await incidents.ingest({
          action: 'trigger',
          service: 'api',
          dedupKey: 'errors',
          summary: 'Errors',
          source: 'sdk',
          severity: 'P0',
        });
        const merged: string[] = [];
        incidents.on('incident.merged', (event) => merged.push(`${event.incident.id}->${event.into.id}`));
        const target = await incidents.merge(a.incident!.id, [b.incident!.id], { by: 'alice' });
        expect(target).toMatchObject({ severity: 'P0', occurrences: 2 });
        expect(await incidents.require(b.incident!.id)).toMatchObject({
          status: 'resolved',
          resolveReason: 'merged',
          parentId: a.incident!.id,
        });
        expect((await incidents.alerts(a.incident!.id)).map((alert) => alert.alertKey).sort()).toEqual([
          'db',
          'errors',
        ]);
        const later = await incidents.ingest({
          action: 'trigger',
          service: 'api',
          dedupKey: 'errors',
          summary: 'Errors',
          source: 'sdk',
        });
        expect(later).toMatchObject({ action: 'appended', incident: { id: a.incident!.id, occurrences: 3 } });
        const resolvedLater = await incidents.ingest({
          action: 'resolve',
          service: 'api',
          dedupKey: 'errors',
          summary: 'Errors',
          source: 'sdk',
        });
        expect(resolvedLater.action).toBe('ignored');
        expect((await incidents.require(a.incident!.id)).status).toBe('triggered');
        expect(merged).toEqual([`${b.incident!.id}->${a.incident!.id}`]);
        await expect(incidents.merge(a.incident!.id, [a.incident!.id])).rejects.toMatchObject({
          code: 'ARGUMENT_INVALID',
        });
        await expect(incidents.merge(a.incident!.id, [b.incident!.id])).rejects.toMatchObject({
          code: 'TRANSITION_INVALID',
        });
        await expect(incidents.closeIncident(b.incident!.id)).rejects.toMatchObject({ code: 'TRANSITION_INVALID' });
      });

      it('marks a duplicate', async () => {
        const { incidents } = await setup();
        const a = await incidents.trigger({ service: 'api', title: 'A', severity: 'P2' });
        const b = await incidents.trigger({ service: 'api', title: 'B', severity: 'P2' });
        await incidents.markDuplicate(b.incident!.id, a.incident!.id);
        expect(await incidents.require(b.incident!.id)).toMatchObject({
          duplicateOf: a.incident!.id,
          status: 'resolved',
          resolveReason: 'merged',
        });
      });

      it('assigns roles and responders, keeps notes internal by default, tracks action items', async () => {
        const { incidents } = await setup();
        const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P1' });
        const id = incident!.id;
        await incidents.assignRole(id, 'commander', 'alice', { by: 'bob' });
        await incidents.assignRole(id, 'scribe', 'carol');
        await incidents.addResponder(id, 'dave');
        await incidents.addResponder(id, 'dave');
        await incidents.addResponder(id, 'erin');
        await incidents.removeResponder(id, 'dave');
        await incidents.assignRole(id, 'scribe', undefined);
        expect((await incidents.require(id)).roles).toEqual({ commander: 'alice', responders: ['erin'] });
        await expect(incidents.assignRole(id, 'boss' as never, 'x')).rejects.toMatchObject({
          code: 'ARGUMENT_INVALID',
        });
        const note = await incidents.addNote(id, { body: 'Looking at the pool', by: 'alice', pinned: true });
        expect(note).toMatchObject({ kind: 'note', visibility: 'internal', pinned: true });
        const item = await incidents.addActionItem(id, { title: 'Raise pool size', owner: 'alice', priority: 'high' });
        const done = await incidents.updateActionItem(id, item.id, { status: 'done', by: 'alice' });
        expect(done).toMatchObject({ title: 'Raise pool size', status: 'done', priority: 'high' });
        expect((await incidents.require(id)).actionItems).toEqual([done]);
        await expect(incidents.updateActionItem(id, 'nope', { status: 'done' })).rejects.toMatchObject({
          code: 'ARGUMENT_INVALID',
        });
        expect(await kinds(incidents, id)).toEqual([
          'triggered',
          'role_assigned',
          'role_assigned',
          'role_assigned',
          'role_assigned',
          'role_assigned',
          'role_assigned',
          'note',
          'action_item',
          'action_item',
        ]);
      });

      it('changes severity by hand and re-arms the targets of the new level', async () => {
        const { clock, incidents } = await setup();
        const breaches: string[] = [];
        incidents.on('target.breached', (event) => breaches.push(`${event.target}:${event.incident.severity}`));
        const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P3' });
        await incidents.setSeverity(incident!.id, 'P0', { by: 'alice' });
        clock.advance(5 * MINUTE);
        await incidents.runDueTimers();
        expect(breaches).toEqual(['ack:P0']);
        await expect(incidents.setSeverity(incident!.id, 'P9')).rejects.toThrow(
          'unknown severity "P9"; this policy has P0, P1, P2, P3',
        );
      });
    });

    describe('ingest', () => {
      it('takes OpsAlerts through alertSink: firing triggers, resolved resolves', async () => {
        const { incidents } = await setup();
        const alert: OpsAlert = {
          key: 'health:orders-api:db',
          status: 'firing',
          severity: 'critical',
          summary: 'db failing',
          source: 'health',
          labels: { service: 'orders-api', check: 'db' },
          annotations: { output: 'connection refused' },
          startsAt: T0 - 1000,
        };
        await incidents.alertSink(alert);
        const [incident] = await incidents.list({ open: true });
        expect(incident).toMatchObject({
          service: 'orders-api',
          dedupKey: 'health:orders-api:db',
          severity: 'P0',
          source: 'health',
          impactStartedAt: T0 - 1000,
        });
        await incidents.alertSink({ ...alert, status: 'resolved', endsAt: T0 });
        expect(await incidents.require(incident!.id)).toMatchObject({ status: 'resolved', resolveReason: 'source' });
        expect((await incidents.alerts(incident!.id))[0]).toMatchObject({ status: 'resolved', endsAt: T0 });
        await expect(incidents.alertSink({ ...alert, summary: '' })).rejects.toMatchObject({ code: 'PAYLOAD_INVALID' });
      });

      it('records members that resolve while the group still fires, and resolves only with the group', async () => {
        const { incidents } = await setup();
        const group = {
          service: 'api',
          dedupKey: 'am:{}:{alertname="HighErrorRate"}',
          summary: 'HighErrorRate',
          source: 'alertmanager',
        };
        const { incident } = await incidents.ingest({
          ...group,
          action: 'trigger',
          members: [
            { alertKey: 'fp1', status: 'firing', labels: { instance: 'api-1' } },
            { alertKey: 'fp2', status: 'firing', labels: { instance: 'api-2' } },
          ],
        });
        await incidents.ingest({
          ...group,
          action: 'trigger',
          members: [
            { alertKey: 'fp1', status: 'resolved', labels: { instance: 'api-1' } },
            { alertKey: 'fp2', status: 'firing', labels: { instance: 'api-2' } },
          ],
        });
        expect((await incidents.require(incident!.id)).status).toBe('triggered');
        await incidents.ingest({ ...group, action: 'resolve', members: [{ alertKey: 'fp2', status: 'resolved' }] });
        expect((await incidents.require(incident!.id)).status).toBe('resolved');
        expect(await kinds(incidents, incident!.id)).toEqual([
          'triggered',
          'alert_resolved',
          'alert_resolved',
          'resolved',
        ]);
      });

      it('stores a batch completely or not at all', async () => {
        const base = await createStore();
        let inserts = 0;
        const failing: IncidentStore = {
          ...base,
          transaction: (work) =>
            base.transaction((transaction) =>
              work({
                ...transaction,
                insertIncident: async (incident) => {
                  if (++inserts === 2) throw new Error('disk full');
                  await transaction.insertIncident(incident);
                },
              }),
            ),
        };
        const incidents = createIncidentManager({ store: failing, autoStart: false, clock: createManualClock(T0) });
        const event = (dedupKey: string) => ({
          action: 'trigger' as const,
          service: 'api',
          dedupKey,
          summary: dedupKey,
          source: 'sdk',
        });
        await expect(incidents.ingestBatch([event('a'), event('b')])).rejects.toThrow('disk full');
        expect(await incidents.list()).toEqual([]);
        await expect(incidents.ingestBatch([event('a'), { ...event('b'), service: '' }])).rejects.toThrow(
          'event.service must be a non-empty string',
        );
        expect(await incidents.list()).toEqual([]);
        const results = await incidents.ingestBatch([event('a'), event('b'), event('a')]);
        expect(results.map((result) => result.action)).toEqual(['created', 'created', 'appended']);
      });

      it('emits events only after the change is stored, and survives a throwing listener', async () => {
        const { incidents } = await setup();
        const seen: string[] = [];
        incidents.on('incident.triggered', () => {
          throw new Error('listener bug');
        });
        incidents.on('incident.triggered', async (event) => {
          const stored = await incidents.get(event.incident.id);
          seen.push(stored ? 'stored' : 'missing');
        });
        incidents.on('timeline.appended', (event) => seen.push(event.event.kind));
        await incidents.trigger({ service: 'api', title: 'x', severity: 'P3' });
        await vi.waitFor(() => expect(seen).toEqual(['triggered', 'stored']), { timeout: 5000 });
      });
    });
  });
}
