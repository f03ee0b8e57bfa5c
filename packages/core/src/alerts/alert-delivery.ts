import { OpsError } from '../errors/ops-error.js';
import { guardLogger, silentLogger, type Logger } from '../logging/logger.js';
import { safeErrorMessage } from '../redaction/redact.js';
import { retry, type RetryOptions } from '../retry/retry.js';
import { systemClock, type Clock } from '../time/clock.js';
import type { AlertSink, OpsAlert } from './ops-alert.js';

/** Options of {@link createAlertDelivery}. */
export interface AlertDeliveryOptions {
  /** Who delivers, for the log lines: `'health'` → "health alert delivery failed; retrying". */
  what: string;
  /**
   * Retries of a sink that rejects (core's `retry` options). Default 5 attempts; every rejection is retried except
   * an `OpsError` that is not `isRetryable`.
   */
  retry?: RetryOptions;
  /** Clock of the retry waits. Default `systemClock`. */
  clock?: Clock;
  /** Where retries (warn) and alerts given up on (error) are logged. Default silent. */
  logger?: Logger;
}

/** Ordered, retrying delivery of alerts to one {@link AlertSink}. */
export interface AlertDelivery {
  /** Queues `alert` behind the earlier alerts of its key and returns at once; never throws. */
  send(alert: OpsAlert): void;
  /** Resolves when every alert queued so far was delivered or given up on. */
  idle(): Promise<void>;
}

const DEFAULT_MAX_ATTEMPTS = 5;

// A sink rejects when it did not accept the alert, so trying again may help — unless it says otherwise.
const isRetryableDelivery = (error: unknown): boolean => !OpsError.isInstance(error) || error.isRetryable;

/**
 * Delivers alerts to a sink the way an alert source must: the alerts of one key in order (a `resolved` never
 * overtakes the `firing` it ends), alerts of different keys independently, a rejecting sink retried with backoff,
 * an alert still refused after the last attempt logged (redacted) and dropped — nothing thrown into the caller.
 * The forwarders of @ops/health and @ops/slo are built on it.
 *
 * @throws OpsError (`ARGUMENT_INVALID`) for a bad `retry.maxAttempts`.
 *
 * @example
 * ```ts
 * const delivery = createAlertDelivery(incidents.alertSink, { what: 'queue', logger, retry: { maxAttempts: 8 } });
 * queue.on('backlog.exceeded', (event) => delivery.send(toAlert(event)));
 * ```
 */
export function createAlertDelivery(sink: AlertSink, options: AlertDeliveryOptions): AlertDelivery {
  const { what, retry: retryOptions = {}, clock = systemClock } = options;
  // A logger that throws must not break the delivery chain (nor reject it unhandled).
  const logger = guardLogger(options.logger ?? silentLogger);
  const maxAttempts = retryOptions.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1))
    throw new OpsError('ARGUMENT_INVALID', `retry.maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  // The last delivery per key, so a `resolved` never overtakes the `firing` it ends.
  const queues = new Map<string, Promise<void>>();

  const deliver = async (alert: OpsAlert): Promise<void> => {
    try {
      await retry(async () => sink(alert), {
        clock,
        isRetryable: isRetryableDelivery,
        ...retryOptions,
        maxAttempts,
        onRetry: (info) => {
          logger.warn(
            {
              key: alert.key,
              status: alert.status,
              attempt: info.attempt,
              delayMs: Math.round(info.delayMs),
              error: safeErrorMessage(info.error),
            },
            `${what} alert delivery failed; retrying`,
          );
          retryOptions.onRetry?.(info);
        },
      });
    } catch (error) {
      logger.error(
        { key: alert.key, status: alert.status, error: safeErrorMessage(error) },
        `${what} alert delivery failed`,
      );
    }
  };

  return {
    send(alert) {
      const next = (queues.get(alert.key) ?? Promise.resolve()).then(() => deliver(alert));
      queues.set(alert.key, next);
      void next.then(() => {
        if (queues.get(alert.key) === next) queues.delete(alert.key);
      });
    },
    async idle() {
      while (queues.size > 0) await Promise.all([...queues.values()]);
    },
  };
}
