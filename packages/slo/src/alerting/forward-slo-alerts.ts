import {
  createAlertDelivery,
  humanizeDuration,
  silentLogger,
  systemClock,
  type AlertSink,
  type Clock,
  type Logger,
  type OpsAlert,
  type AlertSeverity as OpsAlertSeverity,
  type RetryOptions,
} from '@ops/core';
import type { SloAlertEvent, SloTracker } from '../engine/slo-tracker.js';
import { SloError } from '../errors.js';
import type { AlertSeverity } from './alert-tiers.js';

/** Options of {@link forwardSloAlerts}. */
export interface ForwardSloAlertsOptions {
  /** `source` of the alerts. Default `'slo'`. */
  source?: string;
  /**
   * Retries of a sink that rejects (core's `retry` options: `maxAttempts`, `initialDelay`, `maxDelay`, `deadline`,
   * `signal`, …). Default 5 attempts; every rejection is retried except an `OpsError` that is not `isRetryable`.
   */
  retry?: RetryOptions;
  /** Clock of the retry waits. Default `systemClock` (pass the tracker's clock in tests). */
  clock?: Clock;
  /** Where retries (warn) and alerts given up on (error) are logged. Default silent. */
  logger?: Logger;
}

const DEFAULT_MAX_ATTEMPTS = 5;

/** Severity of the alert of each tier severity: a page wakes someone up, a ticket goes to the queue. */
const SEVERITY: Record<AlertSeverity, OpsAlertSeverity> = { page: 'critical', ticket: 'warning' };

/** Dedup key of an alert: `slo:<service>/<name>:<tier>`, plus `:<value>` per `groupBy` label for a label set. */
function alertKey(event: SloAlertEvent): string {
  const values = Object.values(event.labels);
  return `slo:${event.slo}:${event.tier}${values.length > 0 ? `:${values.join(':')}` : ''}`;
}

function decimal(value: number): string {
  return String(Number(value.toPrecision(6)));
}

function toAlert(event: SloAlertEvent, key: string, startsAt: number, source: string): OpsAlert {
  const firing = event.type === 'alert.firing';
  const burn = `${decimal(event.burnRates.long)}× (long) / ${decimal(event.burnRates.short)}× (short)`;
  const summary = firing
    ? `SLO ${event.slo}: ${event.tier} error-budget burn ${burn}, above ${decimal(event.threshold)}×`
    : `SLO ${event.slo}: ${event.tier} resolved, burn ${burn}`;
  const annotations: Record<string, string> = {
    // The SLO's own annotations (runbook_url, summary, …) first; the figures below are computed and win.
    ...event.alert?.annotations,
    burnRate: decimal(event.burnRates.long),
    burnRateShort: decimal(event.burnRates.short),
    threshold: decimal(event.threshold),
    budgetRemaining: decimal(event.budget.remainingRatio),
    budgetConsumed: decimal(event.budget.consumedRatio),
  };
  if (event.timeToExhaustionMs !== null) {
    annotations.timeToExhaustionMs = String(Math.round(event.timeToExhaustionMs));
    annotations.timeToExhaustion = humanizeDuration(event.timeToExhaustionMs);
  }
  return {
    key,
    status: firing ? 'firing' : 'resolved',
    severity: SEVERITY[event.severity],
    summary: summary.length <= 1024 ? summary : `${summary.slice(0, 1023)}…`,
    source,
    // The identifying labels last, so a groupBy label of the same name cannot replace them.
    labels: { ...event.labels, ...event.alert?.labels, service: event.service, slo: event.name, tier: event.tier },
    annotations,
    startsAt,
    ...(firing ? {} : { endsAt: Math.max(startsAt, event.at) }),
  };
}

/**
 * Forwards a tracker's burn-rate alerts to an {@link AlertSink} (e.g. `@ops/incident`'s), as core's `OpsAlert`:
 * each tier that starts firing becomes a `firing` alert, and the same key and `startsAt` come back `resolved`
 * (with `endsAt`) when it stops.
 *
 * - `key`: `slo:<service>/<name>:<tier>`, plus `:<value>` per `groupBy` label for a label set
 *   (`slo:shop/checkout:page-quick:/pay`): the same problem always has the same key.
 * - `severity`: `critical` for page tiers, `warning` for ticket tiers (the tier's `severity`, whatever its name).
 * - `labels`: the `groupBy` labels, `service`, `slo` (the SLO's name) and `tier`; `annotations`: `burnRate` (long
 *   window), `burnRateShort`, `threshold`, `budgetRemaining`, `budgetConsumed` (ratios), and `timeToExhaustion` /
 *   `timeToExhaustionMs` while the budget is burning.
 * - `startsAt`: the `at` of the `alert.firing` event.
 *
 * A sink that rejects is retried with core's `retry` (`options.retry`, default 5 attempts); an alert still refused
 * after that is logged and dropped. Nothing is ever thrown into the tracker, and the alerts of one key are
 * delivered in order (a `resolved` never overtakes its `firing`). Only transitions after the call are forwarded:
 * wire it before the first evaluation.
 *
 * @returns The unsubscribe function (deliveries already under way still finish).
 * @throws SloError (`ARGUMENT_INVALID`) for a bad `retry.maxAttempts`.
 *
 * @example
 * ```ts
 * const tracker = createSloTracker({ slos, clock, evaluateEvery: '30s' });
 * const stopForwarding = forwardSloAlerts(tracker, incidents.alertSink, { logger, retry: { maxAttempts: 8 } });
 * // checkout burns 14.4× its budget → { key: 'slo:shop/checkout:page-quick', status: 'firing', severity: 'critical', … }
 * // on shutdown
 * stopForwarding();
 * await tracker.close();
 * ```
 */
export function forwardSloAlerts(
  tracker: Pick<SloTracker, 'on'>,
  sink: AlertSink,
  options: ForwardSloAlertsOptions = {},
): () => void {
  const { source = 'slo', retry: retryOptions = {}, clock = systemClock, logger = silentLogger } = options;
  const maxAttempts = retryOptions.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new SloError(
      'ARGUMENT_INVALID',
      `forwardSloAlerts: retry.maxAttempts must be an integer >= 1, got ${maxAttempts}`,
    );
  }
  const startedAt = new Map<string, number>();
  const delivery = createAlertDelivery(sink, { what: 'SLO', retry: retryOptions, clock, logger });

  const forward = (event: SloAlertEvent) => {
    const key = alertKey(event);
    let startsAt = event.at;
    if (event.type === 'alert.firing') startedAt.set(key, startsAt);
    else {
      startsAt = startedAt.get(key) ?? event.at;
      startedAt.delete(key);
    }
    delivery.send(toAlert(event, key, startsAt, source));
  };

  const offFiring = tracker.on('alert.firing', forward);
  const offResolved = tracker.on('alert.resolved', forward);
  return () => {
    offFiring();
    offResolved();
  };
}
