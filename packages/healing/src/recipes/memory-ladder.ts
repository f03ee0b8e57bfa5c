import { createHeapUsedRatioSignal, type Duration } from '@ops/core';
import type { ActionContext, ActionOutcome, HealingAction } from '../actions/action.js';
import { runFunction } from '../actions/run-function.js';
import { runGc } from '../actions/run-gc.js';
import { thresholdCondition, type TargetSignal } from '../engine/conditions.js';
import type { HealingRule, LadderStep } from '../engine/rule.js';
import { recipeRuleOptions, type RecipeRuleOptions } from './recipe-rule-options.js';

/** Options of {@link memoryLadder}. */
export interface MemoryLadderOptions extends RecipeRuleOptions {
  /** Clears the non-essential caches (step 1). */
  clearCaches: ((context: ActionContext) => Promise<ActionOutcome | void> | ActionOutcome | void) | HealingAction;
  /** Restarts connections (step 3): `reconnectRedis(redis)`, a function closing idle WebSockets, … */
  restartConnections?: readonly HealingAction[];
  /** The memory signal, a ratio in [0, 1]. Default V8 heap used / heap limit (core's heap used ratio). */
  signal?: TargetSignal;
  /** Default 0.85 (the runbook's "memory usage > 85%"). */
  threshold?: number;
  /** Default `'10m'`. */
  for?: Duration;
  /** Settle time after each step before it is verified. Default `'30s'`. */
  settle?: Duration;
  /** Rule name. Default `'memory'`. */
  name?: string;
  /** The targets (one per instance: `[instanceId]`). Default `['process']`. */
  targets?: NonNullable<HealingRule['targets']>;
}

const asAction = (value: MemoryLadderOptions['clearCaches'], name: string): HealingAction =>
  typeof value === 'function' ? runFunction(value, { name }) : value;

/**
 * The runbook's memory ladder: memory > 85% for 10 minutes → clear non-essential caches → garbage-collect →
 * restart connections; past the last step the healer escalates through its `alerts` sink. Each step is verified
 * by the memory falling back under the threshold for 3 samples.
 *
 * @example
 * ```ts
 * const healer = createHealer({ rules: [memoryLadder({ clearCaches: () => cache.clear(), restartConnections: [reconnectRedis(redis)] })], alerts });
 * ```
 */
export function memoryLadder(options: MemoryLadderOptions): HealingRule {
  const {
    restartConnections = [],
    threshold = 0.85,
    for: forDuration = '10m',
    settle = '30s',
    name = 'memory',
  } = options;
  const rule = recipeRuleOptions('memoryLadder', options);
  const signal = options.signal ?? createHeapUsedRatioSignal();
  const step = (action: HealingAction): LadderStep => ({ action, settle });
  return {
    name,
    summary: `memory above ${Math.round(threshold * 100)}% for ${String(forDuration)}`,
    when: thresholdCondition({ signal, above: threshold }),
    for: forDuration,
    ladder: [
      step(asAction(options.clearCaches, 'clear caches')),
      step(runGc()),
      ...restartConnections.map((action) => step(action)),
    ],
    ...rule,
  };
}
