import { OpsError, type OpsErrorCode, type OpsErrorOptions } from '@ops/core';

/** Codes a {@link HealthError} carries: its own, and core's `ARGUMENT_INVALID` for a bad option. */
export type HealthErrorCode =
  /** A check or startup task with that name is already registered. */
  | 'CHECK_DUPLICATE'
  /** A probe could not judge its target (e.g. a TLS peer presented no certificate). */
  | 'CHECK_FAILED'
  /** The registry is shutting down or closed and takes no new registrations. */
  | 'SHUTDOWN_IN_PROGRESS'
  | Extract<OpsErrorCode, 'ARGUMENT_INVALID'>;

/**
 * An error thrown by `@ops/health` (a bad registration, a duplicate check name, a call during shutdown).
 * Check failures are never thrown to the caller: they become `fail` results.
 *
 * @example
 * ```ts
 * try { health.register({ name: 'db', check }) } catch (error) {
 *   if (HealthError.hasCode(error, 'CHECK_DUPLICATE')) reuseExisting();
 * }
 * ```
 */
export class HealthError extends OpsError<HealthErrorCode> {
  constructor(code: HealthErrorCode, message: string, options: OpsErrorOptions = {}) {
    super(code, message, options);
  }
}
