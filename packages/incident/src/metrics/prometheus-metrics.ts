import { createRequire } from 'node:module';
import type { RegistryLike } from '@ops/core';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IncidentManager } from '../lifecycle/incident-manager.js';

/** Options of {@link createIncidentMetrics}. */
export interface IncidentMetricsOptions {
  /** Your prom-client `Registry` (prom-client is an optional peer dependency; typed structurally). */
  registry: RegistryLike;
  /** The manager whose events feed the metrics. */
  incidents: Pick<IncidentManager, 'on' | 'list'>;
  /** Metric name prefix. Default `'ops_incident_'`. */
  prefix?: string;
  /** Histogram buckets in seconds. Default 60, 300, 600, 1800, 3600, 14400, 86400. */
  buckets?: readonly number[];
}

/** The handle of the incident metrics. */
export interface IncidentMetrics {
  /** Stops following the manager and unregisters the metrics. */
  remove(): void;
}

interface PromClientModule {
  Counter: typeof Counter;
  Gauge: typeof Gauge;
  Histogram: typeof Histogram;
}

/**
 * Registers the incident metrics on your prom-client registry, fed by the manager's events (each replica counts the
 * changes it made; sum them in PromQL):
 * - `ops_incident_time_to_ack_seconds`, `…_time_to_mitigate_seconds`, `…_time_to_resolve_seconds` histograms
 *   `{service, severity}`;
 * - `ops_incident_triggered_total{service,severity}`, `ops_incident_reopened_total{service,severity}`;
 * - `ops_incident_target_breaches_total{service,severity,target}` (ack, mitigate, update);
 * - `ops_incident_notifications_total{target,outcome}` (delivered, failed);
 * - `ops_incident_open{service,severity}`, read from the store at scrape time (the same on every replica).
 *
 * @example
 * ```ts
 * const metrics = createIncidentMetrics({ registry, incidents });
 * ```
 */
export function createIncidentMetrics(options: IncidentMetricsOptions): IncidentMetrics {
  const { incidents, prefix = 'ops_incident_', buckets = [60, 300, 600, 1800, 3600, 14_400, 86_400] } = options;
  // The user's Registry, typed structurally in the public API so the declarations never import prom-client.
  const registry = options.registry as unknown as Registry;
  const promClient = createRequire(import.meta.url)('prom-client') as PromClientModule;
  const histogram = (name: string, help: string) =>
    new promClient.Histogram({
      name: `${prefix}${name}`,
      help,
      labelNames: ['service', 'severity'],
      buckets: [...buckets],
      registers: [registry],
    });
  const toAck = histogram('time_to_ack_seconds', 'Time from trigger to the first acknowledgement.');
  const toMitigate = histogram('time_to_mitigate_seconds', 'Time from trigger to mitigation.');
  const toResolve = histogram('time_to_resolve_seconds', 'Time from trigger to resolve (merged incidents left out).');
  const counter = (name: string, help: string, labelNames: string[]) =>
    new promClient.Counter({ name: `${prefix}${name}`, help, labelNames, registers: [registry] });
  const triggered = counter('triggered_total', 'Incidents opened.', ['service', 'severity']);
  const reopened = counter('reopened_total', 'Incidents reopened within the reopen window or by hand.', [
    'service',
    'severity',
  ]);
  const breaches = counter('target_breaches_total', 'Response targets missed (ack, mitigate, update).', [
    'service',
    'severity',
    'target',
  ]);
  const notifications = counter('notifications_total', 'Notifications delivered or given up.', ['target', 'outcome']);
  new promClient.Gauge({
    name: `${prefix}open`,
    help: 'Open incidents (triggered, acknowledged, mitigated), read from the store.',
    labelNames: ['service', 'severity'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const incident of await incidents.list({ open: true, limit: 10_000 }))
        this.inc({ service: incident.service, severity: incident.severity });
    },
  });
  const seconds = (from: number, to: number) => Math.max(0, (to - from) / 1000);
  const unsubscribe = [
    incidents.on('incident.triggered', ({ incident }) =>
      triggered.inc({ service: incident.service, severity: incident.severity }),
    ),
    incidents.on('incident.reopened', ({ incident }) =>
      reopened.inc({ service: incident.service, severity: incident.severity }),
    ),
    incidents.on('incident.acknowledged', ({ incident, at }) => {
      // Only the first acknowledgement counts (a renewed ack keeps the first time).
      if (incident.acknowledgedAt === at)
        toAck.observe({ service: incident.service, severity: incident.severity }, seconds(incident.triggeredAt, at));
    }),
    incidents.on('incident.mitigated', ({ incident, at }) =>
      toMitigate.observe({ service: incident.service, severity: incident.severity }, seconds(incident.triggeredAt, at)),
    ),
    incidents.on('incident.resolved', ({ incident, at }) => {
      if (incident.resolveReason !== 'merged')
        toResolve.observe(
          { service: incident.service, severity: incident.severity },
          seconds(incident.triggeredAt, at),
        );
    }),
    incidents.on('target.breached', ({ incident, target }) =>
      breaches.inc({ service: incident.service, severity: incident.severity, target }),
    ),
    incidents.on('notification.delivered', ({ notification }) =>
      notifications.inc({ target: notification.target, outcome: 'delivered' }),
    ),
    incidents.on('notification.failed', ({ notification }) =>
      notifications.inc({ target: notification.target, outcome: 'failed' }),
    ),
  ];
  return {
    remove() {
      for (const off of unsubscribe) off();
      for (const name of [
        'time_to_ack_seconds',
        'time_to_mitigate_seconds',
        'time_to_resolve_seconds',
        'triggered_total',
        'reopened_total',
        'target_breaches_total',
        'notifications_total',
        'open',
      ]) {
        registry.removeSingleMetric(`${prefix}${name}`);
      }
    },
  };
}
