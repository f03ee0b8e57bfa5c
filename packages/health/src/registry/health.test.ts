import { EventEmitter } from 'node:events';
import { OpsError, type CheckResult } from '@ops/core';
import { createManualClock, createRecordingLogger } from '@ops/core/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Probe } from './types.js';
import { createHealth } from './health.js';
import type { HealthOptions } from './health-options.js';

const quiet = (overrides: HealthOptions = {}): HealthOptions => ({
  startReady: true,
  shutdown: { signals: [], exit: () => undefined },
  ...overrides,
});
const pass = async (): Promise<CheckResult> => ({ status: 'pass' });

function counted(result: () => Promise<CheckResult> | CheckResult) {
  const calls = { count: 0 };
  return {
    calls,
    check: async () => {
      calls.count++;
      return result();
    },
  };
}

describe('registration', () => {
  it('refuses duplicate names, reserved names and bad names with a path in the message', () => {
    const health = createHealth(quiet());
    health.register({ name: 'db', check: pass });
    expect(() => health.register({ name: 'db', check: pass })).toThrow(
      expect.objectContaining({ code: 'CHECK_DUPLICATE' }),
    );
    expect(() => health.register({ name: 'ready', check: pass })).toThrow(/reserved/);
    expect(() => health.register({ name: 'a:b', check: pass })).toThrow(/name: must match/);
    expect(() => health.register({ name: 'x', check: pass, mode: { ttl: 'soon' } })).toThrow(/mode/);
    health.close();
  });

  it('refuses a remote dependency probe on the live tag', () => {
    const health = createHealth(quiet());
    const probe = Object.assign(async (): Promise<CheckResult> => ({ status: 'pass' }), {
      kind: 'dependency' as const,
      componentType: 'datastore' as const,
      measurement: 'responseTime',
    }) satisfies Probe;
    expect(() => health.register({ name: 'db', check: probe, tags: ['live'] })).toThrow(/cannot be tagged "live"/);
    health.close();
  });

  it('validates shutdown timings against each other', () => {
    expect(() =>
      createHealth(
        quiet({ shutdown: { signals: [], drainDelay: '20s', inFlightTimeout: '20s', forceExitAfter: '30s' } }),
      ),
    ).toThrow(/forceExitAfter/);
  });
});

describe('evaluation', () => {
  it('on-demand mode caches results, failures included, for the TTL', async () => {
    const clock = createManualClock();
    const health = createHealth(quiet({ clock }));
    let status: CheckResult['status'] = 'fail';
    const { calls, check } = counted(() => ({ status }));
    health.register({ name: 'dep', check, mode: { ttl: '5s' } });
    expect((await health.ready()).status).toBe('fail');
    status = 'pass';
    const second = await health.ready();
    expect(second.status).toBe('fail');
    expect(second.checks[0]?.cached).toBe(true);
    expect(calls.count).toBe(1);
    clock.advance(5_000);
    expect((await health.ready()).status).toBe('pass');
    expect(calls.count).toBe(2);
    health.close();
  });

  it('concurrent callers share one in-flight run (single flight)', async () => {
    const health = createHealth(quiet());
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { calls, check } = counted(async () => {
      await gate;
      return { status: 'pass' };
    });
    health.register({ name: 'dep', check, mode: { ttl: '1s' } });
    const all = Promise.all(Array.from({ length: 50 }, () => health.ready()));
    release();
    const reports = await all;
    expect(reports.every((report) => report.status === 'pass')).toBe(true);
    expect(calls.count).toBe(1);
    health.close();
  });

  it('polled mode runs in the background and handlers never run the check', async () => {
    const clock = createManualClock();
    const health = createHealth(quiet({ clock }));
    const { calls, check } = counted(() => ({ status: 'pass' }));
    health.register({ name: 'dep', check, mode: { every: '10s' } });
    await clock.advanceAsync(0);
    expect(calls.count).toBe(1);
    for (let index = 0; index < 100; index++) await health.ready();
    expect(calls.count).toBe(1);
    await clock.advanceAsync(10_000);
    expect(calls.count).toBe(2);
    await clock.advanceAsync(30_000);
    expect(calls.count).toBe(5);
    health.close();
    await clock.advanceAsync(60_000);
    expect(calls.count).toBe(5);
  });

  it('a probe that never settles fails at its deadline; a non-Error throw becomes a readable failure', async () => {
    const clock = createManualClock();
    const health = createHealth(quiet({ clock }));
    let aborted = false;
    health.register({
      name: 'hangs',
      timeout: '250ms',
      check: (signal) => {
        signal.addEventListener('abort', () => (aborted = true));
        return new Promise<CheckResult>(() => undefined);
      },
    });
    health.register({ name: 'throws', check: () => Promise.reject({ weird: 42 }) });
    const pending = health.ready();
    await clock.advanceAsync(250);
    const report = await pending;
    expect(report.status).toBe('fail');
    const hangs = report.checks.find((check) => check.name === 'hangs');
    expect(hangs).toMatchObject({ status: 'fail', timedOut: true, output: 'timed out after 250ms' });
    expect(aborted).toBe(true);
    expect(report.checks.find((check) => check.name === 'throws')?.output).toBe('non-Error thrown: {"weird":42}');
    health.close();
  });

  it('a failing non-critical check makes the endpoint warn; a critical one fails it', async () => {
    const health = createHealth(quiet());
    health.register({ name: 'cache', check: async () => ({ status: 'fail', output: 'down' }), critical: false });
    health.register({ name: 'db', check: pass });
    const report = await health.ready();
    expect(report.status).toBe('warn');
    expect(report.checks.find((check) => check.name === 'cache')).toMatchObject({
      status: 'fail',
      contributes: 'warn',
    });
    health.register({ name: 'queue', check: async () => ({ status: 'fail' }) });
    expect((await health.ready()).status).toBe('fail');
    health.close();
  });

  it('the status order is configurable', async () => {
    const health = createHealth(quiet({ statusOrder: ['warn', 'fail', 'pass'] }));
    health.register({ name: 'a', check: async () => ({ status: 'fail' }) });
    health.register({ name: 'b', check: async () => ({ status: 'warn' }) });
    expect((await health.ready()).status).toBe('warn');
    health.close();
  });

  it('rejects malformed results from a check', async () => {
    const health = createHealth(quiet());
    health.register({ name: 'odd', check: async () => ({ status: 'ok' }) as unknown as CheckResult });
    expect((await health.check('odd')).checks[0]).toMatchObject({
      status: 'fail',
      output: expect.stringContaining('invalid result'),
    });
    health.close();
  });
});

describe('hysteresis', () => {
  it('fails only after N consecutive failures and recovers only after M passes', async () => {
    const clock = createManualClock();
    const health = createHealth(quiet({ clock }));
    const sequence: CheckResult['status'][] = ['fail', 'fail', 'fail', 'pass', 'pass', 'fail', 'pass'];
    let index = 0;
    health.register({
      name: 'flaky',
      check: async () => ({ status: sequence[index++] ?? 'pass' }),
      mode: { ttl: 1 },
      failAfter: 3,
      recoverAfter: 2,
    });
    const seen: string[] = [];
    for (let step = 0; step < sequence.length; step++) {
      seen.push((await health.check('flaky')).checks[0]?.status ?? '?');
      clock.advance(1);
    }
    expect(seen).toEqual(['warn', 'warn', 'fail', 'fail', 'pass', 'warn', 'pass']);
    health.close();
  });

  it('failAfterDuration keeps a check at warn until it has been failing long enough', async () => {
    const clock = createManualClock();
    const health = createHealth(quiet({ clock }));
    health.register({
      name: 'slow',
      check: async () => ({ status: 'fail' }),
      mode: { ttl: 1 },
      failAfterDuration: '30s',
    });
    expect((await health.check('slow')).checks[0]?.status).toBe('warn');
    clock.advance(29_000);
    expect((await health.check('slow')).checks[0]?.status).toBe('warn');
    clock.advance(1_000);
    expect((await health.check('slow')).checks[0]?.status).toBe('fail');
    health.close();
  });
});

describe('endpoints and lifecycle', () => {
  it('liveness runs only live checks; readiness is live + ready + lifecycle', async () => {
    const health = createHealth(quiet({ startReady: false }));
    const dependency = counted(() => ({ status: 'fail' }));
    health.register({ name: 'memory', check: pass, tags: ['live'] });
    health.register({ name: 'db', check: dependency.check });
    const live = await health.live();
    expect(live.status).toBe('pass');
    expect(live.checks.map((check) => check.name)).toEqual(['memory']);
    expect(dependency.calls.count).toBe(0);
    const notReady = await health.ready();
    expect(notReady).toMatchObject({ status: 'fail', output: 'not ready' });
    expect(notReady.checks.map((check) => check.name).sort()).toEqual(['db', 'memory']);
    health.markReady();
    health.unregister('db');
    expect((await health.ready()).status).toBe('pass');
    health.markNotReady('maintenance');
    expect(await health.ready()).toMatchObject({ status: 'fail', output: 'maintenance' });
    health.close();
  });

  it('startup checks and tasks gate readiness until they passed once', async () => {
    const health = createHealth(quiet());
    let migrated = false;
    const migrations = counted(() => ({ status: migrated ? 'pass' : 'fail' }));
    health.register({ name: 'migrations', check: migrations.check, tags: ['startup'], mode: { ttl: 0 } });
    let finishWarmup!: () => void;
    health.addStartupTask('warm cache', new Promise<void>((resolve) => (finishWarmup = resolve)));
    const completed: number[] = [];
    health.on('startup.completed', ({ time }) => completed.push(time));
    expect((await health.startup()).status).toBe('fail');
    expect((await health.ready()).status).toBe('fail');
    migrated = true;
    expect(await health.ready()).toMatchObject({ status: 'fail', output: 'startup task "warm cache" pending' });
    finishWarmup();
    await Promise.resolve();
    expect((await health.ready()).status).toBe('pass');
    expect(completed).toHaveLength(1);
    migrated = false;
    const runsBefore = migrations.calls.count;
    expect((await health.startup()).status).toBe('pass');
    expect((await health.ready()).status).toBe('pass');
    expect(migrations.calls.count).toBe(runsBefore);
    health.close();
  });

  it('emits status-change events and logs changes once, not every failed run', async () => {
    const clock = createManualClock();
    const logger = createRecordingLogger();
    const health = createHealth(quiet({ clock, logger }));
    let status: CheckResult['status'] = 'pass';
    health.register({ name: 'dep', check: async () => ({ status }), mode: { ttl: 1 } });
    const events: string[] = [];
    for (const event of ['check.failed', 'check.recovered', 'check.warned', 'check.changed'] as const)
      health.on(event, (transition) => events.push(`${event}:${transition.from ?? '-'}>${transition.to}`));
    for (const next of ['pass', 'fail', 'fail', 'fail', 'warn', 'pass'] as const) {
      status = next;
      await health.check('dep');
      clock.advance(1);
    }
    expect(events).toEqual([
      'check.changed:->pass',
      'check.changed:pass>fail',
      'check.failed:pass>fail',
      'check.changed:fail>warn',
      'check.warned:fail>warn',
      'check.changed:warn>pass',
      'check.recovered:warn>pass',
    ]);
    expect(logger.records.filter((record) => record.level === 'warn')).toHaveLength(2);
    health.close();
  });

  it('redacts secrets in results and errors at capture, in reports and in logs', async () => {
    const logger = createRecordingLogger();
    const health = createHealth(quiet({ logger, secrets: ['s3cr3t-pw'] }));
    health.register({
      name: 'a',
      check: async () => {
        throw new Error('connect failed for postgres://app:hunter2@db:5432/app');
      },
    });
    health.register({
      name: 'b',
      check: async () => ({
        status: 'fail',
        output: 'password=s3cr3t-pw refused',
        details: { token: 'abc', url: 'redis://:hunter2@cache' },
      }),
    });
    health.register({
      name: 'c',
      check: async () => {
        throw 'auth failed with s3cr3t-pw';
      },
    });
    const report = await health.ready();
    const text = JSON.stringify(report) + logger.text();
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('s3cr3t-pw');
    expect(text).not.toMatch(/"token":"abc"/);
    expect(text).toContain('[REDACTED]');
    health.close();
  });

  it('exports metrics from cached results: status gauge, duration histogram, transitions', async () => {
    const registry = new Registry();
    const clock = createManualClock();
    const health = createHealth(quiet({ registry, clock }));
    let status: CheckResult['status'] = 'pass';
    const { calls, check } = counted(() => ({ status }));
    health.register({ name: 'db', check, mode: { every: '5s' } });
    await clock.advanceAsync(0);
    status = 'fail';
    await clock.advanceAsync(5_000);
    const before = calls.count;
    const text = await registry.metrics();
    expect(calls.count).toBe(before);
    expect(text).toContain('ops_health_check_status{check="db",status="fail"} 1');
    expect(text).toContain('ops_health_check_status{check="db",status="pass"} 0');
    expect(text).toContain('ops_health_check_transitions_total{check="db",from="pass",to="fail"} 1');
    expect(text).toContain('ops_health_check_duration_seconds_count{check="db"} 2');
    expect(text).toContain('ops_health_shutting_down 0');
    health.close();
  });
});

describe('shutdown (without servers)', () => {
  it('on a signal: readiness fails at once, liveness stays pass, hooks run in order, then exit', async () => {
    const clock = createManualClock();
    const signals = new EventEmitter();
    const exits: number[] = [];
    const order: string[] = [];
    const health = createHealth({
      clock,
      startReady: true,
      shutdown: { signalSource: signals, exit: (code) => exits.push(code), drainDelay: '5s' },
    });
    health.register({ name: 'memory', check: pass, tags: ['live'] });
    health.onShutdown('http clients', () => order.push('http'));
    health.onShutdown('database pool', async () => order.push('db'));
    expect((await health.ready()).status).toBe('pass');
    signals.emit('SIGTERM');
    expect(health.isShuttingDown).toBe(true);
    expect(await health.ready()).toMatchObject({ status: 'fail', output: 'shutting down' });
    expect((await health.live()).status).toBe('pass');
    await clock.advanceAsync(4_999);
    expect(order).toEqual([]);
    await clock.advanceAsync(1);
    expect(order).toEqual(['http', 'db']);
    expect(exits).toEqual([0]);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('a hanging hook is cut at its timeout and the exit code says so; the hard deadline exits regardless', async () => {
    const clock = createManualClock();
    const exits: number[] = [];
    const health = createHealth({
      clock,
      shutdown: {
        signals: [],
        exit: (code) => exits.push(code),
        drainDelay: 0,
        hookTimeout: '1s',
        forceExitAfter: '30s',
      },
    });
    const ran: string[] = [];
    health.onShutdown('hangs', () => new Promise(() => undefined));
    health.onShutdown('after', () => ran.push('after'));
    const done = health.shutdown();
    await clock.advanceAsync(1_000);
    expect(await done).toBe(1);
    expect(ran).toEqual(['after']);
    expect(exits).toEqual([1]);

    const stuck = createHealth({
      clock,
      shutdown: {
        signals: [],
        exit: (code) => exits.push(code),
        drainDelay: 0,
        inFlightTimeout: '1s',
        hookTimeout: '1h',
        forceExitAfter: '10s',
      },
    });
    stuck.onShutdown('forever', () => new Promise(() => undefined));
    void stuck.shutdown();
    await clock.advanceAsync(10_000);
    expect(exits).toEqual([1, 1]);
  });

  it('beacons hold shutdown until released (bounded by inFlightTimeout)', async () => {
    const clock = createManualClock();
    const exits: number[] = [];
    const health = createHealth({
      clock,
      shutdown: { signals: [], exit: (code) => exits.push(code), drainDelay: 0, inFlightTimeout: '10s' },
    });
    const job = health.beacon('nightly job');
    const hooks: string[] = [];
    health.onShutdown('pool', () => hooks.push('pool'));
    void health.shutdown();
    await clock.advanceAsync(3_000);
    expect(hooks).toEqual([]);
    job.release();
    await clock.advanceAsync(0);
    expect(hooks).toEqual(['pool']);
    expect(exits).toEqual([0]);
  });

  it('methods work detached from the object, e.g. as callbacks', async () => {
    const clock = createManualClock();
    const exits: number[] = [];
    const health = createHealth({ clock, shutdown: { signals: [], exit: (code) => exits.push(code), drainDelay: 0 } });
    const { register, markReady, ready, shutdown } = health;
    register({ name: 'db', check: pass });
    await Promise.resolve().then(markReady);
    expect((await ready()).status).toBe('pass');
    const done = shutdown('deploy');
    await clock.advanceAsync(0);
    expect(await done).toBe(0);
    expect(exits).toEqual([0]);
  });

  it('OpsError codes are recognisable across copies', () => {
    const health = createHealth(quiet());
    health.register({ name: 'x', check: pass });
    try {
      health.register({ name: 'x', check: pass });
    } catch (error) {
      expect(OpsError.hasCode(error, 'CHECK_DUPLICATE')).toBe(true);
    }
    health.close();
  });
});

describe('events and polling on core parts', () => {
  it('every event carries `at` from the clock; `time` stays as the same value', async () => {
    const clock = createManualClock();
    const exits: number[] = [];
    const health = createHealth({
      clock,
      startReady: true,
      shutdown: { signals: [], exit: (code) => exits.push(code), drainDelay: 0 },
    });
    const seen: Array<{ name: string; at: number; time?: number }> = [];
    for (const name of [
      'check.changed',
      'check.failed',
      'startup.completed',
      'shutdown.started',
      'shutdown.completed',
    ] as const) {
      health.on(name, (event) => seen.push({ name, at: event.at, ...('time' in event ? { time: event.time } : {}) }));
    }
    let status: CheckResult['status'] = 'pass';
    health.register({ name: 'db', check: async () => ({ status }), mode: { ttl: 1 }, critical: false });
    const failed: boolean[] = [];
    health.on('check.failed', (transition) => failed.push(transition.critical));
    await health.ready();
    const startAt = clock.now();
    clock.advance(1_000);
    status = 'fail';
    await health.check('db');
    clock.advance(1_000);
    const done = health.shutdown('deploy');
    await clock.advanceAsync(0);
    expect(await done).toBe(0);
    expect(seen).toEqual([
      { name: 'startup.completed', at: startAt, time: startAt },
      { name: 'check.changed', at: startAt },
      { name: 'check.changed', at: startAt + 1_000 },
      { name: 'check.failed', at: startAt + 1_000 },
      { name: 'shutdown.started', at: startAt + 2_000, time: startAt + 2_000 },
      { name: 'shutdown.completed', at: startAt + 2_000, time: startAt + 2_000 },
    ]);
    expect(failed).toEqual([false]);
  });

  it('a throwing or rejecting listener is logged and isolated; unsubscribe works', async () => {
    const logger = createRecordingLogger();
    const health = createHealth(quiet({ logger }));
    health.on('check.changed', () => {
      throw new Error('listener bug');
    });
    health.on('check.changed', async () => {
      throw new Error('async listener bug');
    });
    const seen: string[] = [];
    const off = health.on('check.changed', (transition) => seen.push(transition.name));
    health.register({ name: 'a', check: pass });
    expect((await health.ready()).status).toBe('pass');
    await Promise.resolve();
    expect(seen).toEqual(['a']);
    const errors = logger.records.filter((record) => record.level === 'error');
    expect(errors.map((record) => record.fields['error'])).toEqual(['listener bug', 'async listener bug']);
    expect(errors[0]).toMatchObject({
      message: 'health event listener threw',
      fields: { source: 'health', event: 'check.changed' },
    });
    off();
    health.register({ name: 'b', check: pass });
    await health.ready();
    expect(seen).toEqual(['a']);
    health.close();
  });

  it('polling: a hung dependency is never piled up; the next run starts on the next tick after the deadline', async () => {
    const clock = createManualClock();
    const health = createHealth(quiet({ clock }));
    let hang = true;
    const calls = { count: 0 };
    // hangs until its signal aborts (a check that honours the deadline), so the attempt settles at the deadline
    const check = (signal: AbortSignal) => {
      calls.count++;
      if (!hang) return Promise.resolve<CheckResult>({ status: 'pass' });
      return new Promise<CheckResult>((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error)),
      );
    };
    health.register({ name: 'dep', check, mode: { every: '1s' }, timeout: '3.5s' });
    await clock.advanceAsync(0);
    expect(calls.count).toBe(1);
    const waiting = health.check('dep');
    await clock.advanceAsync(3_000);
    expect(calls.count).toBe(1);
    await clock.advanceAsync(500);
    expect((await waiting).checks[0]).toMatchObject({ status: 'fail', timedOut: true });
    hang = false;
    await clock.advanceAsync(499);
    expect(calls.count).toBe(1);
    await clock.advanceAsync(1);
    expect(calls.count).toBe(2);
    expect((await health.check('dep')).status).toBe('pass');
    await clock.advanceAsync(1_000);
    expect(calls.count).toBe(3);
    health.close();
    await clock.advanceAsync(10_000);
    expect(calls.count).toBe(3);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('polling needs a positive interval', () => {
    const health = createHealth(quiet());
    expect(() => health.register({ name: 'busy', check: pass, mode: { every: 0 } })).toThrow(/mode/);
    expect(() => createHealth(quiet({ mode: { every: '0s' } }))).toThrow(/mode/);
    health.close();
  });

  it('at most one outstanding attempt: while a timed-out attempt has not settled, runs fail without starting another (polled)', async () => {
    const clock = createManualClock();
    const health = createHealth(quiet({ clock }));
    let settle!: (result: CheckResult) => void;
    const calls = { count: 0 };
    // ignores its signal: the attempt outlives its deadline until `settle` is called
    const check = () => {
      calls.count++;
      return calls.count === 1
        ? new Promise<CheckResult>((resolve) => (settle = resolve))
        : Promise.resolve<CheckResult>({ status: 'pass' });
    };
    health.register({ name: 'dep', check, mode: { every: '1s' }, timeout: '500ms' });
    await clock.advanceAsync(0);
    await clock.advanceAsync(500);
    expect((await health.check('dep')).checks[0]).toMatchObject({
      status: 'fail',
      timedOut: true,
      output: 'timed out after 500ms',
    });
    // a long outage: 60 polls, and not one more attempt while the first is still pending
    for (let second = 0; second < 60; second++) await clock.advanceAsync(1_000);
    expect(calls.count).toBe(1);
    expect((await health.check('dep')).checks[0]).toMatchObject({
      status: 'fail',
      timedOut: true,
      output: expect.stringMatching(/^timed out, still pending: /),
    });
    settle({ status: 'pass' });
    await clock.advanceAsync(1_000);
    expect(calls.count).toBe(2);
    expect((await health.check('dep')).status).toBe('pass');
    health.close();
  });

  it('at most one outstanding attempt, on demand too: a pending attempt is reported, not repeated', async () => {
    const clock = createManualClock();
    const health = createHealth(quiet({ clock }));
    let settle!: (result: CheckResult) => void;
    const calls = { count: 0 };
    const check = () => {
      calls.count++;
      return calls.count === 1
        ? new Promise<CheckResult>((resolve) => (settle = resolve))
        : Promise.resolve<CheckResult>({ status: 'pass' });
    };
    health.register({ name: 'dep', check, mode: { ttl: 0 }, timeout: '200ms' });
    const first = health.ready();
    await clock.advanceAsync(200);
    expect((await first).checks[0]).toMatchObject({ status: 'fail', output: 'timed out after 200ms' });
    for (let round = 0; round < 20; round++) {
      const report = await health.ready();
      expect(report.checks[0]).toMatchObject({
        status: 'fail',
        timedOut: true,
        output: expect.stringMatching(/still pending/),
      });
    }
    expect(calls.count).toBe(1);
    settle({ status: 'fail', output: 'late' });
    await clock.advanceAsync(0);
    expect((await health.ready()).status).toBe('pass');
    expect(calls.count).toBe(2);
    health.close();
  });
});
