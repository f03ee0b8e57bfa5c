import { createManualClock, type ManualClock, type Signal } from '@ops/core';
import Docker from 'dockerode';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createFlags } from '../actions/flags.js';
import { createPgPoolHolder } from '../actions/reset-pg-pool.js';
import { runFunction } from '../actions/run-function.js';
import type { HealingCondition } from '../engine/conditions.js';
import { createHealer } from '../engine/healer.js';
import type { HealerEvents } from '../engine/healer-events.js';
import type { HealingRule } from '../engine/rule.js';
import { HealingError } from '../errors.js';
import { containerAutoheal } from './container-autoheal.js';
import { databaseConnectionLadder } from './database-connection-ladder.js';
import { latencyLadder } from './latency-ladder.js';
import { memoryLadder } from './memory-ladder.js';
import { rollbackGuard } from './rollback-guard.js';

// Real clients that are never called in these tests: a pg Pool connects on first query, dockerode on first request.
const pools: pg.Pool[] = [];
const poolHolder = () =>
  createPgPoolHolder(() => {
    const pool = new pg.Pool({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres', max: 1 });
    pools.push(pool);
    return pool;
  });
afterAll(() => Promise.all(pools.map((pool) => pool.end())));
const docker = new Docker({ socketPath: '/nonexistent/docker.sock' });

const signalOf = (name: string, read: () => number): Signal => ({ name, read: async () => read() }) as Signal;
const sampleOf = (rule: HealingRule, target: string) =>
  (rule.when as HealingCondition).sample(target, new AbortController().signal);

function run(rule: HealingRule, clock: ManualClock) {
  const healer = createHealer({ rules: [rule], clock, every: '10s', random: () => 0 });
  const steps: HealerEvents['step.completed'][] = [];
  healer.on('step.completed', (event) => void steps.push(event));
  return {
    healer,
    steps,
    async advance(ms: number) {
      for (let done = 0; done < ms; done += 1_000) await clock.advanceAsync(Math.min(1_000, ms - done));
    },
  };
}

const thrown = (work: () => unknown): HealingError => {
  try {
    work();
  } catch (error) {
    if (HealingError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a HealingError');
};

describe('databaseConnectionLadder: a named target', () => {
  it('recordFailure() counts for the recipe’s own target (targets: ["notes-db"]), and the rule fires on it', async () => {
    const database = databaseConnectionLadder({ pools: poolHolder(), flags: createFlags(), targets: ['notes-db'] });
    expect(database.targets).toEqual(['notes-db']);
    for (let failure = 0; failure < 6; failure++) database.recordFailure();
    expect(database.failures.count('notes-db')).toBe(6);
    expect(database.failures.count('process')).toBe(0);
    expect(await sampleOf(database, 'notes-db')).toMatchObject({ active: true, value: 6 });
  });

  it('recordFailure(target, count) counts for that target; the default stays "process" with its count', () => {
    const shared = databaseConnectionLadder({ pools: poolHolder(), flags: createFlags(), targets: ['a', 'b'] });
    shared.recordFailure('b', 3);
    shared.recordFailure('b');
    expect(shared.failures.count('b')).toBe(4);
    expect(shared.failures.count('a')).toBe(0);
    const local = databaseConnectionLadder({ pools: poolHolder(), flags: createFlags() });
    local.recordFailure(2);
    local.recordFailure();
    expect(local.failures.count('process')).toBe(3);
  });

  it('refuses a failure it could not count for a target the rule evaluates, naming why', () => {
    const shared = databaseConnectionLadder({ pools: poolHolder(), flags: createFlags(), targets: ['a', 'b'] });
    const ambiguous = thrown(() => shared.recordFailure());
    expect(ambiguous.code).toBe('ARGUMENT_INVALID');
    expect(ambiguous.message).toContain('give the target, the rule has several (a, b)');
    expect(thrown(() => shared.recordFailure('c')).message).toContain('"c" is not a target of the rule (a, b)');
    const local = databaseConnectionLadder({ pools: poolHolder(), flags: createFlags() });
    expect(thrown(() => local.recordFailure('notes-db')).message).toContain("give targets: ['notes-db']");
  });
});

describe('recipes take the rule-level options', () => {
  it('memoryLadder: the healer acts on the given target, with the given name, cooldown and attempt cap', async () => {
    const clock = createManualClock();
    let memory = 0.95;
    const rule = memoryLadder({
      signal: signalOf('heap_ratio', () => memory),
      for: '1m',
      settle: '5s',
      clearCaches: () => void (memory = 0.5),
      name: 'api-memory',
      targets: ['api-1'],
      cooldown: '5m',
      maxAttempts: { count: 2, window: '1h' },
      severity: 'critical',
    });
    expect(rule).toMatchObject({
      name: 'api-memory',
      targets: ['api-1'],
      cooldown: '5m',
      maxAttempts: { count: 2, window: '1h' },
      severity: 'critical',
    });
    const harness = run(rule, clock);
    try {
      await harness.advance(3 * 60_000);
      expect(harness.steps).toEqual([expect.objectContaining({ rule: 'api-memory', target: 'api-1', result: 'ok' })]);
    } finally {
      await harness.healer.stop();
    }
  });

  it('latencyLadder, databaseConnectionLadder, containerAutoheal and rollbackGuard set them on their rule', () => {
    const flags = createFlags();
    const options = {
      targets: ['t-1'],
      cooldown: '5m',
      warmup: '30s',
      backoff: { initialDelay: '1s', maxDelay: '1m' },
      flap: { maxEpisodes: 2, window: '1h' },
      budget: { max: 1 },
      fleet: false as const,
      dryRun: true,
      summary: 'it hurts',
    };
    const rules: HealingRule[] = [
      latencyLadder({ p95: signalOf('p95', () => 1), flags, ...options }),
      databaseConnectionLadder({ pools: poolHolder(), flags, ...options }),
      containerAutoheal({ docker, ...options }),
      rollbackGuard({ rollback: runFunction(() => undefined, { name: 'undo' }), ...options }),
    ];
    for (const rule of rules) expect(rule).toMatchObject(options);
    // Defaults stay the recipe's own.
    const guard = rollbackGuard({ rollback: runFunction(() => undefined, { name: 'undo' }) });
    expect(guard).toMatchObject({ targets: ['deploy'], fleet: false, severity: 'critical' });
    expect(guard.cooldown).toBeUndefined();
    expect(containerAutoheal({ docker, cooldown: '2m' })).toMatchObject({ budget: { max: 1 }, cooldown: '2m' });
  });

  it('refuses bad options with ARGUMENT_INVALID naming the recipe and the field', () => {
    const flags = createFlags();
    const cases: [() => unknown, string][] = [
      [() => memoryLadder({ clearCaches: () => undefined, targets: 'api-1' as never }), 'memoryLadder: targets:'],
      [() => memoryLadder({ clearCaches: () => undefined, targets: [] }), 'memoryLadder: targets:'],
      [
        () => latencyLadder({ p95: signalOf('p95', () => 1), flags, cooldown: '5 minutes' }),
        'latencyLadder: cooldown:',
      ],
      [
        () => databaseConnectionLadder({ pools: poolHolder(), flags, maxAttempts: { count: 0, window: '1h' } }),
        'databaseConnectionLadder: maxAttempts.count:',
      ],
      [() => containerAutoheal({ docker, name: '' }), 'containerAutoheal: name:'],
      [
        () => rollbackGuard({ rollback: runFunction(() => undefined, { name: 'undo' }), severity: 'loud' as never }),
        'rollbackGuard: severity:',
      ],
      [
        () =>
          rollbackGuard({ rollback: runFunction(() => undefined, { name: 'undo' }), deploy: 'api', targets: ['api'] }),
        'rollbackGuard: targets: give deploy or targets, not both',
      ],
    ];
    for (const [work, message] of cases) {
      const error = thrown(work);
      expect(error.code).toBe('ARGUMENT_INVALID');
      expect(error.message).toContain(message);
    }
  });
});
