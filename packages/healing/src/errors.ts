import { OpsError, type OpsErrorCode, type OpsErrorOptions } from '@ops/core';

/** Codes a {@link HealingError} carries: its own, and core's shared ones. */
export type HealingErrorCode =
  /** A rules file or rule definition is invalid; the message names the field and the likely intended one. */
  | 'RULE_INVALID'
  /** An action failed (the cause is the underlying error). */
  | 'ACTION_FAILED'
  /** An action or verify did not finish within its timeout (counts as failed). */
  | 'ACTION_TIMEOUT'
  /** The state store (Redis, PostgreSQL) could not be reached: the healer does not act (fail safe). */
  | 'STORE_UNAVAILABLE'
  /** An optional peer dependency needed for this feature is not installed (e.g. `dockerode`). */
  | 'DEPENDENCY_MISSING'
  | Extract<OpsErrorCode, 'ARGUMENT_INVALID' | 'LOCK_LOST' | 'LOCK_HELD' | 'CHECK_TIMEOUT' | 'ABORTED'>;

/**
 * An error thrown by `@ops/healing`: an invalid rule, a failed action, an unreachable state store.
 *
 * @example
 * ```ts
 * try { await healer.start() } catch (error) {
 *   if (HealingError.hasCode(error, 'RULE_INVALID')) console.error(error.message);
 * }
 * ```
 */
export class HealingError extends OpsError<HealingErrorCode> {
  constructor(code: HealingErrorCode, message: string, options: OpsErrorOptions = {}) {
    super(code, message, options);
  }
}
