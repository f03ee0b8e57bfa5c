import type { Clock, Duration } from '@ops/core';
import type { ActionContext, ActionOutcome, HealingAction } from '../actions/action.js';
import type { Flags } from '../actions/flags.js';
import { runFunction } from '../actions/run-function.js';
import { setFlag } from '../actions/set-flag.js';
import { baselineRatioCondition, type TargetSignal } from '../engine/conditions.js';
import type { HealingRule, LadderStep } from '../engine/rule.js';
import { recipeRuleOptions, type RecipeRuleOptions } from './recipe-rule-options.js';

/** Options of {@link latencyLadder}. */
export interface LatencyLadderOptions extends RecipeRuleOptions {
  /** The P95 latency signal (ms), e.g. a prom-client histogram quantile or a Prometheus query. */
  p95: TargetSignal;
  /** The runtime flags the app reads; step 1 turns `rateLimitFlag` on. */
  flags: Flags;
  /** Flag turned on in step 1. Default `'rate-limiting'`. */
  rateLimitFlag?: string;
  /** Rate limiting is turned off again after this long. Default `'15m'`. */
  rateLimitFor?: Duration;
  /** Warms the caches (step 2). */
  warmCaches?: ((context: ActionContext) => Promise<ActionOutcome | void> | ActionOutcome | void) | HealingAction;
  /** Restarts the slow component (step 3): `restartContainer(…)`, `reconnectRedis(…)`, `resetPgPool(…)`. */
  restartSlowComponent?: HealingAction;
  /** Default 2 (the runbook's "P95 > 2× baseline"). */
  ratio?: number;
  /** Default `'5m'`. */
  for?: Duration;
  /** Window the baseline is learned over. Default `'1h'`. */
  baselineWindow?: Duration;
  /** Settle time after each step. Default `'30s'`. */
  settle?: Duration;
  /** Source of time of the condition's window (pass the healer's clock). Default the system clock. */
  clock?: Clock;
  /** Rule name. Default `'latency'`. */
  name?: string;
  /** The targets (one per instance: `[instanceId]`). Default `['process']`. */
  targets?: NonNullable<HealingRule['targets']>;
}

/**
 * The runbook's latency ladder: P95 > 2× its learned baseline for 5 minutes → rate limiting on (reverted after
 * `rateLimitFor`) → warm caches → restart the slow component; past the last step the healer escalates.
 *
 * @example
 * ```ts
 * const flags = createFlags({ initial: { 'rate-limiting': false } });
 * const rule = latencyLadder({ p95, flags, warmCaches: () => cache.warm(), restartSlowComponent: reconnectRedis(redis) });
 * ```
 */
export function latencyLadder(options: LatencyLadderOptions): HealingRule {
  const {
    p95,
    flags,
    rateLimitFlag = 'rate-limiting',
    rateLimitFor = '15m',
    warmCaches,
    restartSlowComponent,
    ratio = 2,
    for: forDuration = '5m',
    baselineWindow = '1h',
    settle = '30s',
    name = 'latency',
    clock,
  } = options;
  const rule = recipeRuleOptions('latencyLadder', options);
  const step = (action: HealingAction): LadderStep => ({ action, settle });
  const ladder: LadderStep[] = [step(setFlag(flags, rateLimitFlag, true, { revertAfter: rateLimitFor }))];
  if (warmCaches !== undefined)
    ladder.push(step(typeof warmCaches === 'function' ? runFunction(warmCaches, { name: 'warm caches' }) : warmCaches));
  if (restartSlowComponent !== undefined) ladder.push(step(restartSlowComponent));
  return {
    name,
    summary: `P95 latency above ${ratio}× baseline for ${String(forDuration)}`,
    when: baselineRatioCondition({ signal: p95, ratio, baselineWindow, ...(clock === undefined ? {} : { clock }) }),
    for: forDuration,
    ladder,
    ...rule,
  };
}
