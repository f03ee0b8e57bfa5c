import { OpsError, type OpsErrorOptions } from '../errors/ops-error.js';

/** Codes a {@link PrometheusError} carries. */
export type PrometheusErrorCode =
  'PROMETHEUS_REQUEST_FAILED' | 'PROMETHEUS_RESPONSE_INVALID' | 'PROMETHEUS_QUERY_FAILED';

/** Details of a {@link PrometheusError}. */
export interface PrometheusErrorDetails {
  /** The request URL with credentials removed. */
  url: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** Prometheus' `errorType` (`bad_data`, `execution`, `timeout`, `canceled`, `unavailable`, `internal`), for query failures. */
  errorType?: string;
  /** The path inside the response body that did not match the expected shape, for invalid responses. */
  path?: string;
}

/**
 * An error talking to the Prometheus HTTP API:
 * - `PROMETHEUS_REQUEST_FAILED` — no usable HTTP answer (unreachable, deadline passed, unexpected status);
 * - `PROMETHEUS_RESPONSE_INVALID` — the body is not the documented shape (the message names the path);
 * - `PROMETHEUS_QUERY_FAILED` — Prometheus answered `status: "error"` (bad PromQL, query timeout …).
 */
export class PrometheusError extends OpsError {
  declare readonly code: PrometheusErrorCode;
  /** The request URL with credentials removed. */
  readonly url: string;
  /** HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** Prometheus' `errorType`, for `PROMETHEUS_QUERY_FAILED`. */
  readonly errorType: string | undefined;
  /** The offending path in the body, for `PROMETHEUS_RESPONSE_INVALID`. */
  readonly path: string | undefined;

  constructor(
    code: PrometheusErrorCode,
    message: string,
    details: PrometheusErrorDetails,
    options: OpsErrorOptions = {},
  ) {
    super(code, message, options);
    this.url = details.url;
    this.status = details.status;
    this.errorType = details.errorType;
    this.path = details.path;
  }
}
