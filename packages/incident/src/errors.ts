import { OpsError, type OpsErrorCode, type OpsErrorOptions } from '@ops/core';

/** Codes an {@link IncidentError} carries: the package's own, and core's shared ones it uses. */
export type IncidentErrorCode =
  /** No incident with that id (or key). */
  | 'INCIDENT_NOT_FOUND'
  /** The lifecycle does not allow that transition from the incident's current status. */
  | 'TRANSITION_INVALID'
  /** `resolve()` was called without a reason. */
  | 'RESOLVE_REASON_REQUIRED'
  /** `close()` was called on an incident whose severity needs a published postmortem, and it has none. */
  | 'POSTMORTEM_REQUIRED'
  /** A concurrent writer won a race (e.g. two replicas opened the same dedup key); retrying resolves it. */
  | 'STORE_CONFLICT'
  /** The store failed (connection lost, query refused). */
  | 'STORE_FAILED'
  /** An inbound payload (Alertmanager webhook, PagerDuty event, OpsAlert) is malformed. */
  | 'PAYLOAD_INVALID'
  /** An inbound payload is larger than the configured bound. */
  | 'PAYLOAD_TOO_LARGE'
  /** A source sent more than its ingest rate limit allows (retryable after `retryAfterMs`; receivers answer 429). */
  | 'RATE_LIMITED'
  /** A notification could not be delivered. */
  | 'NOTIFICATION_FAILED'
  | Extract<OpsErrorCode, 'ARGUMENT_INVALID' | 'CONFIG_INVALID'>;

/**
 * An error thrown by `@ops/incident`: a refused transition, an unknown incident, a malformed payload, a store failure.
 *
 * @example
 * ```ts
 * try { await incidents.mitigate(id) } catch (error) {
 *   if (IncidentError.hasCode(error, 'TRANSITION_INVALID')) console.log(error.message); // says what is allowed
 * }
 * ```
 */
export class IncidentError extends OpsError<IncidentErrorCode> {
  constructor(code: IncidentErrorCode, message: string, options: OpsErrorOptions = {}) {
    super(code, message, options);
  }
}
