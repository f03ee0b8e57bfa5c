const MARKER = Symbol.for('@ops/core.error');
const KINDS = Symbol.for('@ops/core.error-kinds');

/**
 * The error codes `@ops/core` itself throws, shared by every package. Each package declares its own codes as a
 * string union and ships a subclass (`BackupError extends OpsError<BackupErrorCode>`), so a new package never has
 * to edit core.
 */
export type OpsErrorCode =
  /** A configuration file or options object failed validation. */
  | 'CONFIG_INVALID'
  /** A duration string or number could not be parsed. */
  | 'DURATION_INVALID'
  /** An argument is out of range or of the wrong shape. */
  | 'ARGUMENT_INVALID'
  /** A deadline passed (checks, signal reads, retries). */
  | 'CHECK_TIMEOUT'
  /** The caller's AbortSignal aborted the operation. */
  | 'ABORTED'
  | 'PROMETHEUS_REQUEST_FAILED'
  | 'PROMETHEUS_RESPONSE_INVALID'
  | 'PROMETHEUS_QUERY_FAILED'
  /** A signal could not be read. */
  | 'SIGNAL_UNAVAILABLE'
  /** A dependency answered that it cannot serve now (503, 429, connection refused). */
  | 'SERVICE_UNAVAILABLE'
  /** A lock is held by another owner. */
  | 'LOCK_HELD'
  /** A lock held by this owner expired or was taken over; work guarded by it must stop. */
  | 'LOCK_LOST'
  /** A circuit breaker is open and refused the call without trying it. */
  | 'CIRCUIT_OPEN'
  /** A bug: an invariant did not hold. */
  | 'INTERNAL';

/**
 * The code of an `OpsError` whose package is not known: core's codes, or any package's own (a plain `OpsError`
 * from `isInstance`). Package subclasses narrow it to their closed union.
 */
export type AnyOpsErrorCode = OpsErrorCode | (string & {});

/** Options shared by every {@link OpsError}. */
export interface OpsErrorOptions {
  /** The underlying error, kept for logs and `error.cause` chains. */
  cause?: unknown;
  /** Whether retrying the same operation may succeed. Defaults to `false`. */
  isRetryable?: boolean;
  /** When the remote side said when to retry (HTTP `Retry-After`), in milliseconds from now. */
  retryAfterMs?: number;
}

type ErrorClass<E> = abstract new (...args: never[]) => E;

/**
 * Base class of every error thrown by `@ops/*` packages. `Code` is the package's own code union; core's shared
 * codes are {@link OpsErrorCode}.
 *
 * Use {@link OpsError.isInstance} rather than `instanceof`: it also recognises errors created by another copy of
 * the package (two versions installed side by side). Called on a subclass (`BackupError.isInstance(error)`) it
 * matches that subclass by name, across copies too.
 *
 * @example
 * ```ts
 * type QueueErrorCode = 'QUEUE_FULL' | 'QUEUE_CLOSED';
 * class QueueError extends OpsError<QueueErrorCode | OpsErrorCode> {}
 *
 * try { await queue.push(job) } catch (error) {
 *   if (QueueError.isInstance(error) && error.code === 'QUEUE_FULL') retryLater();
 * }
 * ```
 */
export class OpsError<Code extends string = AnyOpsErrorCode> extends Error {
  readonly [MARKER] = true;
  /** Names of the classes from this one up to (not including) `OpsError`, for cross-copy `isInstance`. */
  readonly [KINDS]: readonly string[];
  /** Stable machine-readable discriminator. */
  readonly code: Code;
  /** Whether retrying the same operation may succeed. */
  readonly isRetryable: boolean;
  /** The remote side's `Retry-After`, in milliseconds, when it gave one. */
  readonly retryAfterMs: number | undefined;

  constructor(code: Code, message: string, options: OpsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.isRetryable = options.isRetryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    const kinds: string[] = [];
    for (
      let type: unknown = new.target;
      typeof type === 'function' && type !== OpsError;
      type = Object.getPrototypeOf(type)
    ) {
      kinds.push((type as { name: string }).name);
    }
    this[KINDS] = kinds;
  }

  /**
   * True for any `OpsError` when called as `OpsError.isInstance`; called on a subclass, true only for that
   * subclass (and its subclasses). Works across duplicate copies of the packages.
   */
  static isInstance<E>(this: ErrorClass<E>, error: unknown): error is E {
    if (typeof error !== 'object' || error === null || (error as Record<symbol, unknown>)[MARKER] !== true)
      return false;
    if ((this as unknown) === OpsError) return true;
    const kinds = (error as Record<symbol, unknown>)[KINDS];
    return Array.isArray(kinds) && kinds.includes(this.name);
  }

  /** True when `error` is an `OpsError` (of this class, when called on a subclass) with the given code. */
  static hasCode<E extends { code: string }, C extends E['code']>(
    this: ErrorClass<E>,
    error: unknown,
    code: C,
  ): error is E & { code: C } {
    return (
      (OpsError.isInstance as (this: unknown, error: unknown) => boolean).call(this, error) &&
      (error as { code: unknown }).code === code
    );
  }
}

/** An error that stands for a deadline that passed. Always retryable. */
export class TimeoutError extends OpsError<'CHECK_TIMEOUT' | 'ABORTED'> {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;
  constructor(
    message: string,
    timeoutMs: number,
    options: Omit<OpsErrorOptions, 'isRetryable'> & { code?: 'CHECK_TIMEOUT' | 'ABORTED' } = {},
  ) {
    super(options.code ?? 'CHECK_TIMEOUT', message, { cause: options.cause, isRetryable: true });
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Whether retrying after `error` may help: an {@link OpsError} says so itself (`isRetryable`); other errors are
 * judged by their Node.js system code (connection reset/refused, timeouts, DNS hiccups are retryable).
 */
export function isRetryableError(error: unknown): boolean {
  if (OpsError.isInstance(error)) return error.isRetryable;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && RETRYABLE_SYSTEM_CODES.has(code);
}

const RETRYABLE_SYSTEM_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);

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
