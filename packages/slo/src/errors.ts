import { OpsError, type OpsErrorCode, type OpsErrorOptions } from '@ops/core';

/** Codes a {@link SloError} carries: its own, and core's `ARGUMENT_INVALID` for a bad argument. */
export type SloErrorCode =
  /** An SLO that cannot be tracked as given (e.g. a ratio SLI without a registry to read its counters from). */
  | 'SLO_INVALID'
  /** No tracked SLO has that name (`'checkout'` or `'shop/checkout'`). */
  | 'SLO_NOT_FOUND'
  /** The short name matches SLOs of several services: use `<service>/<name>`. */
  | 'SLO_AMBIGUOUS'
  /** An event does not fit the SLO's SLI type (no `latencyMs` for a latency SLI, `record()` on a ratio SLI, …). */
  | 'SLI_MISMATCH'
  /** Prometheus rules could not be produced or written (e.g. `ops-slo rules -o FILE` cannot write FILE). */
  | 'SLO_RULES_FAILED'
  /** A report or status could not be computed from Prometheus; `cause` is the failed query's error. */
  | 'REPORT_FAILED'
  | Extract<OpsErrorCode, 'ARGUMENT_INVALID'>;

/**
 * An SLO operation that cannot be honoured: an unknown SLO name, an event for an SLO of another SLI type, a report
 * whose Prometheus queries failed. Configuration files that fail validation throw `ConfigError` instead, naming
 * every bad path.
 *
 * @example
 * ```ts
 * try { tracker.record(name, { good: true }) } catch (error) {
 *   if (SloError.hasCode(error, 'SLO_NOT_FOUND')) logger.warn({ name }, 'no such SLO');
 * }
 * ```
 */
export class SloError extends OpsError<SloErrorCode> {
  constructor(code: SloErrorCode, message: string, options?: OpsErrorOptions);
  /** @deprecated Give the code: `new SloError('SLO_INVALID', message)`. This form always has code `SLO_INVALID`. */
  constructor(message: string, options?: OpsErrorOptions);
  constructor(codeOrMessage: string, messageOrOptions?: string | OpsErrorOptions, options: OpsErrorOptions = {}) {
    if (typeof messageOrOptions === 'string') super(codeOrMessage as SloErrorCode, messageOrOptions, options);
    else super('SLO_INVALID', codeOrMessage, messageOrOptions ?? {});
  }
}
