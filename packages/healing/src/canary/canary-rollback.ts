import type { HealingAction } from '../actions/action.js';
import type { HealingCondition } from '../engine/conditions.js';
import { HealingError } from '../errors.js';
import type { CanaryGuard } from './canary-guard.js';

/**
 * The guard as a healing rule's condition: active while the guard says rollback and the rollback has not run yet.
 * Each sample evaluates the guard, so the healer's tick drives the analysis (and `onPromote`).
 *
 * @example
 * ```ts
 * rules: [{ name: 'canary-rollback', when: canaryRollbackCondition(guard), for: 0, fleet: false,
 *           ladder: [{ action: guardedRollback(guard, callWebhook({ url: rollbackHook })), settle: 0, verify: { clearSamples: 1 } }] }]
 * ```
 */
export function canaryRollbackCondition(guard: CanaryGuard): HealingCondition {
  if (typeof guard?.evaluate !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'canaryRollbackCondition: guard must come from createCanaryGuard()');
  return {
    kind: 'canary',
    description: 'canary regressed against the baseline',
    async sample() {
      const verdict = guard.evaluate();
      return {
        active: verdict.decision === 'rollback' && !guard.rolledBack,
        values: {
          decision: verdict.decision,
          reasons: verdict.reasons,
          canaryErrorRate: verdict.canary.errorRate,
          baselineErrorRate: verdict.baseline.errorRate,
          canaryP95Ms: verdict.canary.p95Ms,
          baselineP95Ms: verdict.baseline.p95Ms,
          canaryRequests: verdict.canary.requests,
          baselineRequests: verdict.baseline.requests,
        },
      };
    },
  };
}

/**
 * Wraps the action that rolls the deploy back (a webhook to the deploy system, `kubectl rollout undo` in a
 * function) so the guard knows it ran: the rule's condition then clears and its verify passes.
 */
export function guardedRollback(guard: CanaryGuard, action: HealingAction): HealingAction {
  if (typeof action?.run !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'guardedRollback: action must be a HealingAction');
  return {
    kind: action.kind,
    name: action.name,
    async run(context) {
      const outcome = await action.run(context);
      guard.markRolledBack();
      return outcome;
    },
  };
}
