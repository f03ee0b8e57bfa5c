import { createManualClock, type CheckResult, type ManualClock, type OpsAlert } from '@ops/core';
import { describe, expect, it } from 'vitest';
import type { ActionContext, HealingAction } from '../actions/action.js';
import { createMemoryAuditStore } from '../audit/memory-audit-store.js';
import { HealingError } from '../errors.js';
import type { HealingStateStore } from '../stores/healing-state-store.js';
import { createMemoryHealingStore } from '../stores/memory-healing-store.js';
import { createHealer, type Healer, type HealerOptions } from './healer.js';
import type { HealerEvents } from './healer-events.js';
import type { HealingRule } from './rule.js';

interface Recorded {
  runs: { target: string; at: number; context: ActionContext }[];
}

function recordingAction(
  name: string,
  effect?: (context: ActionContext) => Promise<void> | void,
): HealingAction & Recorded {
  const runs: Recorded['runs'] = [];
  return {
    kind: 'function',
    name,
    runs,
    async run(context) {
      runs.push({ target: context.target, at: context.clock.now(), context });
      await effect?.(context);
      return { detail: `${name} on ${context.target}` };
    },
  };
}

interface Harness {
  clock: ManualClock;
  healer: Healer;
  audit: ReturnType<typeof createMemoryAuditStore>;
  alerts: OpsAlert[];
  events: { name: keyof HealerEvents; event: Record<string, unknown> }[];
  advance(ms: number): Promise<void>;
}

const EVENT_NAMES: (keyof HealerEvents)[] = [
  'episode.opened',
  'step.started',
  'step.completed',
  'verify.completed',
  'episode.escalated',
  'episode.closed',
  'action.skipped',
  'action.reverted',
  'store.failed',
  'store.recovered',
];

function harness(rules: HealingRule[], options: Partial<HealerOptions> & { clock?: ManualClock } = {}): Harness {
  const clock = options.clock ?? createManualClock();
  const audit = createMemoryAuditStore();
  const alerts: OpsAlert[] = [];
  const healer = createHealer({
    rules,
    clock,
    every: '10s',
    audit,
    store: options.store ?? createMemoryHealingStore({ clock }),
    alerts: async (alert) => {
      alerts.push(alert);
    },
    random: () => 0,
    ...options,
  });
  const events: Harness['events'] = [];
  for (const name of EVENT_NAMES) healer.on(name, (event) => void events.push({ name, event: event as never }));
  return {
    clock,
    healer,
    audit,
    alerts,
    events,
    async advance(ms) {
      for (let done = 0; done < ms; done += 1_000) await clock.advanceAsync(Math.min(1_000, ms - done));
    },
  };
}

const named = (events: Harness['events'], name: keyof HealerEvents) =>
  events.filter((entry) => entry.name === name).map((entry) => entry.event);

describe('createHealer: rules and the ladder', () => {
  it('opens an episode after `for`, runs the step, verifies it and closes, all under one episode id', async () => {
    const unhealthy = new Set(['api']);
    const restart = recordingAction('restart', (context) => void unhealthy.delete(context.target));
    const { healer, advance, events, audit } = harness([
      {
        name: 'memory',
        when: (target) => unhealthy.has(target),
        for: '30s',
        targets: ['api'],
        ladder: [{ action: restart, settle: '5s', verify: { clearSamples: 2 } }],
      },
    ]);
    await advance(25_000);
    expect(restart.runs).toHaveLength(0); // pending, not yet for 30 s
    await advance(60_000);
    expect(restart.runs).toHaveLength(1);
    expect(restart.runs[0]!.context.fencingToken).toBeGreaterThan(0);
    const closed = named(events, 'episode.closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ outcome: 'healed', target: 'api' });
    const trail = await audit.list();
    const episodeId = closed[0]!['episodeId'];
    const kinds = trail.filter((record) => record.episodeId === episodeId).map((record) => record.kind);
    expect(kinds).toEqual(['episode.opened', 'step.started', 'step.completed', 'verify.completed', 'episode.closed']);
    const started = trail.find((record) => record.kind === 'step.started')!;
    expect(started.holder?.fencingToken).toBe(restart.runs[0]!.context.fencingToken);
    expect(trail.find((record) => record.kind === 'step.completed')!.result).toBe('ok');
    expect(trail.find((record) => record.kind === 'verify.completed')!.verify).toMatchObject({ passed: true });
    await healer.stop();
  });

  it('treats missing data as not-true and a condition that breaks within `for` as not firing', async () => {
    const restart = recordingAction('restart');
    let tick = 0;
    const { healer, advance } = harness([
      {
        name: 'missing',
        when: () => {
          throw new Error('exporter down');
        },
        for: '10s',
        ladder: [{ action: restart }],
      },
      {
        name: 'blinking',
        when: () => tick++ % 3 !== 2,
        for: '30s',
        ladder: [{ action: restart }],
      },
    ]);
    await advance(300_000);
    expect(restart.runs).toHaveLength(0);
    await healer.stop();
  });

  it('climbs the ladder when a verify fails, with backoff between steps', async () => {
    const unhealthy = new Set(['db']);
    const clearPools = recordingAction('clear pools');
    const restart = recordingAction('restart', () => void unhealthy.clear());
    const { healer, advance, events } = harness([
      {
        name: 'db',
        when: (target) => unhealthy.has(target),
        for: '10s',
        targets: ['db'],
        ladder: [
          { action: clearPools, settle: '2s', verify: { clearSamples: 1 } },
          { action: restart, settle: '2s', verify: { clearSamples: 1 } },
        ],
      },
    ]);
    await advance(120_000);
    expect(clearPools.runs).toHaveLength(1);
    expect(restart.runs).toHaveLength(1);
    // step 1 ended at its verify (≥ 2 s after it ran); the backoff (10 s, no jitter) counts from there
    expect(restart.runs[0]!.at - clearPools.runs[0]!.at).toBeGreaterThanOrEqual(12_000);
    expect(named(events, 'verify.completed').map((event) => event['passed'])).toEqual([false, true]);
    expect(named(events, 'episode.closed')).toHaveLength(1);
    await healer.stop();
  });

  it('escalates past the last step through the AlertSink, rolls back once, and resolves when the condition clears', async () => {
    let unhealthy = true;
    const restart = recordingAction('restart');
    const rollback = recordingAction('rollback');
    const { healer, advance, alerts, events } = harness([
      {
        name: 'latency',
        when: () => unhealthy,
        for: '10s',
        ladder: [{ action: restart, settle: '1s', verify: { clearSamples: 1 } }],
        rollback,
        severity: 'critical',
      },
    ]);
    await advance(600_000);
    expect(restart.runs).toHaveLength(1);
    expect(rollback.runs).toHaveLength(1);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      key: 'healing:latency:process',
      status: 'firing',
      source: 'healing',
      severity: 'critical',
      labels: { rule: 'latency', target: 'process', reason: 'ladder-exhausted' },
    });
    expect(named(events, 'episode.escalated')).toHaveLength(1);
    unhealthy = false;
    await advance(30_000);
    expect(alerts).toHaveLength(2);
    expect(alerts[1]).toMatchObject({ key: 'healing:latency:process', status: 'resolved' });
    expect(named(events, 'episode.closed')[0]).toMatchObject({ outcome: 'escalated' });
    expect(restart.runs).toHaveLength(1);
    await healer.stop();
  });

  it('counts a verify that hangs as failed at its timeout, and an action past its timeout as timed-out', async () => {
    const unhealthy = new Set(['a', 'b']);
    const hangs = recordingAction('hangs', () => new Promise<void>(() => undefined));
    const restart = recordingAction('restart', (context) => void unhealthy.delete(context.target));
    const { healer, advance, events, audit } = harness([
      {
        name: 'hung-verify',
        when: (target) => target === 'a' && unhealthy.has(target),
        for: '0s',
        targets: ['a'],
        fleet: false,
        ladder: [
          {
            action: restart,
            settle: '1s',
            verify: { check: () => new Promise<CheckResult>(() => undefined), timeout: '5s' },
          },
        ],
      },
      {
        name: 'hung-action',
        when: (target) => target === 'b' && unhealthy.has(target),
        for: '0s',
        targets: ['b'],
        fleet: false,
        ladder: [{ action: hangs, timeout: '3s' }],
      },
    ]);
    await advance(120_000);
    const verifies = named(events, 'verify.completed').filter((event) => event['rule'] === 'hung-verify');
    expect(verifies).toHaveLength(1);
    expect(verifies[0]).toMatchObject({ passed: false });
    expect(String(verifies[0]!['detail'])).toContain('timed out');
    const completed = (await audit.list({ rule: 'hung-action' })).filter((record) => record.kind === 'step.completed');
    expect(completed[0]!.result).toBe('timed-out');
    expect(
      named(events, 'episode.escalated')
        .map((event) => event['rule'])
        .sort(),
    ).toEqual(['hung-action', 'hung-verify']);
    await healer.stop();
  });

  it('runs a terminal action at most once per episode', async () => {
    const exit = { ...recordingAction('exit'), terminal: true } as HealingAction & Recorded;
    const { healer, advance } = harness([
      {
        name: 'exit',
        when: () => true,
        for: '0s',
        ladder: [{ action: exit, runs: 5, settle: '1s', verify: { clearSamples: 1 } }],
      },
    ]);
    await advance(3_600_000);
    expect(exit.runs).toHaveLength(1);
    await healer.stop();
  });

  it('reverts a temporary change after revertAfterMs', async () => {
    const flags = { rateLimit: false };
    const unhealthy = new Set(['process']);
    const setFlag: HealingAction = {
      kind: 'flag',
      name: 'rate limiting on',
      revertAfterMs: 60_000,
      async run() {
        flags.rateLimit = true;
        unhealthy.clear();
      },
      async revert() {
        flags.rateLimit = false;
      },
    };
    const { healer, advance, events } = harness([
      { name: 'p95', when: (target) => unhealthy.has(target), for: '0s', ladder: [{ action: setFlag, settle: '1s' }] },
    ]);
    await advance(30_000);
    expect(flags.rateLimit).toBe(true);
    await advance(60_000);
    expect(flags.rateLimit).toBe(false);
    expect(named(events, 'action.reverted')[0]).toMatchObject({ result: 'ok', action: 'rate limiting on' });
    await healer.stop();
  });

  it('does not evaluate during the warm-up after start', async () => {
    const restart = recordingAction('restart');
    const { healer, advance } = harness([
      { name: 'warm', when: () => true, for: '0s', warmup: '2m', ladder: [{ action: restart }] },
    ]);
    await advance(100_000);
    expect(restart.runs).toHaveLength(0);
    await advance(40_000);
    expect(restart.runs).toHaveLength(1);
    await healer.stop();
  });
});

describe('createHealer: safety rails', () => {
  it('restarts a target that stays unhealthy at most `runs` times with growing delays, then escalates and leaves it alone', async () => {
    const restart = recordingAction('restart');
    const { healer, advance, alerts } = harness([
      {
        name: 'autoheal',
        when: () => true,
        for: '0s',
        targets: ['web'],
        ladder: [{ action: restart, runs: 3, settle: '1s', verify: { clearSamples: 1 } }],
        maxAttempts: { count: 10, window: '1h' },
      },
    ]);
    await advance(3_600_000);
    expect(restart.runs).toHaveLength(3);
    const gaps = restart.runs.slice(1).map((run, index) => run.at - restart.runs[index]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(11_000); // settle 1 s + backoff 10 s
    expect(gaps[1]).toBeGreaterThanOrEqual(21_000); // settle 1 s + backoff 10 s × 2
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect(alerts.filter((alert) => alert.status === 'firing')).toHaveLength(1);
    await healer.stop();
  });

  it('caps attempts per sliding window, then escalates', async () => {
    const restart = recordingAction('restart');
    const { healer, advance, events } = harness([
      {
        name: 'capped',
        when: () => true,
        for: '0s',
        ladder: [{ action: restart, runs: 10, settle: '1s', verify: { clearSamples: 1 } }],
        maxAttempts: { count: 2, window: '1h' },
        backoff: { initialDelay: '1s', maxDelay: '2s' },
      },
    ]);
    await advance(600_000);
    expect(restart.runs).toHaveLength(2);
    expect(named(events, 'episode.escalated')[0]).toMatchObject({ reason: 'attempts-exhausted' });
    await healer.stop();
  });

  it('keeps a cooldown per (rule, target) after an action', async () => {
    let unhealthy = true;
    const fix = recordingAction('fix', () => {
      unhealthy = false;
    });
    const { healer, advance, events } = harness([
      {
        name: 'cool',
        when: () => unhealthy,
        for: '0s',
        cooldown: '10m',
        ladder: [{ action: fix, settle: '1s', verify: { clearSamples: 1 } }],
        backoff: { initialDelay: '1s', maxDelay: '1s' },
      },
    ]);
    await advance(30_000);
    expect(fix.runs).toHaveLength(1);
    unhealthy = true;
    await advance(120_000);
    expect(fix.runs).toHaveLength(1);
    expect(named(events, 'action.skipped').map((event) => event['reason'])).toContain('cooldown');
    await advance(600_000);
    expect(fix.runs).toHaveLength(2);
    await healer.stop();
  });

  it('counts the cooldown from the end of a slow step (action and verify), not from its start', async () => {
    let unhealthy = true;
    const slowFix = recordingAction('slow fix', async (context) => {
      await context.clock.sleep(3 * 60_000, context.signal); // a pool drain, a restart that takes its time
      unhealthy = false;
    });
    const { healer, advance, events } = harness([
      {
        name: 'slow',
        when: () => unhealthy,
        for: '0s',
        cooldown: '1m',
        ladder: [{ action: slowFix, timeout: '10m', settle: '10s', verify: { clearSamples: 1 } }],
        backoff: { initialDelay: '1s', maxDelay: '1s' },
      },
    ]);
    await advance(3 * 60_000 + 30_000); // the action runs 3 minutes, then settle and verify
    expect(slowFix.runs).toHaveLength(1);
    const closed = named(events, 'episode.closed');
    expect(closed).toEqual([expect.objectContaining({ outcome: 'healed' })]);
    // The condition comes back right after the fix (replicas still counting failures from before it): 3 minutes
    // after the action started, but within a minute of its end — still cooling down.
    unhealthy = true;
    await advance(30_000);
    expect(slowFix.runs).toHaveLength(1);
    expect(named(events, 'action.skipped').map((event) => event['reason'])).toContain('cooldown');
    await advance(60_000);
    expect(slowFix.runs).toHaveLength(2);
    await healer.stop();
  });

  it('detects flapping (too many episodes in the window): stops acting and escalates', async () => {
    let unhealthy = true;
    const fix = recordingAction('fix', () => {
      unhealthy = false;
    });
    const { healer, advance, events, clock } = harness([
      {
        name: 'flappy',
        when: () => unhealthy,
        for: '0s',
        cooldown: '1s',
        flap: { maxEpisodes: 2, window: '1h' },
        maxAttempts: { count: 100, window: '1h' },
        backoff: { initialDelay: '1s', maxDelay: '1s' },
        ladder: [{ action: fix, settle: '1s', verify: { clearSamples: 1 } }],
      },
    ]);
    for (let cycle = 0; cycle < 5; cycle++) {
      unhealthy = true;
      await advance(60_000);
    }
    expect(fix.runs).toHaveLength(2);
    expect(named(events, 'episode.escalated')[0]).toMatchObject({ reason: 'flapping' });
    expect(clock.now()).toBeGreaterThan(0);
    await healer.stop();
  });

  it('dry-run evaluates, locks and audits "would run" once per episode, never acts', async () => {
    const restart = recordingAction('restart');
    const { healer, advance, audit } = harness(
      [{ name: 'dry', when: () => true, for: '0s', targets: ['a'], ladder: [{ action: restart }] }],
      { dryRun: true },
    );
    await advance(300_000);
    expect(restart.runs).toHaveLength(0);
    const wouldRun = (await audit.list()).filter((record) => record.result === 'would-run');
    expect(wouldRun).toHaveLength(1);
    expect(wouldRun[0]).toMatchObject({ dryRun: true, decision: 'would-run', action: { name: 'restart' } });
    expect(wouldRun[0]!.holder?.fencingToken).toBeGreaterThan(0);
    await healer.stop();
  });

  it('a rule can be dry-run on its own while the others act', async () => {
    const acting = recordingAction('acting');
    const dry = recordingAction('dry');
    const { healer, advance } = harness([
      { name: 'acts', when: () => true, for: '0s', ladder: [{ action: acting }] },
      { name: 'dry', when: () => true, for: '0s', dryRun: true, ladder: [{ action: dry }] },
    ]);
    await advance(30_000);
    expect(acting.runs).toHaveLength(1);
    expect(dry.runs).toHaveLength(0);
    await healer.stop();
  });

  it('pauses globally, per rule and per target, across healers sharing the store, and resumes', async () => {
    const clock = createManualClock();
    const store = createMemoryHealingStore({ clock });
    const restart = recordingAction('restart');
    const rules: HealingRule[] = [
      { name: 'r', when: () => true, for: '0s', targets: ['a', 'b'], fleet: false, ladder: [{ action: restart }] },
    ];
    const other = harness(rules, { clock, store });
    const { healer, advance, events } = harness(rules, { clock, store });
    await other.healer.pause({}, { reason: 'maintenance' });
    await advance(60_000);
    expect(restart.runs).toHaveLength(0);
    expect(named(events, 'action.skipped')[0]).toMatchObject({ reason: 'paused', detail: 'maintenance' });
    await healer.resume({});
    await healer.pause({ rule: 'r', target: 'a' });
    await advance(30_000);
    expect(restart.runs.map((run) => run.target)).toEqual(['b']);
    expect((await healer.status()).pauses).toHaveLength(1);
    await other.healer.resume({ rule: 'r', target: 'a' });
    await advance(30_000);
    expect(restart.runs.map((run) => run.target).sort()).toEqual(['a', 'b']);
    await healer.stop();
    await other.healer.stop();
  });

  it('fleet rule: when most targets show the condition it escalates a shared cause once and acts on none', async () => {
    let unhealthy = new Set(['t1', 't2', 't3', 't4']);
    const restart = recordingAction('restart');
    const { healer, advance, alerts, events } = harness([
      {
        name: 'containers',
        when: (target) => unhealthy.has(target),
        for: '10s',
        targets: ['t1', 't2', 't3', 't4', 't5'],
        ladder: [{ action: restart }],
      },
    ]);
    await advance(300_000);
    expect(restart.runs).toHaveLength(0);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ key: 'healing:containers:shared-cause', status: 'firing' });
    expect(named(events, 'action.skipped').map((event) => event['reason'])).toContain('shared-cause');
    expect((await healer.status()).rules[0]!.sharedCause).toBe(true);
    unhealthy = new Set();
    await advance(30_000);
    expect(alerts[1]).toMatchObject({ key: 'healing:containers:shared-cause', status: 'resolved' });
    await healer.stop();
  });

  it('fleet rule: a fleet-wide blip shorter than `for` blocks acting but pages nobody', async () => {
    let blip = true;
    const restart = recordingAction('restart');
    const { healer, advance, alerts } = harness([
      {
        name: 'blip',
        when: () => blip,
        for: '1m',
        targets: ['t1', 't2', 't3', 't4'],
        ladder: [{ action: restart }],
      },
    ]);
    await advance(25_000);
    blip = false;
    await advance(300_000);
    expect(alerts).toEqual([]);
    expect(restart.runs).toHaveLength(0);
    await healer.stop();
  });

  it('the disruption budget keeps at most K in remediation at once and heals every target', async () => {
    const unhealthy = new Set(['t1', 't2', 't3']);
    let running = 0;
    let maxRunning = 0;
    const restart = recordingAction('restart', async (context) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await context.clock.sleep(5_000);
      running--;
      unhealthy.delete(context.target);
    });
    const targets = Array.from({ length: 10 }, (_, index) => `t${index + 1}`);
    const { healer, advance, events } = harness([
      {
        name: 'budgeted',
        when: (target) => unhealthy.has(target),
        for: '0s',
        targets,
        budget: { max: 1 },
        ladder: [{ action: restart, settle: '1s', verify: { clearSamples: 1 } }],
      },
    ]);
    await advance(300_000);
    expect(maxRunning).toBe(1);
    expect(restart.runs.map((run) => run.target).sort()).toEqual(['t1', 't2', 't3']);
    expect(named(events, 'action.skipped').map((event) => event['reason'])).toContain('budget-exhausted');
    await healer.stop();
  });

  it('two healers on one store: one acts per (rule, target)', async () => {
    const clock = createManualClock();
    const store = createMemoryHealingStore({ clock });
    const unhealthy = new Set(['a']);
    const restart = recordingAction('restart', async (context) => {
      await context.clock.sleep(3_000);
      unhealthy.delete(context.target);
    });
    const rules: HealingRule[] = [
      {
        name: 'r',
        when: (target) => unhealthy.has(target),
        for: '0s',
        targets: ['a'],
        ladder: [{ action: restart, settle: '1s' }],
      },
    ];
    const first = harness(rules, { clock, store, instanceId: 'one' });
    const second = harness(rules, { clock, store, instanceId: 'two' });
    await first.advance(60_000);
    expect(restart.runs).toHaveLength(1);
    await first.healer.stop();
    await second.healer.stop();
  });

  it('does not act while the store is unavailable, logs it once, and recovers', async () => {
    const clock = createManualClock();
    const memory = createMemoryHealingStore({ clock });
    let down = true;
    const store = new Proxy(memory, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          down ? Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')) : (value as Function).apply(target, args);
      },
    }) as HealingStateStore;
    const errors: string[] = [];
    const restart = recordingAction('restart');
    const { healer, advance, events } = harness(
      [{ name: 'r', when: () => true, for: '0s', ladder: [{ action: restart }] }],
      {
        clock,
        store,
        logger: {
          debug: () => undefined,
          info: () => undefined,
          warn: () => undefined,
          error: (_object, message) => void errors.push(message ?? ''),
        },
      },
    );
    await advance(60_000);
    expect(restart.runs).toHaveLength(0);
    expect(errors.filter((message) => message.includes('fail safe'))).toHaveLength(1);
    expect(named(events, 'store.failed').length).toBeGreaterThan(0);
    down = false;
    await advance(30_000);
    expect(restart.runs).toHaveLength(1);
    expect(named(events, 'store.recovered')).toHaveLength(1);
    await healer.stop();
  });

  it('stop() aborts the step in flight through its signal and awaits it', async () => {
    let aborted = false;
    const slow = recordingAction('slow', (context) => {
      return new Promise<void>((_, reject) => {
        context.signal.addEventListener('abort', () => {
          aborted = true;
          reject(context.signal.reason);
        });
      });
    });
    const { healer, advance } = harness([
      { name: 'r', when: () => true, for: '0s', ladder: [{ action: slow, timeout: '10m' }] },
    ]);
    await advance(20_000);
    expect(slow.runs).toHaveLength(1);
    expect((await healer.status()).inFlight).toEqual([{ rule: 'r', target: 'process' }]);
    await healer.stop();
    expect(aborted).toBe(true);
    expect((await healer.status()).inFlight).toEqual([]);
  });

  it('refuses invalid rules with a message naming the field', () => {
    expect(() => createHealer({ rules: [{ name: 'x', when: () => true, for: '1m', ladder: [] }] })).toThrow(
      /ladder: give at least one step/,
    );
    expect(() =>
      createHealer({
        rules: [
          { name: 'x', when: () => true, for: '1m', ladder: [{ action: recordingAction('a') }] },
          { name: 'x', when: () => true, for: '1m', ladder: [{ action: recordingAction('a') }] },
        ],
        autoStart: false,
      }),
    ).toThrow(HealingError);
  });
});

describe('createHealer: more of the contract', () => {
  it('fleet rule over instances reporting through the store: every instance unhealthy → one escalation, no action', async () => {
    const clock = createManualClock();
    const store = createMemoryHealingStore({ clock });
    const exit = recordingAction('exit');
    const rules: HealingRule[] = [
      {
        name: 'self',
        when: () => true,
        for: '10s',
        fleet: { scope: 'instances', minFleetSize: 3 },
        ladder: [{ action: exit }],
      },
    ];
    const healers = ['i1', 'i2', 'i3'].map((instanceId) => harness(rules, { clock, store, instanceId }));
    await healers[0]!.advance(120_000);
    expect(exit.runs).toHaveLength(0);
    const alerts = healers.flatMap((entry) => entry.alerts);
    expect(alerts.map((alert) => alert.key)).toEqual(['healing:self:shared-cause']);
    for (const entry of healers) await entry.healer.stop();
  });

  it('an action that skips on purpose is audited as skipped with its reason and the ladder moves on', async () => {
    let unhealthy = true;
    const gc: HealingAction = {
      kind: 'gc',
      name: 'run gc',
      run: async () => ({ skipped: 'global.gc is not exposed: start node with --expose-gc' }),
    };
    const restart = recordingAction('restart', () => {
      unhealthy = false;
    });
    const { healer, advance, audit } = harness([
      {
        name: 'memory',
        when: () => unhealthy,
        for: '0s',
        ladder: [{ action: gc }, { action: restart, settle: '1s', verify: { clearSamples: 1 } }],
      },
    ]);
    await advance(120_000);
    const skipped = (await audit.list()).find(
      (record) => record.action?.name === 'run gc' && record.kind === 'step.completed',
    );
    expect(skipped).toMatchObject({
      result: 'skipped',
      detail: 'global.gc is not exposed: start node with --expose-gc',
    });
    expect(restart.runs).toHaveLength(1);
    await healer.stop();
  });

  it('a step whose lock is lost is aborted through its signal', async () => {
    const clock = createManualClock();
    const memory = createMemoryHealingStore({ clock });
    const store: HealingStateStore = { ...memory, renew: async () => undefined };
    let abortedWith: unknown;
    const slow = recordingAction(
      'slow',
      (context) =>
        new Promise<void>((_, reject) =>
          context.signal.addEventListener('abort', () => {
            abortedWith = context.signal.reason;
            reject(context.signal.reason);
          }),
        ),
    );
    const { healer, advance, events } = harness(
      [{ name: 'r', when: () => true, for: '0s', ladder: [{ action: slow, timeout: '10m' }] }],
      { clock, store, lockTtl: '9s' },
    );
    await advance(30_000);
    expect(HealingError.hasCode(abortedWith, 'LOCK_LOST')).toBe(true);
    expect(named(events, 'action.skipped').map((event) => event['reason'])).toContain('lock-lost');
    await healer.stop();
  });

  it('reverts a change without revertAfterMs when its episode closes', async () => {
    let unhealthy = true;
    let readOnly = false;
    const readOnlyMode: HealingAction = {
      kind: 'flag',
      name: 'read-only on',
      async run() {
        readOnly = true;
      },
      async revert() {
        readOnly = false;
      },
    };
    const { healer, advance } = harness([
      {
        name: 'db',
        when: () => unhealthy,
        for: '0s',
        ladder: [{ action: readOnlyMode, settle: '1s', verify: { clearSamples: 1 } }],
      },
    ]);
    await advance(20_000);
    expect(readOnly).toBe(true);
    unhealthy = false;
    await advance(60_000);
    expect(readOnly).toBe(false);
    await healer.stop();
  });

  it('warms up after a target (re)starts, from targetStartedAt', async () => {
    const clock = createManualClock();
    const startedAt = new Map([['web', clock.now() + 60_000]]);
    const restart = recordingAction('restart');
    const { healer, advance } = harness(
      [
        {
          name: 'web',
          when: () => true,
          for: '0s',
          targets: ['web'],
          warmup: '2m',
          targetStartedAt: (target) => startedAt.get(target),
          ladder: [{ action: restart }],
        },
      ],
      { clock },
    );
    await advance(170_000); // process warm-up ends at 2 m, but the target started at 1 m: warm until 3 m
    expect(restart.runs).toHaveLength(0);
    await advance(30_000);
    expect(restart.runs).toHaveLength(1);
    await healer.stop();
  });

  it('dry-run on two replicas: the lock makes one of them report', async () => {
    const clock = createManualClock();
    const store = createMemoryHealingStore({ clock });
    const restart = recordingAction('restart');
    const rules: HealingRule[] = [
      { name: 'dry', when: () => true, for: '0s', targets: ['a'], dryRun: true, ladder: [{ action: restart }] },
    ];
    const replicas = ['one', 'two'].map((instanceId) => harness(rules, { clock, store, instanceId }));
    await replicas[0]!.advance(120_000);
    const reports = (await Promise.all(replicas.map((entry) => entry.audit.list()))).flat();
    expect(reports.filter((record) => record.result === 'would-run')).toHaveLength(1);
    expect(restart.runs).toHaveLength(0);
    for (const entry of replicas) await entry.healer.stop();
  });
});
