import { OpsError, type OpsErrorCode, type OpsErrorOptions } from '@ops/core';

/** Codes a {@link CapacityError} carries: its own, and core's `ARGUMENT_INVALID` for a bad argument. */
export type CapacityErrorCode =
  /**
   * A metric needed for a decision could not be read or computed, and the decision would have scaled down on
   * partial data (the HPA refuses to do that, kubernetes#99394): nothing is changed.
   */
  | 'METRIC_UNAVAILABLE'
  /** Too little history for what was asked (e.g. Holt-Winters needs two full seasons, a trend needs 3 points). */
  | 'INSUFFICIENT_DATA'
  /** A model could not be fitted (non-finite objective everywhere, multiplicative season on non-positive data). */
  | 'FIT_FAILED'
  /** An input file or payload is malformed (CSV/JSON series, a bad row); the message names the line or path. */
  | 'INPUT_INVALID'
  /** A data source failed (Prometheus query, PostgreSQL size query); `cause` is the source's error. */
  | 'SOURCE_FAILED'
  /** An optional peer dependency needed for this feature is not installed (e.g. `@bsull/augurs`). */
  | 'DEPENDENCY_MISSING'
  | Extract<OpsErrorCode, 'ARGUMENT_INVALID'>;

/**
 * An error thrown by `@ops/capacity`: a decision refused because a metric is missing, a forecast asked of too
 * little history, a malformed input file, a failed data source.
 *
 * @example
 * ```ts
 * try { forecast = fitHoltWinters(values, { seasonLength: 1440 }) } catch (error) {
 *   if (CapacityError.hasCode(error, 'INSUFFICIENT_DATA')) forecast = fitHoltWinters(values, { seasonLength: 0 });
 * }
 * ```
 */
export class CapacityError extends OpsError<CapacityErrorCode> {
  constructor(code: CapacityErrorCode, message: string, options: OpsErrorOptions = {}) {
    super(code, message, options);
  }
}
