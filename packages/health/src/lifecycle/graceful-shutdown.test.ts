import { createManualClock, createRecordingLogger } from '@ops/core/testing';
import { describe, expect, it } from 'vitest';
import { GracefulShutdown, type Drainer, type ShutdownTimings } from './graceful-shutdown.js';

// The sequence on its own, with the manual clock and a fake drainer; lifecycle/server-drainer.test.ts drives the
// same sequence through createHealth with a real node:http server.

function fakeDrainer(steps: string[], options: { idle?: Promise<void> } = {}): Drainer {
  return {
    beginDrain: () => void steps.push('drain begun'),
    stopAccepting: async () => void steps.push('accepting stopped'),
    whenIdle: () => options.idle ?? Promise.resolve(),
    destroyAll: () => {
      steps.push('connections cut');
      return 3;
    },
    detach: () => void steps.push('detached'),
  };
}

function setup(timings: Partial<ShutdownTimings> = {}) {
  const clock = createManualClock();
  const logger = createRecordingLogger();
  const steps: string[] = [];
  const exits: number[] = [];
  const shutdown = new GracefulShutdown({
    clock,
    logger,
    timings: {
      drainDelayMs: 5_000,
      inFlightTimeoutMs: 10_000,
      hookTimeoutMs: 1_000,
      forceExitAfterMs: 30_000,
      ...timings,
    },
    exit: (code) => {
      steps.push(`exit ${code}`);
      exits.push(code);
    },
    onStarted: (reason) => steps.push(`started: ${reason}`),
    onDrained: () => steps.push('drained'),
    onCompleted: (exitCode) => steps.push(`completed ${exitCode}`),
  });
  return { clock, logger, steps, exits, shutdown };
}

describe('GracefulShutdown', () => {
  it('runs the sequence in order: start, drain delay, stop accepting, wait for beacons, hooks in order, exit 0', async () => {
    const { clock, steps, shutdown } = setup();
    shutdown.addDrainer(fakeDrainer(steps));
    const job = shutdown.beacon('nightly job');
    shutdown.addHook('http clients', () => steps.push('hook: http clients'));
    shutdown.addHook('database pool', async () => steps.push('hook: database pool'));

    const done = shutdown.run('SIGTERM');
    expect(shutdown.started).toBe(true);
    expect(shutdown.run('again')).toBe(done);
    expect(steps).toEqual(['started: SIGTERM', 'drain begun']);
    await clock.advanceAsync(4_999);
    expect(steps).toEqual(['started: SIGTERM', 'drain begun']);
    await clock.advanceAsync(1);
    expect(steps).toEqual(['started: SIGTERM', 'drain begun', 'accepting stopped']);
    await clock.advanceAsync(3_000);
    expect(steps).toHaveLength(3);

    job.release();
    job.release();
    expect(await done).toBe(0);
    expect(steps).toEqual([
      'started: SIGTERM',
      'drain begun',
      'accepting stopped',
      'drained',
      'hook: http clients',
      'hook: database pool',
      'completed 0',
      'exit 0',
    ]);
  });

  it('cuts what is still in flight after the in-flight limit, then runs the hooks', async () => {
    const { clock, logger, steps, exits, shutdown } = setup({ drainDelayMs: 1_000, inFlightTimeoutMs: 2_000 });
    shutdown.addDrainer(fakeDrainer(steps, { idle: new Promise(() => undefined) }));
    shutdown.beacon('consumer');
    shutdown.addHook('pool', () => steps.push('hook: pool'));
    const done = shutdown.run('test');
    await clock.advanceAsync(2_999);
    expect(steps).not.toContain('connections cut');
    await clock.advanceAsync(1);
    expect(await done).toBe(0);
    expect(steps.slice(3)).toEqual(['connections cut', 'drained', 'hook: pool', 'completed 0', 'exit 0']);
    expect(exits).toEqual([0]);
    const warning = logger.records.find((record) => record.message?.includes('connections cut'));
    expect(warning?.fields).toMatchObject({ socketsCut: 3, beacons: ['consumer'] });
  });

  it('a throwing or hanging hook makes the exit code 1; the hooks after it still run', async () => {
    const { clock, steps, exits, shutdown } = setup({ drainDelayMs: 0 });
    shutdown.addHook('throws', () => {
      throw new Error('pool already closed');
    });
    shutdown.addHook('hangs', () => new Promise(() => undefined), 500);
    shutdown.addHook('after', () => steps.push('hook: after'));
    const done = shutdown.run('test');
    await clock.advanceAsync(499);
    expect(steps).not.toContain('hook: after');
    await clock.advanceAsync(1);
    expect(await done).toBe(1);
    expect(steps.slice(-3)).toEqual(['hook: after', 'completed 1', 'exit 1']);
    expect(exits).toEqual([1]);
  });

  it('exits 1 at the hard deadline whatever is still running, and not again when the sequence ends', async () => {
    const { clock, steps, exits, shutdown } = setup({
      drainDelayMs: 0,
      inFlightTimeoutMs: 1_000,
      hookTimeoutMs: 60_000,
      forceExitAfterMs: 10_000,
    });
    shutdown.addHook('slow', () => clock.sleep(15_000));
    const done = shutdown.run('test');
    await clock.advanceAsync(9_999);
    expect(exits).toEqual([]);
    await clock.advanceAsync(1);
    expect(exits).toEqual([1]);
    expect(steps).not.toContain('completed 0');
    await clock.advanceAsync(5_000);
    expect(await done).toBe(0);
    expect(steps.slice(-2)).toEqual(['exit 1', 'completed 0']);
    expect(exits).toEqual([1]);
  });
});
