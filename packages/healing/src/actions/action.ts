import type { Clock, Logger } from '@ops/core';

/**
 * What the healer hands an action when it runs one step of a ladder. The engine owns timeouts, locks and rails;
 * an action only does its one thing and honours `signal`.
 */
export interface ActionContext {
  /** Aborted when the step's timeout passes, the fleet lock is lost, or the healer stops: stop work and reject. */
  signal: AbortSignal;
  /** The rule whose ladder this step belongs to. */
  rule: string;
  /** What is being healed: a container name, `'process'`, a pool name, an instance id. */
  target: string;
  /** One id per episode (trigger → ladder → outcome); every audit record of the episode carries it. */
  episodeId: string;
  /** Fencing token of the (rule, target) lock this step runs under; pass it to anything that can check it. */
  fencingToken: number;
  /** The trigger values that opened the episode (observed value, threshold, baseline, …). */
  trigger: Readonly<Record<string, unknown>>;
  clock: Clock;
  logger: Logger;
}

/** What an action reports back; recorded in the audit trail. */
export interface ActionOutcome {
  /** One line for humans: `restarted container api-1 (id 3f2a…) in 1.2 s`. */
  detail?: string;
  /** Structured extras for the audit record (no secrets: values are redacted before they are stored). */
  data?: Record<string, unknown>;
  /**
   * Set when the action did nothing on purpose, with the reason (`global.gc is not exposed: start node with
   * --expose-gc`): audited as skipped-with-reason, not as ok; the ladder moves on as after a failed verify.
   */
  skipped?: string;
}

/**
 * One step a healer can take. Built-in factories (`restartContainer`, `resetPgPool`, `reconnectRedis`,
 * `callWebhook`, `setFlag`, `runGc`, `exitProcess`, `escalate`, `runFunction`) return this shape; users can write
 * their own.
 */
export interface HealingAction {
  /** Kind of action, for audit, metrics and dry-run output: `'restart-container'`, `'function'`, … */
  readonly kind: string;
  /** Human-readable name of this step: `'restart api container'`. Defaults to the kind. */
  readonly name: string;
  /** Does the work. Rejecting (or exceeding the step timeout) counts as a failed step. */
  run(context: ActionContext): Promise<ActionOutcome | void>;
  /**
   * Undoes a temporary change (a runtime flag). When set, the engine calls it after `revertAfter` (or when the
   * episode ends, whichever the action's options say); failures are audited, never thrown.
   */
  revert?(context: ActionContext): Promise<ActionOutcome | void>;
  /** How long a temporary change stays before `revert` runs (ms). */
  readonly revertAfterMs?: number;
  /**
   * True when the step cannot be retried safely inside one episode (exitProcess): the engine runs it at most once
   * per episode.
   */
  readonly terminal?: boolean;
}
