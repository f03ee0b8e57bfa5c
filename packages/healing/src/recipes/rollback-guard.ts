import type { HealingAction } from '../actions/action.js';
import { createCanaryGuard, type CanaryGuard, type CanaryGuardOptions } from '../canary/canary-guard.js';
import { canaryRollbackCondition, guardedRollback } from '../canary/canary-rollback.js';
import type { HealingRule } from '../engine/rule.js';
import { HealingError } from '../errors.js';
import { recipeRuleOptions, type RecipeRuleOptions } from './recipe-rule-options.js';

/** Options of {@link rollbackGuard}. */
export interface RollbackGuardOptions extends CanaryGuardOptions, RecipeRuleOptions {
  /** What rolls the deploy back: `callWebhook({ url: rollbackHook })`, a `runFunction` calling your deploy tool. */
  rollback: HealingAction;
  /** A guard to use (default: one created here from the other options). */
  guard?: CanaryGuard;
  /** The deploy's name (the rule's target). Default `'deploy'`. */
  deploy?: string;
  /** Rule name. Default `'canary-rollback'`. */
  name?: string;
  /** The rule's targets; give `deploy` or `targets`, not both. Default `[deploy]`. */
  targets?: NonNullable<HealingRule['targets']>;
  /** Attempt cap. Default 1 per `'1h'` (the rollback runs once). */
  maxAttempts?: NonNullable<HealingRule['maxAttempts']>;
  /** The fleet rule. Default `false` (one deploy). */
  fleet?: NonNullable<HealingRule['fleet']>;
  /** Severity of escalations. Default `'critical'`. */
  severity?: NonNullable<HealingRule['severity']>;
}

/** The rule of {@link rollbackGuard}, with its guard (feed it `record()`, call `start()` at deploy). */
export interface RollbackGuard extends HealingRule {
  guard: CanaryGuard;
}

/**
 * The runbook's rollback guard as a rule: after a deploy, the canary is compared with the baseline on every healer
 * tick; when the guard says rollback, the rollback action runs once through the healer's rails (lock, audit,
 * escalation if it fails). `onPromote` fires when the canary passes its window.
 *
 * @example
 * ```ts
 * const canary = rollbackGuard({ rollback: callWebhook({ url: 'https://deploy.internal/rollback' }), onPromote: () => deploy.promote() });
 * const healer = createHealer({ rules: [canary], alerts, every: '10s' });
 * canary.guard.start();                                  // at deploy
 * canary.guard.record('canary', { ok: true, latencyMs: 120 });
 * ```
 */
export function rollbackGuard(options: RollbackGuardOptions): RollbackGuard {
  const rule = recipeRuleOptions('rollbackGuard', options);
  if (options.deploy !== undefined && options.targets !== undefined)
    throw new HealingError('ARGUMENT_INVALID', 'rollbackGuard: targets: give deploy or targets, not both');
  const {
    rollback,
    deploy = 'deploy',
    name = 'canary-rollback',
    guard: given,
    // Rule-level options go to the rule, not to the guard.
    targets: _targets,
    cooldown: _cooldown,
    warmup: _warmup,
    maxAttempts: _maxAttempts,
    backoff: _backoff,
    flap: _flap,
    fleet: _fleet,
    budget: _budget,
    dryRun: _dryRun,
    severity: _severity,
    summary: _summary,
    ...guardOptions
  } = options;
  const guard = given ?? createCanaryGuard(guardOptions);
  return {
    name,
    summary: 'canary regressed against the baseline',
    when: canaryRollbackCondition(guard),
    for: 0,
    targets: [deploy],
    ladder: [{ action: guardedRollback(guard, rollback), timeout: '2m', settle: 0, verify: { clearSamples: 1 } }],
    maxAttempts: { count: 1, window: '1h' },
    fleet: false,
    severity: 'critical',
    ...rule,
    guard,
  };
}
