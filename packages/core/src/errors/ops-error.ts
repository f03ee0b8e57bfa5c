const MARKER = Symbol.for('@ops/core.error');

/**
 * Every error code an `@ops/*` package may throw. The union is closed so callers can `switch` exhaustively.
 */
export type OpsErrorCode =
  | 'CONFIG_INVALID'
  | 'DURATION_INVALID'
  | 'ARGUMENT_INVALID'
  | 'CHECK_TIMEOUT'
  | 'CHECK_FAILED'
  | 'CHECK_DUPLICATE'
  | 'ABORTED'
  | 'PROMETHEUS_REQUEST_FAILED'
  | 'PROMETHEUS_RESPONSE_INVALID'
  | 'PROMETHEUS_QUERY_FAILED'
  | 'SIGNAL_UNAVAILABLE'
  | 'SERVICE_UNAVAILABLE'
  | 'SLO_INVALID'
  | 'BACKUP_FAILED'
  | 'BACKUP_CORRUPT'
  | 'BACKUP_NOT_FOUND'
  | 'BACKUP_LOCKED'
  | 'BACKUP_DECRYPT_FAILED'
  | 'RESTORE_FAILED'
  | 'RESTORE_UNSAFE_PATH'
  | 'STORAGE_FAILED'
  | 'HOOK_FAILED'
  | 'INCIDENT_INVALID'
  | 'INCIDENT_NOT_FOUND'
  | 'LOCK_LOST'
  | 'SHUTDOWN_IN_PROGRESS'
  | 'INTERNAL';

/** Options shared by every {@link OpsError}. */
export interface OpsErrorOptions {
  /** The underlying error, kept for logs and `error.cause` chains. */
  cause?: unknown;
  /** Whether retrying the same operation may succeed. Defaults to `false`. */
  isRetryable?: boolean;
}

/**
 * Base class of every error thrown by `@ops/*` packages.
 *
 * Use {@link OpsError.isInstance} rather than `instanceof`: it also recognises errors created by another copy of
 * the package (two versions installed side by side).
 *
 * @example
 * ```ts
 * try { await health.check('db') } catch (error) {
 *   if (OpsError.isInstance(error) && error.code === 'CHECK_TIMEOUT') retryLater();
 * }
 * ```
 */
export class OpsError extends Error {
  readonly [MARKER] = true;
  /** Stable machine-readable discriminator. */
  readonly code: OpsErrorCode;
  /** Whether retrying the same operation may succeed. */
  readonly isRetryable: boolean;

  constructor(code: OpsErrorCode, message: string, options: OpsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.isRetryable = options.isRetryable ?? false;
  }

  /** True for any `OpsError` (or subclass), from this copy of the package or another. */
  static isInstance(error: unknown): error is OpsError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }

  /** True when `error` is an `OpsError` with the given code. */
  static hasCode<C extends OpsErrorCode>(error: unknown, code: C): error is OpsError & { code: C } {
    return OpsError.isInstance(error) && error.code === code;
  }
}

/** An error that stands for a deadline that passed. Always retryable. */
export class TimeoutError extends OpsError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, options: Omit<OpsErrorOptions, 'isRetryable'> & { code?: 'CHECK_TIMEOUT' | 'ABORTED' } = {}) {
    super(options.code ?? 'CHECK_TIMEOUT', message, { cause: options.cause, isRetryable: true });
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Normalises anything thrown (strings, objects, `undefined`) into an `Error` without losing the original value.
 */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = Object.prototype.toString.call(thrown);
  }
  return new Error(`non-Error value thrown: ${text}`, { cause: thrown });
}
