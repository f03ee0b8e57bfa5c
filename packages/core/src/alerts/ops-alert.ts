import { z } from 'zod';
import { parseWithSchema } from '../errors/config-error.js';

/**
 * How bad an alert is, in the PagerDuty Events v2 vocabulary. A receiver (e.g. @ops/incident's severity policy)
 * maps it to its own levels (P0–P3).
 */
export type AlertSeverity = 'critical' | 'error' | 'warning' | 'info';

/**
 * The one shape in which health status changes, SLO burn-rate alerts and healing escalations reach an incident
 * manager (or any other {@link AlertSink}) without a dependency between the packages. It mirrors an Alertmanager
 * alert, with times as epoch milliseconds.
 */
export interface OpsAlert {
  /** Deduplication key: the same problem always yields the same key (e.g. `slo:checkout-availability:page`). */
  key: string;
  /** `firing` while the problem lasts; one `resolved` with the same key ends it. */
  status: 'firing' | 'resolved';
  severity: AlertSeverity;
  /** One line a responder reads first. */
  summary: string;
  /** Who raised it: `'health'`, `'slo'`, `'healing'`, `'backup'`, or the service's own name. */
  source: string;
  /** Identifying labels (`service`, `slo`, `check`, …): the same set for every update of one alert. */
  labels: Record<string, string>;
  /** Descriptive extras (`description`, `runbook_url`, observed values) that may change between updates. */
  annotations: Record<string, string>;
  /** When the problem started (epoch ms). */
  startsAt: number;
  /** When it ended (epoch ms), for `resolved` alerts. */
  endsAt?: number;
  /** A link back to what raised it (a dashboard, a Prometheus graph). */
  generatorUrl?: string;
}

/**
 * Where alerts go. It resolves once the alert is durably accepted and rejects otherwise, so the sender can retry;
 * it should be idempotent per (`key`, `status`, `startsAt`).
 */
export type AlertSink = (alert: OpsAlert) => Promise<void>;

const stringRecord = z.record(z.string(), z.string());

/** The zod schema of {@link OpsAlert}, for receivers that take alerts from outside. */
export const opsAlertSchema = z
  .strictObject({
    key: z.string().min(1).max(255),
    status: z.enum(['firing', 'resolved']),
    severity: z.enum(['critical', 'error', 'warning', 'info']),
    summary: z.string().min(1).max(1024),
    source: z.string().min(1).max(255),
    labels: stringRecord,
    annotations: stringRecord,
    startsAt: z.number().int().nonnegative(),
    endsAt: z.number().int().nonnegative().optional(),
    generatorUrl: z.string().url().optional(),
  })
  .refine((alert) => alert.endsAt === undefined || alert.endsAt >= alert.startsAt, {
    message: 'endsAt must be >= startsAt',
    path: ['endsAt'],
  });

/**
 * Validates an alert built from outside input, naming the bad field. @throws ConfigError (`CONFIG_INVALID`).
 */
export function parseOpsAlert(input: unknown): OpsAlert {
  return parseWithSchema(opsAlertSchema, input, 'alert') as OpsAlert;
}

/**
 * One sink that delivers to several: every sink gets every alert (in parallel); it rejects with an
 * `AggregateError` of the failures when any sink failed, after all have been tried.
 *
 * @example
 * ```ts
 * const sink = fanOutAlerts(incidents.alertSink, (alert) => log.info({ alert }, 'alert'));
 * ```
 */
export function fanOutAlerts(...sinks: AlertSink[]): AlertSink {
  return async (alert) => {
    const results = await Promise.allSettled(sinks.map((sink) => sink(alert)));
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    if (failures.length > 0)
      throw new AggregateError(failures, `${failures.length} of ${sinks.length} alert sinks failed for "${alert.key}"`);
  };
}
