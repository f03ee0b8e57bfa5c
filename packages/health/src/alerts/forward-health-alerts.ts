import {
  compareStatus,
  createAlertDelivery,
  silentLogger,
  systemClock,
  type AlertSeverity,
  type AlertSink,
  type CheckStatus,
  type Clock,
  type Logger,
  type OpsAlert,
  type RetryOptions,
} from '@ops/core';
import { HealthError } from '../errors.js';
import { guardLogger } from '../registry/guarded-logger.js';
import type { ServiceDescription } from '../http/health-json.js';
import type { CheckTransition } from '../registry/check-runner.js';
import type { Health } from '../registry/health.js';

/** Options of {@link forwardHealthAlerts}. */
export interface ForwardHealthAlertsOptions {
  /** Lowest status that fires: `'fail'` (default) or `'warn'` (degraded checks page too, as `warning`). */
  minStatus?: Exclude<CheckStatus, 'pass'>;
  /** Service name in the alert key and the `service` label. Default: the health's `service.serviceId`, else `'unknown'`. */
  service?: string;
  /** `source` of the alerts. Default `'health'`. */
  source?: string;
  /**
   * Retries of a sink that rejects (core's `retry` options). Default 5 attempts; every rejection is retried except
   * an `OpsError` that is not `isRetryable`.
   */
  retry?: RetryOptions;
  /** Clock of the retry waits. Default `systemClock` (pass the health's clock in tests). */
  clock?: Clock;
  /** Where failed deliveries are logged. Default: silent. */
  logger?: Logger;
}

/** What {@link forwardHealthAlerts} needs of a {@link Health}: its events and, for the default service name, its description. */
export type HealthAlertSource = Pick<Health, 'on'> & { readonly service?: ServiceDescription };

interface OpenAlert {
  startsAt: number;
  severity: AlertSeverity;
}

const DEFAULT_MAX_ATTEMPTS = 5;

/**
 * Feeds a health's check status changes into an {@link AlertSink} (e.g. `@ops/incident`) as `OpsAlert`s: when a
 * check's status becomes `fail` (or `warn` with `minStatus: 'warn'`) it sends a `firing` alert, and when it drops
 * below that again a `resolved` one with the same `key` and `startsAt`.
 *
 * - `key`: `health:<service>:<check>`; `labels`: `{ service, check }`; `startsAt`: the event's `at`.
 * - `severity`: a critical check failing is `critical`, a non-critical one `error`, a warning `warning` (a warning
 *   that becomes a failure is sent again, same key and `startsAt`, with the new severity).
 * - `annotations`: the check's `output` and `observed` value, redacted when the result was captured.
 *
 * Deliveries of one check are sent in order; a sink that rejects is retried (`options.retry`, default 5 attempts)
 * and a delivery that still fails is logged — never thrown into the health. Only changes after the call are
 * forwarded, so wire it before the checks run.
 *
 * @returns The unsubscribe function (deliveries already under way still finish).
 * @throws HealthError (`ARGUMENT_INVALID`) for a `minStatus` other than `'warn'`/`'fail'` or a bad `retry.maxAttempts`.
 *
 * @example
 * ```ts
 * const health = createHealth({ service: { serviceId: 'orders-api' }, logger });
 * const stopAlerts = forwardHealthAlerts(health, incidents.alertSink, { minStatus: 'warn', logger });
 * health.register({ name: 'db', check: postgresProbe({ pool }), mode: { every: '10s' } });
 * // db fails → { key: 'health:orders-api:db', status: 'firing', severity: 'critical', … }
 * // db passes again → { key: 'health:orders-api:db', status: 'resolved', … }
 * ```
 */
export function forwardHealthAlerts(
  health: HealthAlertSource,
  sink: AlertSink,
  options: ForwardHealthAlertsOptions = {},
): () => void {
  const { minStatus = 'fail', source = 'health', retry: retryOptions = {}, clock = systemClock } = options;
  // A logger that throws must not break the delivery chain (nor reject it unhandled).
  const logger = guardLogger(options.logger ?? silentLogger, []);
  if (minStatus !== 'warn' && minStatus !== 'fail')
    throw new HealthError(
      'ARGUMENT_INVALID',
      `forwardHealthAlerts: minStatus must be "warn" or "fail", got ${JSON.stringify(minStatus)}`,
    );
  const maxAttempts = retryOptions.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1))
    throw new HealthError(
      'ARGUMENT_INVALID',
      `forwardHealthAlerts: retry.maxAttempts must be an integer >= 1, got ${maxAttempts}`,
    );
  const service = options.service ?? health.service?.serviceId ?? 'unknown';
  const open = new Map<string, OpenAlert>();
  const { send } = createAlertDelivery(sink, { what: 'health', retry: retryOptions, clock, logger });

  const onChange = (transition: CheckTransition): void => {
    const key = `health:${service}:${transition.name}`;
    const current = open.get(key);
    const labels = { service, check: transition.name };
    if (compareStatus(transition.to, minStatus) >= 0) {
      const severity = severityOf(transition);
      if (current?.severity === severity) return;
      const startsAt = current?.startsAt ?? transition.at;
      open.set(key, { startsAt, severity });
      const verb = transition.to === 'fail' ? 'failing' : 'degraded';
      send({
        key,
        status: 'firing',
        severity,
        summary: truncate(
          `health check "${transition.name}" of ${service} is ${verb}${transition.result.output ? `: ${transition.result.output}` : ''}`,
        ),
        source,
        labels,
        annotations: annotationsOf(transition),
        startsAt,
      });
    } else if (current) {
      open.delete(key);
      send({
        key,
        status: 'resolved',
        severity: current.severity,
        summary: truncate(`health check "${transition.name}" of ${service} recovered (${transition.to})`),
        source,
        labels,
        annotations: annotationsOf(transition),
        startsAt: current.startsAt,
        endsAt: Math.max(current.startsAt, transition.at),
      });
    }
  };

  return health.on('check.changed', onChange);
}

function severityOf(transition: CheckTransition): AlertSeverity {
  if (transition.to === 'warn') return 'warning';
  return transition.critical ? 'critical' : 'error';
}

function annotationsOf(transition: CheckTransition): Record<string, string> {
  // Output and observed were redacted when the result was captured; details are left out on purpose.
  const { output, observed, observedUnit } = transition.result;
  const annotations: Record<string, string> = {};
  if (output !== undefined) annotations['output'] = output;
  if (observed !== undefined)
    annotations['observed'] = observedUnit === undefined ? String(observed) : `${String(observed)} ${observedUnit}`;
  return annotations;
}

function truncate(text: string): string {
  return text.length <= 1024 ? text : `${text.slice(0, 1023)}…`;
}
