import type { ActionResult } from '../audit/audit-store.js';

/** Why a healer did not act on a firing (rule, target). */
export type SkipReason =
  | 'paused'
  | 'cooldown'
  | 'backoff'
  | 'lock-held'
  | 'budget-exhausted'
  | 'shared-cause'
  | 'store-unavailable'
  | 'lock-lost';

/** Why an episode was escalated to a human. */
export type EscalationReason = 'ladder-exhausted' | 'attempts-exhausted' | 'flapping' | 'shared-cause';

/** How an episode ended. */
export type EpisodeOutcome = 'healed' | 'cleared' | 'escalated' | 'dry-run';

// A type alias (not an interface) so event payloads are assignable to Record<string, unknown> (loggers, JSON).
type RuleTarget = {
  at: number;
  rule: string;
  target: string;
};

/** Events of a healer (`healer.on(name, listener)`); every payload carries `at` (epoch ms). */
export interface HealerEvents {
  /** A condition held for its `for` and an episode opened (under the lock). */
  'episode.opened': RuleTarget & { episodeId: string; trigger: Record<string, unknown>; dryRun: boolean };
  /** A ladder step started. */
  'step.started': RuleTarget & {
    episodeId: string;
    step: number;
    run: number;
    action: string;
    kind: string;
    fencingToken: number;
  };
  /** A ladder step ended (`would-run` in dry-run). */
  'step.completed': RuleTarget & {
    episodeId: string;
    step: number;
    action: string;
    kind: string;
    result: ActionResult;
    detail?: string;
    durationMs: number;
  };
  /** A step's verify ended. */
  'verify.completed': RuleTarget & {
    episodeId: string;
    step: number;
    passed: boolean;
    method: 'condition' | 'check';
    detail: string;
  };
  /** An episode went to a human (through the alert sink). */
  'episode.escalated': RuleTarget & { episodeId: string; reason: EscalationReason; detail: string };
  /** An episode ended. */
  'episode.closed': RuleTarget & { episodeId: string; outcome: EpisodeOutcome };
  /** A firing (rule, target) was not acted on (emitted when the reason changes, not on every tick). */
  'action.skipped': RuleTarget & { reason: SkipReason; detail?: string; episodeId?: string };
  /** A temporary change was reverted. */
  'action.reverted': RuleTarget & { episodeId: string; action: string; result: 'ok' | 'failed'; detail?: string };
  /** A state-store call failed: the healer does not act until it answers again. */
  'store.failed': { at: number; operation: string; error: string };
  /** The state store answers again after a failure. */
  'store.recovered': { at: number };
}
