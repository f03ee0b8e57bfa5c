import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createIncidentManager } from '../lifecycle/incident-manager.js';
import { createSignalRules, type SignalRule } from './signal-rules.js';

const T0 = Date.UTC(2026, 0, 13, 9, 0, 0);
const SECOND = 1000;

// The runbook's rules: "P2: degradation > 50% for 1 minute", "P0: > 90% errors for > 2 minutes".
const RULES: SignalRule[] = [
  {
    name: 'checkout-degraded',
    service: 'checkout',
    signal: 'error_ratio',
    op: '>',
    threshold: 0.5,
    for: '1m',
    severity: 'P2',
  },
  {
    name: 'checkout-down',
    service: 'checkout',
    signal: 'error_ratio',
    op: '>',
    threshold: 0.9,
    clearThreshold: 0.8,
    for: '2m',
    clearFor: '1m',
    severity: 'P0',
    components: ['checkout'],
  },
];

function setup() {
  const clock = createManualClock(T0);
  const incidents = createIncidentManager({ clock, autoStart: false });
  const rules = createSignalRules({ incidents, rules: RULES, clock });
  const at = async (seconds: number, value: number | undefined) => {
    clock.set(T0 + seconds * SECOND);
    return rules.evaluate({ error_ratio: value });
  };
  return { clock, incidents, rules, at };
}

describe('severity rules over signals (Sustained conditions)', () => {
  it('open after `for`, raise the severity when a stronger rule fires, hold through hysteresis, resolve when all clear', async () => {
    const { incidents, at } = setup();
    await at(0, 0.95);
    expect(await incidents.list()).toEqual([]); // pending: nothing pages on a blip
    await at(59, 0.95);
    expect(await incidents.list()).toEqual([]);
    await at(60, 0.95);
    let [incident] = await incidents.list();
    expect(incident).toMatchObject({ severity: 'P2', service: 'checkout', dedupKey: 'signal:checkout:error_ratio' });
    expect(incident!.labels).toMatchObject({ signal: 'error_ratio', rule: 'checkout-degraded' });
    expect(incident!.impactStartedAt).toBe(T0); // when the condition began, not when the rule fired
    await at(120, 0.95);
    [incident] = await incidents.list();
    expect(incident!.severity).toBe('P0');
    expect(await incidents.list()).toHaveLength(1);
    await at(150, 0.85); // below 0.9 but above the clear threshold 0.8: still P0 firing
    await at(180, 0.7); // cleared; keeps firing for clearFor (1m); P2 still holds
    expect((await incidents.require(incident!.id)).status).toBe('triggered');
    const states = Object.fromEntries((await at(200, 0.3)).map((rule) => [rule.name, rule.state]));
    expect(states).toEqual({ 'checkout-degraded': 'resolved', 'checkout-down': 'firing' });
    expect((await incidents.require(incident!.id)).status).toBe('triggered');
    await at(240, 0.3); // a minute after it cleared: nothing fires
    const resolved = await incidents.require(incident!.id);
    expect(resolved).toMatchObject({ status: 'resolved', resolveReason: 'source', occurrences: 2 });
    const kinds = (await incidents.timeline(incident!.id)).map((event) => event.kind);
    expect(kinds).toEqual(['triggered', 'severity_changed', 'resolved']);
  });

  it('do not page for a flapping signal that never holds for `for`, nor for a missing one', async () => {
    const { incidents, at, rules } = setup();
    for (let second = 0; second < 600; second += 30) await at(second, second % 60 === 0 ? 0.99 : 0.1);
    await at(600, undefined);
    await at(900, Number.NaN);
    expect(await incidents.list()).toEqual([]);
    expect(rules.states().map((rule) => rule.state)).toEqual(['inactive', 'inactive']);
  });

  it('refuse rules that cannot work', () => {
    const incidents = createIncidentManager({ autoStart: false });
    const base = RULES[1]!;
    expect(() => createSignalRules({ incidents, rules: [{ ...base, severity: 'P9' }] })).toThrow(
      /rules\[0\]\.severity: unknown level "P9"; one of P0, P1, P2, P3/,
    );
    expect(() => createSignalRules({ incidents, rules: [{ ...base, clearThreshold: 0.95 }] })).toThrow(
      /clearThreshold must be on the clear side of threshold \(≤ 0.9\)/,
    );
    expect(() => createSignalRules({ incidents, rules: [{ ...base, op: '=>' as never }] })).toThrow(
      /op must be one of/,
    );
    expect(() =>
      createSignalRules({
        incidents,
        rules: [
          { ...RULES[0]!, group: 'g' },
          { ...base, service: 'search', group: 'g' },
        ],
      }),
    ).toThrow(/must share one service/);
    expect(() => createSignalRules({ incidents, rules: RULES }).start()).toThrow(/needs the sample option/);
  });

  it('evaluate the sampled signals periodically once started', async () => {
    const clock = createManualClock(T0);
    const incidents = createIncidentManager({ clock, autoStart: false });
    let ratio = 0.99;
    const rules = createSignalRules({
      incidents,
      rules: [{ ...RULES[1]!, for: 0 }],
      clock,
      every: '15s',
      sample: async () => ({ error_ratio: ratio }),
    });
    rules.start();
    const opened = new Promise((done) => incidents.on('incident.triggered', done));
    clock.advance(15 * SECOND);
    await opened;
    expect((await incidents.list())[0]?.severity).toBe('P0');
    ratio = 0;
    await rules.close();
  });
});
