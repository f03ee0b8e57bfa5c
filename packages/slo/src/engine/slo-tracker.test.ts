import { createManualClock } from '@ops/core';
import { createRecordingLogger } from '@ops/core/testing';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SloError } from '../errors.js';
import { createSloTracker, type SloAlertEvent } from './slo-tracker.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.UTC(2026, 5, 1);

function hasNoNonFinite(value: unknown): boolean {
  let ok = true;
  JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner === 'number' && !Number.isFinite(inner)) ok = false;
    return inner;
  });
  return ok;
}

function availability(options: Record<string, unknown> = {}) {
  return { service: 'shop', name: 'checkout', objective: 0.999, sli: { type: 'availability' as const }, ...options };
}

describe('createSloTracker: status', () => {
  it('matches hand-computed budget and burn rates (99.9%, 30d)', () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({ slos: [availability()], clock });
    const recorder = tracker.get('checkout');
    // 2 days ago: 9,000 good, 0 bad. Last 5 minutes: 990 good, 10 bad.
    recorder.add({ good: 9_000, atMs: START });
    clock.advance(2 * DAY);
    recorder.add({ good: 990, bad: 10 });
    const status = tracker.status('checkout');
    expect(status.events).toEqual({ good: 9_990, bad: 10, total: 10_000 });
    expect(status.sli).toBeCloseTo(0.999, 12);
    // e(P) = 10/10,000 = 0.001 = B → the whole budget is spent.
    expect(status.budget.allowedBadEvents).toBeCloseTo(10, 9);
    expect(status.budget.consumedRatio).toBeCloseTo(1, 9);
    expect(status.budget.remainingRatio).toBeCloseTo(0, 9);
    // e(5m) = 10/1,000 = 1% → burn rate 10; 1d window holds the same 1,000 events.
    expect(status.burnRates['5m']).toBeCloseTo(10, 9);
    expect(status.burnRates['1d']).toBeCloseTo(10, 9);
    // 3d window: 10/10,000 → 1.
    expect(status.burnRates['3d']).toBeCloseTo(1, 9);
    // Spent to within floating-point error of 1 − 0.999: exhaustion is now.
    expect(status.timeToExhaustionMs).toBeLessThan(1);
    // 10 > 6 and > 3 but < 14.4; the 3d burn rate 1 is not above 1.
    expect(status.firing).toEqual(['page-slow', 'ticket-quick']);
    expect(status.tiers.find((tier) => tier.name === 'ticket-slow')?.longBurnRate).toBeCloseTo(1, 9);
  });

  it('projects time to exhaustion from the remaining budget and the 1h burn rate', () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({ slos: [availability()], clock });
    tracker.get('checkout').add({ good: 99_999, bad: 1 }); // e(P) = 1e-5 → 1% consumed
    clock.advance(2 * HOUR);
    tracker.get('checkout').add({ good: 9_980, bad: 20 }); // 1h: e = 0.002 → burn 2
    const status = tracker.status('checkout');
    const expectedRemaining = 1 - 21 / 110_000 / 0.001;
    expect(status.budget.remainingRatio).toBeCloseTo(expectedRemaining, 9);
    expect(status.burnRates['1h']).toBeCloseTo(2, 9);
    expect(status.timeToExhaustionMs).toBeCloseTo((expectedRemaining * 30 * DAY) / 2, 0);
  });

  it('is free of NaN and Infinity at zero traffic', () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({
      slos: [availability(), availability({ name: 'month', window: { calendar: 'month', timeZone: 'Europe/Berlin' } })],
      clock,
    });
    for (const status of tracker.statuses()) {
      expect(hasNoNonFinite(status)).toBe(true);
      expect(status.sli).toBeNull();
      expect(status.budget.remainingRatio).toBe(1);
      expect(status.timeToExhaustionMs).toBeNull();
      expect(status.firing).toEqual([]);
      expect(status.lowTraffic).toBe(true);
      expect(Object.values(status.burnRates).every((rate) => rate === 0)).toBe(true);
    }
  });

  it('lets the remaining budget go negative', () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({ slos: [availability()], clock });
    tracker.get('checkout').add({ good: 970, bad: 30 });
    const status = tracker.status('checkout');
    expect(status.budget.remainingRatio).toBeCloseTo(-29, 9);
    expect(status.budget.remainingBadEvents).toBeCloseTo(-29, 9);
  });

  it('counts an event of minute m in a 5m window until m + 6m, like Prometheus [t − 5m, t] on minute boundaries', () => {
    const clock = createManualClock(START + 30_000);
    const tracker = createSloTracker({ slos: [availability()], clock });
    tracker.record('checkout', { good: false });
    // At 5m the window is [0m, 5m]: Prometheus' rate(x[5m]) at 5m sees the counter go from its 0m to its 5m sample.
    clock.set(START + 5 * MINUTE);
    expect(tracker.status('checkout').windows[0]?.bad).toBe(1);
    // Between boundaries the window also holds the minute in progress: [minuteStart(t) − 5m, t], at most 1m longer.
    clock.set(START + 5 * MINUTE + 59_999);
    expect(tracker.status('checkout').windows[0]?.bad).toBe(1);
    clock.set(START + 6 * MINUTE);
    expect(tracker.status('checkout').windows[0]?.bad).toBe(0);
    expect(tracker.status('checkout').burnRates['30m']).toBeCloseTo(1000, 9);
  });

  it('forgets burn-rate windows after an idle gap but keeps the period', () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({ slos: [availability()], clock });
    tracker.get('checkout').add({ good: 90, bad: 10 });
    clock.advance(4 * DAY);
    const status = tracker.status('checkout');
    expect(Object.values(status.burnRates)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(status.events.total).toBe(100);
    tracker.record('checkout', { good: true });
    expect(tracker.status('checkout').windows.at(-1)?.good).toBe(1);
    clock.advance(31 * DAY);
    expect(tracker.status('checkout').events.total).toBe(0);
  });

  it('drops events older than both rings and says so', () => {
    const clock = createManualClock(START + 40 * DAY);
    const tracker = createSloTracker({ slos: [availability()], clock });
    tracker.record('checkout', { good: true });
    tracker.record('checkout', { good: false, atMs: START }); // 40 days ago: outside the 30-day period
    tracker.record('checkout', { good: false, atMs: START + 39 * DAY }); // a day ago: in the period and the 3d ring
    const status = tracker.status('checkout');
    expect(status.events).toEqual({ good: 1, bad: 1, total: 2 });
    expect(status.droppedLateEvents).toBe(1);
    expect(status.windows.at(-1)?.bad).toBe(1);
    // Asking for a label set never seen allocates nothing lasting and reports zeros.
    expect(tracker.status('checkout', { labels: { route: '/x' } }).events.total).toBe(0);
  });

  it('resets a calendar month at local midnight of the 1st (Europe/Berlin)', () => {
    const clock = createManualClock(Date.UTC(2026, 0, 31, 22, 0));
    const tracker = createSloTracker({
      slos: [availability({ window: { calendar: 'month', timeZone: 'Europe/Berlin' } })],
      clock,
    });
    tracker.get('checkout').add({ good: 50, bad: 5 }); // 23:00 Berlin, January
    clock.advance(59 * MINUTE);
    tracker.get('checkout').add({ good: 10 }); // 23:59 Berlin, still January
    expect(tracker.status('checkout').events.total).toBe(65);
    clock.advance(MINUTE); // 00:00 Berlin, February 1st
    const february = tracker.status('checkout');
    expect(february.events.total).toBe(0);
    expect(new Date(february.period.startMs).toISOString()).toBe('2026-01-31T23:00:00.000Z');
    expect(february.period.lengthMs).toBe(28 * DAY);
    // The burn-rate windows are rolling and still see January's last hour.
    expect(february.windows.find((window) => window.window === '2h')?.bad).toBe(5);
  });

  it('uses the 23-hour length of a DST day for the budget factors of a calendar day', () => {
    const clock = createManualClock(Date.UTC(2026, 2, 29, 10));
    const tracker = createSloTracker({
      slos: [availability({ objective: 0.99, window: { calendar: 'day', timeZone: 'Europe/Berlin' } })],
      clock,
    });
    tracker.get('checkout').add({ good: 1 });
    const status = tracker.status('checkout');
    expect(status.period.lengthMs).toBe(23 * HOUR);
    expect(new Date(status.period.startMs).toISOString()).toBe('2026-03-28T23:00:00.000Z');
    // page-quick: 2% × 23h / 1h = 0.46.
    expect(status.tiers[0]?.threshold).toBeCloseTo(0.46, 12);
    tracker.get('checkout').add({ good: 5, atMs: Date.UTC(2026, 2, 28, 22, 59) }); // 23:59 on the 28th, previous day
    expect(tracker.status('checkout').events.total).toBe(1);
  });

  it('classifies latency events against the threshold and counts errors as bad', () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({
      slos: [{ service: 'shop', name: 'fast', objective: 0.95, sli: { type: 'latency', threshold: '200ms' } }],
      clock,
    });
    tracker.record('fast', { latencyMs: 200 });
    tracker.record('fast', { latencyMs: 200.5 });
    tracker.record('fast', { latencyMs: 10, good: false });
    expect(tracker.status('fast').events).toEqual({ good: 1, bad: 2, total: 3 });
    expect(() => tracker.record('fast', { good: true })).toThrow(/latency SLI events need latencyMs/);
  });

  it('folds label sets beyond maxLabelSets into __other__', () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({ slos: [availability({ groupBy: ['route'], maxLabelSets: 2 })], clock });
    for (const route of ['/a', '/b', '/c', '/d'])
      tracker.record('checkout', { good: route !== '/d', labels: { route } });
    expect(tracker.labelSets('checkout')).toEqual([{ route: '/a' }, { route: '/b' }, { route: '__other__' }]);
    expect(tracker.status('checkout', { labels: { route: '__other__' } }).events).toEqual({
      good: 1,
      bad: 1,
      total: 2,
    });
    expect(tracker.status('checkout').events.total).toBe(4);
  });

  it('reads ratio SLIs from two prom-client counters', async () => {
    const clock = createManualClock(START);
    const registry = new Registry();
    const requests = new Counter({
      name: 'app_requests_total',
      help: 'requests',
      labelNames: ['code'],
      registers: [registry],
    });
    const tracker = createSloTracker({
      slos: [
        {
          service: 'shop',
          name: 'api',
          objective: 0.99,
          sli: {
            type: 'ratio',
            bad: { metric: 'app_requests_total', matchers: { code: '500' } },
            total: { metric: 'app_requests_total' },
          },
        },
      ],
      clock,
      counterRegistry: registry,
    });
    requests.inc({ code: '200' }, 95);
    requests.inc({ code: '500' }, 5);
    await tracker.evaluate();
    clock.advance(MINUTE);
    requests.inc({ code: '200' }, 100);
    await tracker.evaluate();
    const status = tracker.status('api');
    expect(status.events).toEqual({ good: 195, bad: 5, total: 200 });
    expect(status.windows[0]?.bad).toBe(5);
    // A counter reset (process restart) counts the new value as the increase.
    requests.reset();
    requests.inc({ code: '500' }, 2);
    clock.advance(MINUTE);
    await tracker.evaluate();
    expect(tracker.status('api').events).toEqual({ good: 195, bad: 7, total: 202 });
  });

  it('reads ratio SLI counters with regex and negative matchers, as Prometheus selects them', async () => {
    const clock = createManualClock(START);
    const registry = new Registry();
    const requests = new Counter({
      name: 'app_http_total',
      help: 'requests',
      labelNames: ['code', 'method'],
      registers: [registry],
    });
    const tracker = createSloTracker({
      slos: [
        {
          service: 'shop',
          name: 'api',
          objective: 0.99,
          sli: {
            type: 'ratio',
            bad: { metric: 'app_http_total', matchers: { code: { regex: '5..|429' }, method: { not: 'OPTIONS' } } },
            total: { metric: 'app_http_total', matchers: { method: { notRegex: 'OPTIONS|HEAD' } } },
          },
        },
      ],
      clock,
      counterRegistry: registry,
    });
    requests.inc({ code: '200', method: 'GET' }, 90);
    requests.inc({ code: '503', method: 'GET' }, 6);
    requests.inc({ code: '429', method: 'POST' }, 4);
    requests.inc({ code: '5000', method: 'GET' }, 1000); // "5.." is anchored: not a match
    requests.inc({ code: '500', method: 'OPTIONS' }, 1000); // neither bad nor counted
    await tracker.evaluate();
    expect(tracker.status('api').events).toEqual({ good: 1090, bad: 10, total: 1100 });
  });

  it('keeps a tier firing for keepFiringFor after its burn rates dropped (Prometheus keep_firing_for)', async () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({
      slos: [
        availability({
          alerting: {
            keepFiringFor: '10m',
            tiers: { 'page-slow': false, 'ticket-quick': false, 'ticket-slow': false },
          },
        }),
      ],
      clock,
    });
    const events: string[] = [];
    tracker.on('alert.firing', (event) => events.push(`firing@${(event.at - START) / MINUTE}`));
    tracker.on('alert.resolved', (event) => events.push(`resolved@${(event.at - START) / MINUTE}`));
    expect(tracker.slos[0]?.tiers[0]?.keepFiringForMs).toBe(10 * MINUTE);
    tracker.get('checkout').add({ bad: 100, atMs: START });
    for (let minute = 1; minute <= 20; minute++) {
      clock.set(START + minute * MINUTE);
      tracker.get('checkout').add({ good: 1_000 });
      await tracker.evaluate();
      if (minute === 8) expect(tracker.status('checkout').tiers[0]).toMatchObject({ active: false, firing: true });
    }
    // Active from 1m (100 bad in 1,100 events: burn 90.9 > 14.4) while the 5m window holds minute 0: at 6m it covers
    // [1m, 6m] and is clean. Without keepFiringFor the tier would resolve at 6m; with 10m it resolves at 16m.
    expect(events).toEqual(['firing@1', 'resolved@16']);
  });

  it('refuses events and raw SLIs: PromQL only Prometheus evaluates', () => {
    expect(() =>
      createSloTracker({
        slos: [
          {
            service: 'shop',
            name: 'q',
            objective: 0.99,
            sli: { type: 'events', errorQuery: 'e[{{.window}}]', totalQuery: 't[{{.window}}]' },
          },
        ],
      }),
    ).toThrow(/an events SLI is a PromQL query that only Prometheus evaluates/);
  });

  it('refuses a ratio SLI without a registry to read its counters from', () => {
    expect(() =>
      createSloTracker({
        slos: [
          {
            service: 'shop',
            name: 'api',
            objective: 0.99,
            sli: { type: 'ratio', bad: { metric: 'a_total' }, total: { metric: 'b_total' } },
          },
        ],
      }),
    ).toThrow(/ratio SLI reads prom-client counters; pass counterRegistry/);
  });
});

describe('createSloTracker: alerts', () => {
  it('emits alert.firing and alert.resolved with tier, severity, burn rates and budget', async () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({
      slos: [
        availability({ alerting: { tiers: { 'page-slow': false, 'ticket-quick': false, 'ticket-slow': false } } }),
      ],
      clock,
    });
    const events: SloAlertEvent[] = [];
    tracker.on('alert.firing', (event) => events.push(event));
    tracker.on('alert.resolved', (event) => events.push(event));
    const recorder = tracker.get('checkout');
    // One hour at 1% errors: burn rate 10 < 14.4 → nothing.
    for (let minute = 0; minute < 60; minute++) {
      recorder.add({ good: 99, bad: 1 });
      clock.advance(MINUTE);
      await tracker.evaluate();
    }
    expect(events).toEqual([]);
    // Full outage minute: 100 bad. 1h = the 60 minutes before + this one: (60 + 100)/6,100 = 2.6% → burn 26.2;
    // 5m = (5 + 100)/600 = 17.5% → burn 175.
    recorder.add({ bad: 100 });
    await tracker.evaluate();
    expect(events.map((event) => [event.type, event.tier, event.severity])).toEqual([
      ['alert.firing', 'page-quick', 'page'],
    ]);
    const firing = events[0] as SloAlertEvent;
    expect(firing.threshold).toBeCloseTo(14.4, 12);
    expect(firing.burnRates.short).toBeCloseTo((5 + 100) / 600 / 0.001, 6);
    expect(firing.budget.remainingRatio).toBeLessThan(0);
    // Recovery: the 5m window is clean 6 minutes later ([61m, 66m]), so the tier resolves though the 1h window is
    // still high.
    for (let minute = 0; minute < 6; minute++) {
      clock.advance(MINUTE);
      recorder.add({ good: 100 });
      await tracker.evaluate();
    }
    expect(events.map((event) => event.type)).toEqual(['alert.firing', 'alert.resolved']);
    expect(tracker.status('checkout').burnRates['1h']).toBeGreaterThan(14.4);
  });

  it('holds a tier back until its "for" has elapsed', async () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({
      slos: [availability({ alerting: { tiers: { 'page-quick': { for: '2m' } } } })],
      clock,
    });
    const fired: number[] = [];
    tracker.on('alert.firing', (event) => event.tier === 'page-quick' && fired.push(event.atMs));
    tracker.get('checkout').add({ bad: 10 });
    await tracker.evaluate();
    clock.advance(MINUTE);
    await tracker.evaluate();
    expect(fired).toEqual([]);
    expect(tracker.status('checkout').tiers[0]).toMatchObject({ active: true, firing: false });
    clock.advance(MINUTE);
    await tracker.evaluate();
    expect(fired).toEqual([START + 2 * MINUTE]);
  });

  it('applies the low-traffic guard (minEvents) to the long window', async () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({ slos: [availability({ alerting: { minEvents: 20 } })], clock });
    tracker.get('checkout').add({ bad: 10 });
    const status = tracker.status('checkout');
    expect(status.firing).toEqual([]);
    expect(status.tiers.every((tier) => tier.lowTraffic)).toBe(true);
    tracker.get('checkout').add({ bad: 10 });
    expect(tracker.status('checkout').firing).toEqual(['page-quick', 'page-slow', 'ticket-quick', 'ticket-slow']);
  });

  it('evaluates on a timer when evaluateEvery is set', async () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({ slos: [availability()], clock, evaluateEvery: '30s' });
    const fired: string[] = [];
    tracker.on('alert.firing', (event) => fired.push(event.tier));
    tracker.get('checkout').add({ bad: 1 });
    await clock.advanceAsync(30_000);
    expect(fired).toEqual(['page-quick', 'page-slow', 'ticket-quick', 'ticket-slow']);
    await tracker.close();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('stamps every transition with at (epoch ms of the evaluation), atMs being the same value', async () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({
      slos: [
        availability({ alerting: { tiers: { 'page-slow': false, 'ticket-quick': false, 'ticket-slow': false } } }),
      ],
      clock,
    });
    const events: SloAlertEvent[] = [];
    tracker.on('alert.firing', (event) => void events.push(event));
    tracker.on('alert.resolved', (event) => void events.push(event));
    tracker.get('checkout').add({ bad: 10 });
    clock.advance(30_000);
    await tracker.evaluate();
    clock.advance(10 * MINUTE);
    tracker.get('checkout').add({ good: 1_000_000 });
    await tracker.evaluate();
    expect(events.map((event) => [event.type, event.at, event.atMs])).toEqual([
      ['alert.firing', START + 30_000, START + 30_000],
      ['alert.resolved', START + 30_000 + 10 * MINUTE, START + 30_000 + 10 * MINUTE],
    ]);
  });

  it('restarts "for" when the condition clears before it elapses, and after a resolution', async () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({
      slos: [
        availability({
          alerting: {
            tiers: { 'page-quick': { for: '3m' }, 'page-slow': false, 'ticket-quick': false, 'ticket-slow': false },
          },
        }),
      ],
      clock,
    });
    const transitions: Array<[string, number]> = [];
    tracker.on('alert.firing', (event) => void transitions.push(['firing', (event.at - START) / MINUTE]));
    tracker.on('alert.resolved', (event) => void transitions.push(['resolved', (event.at - START) / MINUTE]));
    const recorder = tracker.get('checkout');
    const minute = async (traffic: { good?: number; bad?: number }) => {
      recorder.add(traffic);
      await tracker.evaluate();
      clock.advance(MINUTE);
    };
    // Bad at minutes 0–1 (pending), clean from 2 (the 5m window clears at 7), bad again from 8.
    await minute({ bad: 100 });
    await minute({ bad: 100 });
    for (let index = 0; index < 6; index++) await minute({ good: 100_000 });
    expect(tracker.status('checkout').tiers[0]).toMatchObject({ active: false, firing: false });
    for (let index = 0; index < 4; index++) await minute({ bad: 100_000 });
    // Active again at 8: fires at 8 + 3 = 11, not at 0 + 3.
    expect(transitions).toEqual([['firing', 11]]);
    // Between evaluations status() reads the same condition: still firing.
    expect(tracker.status('checkout').firing).toEqual(['page-quick']);
    // Clean from 12: the 5m window drops under the threshold at 14.
    for (let index = 0; index < 6; index++) await minute({ good: 10_000_000 });
    expect(transitions).toEqual([
      ['firing', 11],
      ['resolved', 14],
    ]);
    // A new burn from 18 waits its full "for" again: fires at 21.
    await minute({ bad: 10_000_000 });
    await minute({ bad: 10_000_000 });
    await minute({ bad: 10_000_000 });
    expect(transitions).toHaveLength(2);
    await minute({ bad: 10_000_000 });
    expect(transitions).toEqual([
      ['firing', 11],
      ['resolved', 14],
      ['firing', 21],
    ]);
  });

  it('isolates and logs a throwing listener; the others still get the event', async () => {
    const clock = createManualClock(START);
    const logger = createRecordingLogger();
    const tracker = createSloTracker({ slos: [availability()], clock, logger });
    const fired: string[] = [];
    tracker.on('alert.firing', () => {
      throw new Error('listener bug');
    });
    tracker.on('alert.firing', (event) => void fired.push(event.tier));
    tracker.get('checkout').add({ bad: 1 });
    await tracker.evaluate();
    expect(fired).toEqual(['page-quick', 'page-slow', 'ticket-quick', 'ticket-slow']);
    expect(logger.records.filter((record) => record.level === 'error')).toHaveLength(4);
    expect(logger.text()).toContain('listener bug');
  });

  it('unsubscribes with the function on() returns', async () => {
    const clock = createManualClock(START);
    const tracker = createSloTracker({ slos: [availability()], clock });
    const fired: string[] = [];
    const off = tracker.on('alert.firing', (event) => void fired.push(event.tier));
    off();
    off();
    tracker.get('checkout').add({ bad: 1 });
    await tracker.evaluate();
    expect(fired).toEqual([]);
  });

  it('never overlaps evaluations on the timer, and close() waits for the one in progress', async () => {
    const clock = createManualClock(START);
    const registry = new Registry();
    let release: () => void = () => undefined;
    let reads = 0;
    // A counter whose read hangs until released (a slow collect callback).
    registry.registerMetric({
      name: 'slow_requests_total',
      help: 'requests',
      type: 'counter',
      aggregator: 'sum',
      get: async () => {
        reads++;
        await new Promise<void>((resolve) => (release = resolve));
        return {
          name: 'slow_requests_total',
          help: 'requests',
          type: 'counter',
          aggregator: 'sum',
          values: [{ value: 10, labels: {} }],
        };
      },
      reset: () => undefined,
    } as unknown as Parameters<Registry['registerMetric']>[0]);
    const tracker = createSloTracker({
      slos: [
        {
          service: 'shop',
          name: 'api',
          objective: 0.99,
          sli: { type: 'ratio', bad: { metric: 'slow_errors_total' }, total: { metric: 'slow_requests_total' } },
        },
      ],
      clock,
      counterRegistry: registry,
      evaluateEvery: '30s',
    });
    await clock.advanceAsync(30_000);
    expect(reads).toBe(1);
    await clock.advanceAsync(90_000); // three more ticks while the first evaluation hangs: skipped
    expect(reads).toBe(1);
    let closed = false;
    const closing = tracker.close().then(() => (closed = true));
    await clock.advanceAsync(0);
    expect(closed).toBe(false);
    release();
    await closing;
    expect(closed).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('createSloTracker: errors', () => {
  it('throws SloError with a code per cause', () => {
    const tracker = createSloTracker({
      slos: [
        availability(),
        availability({ service: 'blog', name: 'checkout' }),
        { service: 'shop', name: 'fast', objective: 0.95, sli: { type: 'latency' as const, threshold: '200ms' } },
      ],
    });
    const codeOf = (action: () => unknown) => {
      try {
        action();
      } catch (error) {
        return SloError.isInstance(error) ? error.code : 'not an SloError';
      }
      return 'nothing thrown';
    };
    expect(codeOf(() => tracker.get('nope'))).toBe('SLO_NOT_FOUND');
    expect(codeOf(() => tracker.status('checkout'))).toBe('SLO_AMBIGUOUS');
    expect(codeOf(() => tracker.record('shop/checkout', { good: true }))).toBe('nothing thrown');
    expect(codeOf(() => tracker.record('shop/checkout', { latencyMs: 10 }))).toBe('SLI_MISMATCH');
    expect(codeOf(() => tracker.record('fast', { good: true }))).toBe('SLI_MISMATCH');
    expect(codeOf(() => tracker.record('fast', { latencyMs: -1 }))).toBe('ARGUMENT_INVALID');
    expect(codeOf(() => tracker.get('fast').add({ good: Number.NaN }))).toBe('ARGUMENT_INVALID');
    expect(
      codeOf(() =>
        createSloTracker({
          slos: [
            {
              service: 'shop',
              name: 'api',
              objective: 0.99,
              sli: { type: 'ratio', bad: { metric: 'a_total' }, total: { metric: 'b_total' } },
            },
          ],
        }),
      ),
    ).toBe('SLO_INVALID');
  });

  it('keeps the message-only constructor (code SLO_INVALID)', () => {
    const error = new SloError('bad SLO', { cause: new Error('inner') });
    expect([error.code, error.message, (error.cause as Error).message]).toEqual(['SLO_INVALID', 'bad SLO', 'inner']);
    expect(SloError.hasCode(new SloError('SLO_NOT_FOUND', 'unknown SLO "x"'), 'SLO_NOT_FOUND')).toBe(true);
  });
});

describe('createSloTracker: randomized streams vs brute force', () => {
  it('agrees with a brute-force count for rolling and calendar windows', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const window of ['7d', { calendar: 'week' as const, timeZone: 'America/New_York' }] as const) {
      const clock = createManualClock(Date.UTC(2026, 2, 1, 3, 17));
      const tracker = createSloTracker({ slos: [availability({ window, objective: 0.99 })], clock });
      const events: Array<{ atMs: number; good: boolean }> = [];
      for (let step = 0; step < 3_000; step++) {
        // Mostly small steps, sometimes long idle gaps (up to 2 days).
        clock.advance(random() < 0.02 ? Math.floor(random() * 2 * DAY) : Math.floor(random() * 10 * MINUTE));
        const good = random() > 0.05;
        const atMs = clock.now();
        tracker.record('checkout', { good });
        events.push({ atMs, good });
        if (step % 97 !== 0) continue;
        const status = tracker.status('checkout');
        const nowMinute = Math.floor(atMs / MINUTE);
        for (const windowStatus of status.windows) {
          const minutes = windowStatus.windowMs / MINUTE;
          // [minuteStart(now) − w, now]: the w whole minutes before the current one, and the current one.
          const inWindow = events.filter((event) => Math.floor(event.atMs / MINUTE) >= nowMinute - minutes);
          expect([windowStatus.window, windowStatus.good, windowStatus.bad]).toEqual([
            windowStatus.window,
            inWindow.filter((event) => event.good).length,
            inWindow.filter((event) => !event.good).length,
          ]);
        }
        const inPeriod =
          typeof window === 'string'
            ? events.filter(
                (event) =>
                  Math.floor(event.atMs / (15 * MINUTE)) > Math.floor(atMs / (15 * MINUTE)) - (7 * DAY) / (15 * MINUTE),
              )
            : events.filter((event) => event.atMs >= status.period.startMs && event.atMs < status.period.endMs);
        expect(status.events.bad).toBe(inPeriod.filter((event) => !event.good).length);
        expect(status.events.total).toBe(inPeriod.length);
        const bad = inPeriod.filter((event) => !event.good).length;
        expect(status.budget.remainingRatio).toBeCloseTo(
          inPeriod.length === 0 ? 1 : 1 - bad / inPeriod.length / 0.01,
          9,
        );
        expect(hasNoNonFinite(status)).toBe(true);
      }
    }
  });
});
