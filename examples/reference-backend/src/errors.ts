import { OpsError, type OpsErrorCode, type OpsErrorOptions } from '@ops/core';

/** Codes of {@link ReferenceBackendError}. */
export type ReferenceBackendErrorCode = Extract<OpsErrorCode, 'ARGUMENT_INVALID' | 'SERVICE_UNAVAILABLE' | 'INTERNAL'>;

/**
 * Errors of the reference backend. `SERVICE_UNAVAILABLE` (a dependency is down, retryable) becomes HTTP 503,
 * `ARGUMENT_INVALID` becomes 400, anything else 500.
 */
export class ReferenceBackendError extends OpsError {
  constructor(code: ReferenceBackendErrorCode, message: string, options: OpsErrorOptions = {}) {
    super(code, message, options);
  }
}
