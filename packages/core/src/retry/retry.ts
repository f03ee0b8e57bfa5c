import { isRetryableError, OpsError } from '../errors/ops-error.js';
import { systemClock, type Clock } from '../time/clock.js';
import { parseOptionalDuration, type Duration } from '../time/duration.js';
import { createBackoff, type BackoffOptions } from './backoff.js';

/** What one attempt is told. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborts with the caller's signal and at the overall deadline. */
  signal: AbortSignal;
}

/** A retry that is about to wait. */
export interface RetryInfo {
  /** The attempt that failed (1-based). */
  attempt: number;
  /** What it failed with. */
  error: unknown;
  /** How long the retry waits before the next attempt. */
  delayMs: number;
}

/** Options of {@link retry}. */
export interface RetryOptions extends BackoffOptions {
  /** Attempts in all, the first one included. Default 3. */
  maxAttempts?: number;
  /** Time budget of all attempts and waits together; no attempt starts after it. Default: none. */
  deadline?: Duration;
  /** Cancels the waits and is passed to each attempt. */
  signal?: AbortSignal;
  /** Source of time and timers. Default {@link systemClock}. */
  clock?: Clock;
  /**
   * Whether an error is worth another attempt. Default {@link isRetryableError}: an `OpsError` says so itself
   * (`isRetryable`); other errors are retryable for transient network codes only.
   */
  isRetryable?: (error: unknown) => boolean;
  /** The longest `Retry-After` that is honoured; a longer one ends the retries. Default `'5m'`. */
  maxRetryAfter?: Duration;
  /** Called before each wait (for logs and metrics). */
  onRetry?: (info: RetryInfo) => void;
}

/**
 * Runs `operation` until it succeeds, with capped exponential backoff and jitter between attempts. Stops at once
 * on an error that is not retryable, when `maxAttempts` is reached, when the next wait would pass the `deadline`,
 * or when `signal` aborts; then it rejects with the last error (the signal's reason on abort). An error with
 * `retryAfterMs` (an `OpsError` built from a `Retry-After` header) waits at least that long.
 *
 * @example
 * ```ts
 * const body = await retry(({ signal }) => postWebhook(url, payload, signal), {
 *   maxAttempts: 5, initialDelay: '500ms', maxDelay: '30s', deadline: '2m',
 * });
 * ```
 */
export async function retry<T>(
  operation: (context: AttemptContext) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const { maxAttempts = 3, clock = systemClock, isRetryable = isRetryableError, onRetry, signal: outer } = options;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new OpsError('ARGUMENT_INVALID', `maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  }
  const deadlineMs = parseOptionalDuration(options.deadline, 'deadline');
  const maxRetryAfterMs = parseOptionalDuration(options.maxRetryAfter, 'maxRetryAfter') ?? 300_000;
  const backoff = createBackoff(options);
  const startedAt = clock.monotonic();
  const controller = new AbortController();
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  const deadlineTimer =
    deadlineMs === undefined
      ? undefined
      : clock.setTimeout(
          () =>
            controller.abort(
              new OpsError('CHECK_TIMEOUT', `retry: deadline of ${deadlineMs} ms passed`, { isRetryable: true }),
            ),
          deadlineMs,
        );
  try {
    for (let attempt = 1; ; attempt++) {
      if (controller.signal.aborted) throw controller.signal.reason;
      try {
        return await operation({ attempt, signal: controller.signal });
      } catch (error) {
        if (controller.signal.aborted) throw outer?.aborted ? outer.reason : controller.signal.reason;
        if (attempt >= maxAttempts || !isRetryable(error)) throw error;
        const retryAfterMs = OpsError.isInstance(error) ? error.retryAfterMs : undefined;
        if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) throw error;
        const delayMs = Math.max(backoff.next(), retryAfterMs ?? 0);
        if (deadlineMs !== undefined && clock.monotonic() - startedAt + delayMs >= deadlineMs) throw error;
        onRetry?.({ attempt, error, delayMs });
        try {
          await clock.sleep(delayMs, controller.signal);
        } catch {
          throw outer?.aborted ? outer.reason : error;
        }
      }
    }
  } finally {
    deadlineTimer?.cancel();
    outer?.removeEventListener('abort', onAbort);
  }
}
