import type { Check, Clock, Duration } from '@ops/core';
import type { Flags } from '../actions/flags.js';
import { resetPgPool, type PgPoolHolder, type ResettablePgPool } from '../actions/reset-pg-pool.js';
import { setFlag } from '../actions/set-flag.js';
import { countCondition, type CountCondition } from '../engine/conditions.js';
import type { HealingRule } from '../engine/rule.js';
import { HealingError } from '../errors.js';
import { recipeRuleOptions, type RecipeRuleOptions } from './recipe-rule-options.js';

/** Options of {@link databaseConnectionLadder}. */
export interface DatabaseConnectionLadderOptions<Pool extends ResettablePgPool> extends RecipeRuleOptions {
  /** The pool holder the app reads its pool from (`createPgPoolHolder`). */
  pools: PgPoolHolder<Pool>;
  /** The runtime flags the app reads; step 2 turns `readOnlyFlag` on. */
  flags: Flags;
  /** Flag turned on in step 2. Default `'read-only'`. */
  readOnlyFlag?: string;
  /** Read-only mode is turned off again after this long. Default `'10m'`. */
  readOnlyFor?: Duration;
  /** More than this many failures … Default 5. */
  maxFailures?: number;
  /** … in this window opens an episode. Default `'1m'`. */
  window?: Duration;
  /** Queries in flight may finish for this long when the pool is reset. Default `'10s'`. */
  drainDeadline?: Duration;
  /** Source of time of the condition's window (pass the healer's clock). Default the system clock. */
  clock?: Clock;
  /** Rule name. Default `'database-connections'`. */
  name?: string;
  /**
   * The targets failures are counted for: `['notes-db']` for a database the whole fleet shares (one replica acts
   * for all, under the fleet lock). Default `['process']`. With one target, `recordFailure()` counts for it.
   */
  targets?: NonNullable<HealingRule['targets']>;
}

/** The rule of {@link databaseConnectionLadder}, with the counter the app feeds. */
export interface DatabaseConnectionLadder extends HealingRule {
  /**
   * Count one connection failure (or `count`): call it from `pool.on('error')` and from failed connects. Counted
   * for the rule's target when it has exactly one (`'process'` by default); otherwise pass the target.
   */
  recordFailure(count?: number): void;
  /** Count a connection failure (or `count`) of `target`, one of the rule's targets. */
  recordFailure(target: string, count?: number): void;
  /** The failure counter (its `count()` is the failures in the window). */
  failures: CountCondition;
}

/**
 * The runbook's database connection ladder: more than 5 connection failures in 1 minute → reset the pool (drain,
 * then recreate) → read-only mode on (reverted after `readOnlyFor`); past the last step the healer escalates. Each
 * step is verified by a `SELECT 1` through the current pool.
 *
 * @example
 * ```ts
 * const pools = createPgPoolHolder(() => new pg.Pool({ connectionString }));
 * const database = databaseConnectionLadder({ pools, flags });
 * pools.pool.on('error', () => database.recordFailure());
 * // a database shared by the fleet: one target, one replica acts for all
 * const shared = databaseConnectionLadder({ pools, flags, targets: ['notes-db'], cooldown: '5m' });
 * pools.pool.on('error', () => shared.recordFailure()); // counted for 'notes-db'
 * const healer = createHealer({ rules: [database], alerts });
 * ```
 */
export function databaseConnectionLadder<Pool extends ResettablePgPool>(
  options: DatabaseConnectionLadderOptions<Pool>,
): DatabaseConnectionLadder {
  const {
    pools,
    flags,
    readOnlyFlag = 'read-only',
    readOnlyFor = '10m',
    maxFailures = 5,
    window = '1m',
    drainDeadline = '10s',
    name = 'database-connections',
    clock,
  } = options;
  const rule = recipeRuleOptions('databaseConnectionLadder', options);
  // The targets failures can be counted for, when known up front (a targets function is read by the healer).
  const known = rule.targets === undefined ? ['process'] : Array.isArray(rule.targets) ? rule.targets : undefined;
  const recordFailure = (first?: string | number, second?: number): void => {
    const target = typeof first === 'string' ? first : known?.length === 1 ? known[0] : undefined;
    if (target === undefined)
      throw new HealingError(
        'ARGUMENT_INVALID',
        `databaseConnectionLadder.recordFailure: give the target, the rule has ${known ? `several (${known.join(', ')})` : 'a targets function'}`,
      );
    if (known !== undefined && !known.includes(target))
      throw new HealingError(
        'ARGUMENT_INVALID',
        `databaseConnectionLadder.recordFailure: "${target}" is not a target of the rule (${known.join(', ')}); give targets: ['${target}'] to the recipe`,
      );
    failures.record(target, typeof first === 'string' ? second : first);
  };
  const failures = countCondition({ window, above: maxFailures, ...(clock === undefined ? {} : { clock }) });
  const canQuery: Check = async () => {
    try {
      await pools.pool.query('SELECT 1');
      return { status: 'pass' };
    } catch (error) {
      return { status: 'fail', output: (error as Error).message };
    }
  };
  return {
    name,
    summary: `more than ${maxFailures} database connection failures in ${String(window)}`,
    when: failures,
    for: 0,
    ladder: [
      { action: resetPgPool(pools, { drainDeadline }), timeout: '60s', settle: '2s', verify: { check: canQuery } },
      {
        action: setFlag(flags, readOnlyFlag, true, { revertAfter: readOnlyFor }),
        settle: '2s',
        verify: { check: canQuery },
      },
    ],
    ...rule,
    failures,
    recordFailure,
  };
}
