import { OpsError, type OpsErrorCode, type OpsErrorOptions } from '@ops/core';

/** Codes a {@link HealthError} carries. */
export type HealthErrorCode = Extract<OpsErrorCode, 'ARGUMENT_INVALID' | 'CHECK_DUPLICATE' | 'CHECK_FAILED' | 'SHUTDOWN_IN_PROGRESS'>;

/**
 * An error thrown by `@ops/health` (a bad registration, a duplicate check name, a call during shutdown).
 * Check failures are never thrown to the caller: they become `fail` results.
 */
export class HealthError extends OpsError {
  declare readonly code: HealthErrorCode;
  constructor(code: HealthErrorCode, message: string, options: OpsErrorOptions = {}) {
    super(code, message, options);
  }
}
