import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '@ops/core';
import { createRedisNamespace, type RedisNamespace } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { railKey } from '../stores/healing-state-store.js';
import { createRedisHealingStore } from '../stores/redis/redis-healing-store.js';
import { createHealer } from './healer.js';
import type { HealerEvents } from './healer-events.js';
import type { HealingRule } from './rule.js';

let namespace: RedisNamespace;
beforeAll(async () => {
  namespace = await createRedisNamespace();
});
afterAll(() => namespace?.dispose());

/** The fleet's time: real timers, and a reading that a "slow" action moves forward at once (no sleeping). */
function fleetClock() {
  let offsetMs = 0;
  const clock: Clock = {
    now: () => systemClock.now() + offsetMs,
    monotonic: () => systemClock.monotonic() + offsetMs,
    setTimeout: (callback, delayMs) => systemClock.setTimeout(callback, delayMs),
    setInterval: (callback, intervalMs) => systemClock.setInterval(callback, intervalMs),
    sleep: (delayMs, signal) => systemClock.sleep(delayMs, signal),
  };
  return { clock, pass: (ms: number) => void (offsetMs += ms) };
}

describe('cooldown across replicas on one Redis', () => {
  it('runs from the end of a slow action: a replica still seeing the condition right after the fix does not act again', async () => {
    const prefix = `${namespace.keyPrefix}${randomUUID()}:`;
    const { clock, pass } = fleetClock();
    let fixed = false;
    const runs: string[] = [];
    const rule = (instance: string, when: () => boolean): HealingRule => ({
      name: 'database-connections',
      targets: ['notes-db'],
      when,
      for: 0,
      cooldown: '5m',
      fleet: false,
      backoff: { initialDelay: '1s', maxDelay: '1s' },
      ladder: [
        {
          action: {
            kind: 'function',
            name: 'reset pool',
            async run() {
              runs.push(instance);
              pass(10 * 60_000); // the reset took 10 minutes (a long drain)
              fixed = true;
            },
          },
          settle: 0,
          verify: { clearSamples: 1, every: '10ms' },
        },
      ],
    });
    const healerOf = (instance: string, when: () => boolean) =>
      createHealer({
        rules: [rule(instance, when)],
        store: createRedisHealingStore({ redis: namespace.client(), prefix }),
        instanceId: instance,
        every: '100ms',
        autoStart: false,
        clock,
      });
    // Replica a sees the failures until its fix; replica b still counts the failures from just before it.
    const a = healerOf('a', () => !fixed);
    const b = healerOf('b', () => true);
    const verified: HealerEvents['verify.completed'][] = [];
    const skipped: HealerEvents['action.skipped'][] = [];
    a.on('verify.completed', (event) => void verified.push(event));
    b.on('action.skipped', (event) => void skipped.push(event));
    try {
      await a.tick();
      await a.idle();
      expect(runs).toEqual(['a']);
      expect(verified).toEqual([expect.objectContaining({ passed: true, target: 'notes-db' })]);
      // The shared state carries the reference time every replica reads: the end of the step, not its start.
      const state = await createRedisHealingStore({ redis: namespace.client(), prefix }).getState(
        railKey('database-connections', 'notes-db'),
      );
      expect(state?.cooldownUntil).toBeGreaterThanOrEqual(verified[0]!.at + 5 * 60_000);

      await b.tick();
      await b.idle();
      expect(runs).toEqual(['a']);
      expect(skipped.map((event) => event.reason)).toEqual(['cooldown']);

      pass(5 * 60_000); // the cooldown, counted from the end of the fix, is over
      await b.tick();
      await b.idle();
      expect(runs).toEqual(['a', 'b']);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
