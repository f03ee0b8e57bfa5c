import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createIncidentManager, type IncidentManagerOptions } from '../lifecycle/incident-manager.js';
import type { NotificationPayload } from '../model/records.js';
import type { AutomationOutcome, Notifier } from '../notifiers/notifier.js';

const T0 = Date.UTC(2026, 0, 13, 10, 0, 0);
const MINUTE = 60_000;

/** A notifier that records what it was sent, as `target:event[:level]`. */
function recorder(log: string[], id: string, events?: Notifier['events']): Notifier {
  return {
    kind: 'recorder',
    ...(events ? { events } : {}),
    async send(payload: NotificationPayload) {
      log.push(
        `${id}:${payload.event.replace('incident.', '')}${payload.level === undefined ? '' : `:L${payload.level + 1}`}`,
      );
    },
  };
}

function setup(options: Partial<IncidentManagerOptions> = {}, automation?: () => Promise<AutomationOutcome>) {
  const clock = createManualClock(T0);
  const sent: string[] = [];
  const incidents = createIncidentManager({
    clock,
    autoStart: false,
    delivery: { circuitBreaker: false },
    notifiers: {
      primary: recorder(sent, 'primary'),
      secondary: recorder(sent, 'secondary'),
      manager: recorder(sent, 'manager'),
      tickets: recorder(sent, 'tickets', ['incident.triggered', 'incident.resolved']),
      channel: recorder(sent, 'channel'),
    },
    automations: { restart: automation ?? (async () => ({ outcome: 'failed', detail: 'not configured' })) },
    escalationPolicies: [
      {
        id: 'runbook',
        levels: [
          { startAfter: 0, targets: ['primary'] },
          { startAfter: '5m', targets: ['secondary'] },
          { startAfter: '15m', targets: ['manager'] },
        ],
      },
    ],
    routes: [
      { when: { route: 'page' }, escalationPolicy: 'runbook', notify: ['channel'] },
      { when: { route: 'ticket' }, notify: ['tickets'] },
    ],
    ...options,
  });
  const tick = async (ms: number) => {
    clock.advance(ms);
    await incidents.runDueTimers();
    await incidents.deliverNotifications();
  };
  return { clock, incidents, sent, tick };
}

describe('escalation and routing', () => {
  it('pages level by level on offsets from the trigger; acknowledging stops paging; the ack timeout re-pages the current level', async () => {
    const { incidents, sent, tick } = setup();
    const { incident } = await incidents.trigger({ service: 'checkout', title: 'Checkout down', severity: 'P0' });
    await tick(0);
    expect(sent).toEqual(['channel:triggered', 'primary:escalated:L1']);
    await tick(5 * MINUTE);
    expect(sent.slice(2)).toEqual(['secondary:escalated:L2']);
    await tick(MINUTE);
    await incidents.acknowledge(incident!.id, { by: 'bob' });
    await tick(0);
    expect(sent.slice(3).sort()).toEqual(['channel:acknowledged', 'primary:acknowledged', 'secondary:acknowledged']);
    await tick(10 * MINUTE); // L3 would be due at 15m: acknowledged, so no page
    expect(sent.filter((line) => line.startsWith('manager'))).toEqual([]);
    await tick(20 * MINUTE); // the acknowledgement (30m) lapsed at 36m: L2 again, then L3 ten minutes later
    expect(sent.slice(6)).toEqual(['secondary:escalated:L2']);
    await tick(10 * MINUTE);
    expect(sent.slice(7)).toEqual(['manager:escalated:L3']);
    const kinds = (await incidents.timeline(incident!.id))
      .map((event) => event.kind)
      .filter((kind) => kind !== 'notified');
    expect(kinds).toEqual([
      'triggered',
      'escalated',
      'target_breached', // not acknowledged within 5m
      'escalated',
      'acknowledged',
      'target_breached', // not mitigated within 30m
      'target_breached', // no status update for 30m
      'unacknowledged',
      'escalated',
      'escalated',
      'policy_exhausted',
    ]);
    await incidents.resolve(incident!.id, { reason: 'user', note: 'fixed' });
    await tick(0);
    expect(sent.slice(8).sort()).toEqual([
      'channel:resolved',
      'manager:resolved',
      'primary:resolved',
      'secondary:resolved',
    ]);
  });

  it('repeats up to the cap, then records the exhausted policy and tells its owner', async () => {
    const { incidents, sent, tick } = setup({
      escalationPolicies: [
        {
          id: 'short',
          levels: [
            { startAfter: 0, targets: ['primary'] },
            { startAfter: '5m', targets: ['secondary'] },
          ],
          repeat: { times: 2, after: '10m' },
          onExhausted: { notify: ['manager'] },
        },
      ],
      routes: [{ escalationPolicy: 'short' }],
    });
    const exhausted: string[] = [];
    incidents.on('escalation.exhausted', (event) => exhausted.push(event.policyId));
    const { incident } = await incidents.trigger({ service: 'api', title: 'x', severity: 'P1' });
    for (let minute = 0; minute <= 60; minute++) await tick(minute === 0 ? 0 : MINUTE);
    expect(sent).toEqual([
      'primary:escalated:L1',
      'secondary:escalated:L2',
      'primary:escalated:L1',
      'secondary:escalated:L2',
      'primary:escalated:L1',
      'secondary:escalated:L2',
      'manager:escalated:L2',
    ]);
    expect(exhausted).toEqual(['short']);
    const escalated = (await incidents.timeline(incident!.id))
      .filter((event) => event.kind === 'escalated')
      .map((event) => event.at - T0);
    expect(escalated).toEqual([0, 5, 15, 20, 30, 35].map((minutes) => minutes * MINUTE)); // a loop starts `after` (10m) after the last level (5m)
    expect((await incidents.require(incident!.id)).escalation).toMatchObject({ exhausted: true, loop: 2, level: 1 });
    expect((await incidents.timeline(incident!.id)).some((event) => event.kind === 'policy_exhausted')).toBe(true);
  });

  it('routes P2/P3 to a ticket (opened on trigger, closed on resolve) without paging', async () => {
    const { incidents, sent, tick } = setup();
    const { incident } = await incidents.trigger({ service: 'search', title: 'Slow queries', severity: 'P2' });
    await tick(30 * MINUTE);
    await incidents.acknowledge(incident!.id);
    await incidents.resolve(incident!.id, { reason: 'source' });
    await tick(0);
    expect(sent).toEqual(['tickets:triggered', 'tickets:resolved']);
  });

  it('runs an automated first level: a fix that resolves stops the human level; a failed one lets it page', async () => {
    const policy = {
      escalationPolicies: [
        {
          id: 'auto',
          levels: [
            { startAfter: 0, targets: [{ automation: 'restart' }] },
            { startAfter: '5m', targets: ['primary'] },
          ],
        },
      ],
      routes: [{ escalationPolicy: 'auto' }],
    };
    const fixed = setup(policy, async () => ({ outcome: 'resolved', detail: 'restarted 3 pods; errors back to 0.1%' }));
    const first = await fixed.incidents.trigger({ service: 'api', title: 'x', severity: 'P0' });
    await fixed.tick(0);
    await fixed.tick(10 * MINUTE);
    expect(fixed.sent).toEqual([]);
    expect(await fixed.incidents.require(first.incident!.id)).toMatchObject({
      status: 'resolved',
      resolveReason: 'escalation_step',
    });
    const automationEntry = (await fixed.incidents.timeline(first.incident!.id)).find(
      (event) => event.kind === 'automation',
    );
    expect(automationEntry?.description).toBe('Automation restart: resolved — restarted 3 pods; errors back to 0.1%');

    const failing = setup(policy, async () => {
      throw new Error('kubectl: connection refused');
    });
    const second = await failing.incidents.trigger({ service: 'api', title: 'x', severity: 'P0' });
    await failing.tick(0);
    await failing.tick(5 * MINUTE);
    expect(failing.sent).toEqual(['primary:escalated:L2']);
    const failed = (await failing.incidents.timeline(second.incident!.id)).find((event) => event.kind === 'automation');
    expect(failed?.description).toMatch(/^Automation restart: failed — .*connection refused/);
  });

  it('skips levels meant for other severities', async () => {
    const { incidents, sent, tick } = setup({
      escalationPolicies: [
        {
          id: 'p',
          levels: [
            { startAfter: 0, targets: ['primary'] },
            { startAfter: '1m', targets: ['manager'], severities: ['P0'] },
          ],
        },
      ],
      routes: [{ escalationPolicy: 'p' }],
    });
    await incidents.trigger({ service: 'api', title: 'x', severity: 'P1' });
    await tick(0);
    await tick(MINUTE);
    expect(sent).toEqual(['primary:escalated:L1']);
  });

  it('refuses configuration that names unknown targets or policies', () => {
    const clock = createManualClock(T0);
    expect(() =>
      createIncidentManager({
        clock,
        autoStart: false,
        escalationPolicies: [{ id: 'p', levels: [{ startAfter: 0, targets: ['nobody'] }] }],
      }),
    ).toThrow('escalationPolicies[0].levels[0].targets[0]: no notifier "nobody" (known: none)');
    expect(() => createIncidentManager({ clock, autoStart: false, routes: [{ escalationPolicy: 'missing' }] })).toThrow(
      'routes[0].escalationPolicy: no policy "missing"',
    );
    expect(() =>
      createIncidentManager({
        clock,
        autoStart: false,
        notifiers: { a: { kind: 'x', send: async () => {} } },
        escalationPolicies: [
          {
            id: 'p',
            levels: [
              { startAfter: '5m', targets: ['a'] },
              { startAfter: '1m', targets: ['a'] },
            ],
          },
        ],
      }),
    ).toThrow(/levels\[1\]\.startAfter must not be earlier/);
    expect(() =>
      createIncidentManager({
        clock,
        autoStart: false,
        notifiers: { a: { kind: 'x', send: async () => {} } },
        escalationPolicies: [{ id: 'p', levels: [{ startAfter: 0, targets: ['a'] }], repeat: { times: 11 } }],
      }),
    ).toThrow('escalationPolicies[0].repeat.times must be an integer in [0, 10], got 11');
  });
});
