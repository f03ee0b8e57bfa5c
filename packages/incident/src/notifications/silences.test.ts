import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createIncidentManager } from '../lifecycle/incident-manager.js';
import type { NotificationPayload } from '../model/records.js';

const T0 = Date.UTC(2026, 0, 13, 1, 0, 0); // 02:00 in Berlin
const MINUTE = 60_000;

function setup() {
  const clock = createManualClock(T0);
  const sent: string[] = [];
  const notifier = (id: string) => ({
    kind: 'recorder',
    send: async (payload: NotificationPayload) => void sent.push(`${id}:${payload.event.replace('incident.', '')}`),
  });
  const incidents = createIncidentManager({
    clock,
    autoStart: false,
    notifiers: { pager: notifier('pager'), channel: notifier('channel') },
    escalationPolicies: [{ id: 'p', levels: [{ startAfter: 0, targets: ['pager'] }] }],
    routes: [{ escalationPolicy: 'p', notify: ['channel'] }],
  });
  const tick = async (ms: number) => {
    clock.advance(ms);
    await incidents.runDueTimers();
    await incidents.deliverNotifications();
  };
  return { clock, incidents, sent, tick };
}

describe('silences and maintenance windows', () => {
  it('hold back paging for matching incidents (which are still stored) and page when the silence ends', async () => {
    const { incidents, sent, tick } = setup();
    await incidents.createSilence({
      matchers: [{ name: 'service', value: 'checkout' }],
      duration: '30m',
      createdBy: 'alice',
      comment: 'deploying 1.4.2',
    });
    const silenced = await incidents.trigger({ service: 'checkout', title: 'Errors during deploy', severity: 'P0' });
    const other = await incidents.trigger({ service: 'search', title: 'Search down', severity: 'P0' });
    await tick(0);
    expect(sent.sort()).toEqual(['channel:triggered', 'pager:escalated']); // search only
    const entry = (await incidents.timeline(silenced.incident!.id)).find((event) => event.kind === 'silenced');
    expect(entry?.description).toMatch(
      /^Paging suppressed by silence .* by alice until 2026-01-13T01:30:00.000Z: deploying 1\.4\.2; escalation starts at 2026-01-13T01:30:00\.000Z if still needed$/,
    );
    expect((await incidents.require(silenced.incident!.id)).status).toBe('triggered');
    sent.length = 0;
    await tick(30 * MINUTE);
    expect(sent).toEqual(['pager:escalated']);
    expect(other.incident).toBeDefined();
  });

  it('stop holding back within a minute when a silence is expired early; an acknowledged incident is not paged', async () => {
    const { incidents, sent, tick } = setup();
    const silence = await incidents.createSilence({
      matchers: [{ name: 'severity', value: 'P0' }],
      duration: '2h',
      createdBy: 'alice',
      comment: 'game day',
    });
    const first = await incidents.trigger({ service: 'api', dedupKey: 'a', title: 'A', severity: 'P0' });
    const second = await incidents.trigger({ service: 'api', dedupKey: 'b', title: 'B', severity: 'P0' });
    await tick(MINUTE);
    await incidents.acknowledge(second.incident!.id);
    expect((await incidents.silences({ active: true })).map((entry) => entry.id)).toEqual([silence.id]);
    await incidents.expireSilence(silence.id, { by: 'alice' });
    expect(await incidents.silences({ active: true })).toEqual([]);
    await tick(MINUTE); // the held escalation looks again within a minute
    expect(sent).toEqual(['pager:escalated']);
    await tick(20 * MINUTE); // B's acknowledgement still holds: no page for it
    expect(sent).toEqual(['pager:escalated']);
    expect((await incidents.timeline(first.incident!.id)).filter((event) => event.kind === 'escalated')).toHaveLength(
      1,
    );
  });

  it('hold back paging during a recurring maintenance window ("daily 2–5 AM" Berlin), not outside it', async () => {
    const { incidents, sent, tick } = setup();
    await incidents.scheduleMaintenance({
      title: 'Nightly database maintenance',
      services: ['checkout'],
      recurrence: { frequency: 'daily', timeZone: 'Europe/Berlin', start: '02:00', duration: '3h' },
      createdBy: 'dba',
    });
    const during = await incidents.trigger({
      service: 'checkout',
      dedupKey: 'night',
      title: 'Replica lag',
      severity: 'P1',
    });
    await tick(MINUTE);
    expect(sent).toEqual([]);
    await incidents.resolve(during.incident!.id, { reason: 'source' });
    await tick(4 * 60 * MINUTE); // 06:01 Berlin
    await incidents.trigger({ service: 'checkout', dedupKey: 'day', title: 'Errors', severity: 'P1' });
    await tick(0);
    expect(sent.sort()).toEqual(['channel:triggered', 'pager:escalated']);
    const upcoming = await incidents.maintenance({ to: T0 + 2 * 86_400_000 });
    expect(upcoming.map((occurrence) => new Date(occurrence.startsAt).toISOString())).toEqual([
      '2026-01-14T01:00:00.000Z',
    ]);
  });

  it('refuses silences without expiry, author, comment or matchers, and bad recurrences', async () => {
    const { incidents } = setup();
    const base = { matchers: [{ name: 'service', value: 'x' }], duration: '1h', createdBy: 'a', comment: 'c' };
    await expect(incidents.createSilence({ ...base, duration: undefined } as never)).rejects.toThrow(
      'a silence needs endsAt or duration: silences are always temporary',
    );
    await expect(incidents.createSilence({ ...base, createdBy: '' })).rejects.toThrow(
      'a silence needs createdBy (who)',
    );
    await expect(incidents.createSilence({ ...base, comment: ' ' })).rejects.toThrow('a silence needs a comment (why)');
    await expect(incidents.createSilence({ ...base, matchers: [] })).rejects.toThrow(
      'a silence needs at least one matcher',
    );
    await expect(
      incidents.createSilence({ ...base, matchers: [{ name: 'x', value: '(', isRegex: true }] }),
    ).rejects.toThrow(/matchers\[0\]\.value is not a valid regular expression/);
    await expect(
      incidents.scheduleMaintenance({
        title: 't',
        createdBy: 'a',
        recurrence: { frequency: 'weekly', timeZone: 'Europe/Berlin', start: '02:00', duration: '1h' },
      }),
    ).rejects.toThrow('recurrence.days is required for weekly recurrences');
    await expect(
      incidents.scheduleMaintenance({
        title: 't',
        createdBy: 'a',
        recurrence: { frequency: 'daily', timeZone: 'Mars/Base', start: '02:00', duration: '1h' },
      }),
    ).rejects.toThrow('unknown time zone "Mars/Base"');
    await expect(
      incidents.scheduleMaintenance({
        title: 't',
        createdBy: 'a',
        recurrence: { frequency: 'daily', timeZone: 'UTC', start: '25:00', duration: '1h' },
      }),
    ).rejects.toThrow(/recurrence\.start must be "HH:MM"/);
    await expect(incidents.scheduleMaintenance({ title: 't', createdBy: 'a' })).rejects.toThrow(
      /needs startsAt and endsAt/,
    );
  });
});
