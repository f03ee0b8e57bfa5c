import {
  createBackoff,
  createCircuitBreaker,
  OpsError,
  parseDuration,
  parseOptionalDuration,
  safeErrorMessage,
  withDeadline,
  type CircuitBreaker,
  type Clock,
  type Duration,
  type Logger,
  type AlertSeverity,
} from '@ops/core';
import { IncidentError } from '../errors.js';
import type { Incident, NotificationRecord } from '../model/records.js';
import type { Automation, AutomationOutcome, Notifier } from '../notifiers/notifier.js';
import type { IncidentStore } from '../stores/incident-store.js';
import { AUTOMATION_TARGET } from './dispatcher.js';

/** Delivery options: retries, backoff, timeouts and the per-target circuit breaker. */
export interface DeliveryOptions {
  /** Attempts per notification before it is dead-lettered. Default 12 (about 75 minutes with the default backoff). */
  maxAttempts?: number;
  /** First retry delay. Default `'10s'`. */
  initialDelay?: Duration;
  /** Longest retry delay. Default `'10m'`. */
  maxDelay?: Duration;
  /** Deadline of one attempt. Default `'10s'`. */
  timeout?: Duration;
  /** Deadline of an automation. Default `'2m'`. */
  automationTimeout?: Duration;
  /** How long a claimed notification stays with this process. Default `'2m'` (longer than any attempt). */
  lease?: Duration;
  /** Per-target circuit breaker (core's): opens after consecutive failures, pausing that target only. `false` to disable. */
  circuitBreaker?: { failureThreshold?: number; halfOpenAfter?: Duration } | false;
  /** Random source of the backoff jitter. */
  random?: () => number;
}

/** How an attempt ended. */
export type DeliveryOutcome =
  | { kind: 'delivered'; automation?: AutomationOutcome }
  | { kind: 'retry'; error: string; nextAttemptAt: number; counted: boolean }
  | { kind: 'dead'; error: string };

export interface OutboxDeliveryConfig {
  store: IncidentStore;
  owner: string;
  clock: Clock;
  logger: Logger;
  notifiers: ReadonlyMap<string, Notifier>;
  automations: ReadonlyMap<string, Automation>;
  alertSeverityOf: (incident: Incident) => AlertSeverity;
  options: DeliveryOptions;
  /** Stores the outcome (and its timeline entry) if this process still holds the claim. */
  record: (notification: NotificationRecord, outcome: DeliveryOutcome) => Promise<void>;
}

const BATCH = 50;

/**
 * Delivers due outbox rows: claims them (a lease, `SKIP LOCKED` in PostgreSQL), sends each through its notifier behind
 * the target's circuit breaker with a deadline, and records the outcome: delivered; a retry at `now + max(backoff,
 * Retry-After)` (a refusal by an open circuit is not counted as an attempt); or dead-lettered when attempts run out
 * or the target refuses for good. Rows of one target go out in order; targets are served in parallel.
 */
export function createOutboxDelivery(config: OutboxDeliveryConfig) {
  const { store, owner, clock, logger, notifiers, automations, options } = config;
  const maxAttempts = options.maxAttempts ?? 12;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1))
    throw new IncidentError('ARGUMENT_INVALID', `delivery.maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  const timeoutMs = parseDuration(options.timeout ?? '10s', 'delivery.timeout');
  const automationTimeoutMs = parseDuration(options.automationTimeout ?? '2m', 'delivery.automationTimeout');
  const leaseMs = parseDuration(options.lease ?? '2m', 'delivery.lease');
  const backoffOptions = {
    initialDelay: parseOptionalDuration(options.initialDelay, 'delivery.initialDelay') ?? 10_000,
    maxDelay: parseOptionalDuration(options.maxDelay, 'delivery.maxDelay') ?? 600_000,
    jitter: 'equal' as const,
    ...(options.random ? { random: options.random } : {}),
  };
  createBackoff(backoffOptions); // validates now
  const breakers = new Map<string, CircuitBreaker>();
  const breakerFor = (target: string): CircuitBreaker | undefined => {
    if (options.circuitBreaker === false) return undefined;
    let breaker = breakers.get(target);
    if (!breaker) {
      breaker = createCircuitBreaker({
        name: target,
        failureThreshold: options.circuitBreaker?.failureThreshold ?? 5,
        halfOpenAfter: options.circuitBreaker?.halfOpenAfter ?? '1m',
        clock,
        logger,
        // A target that refuses a message for good is up; only transient failures open the circuit.
        isFailure: (error) => !OpsError.isInstance(error) || error.isRetryable,
      });
      breakers.set(target, breaker);
    }
    return breaker;
  };
  const retryDelay = (attempts: number) => {
    const backoff = createBackoff(backoffOptions);
    let delay = 0;
    for (let index = 0; index < attempts; index++) delay = backoff.next();
    return delay;
  };

  const attempt = async (row: NotificationRecord): Promise<DeliveryOutcome> => {
    if (row.target.startsWith(AUTOMATION_TARGET)) {
      const id = row.target.slice(AUTOMATION_TARGET.length);
      const automation = automations.get(id);
      if (!automation) return { kind: 'dead', error: `no automation "${id}" is configured` };
      try {
        const result = await withDeadline((signal) => automation(row.payload.incident, { signal }), {
          timeoutMs: automationTimeoutMs,
          clock,
          label: `automation ${id}`,
        });
        if (!result || !['resolved', 'mitigated', 'failed'].includes(result.outcome))
          return { kind: 'delivered', automation: { outcome: 'failed', detail: 'the automation returned no outcome' } };
        return { kind: 'delivered', automation: result };
      } catch (error) {
        return { kind: 'delivered', automation: { outcome: 'failed', detail: safeErrorMessage(error) } };
      }
    }
    const notifier = notifiers.get(row.target);
    if (!notifier) return { kind: 'dead', error: `no notifier "${row.target}" is configured` };
    const send = () =>
      withDeadline(
        (signal) =>
          notifier.send(row.payload, {
            idempotencyKey: row.id,
            attempt: row.attempts + 1,
            signal,
            alertSeverity: config.alertSeverityOf(row.payload.incident),
          }),
        { timeoutMs, clock, label: `notification to ${row.target}` },
      );
    try {
      const breaker = breakerFor(row.target);
      await (breaker ? breaker.execute(send) : send());
      return { kind: 'delivered' };
    } catch (error) {
      const message = safeErrorMessage(error);
      if (OpsError.hasCode(error, 'CIRCUIT_OPEN')) {
        return {
          kind: 'retry',
          error: message,
          nextAttemptAt: clock.now() + Math.max(1000, error.retryAfterMs ?? 1000),
          counted: false,
        };
      }
      const retryable = !OpsError.isInstance(error) || error.isRetryable;
      const attempts = row.attempts + 1;
      if (!retryable) return { kind: 'dead', error: message };
      if (attempts >= maxAttempts) return { kind: 'dead', error: `${message} (gave up after ${attempts} attempts)` };
      const retryAfterMs = OpsError.isInstance(error) ? error.retryAfterMs : undefined;
      return {
        kind: 'retry',
        error: message,
        nextAttemptAt: clock.now() + Math.max(retryDelay(attempts), retryAfterMs ?? 0),
        counted: true,
      };
    }
  };

  return {
    /** Delivers what is due now; resolves with how many rows were attempted. */
    async deliverDue(): Promise<number> {
      let attempted = 0;
      for (;;) {
        const claimed = await store.claimNotifications({ now: clock.now(), owner, leaseMs, limit: BATCH });
        const byTarget = new Map<string, NotificationRecord[]>();
        for (const row of claimed) byTarget.set(row.target, [...(byTarget.get(row.target) ?? []), row]);
        await Promise.all(
          [...byTarget.values()].map(async (rows) => {
            for (const row of rows) {
              const outcome = await attempt(row);
              attempted++;
              try {
                await config.record(row, outcome);
              } catch (error) {
                logger.warn(
                  { notification: row.id, target: row.target, error: safeErrorMessage(error) },
                  'could not record a notification outcome; it is retried when its claim lapses',
                );
              }
            }
          }),
        );
        if (claimed.length < BATCH) return attempted;
      }
    },
  };
}
