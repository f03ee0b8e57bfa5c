import { createHash } from 'node:crypto';
import { jsonResponse, silentLogger, guardLogger, type OpsHandler } from '@ops/core';
import { z } from 'zod';
import type { AlertEvent, AlertMember, IncidentManager, IngestResult } from '../lifecycle/incident-manager.js';
import { errorResponse, formatIssues, readJsonBody, RefusedRequest, type ReceiverOptions } from './receiver-http.js';

/** Options of {@link createAlertmanagerReceiver}. */
export interface AlertmanagerReceiverOptions extends ReceiverOptions {
  /**
   * `group` (default): one incident per Alertmanager group, dedup key `am:<groupKey>` (Grafana OnCall's "Alertmanager
   * v2"); it resolves only when the whole group resolves, and each member's resolve is a timeline entry. `alert`: one
   * incident per alert, dedup key `am:<fingerprint>`.
   */
  mode?: 'group' | 'alert';
  /** Label naming the service. Default `'service'`. */
  serviceLabel?: string;
  /** Service when the label is absent. Default `'default'`. */
  defaultService?: string;
  /** Label naming the affected status-page component. Default `'component'`. */
  componentLabel?: string;
  /**
   * Fields no Alertmanager version sends: `reject` (default) answers 400 naming them; `ignore` accepts them (for a
   * sender newer than this package).
   */
  unknownFields?: 'reject' | 'ignore';
}

const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
// Alertmanager's zero time.Time, sent as endsAt while an alert fires.
const ZERO_TIME_MS = Date.parse('0001-01-02T00:00:00Z');

const labelSet = z.record(z.string(), z.string());
// Older senders send `null` for empty maps (commonAnnotations when nothing is common).
const optionalLabels = z
  .preprocess((value) => (value === null ? undefined : value), labelSet.optional())
  .transform((value) => value ?? {});
const timestamp = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), { message: 'must be an RFC 3339 time' });

function schemas(strict: boolean) {
  const object = strict ? z.strictObject : z.looseObject;
  const alert = object({
    status: z.enum(['firing', 'resolved']),
    labels: labelSet,
    annotations: optionalLabels,
    startsAt: timestamp,
    endsAt: timestamp.optional(),
    generatorURL: z.string().optional(),
    fingerprint: z.string().max(128).optional(),
  });
  return object({
    version: z.string(),
    groupKey: z.string().min(1),
    truncatedAlerts: z.number().int().nonnegative().optional(),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string(),
    groupLabels: optionalLabels,
    commonLabels: optionalLabels,
    commonAnnotations: optionalLabels,
    externalURL: z.string().optional(),
    alerts: z.array(alert).min(1, { message: 'must hold at least one alert' }),
    // v0.32+ and v0.34+ only: optional, as older senders (Debian's 0.25) leave them out.
    notification_reason: z.string().optional(),
    routeLabels: optionalLabels,
  });
}

const strictSchema = schemas(true);
const looseSchema = schemas(false);

/** An Alertmanager webhook v4 message, parsed. */
export type AlertmanagerWebhook = z.output<typeof strictSchema>;

/**
 * Parses and validates an Alertmanager webhook v4 body. @throws RefusedRequest (400) naming every bad field.
 */
export function parseAlertmanagerWebhook(
  body: unknown,
  unknownFields: 'reject' | 'ignore' = 'reject',
): AlertmanagerWebhook {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new RefusedRequest(400, 'expected a JSON object (an Alertmanager webhook v4 message)');
  const version = (body as { version?: unknown }).version;
  if (version !== '4')
    throw new RefusedRequest(
      400,
      `version must be "4" (Alertmanager webhook v4), got ${JSON.stringify(version) ?? 'nothing'}`,
    );
  const parsed = (unknownFields === 'reject' ? strictSchema : looseSchema).safeParse(body);
  if (!parsed.success) {
    const errors = formatIssues(parsed.error.issues);
    throw new RefusedRequest(400, `invalid Alertmanager webhook: ${errors.join('; ')}`, errors);
  }
  return parsed.data;
}

const WEBHOOK_KEYS = new Set([
  'version',
  'groupKey',
  'truncatedAlerts',
  'status',
  'receiver',
  'groupLabels',
  'commonLabels',
  'commonAnnotations',
  'externalURL',
  'alerts',
  'notification_reason',
  'routeLabels',
]);
const ALERT_KEYS = new Set(['status', 'labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL', 'fingerprint']);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
const isStatus = (value: unknown): value is 'firing' | 'resolved' => value === 'firing' || value === 'resolved';
const isTimestamp = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));

// A copy of a label set whose values are all strings, as the schema's record gives it; else undefined.
function quickLabels(value: unknown): Record<string, string> | undefined {
  if (!isPlainObject(value)) return undefined;
  const copy: Record<string, string> = {};
  for (const key in value) {
    const entry = value[key];
    if (typeof entry !== 'string' || key === '__proto__') return undefined;
    copy[key] = entry;
  }
  return copy;
}

const quickOptionalLabels = (value: unknown) => (value === undefined || value === null ? {} : quickLabels(value));

function quickAlert(value: unknown): AlertmanagerWebhook['alerts'][number] | undefined {
  if (!isPlainObject(value)) return undefined;
  for (const key in value) if (!ALERT_KEYS.has(key)) return undefined;
  const { status, startsAt, endsAt, generatorURL, fingerprint } = value;
  if (!isStatus(status) || !isTimestamp(startsAt)) return undefined;
  const labels = quickLabels(value['labels']);
  const annotations = quickOptionalLabels(value['annotations']);
  if (!labels || !annotations) return undefined;
  if ('endsAt' in value && !isTimestamp(endsAt)) return undefined;
  if ('generatorURL' in value && typeof generatorURL !== 'string') return undefined;
  if ('fingerprint' in value && (typeof fingerprint !== 'string' || fingerprint.length > 128)) return undefined;
  // Keys in the schema's order, optional ones only when sent: what the schema's parse returns.
  return {
    status,
    labels,
    annotations,
    startsAt,
    ...('endsAt' in value ? { endsAt: endsAt as string } : {}),
    ...('generatorURL' in value ? { generatorURL: generatorURL as string } : {}),
    ...('fingerprint' in value ? { fingerprint: fingerprint as string } : {}),
  };
}

/**
 * {@link parseAlertmanagerWebhook}'s result for a parsed JSON body that is plainly valid and has no unknown field,
 * without the schema's cost; undefined for anything else (the schema then decides, and names what is wrong).
 */
export function quickParseAlertmanagerWebhook(body: unknown): AlertmanagerWebhook | undefined {
  if (!isPlainObject(body)) return undefined;
  for (const key in body) if (!WEBHOOK_KEYS.has(key)) return undefined;
  const { version, groupKey, truncatedAlerts, status, receiver, externalURL, alerts, notification_reason } = body;
  if (version !== '4' || typeof groupKey !== 'string' || groupKey.length === 0) return undefined;
  if (!isStatus(status) || typeof receiver !== 'string') return undefined;
  if ('truncatedAlerts' in body && !(Number.isSafeInteger(truncatedAlerts) && (truncatedAlerts as number) >= 0))
    return undefined;
  if ('externalURL' in body && typeof externalURL !== 'string') return undefined;
  if ('notification_reason' in body && typeof notification_reason !== 'string') return undefined;
  const groupLabels = quickOptionalLabels(body['groupLabels']);
  const commonLabels = quickOptionalLabels(body['commonLabels']);
  const commonAnnotations = quickOptionalLabels(body['commonAnnotations']);
  const routeLabels = quickOptionalLabels(body['routeLabels']);
  if (!groupLabels || !commonLabels || !commonAnnotations || !routeLabels) return undefined;
  if (!Array.isArray(alerts) || Object.getPrototypeOf(alerts) !== Array.prototype || alerts.length === 0)
    return undefined;
  const parsedAlerts: AlertmanagerWebhook['alerts'] = [];
  for (const entry of alerts) {
    const parsed = quickAlert(entry);
    if (!parsed) return undefined;
    parsedAlerts.push(parsed);
  }
  return {
    version,
    groupKey,
    ...('truncatedAlerts' in body ? { truncatedAlerts: truncatedAlerts as number } : {}),
    status,
    receiver,
    groupLabels,
    commonLabels,
    commonAnnotations,
    ...('externalURL' in body ? { externalURL: externalURL as string } : {}),
    alerts: parsedAlerts,
    ...('notification_reason' in body ? { notification_reason: notification_reason as string } : {}),
    routeLabels,
  };
}

function fingerprintOf(alert: AlertmanagerWebhook['alerts'][number]): string {
  if (alert.fingerprint) return alert.fingerprint;
  // Senders older than the fingerprint field: a stable hash of the label set stands in for it.
  const sorted = Object.entries(alert.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

function dedupKeyOf(prefix: string, key: string): string {
  const plain = `${prefix}${key}`;
  return plain.length <= 255 ? plain : `${prefix}sha256:${createHash('sha256').update(key).digest('hex')}`;
}

function endsAtOf(alert: AlertmanagerWebhook['alerts'][number]): number | undefined {
  if (alert.endsAt === undefined) return undefined;
  const ms = Date.parse(alert.endsAt);
  return ms < ZERO_TIME_MS ? undefined : ms;
}

/**
 * The {@link AlertEvent}s of an Alertmanager webhook (see {@link AlertmanagerReceiverOptions.mode}).
 */
export function alertmanagerEvents(
  message: AlertmanagerWebhook,
  options: Pick<AlertmanagerReceiverOptions, 'mode' | 'serviceLabel' | 'defaultService' | 'componentLabel'> = {},
): AlertEvent[] {
  const {
    mode = 'group',
    serviceLabel = 'service',
    defaultService = 'default',
    componentLabel = 'component',
  } = options;
  const member = (alert: AlertmanagerWebhook['alerts'][number]): AlertMember => {
    const endsAt = endsAtOf(alert);
    return {
      alertKey: fingerprintOf(alert),
      fingerprint: fingerprintOf(alert),
      status: alert.status,
      summary: alert.annotations['summary'] ?? alert.labels['alertname'] ?? 'alert',
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: Date.parse(alert.startsAt),
      ...(endsAt === undefined || alert.status === 'firing' ? {} : { endsAt }),
      ...(alert.generatorURL ? { generatorUrl: alert.generatorURL } : {}),
      raw: alert,
    };
  };
  if (mode === 'alert') {
    return message.alerts.map((alert): AlertEvent => {
      const single = member(alert);
      const labels = { ...message.commonLabels, ...alert.labels };
      const component = labels[componentLabel];
      return {
        action: alert.status === 'resolved' ? 'resolve' : 'trigger',
        service: labels[serviceLabel] ?? defaultService,
        dedupKey: dedupKeyOf('am:', single.alertKey),
        summary: single.summary!,
        source: 'alertmanager',
        labels,
        annotations: alert.annotations,
        startsAt: single.startsAt!,
        members: [single],
        ...(single.generatorUrl ? { generatorUrl: single.generatorUrl } : {}),
        ...(component ? { components: [component] } : {}),
      };
    });
  }
  const members = message.alerts.map(member);
  const labels = message.commonLabels;
  const summary =
    message.commonAnnotations['summary'] ??
    (members.length === 1 ? members[0]!.summary : undefined) ??
    (labels['alertname']
      ? `${labels['alertname']} (${members.length} alert${members.length === 1 ? '' : 's'})`
      : `Alertmanager group ${message.groupKey}`);
  const component = labels[componentLabel] ?? message.groupLabels[componentLabel];
  return [
    {
      action: message.status === 'resolved' ? 'resolve' : 'trigger',
      service:
        labels[serviceLabel] ??
        message.groupLabels[serviceLabel] ??
        message.routeLabels[serviceLabel] ??
        defaultService,
      dedupKey: dedupKeyOf('am:', message.groupKey),
      summary,
      source: 'alertmanager',
      labels,
      annotations: message.commonAnnotations,
      // Not Math.min(...): spreading ~130,000 alerts (an 8 MiB body holds that many) overflows the stack.
      startsAt: members.reduce((earliest, entry) => Math.min(earliest, entry.startsAt!), Infinity),
      members,
      ...(message.truncatedAlerts ? { truncatedAlerts: message.truncatedAlerts } : {}),
      ...(component ? { components: [component] } : {}),
    },
  ];
}

/**
 * An {@link OpsHandler} receiving Alertmanager webhook v4 POSTs (point a `webhook_configs` URL at it) and turning them
 * into incidents. Tolerant of old and new senders (with or without `truncatedAlerts`, `notification_reason`,
 * `routeLabels`; `null` maps); strict about the rest: bad JSON, another version, a malformed or unknown field answer
 * 400 with the reason, a body over `maxBodyBytes` (default 8 MiB) too — and nothing is stored. A valid message is
 * stored in one transaction before the 200, so an acknowledged alert is never lost; a store failure answers 503 and
 * Alertmanager retries.
 *
 * @example
 * ```ts
 * const receiver = createAlertmanagerReceiver(incidents, { path: '/alertmanager' });
 * await listen(composeHandlers(receiver, health.handler), { port: 8080 });
 * // alertmanager.yml: receivers: [{ name: ops, webhook_configs: [{ url: 'http://service:8080/alertmanager' }] }]
 * ```
 */
export function createAlertmanagerReceiver(
  incidents: Pick<IncidentManager, 'ingestBatch'>,
  options: AlertmanagerReceiverOptions = {},
): OpsHandler {
  const {
    path = '/webhooks/alertmanager',
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    authorize,
    unknownFields = 'reject',
  } = options;
  const logger = guardLogger(options.logger ?? silentLogger);
  const body = (message: string, errors: readonly string[]) => ({ status: 'error', message, errors });
  return async (request) => {
    if (request.path !== path) return undefined;
    try {
      const parsedBody = await readJsonBody(request, { maxBodyBytes, authorize });
      const message = quickParseAlertmanagerWebhook(parsedBody) ?? parseAlertmanagerWebhook(parsedBody, unknownFields);
      options.rateLimit?.check(`alertmanager:${message.externalURL ?? message.receiver}`);
      const results: IngestResult[] = await incidents.ingestBatch(alertmanagerEvents(message, options));
      // 202 in inbox mode: durably queued, applied shortly after.
      return jsonResponse(results.every((result) => result.action === 'queued') ? 202 : 200, {
        status: 'success',
        results: results.map((result) => ({
          action: result.action,
          ...(result.incident ? { incidentId: result.incident.id, dedupKey: result.incident.dedupKey } : {}),
        })),
      });
    } catch (error) {
      return errorResponse(error, logger, body);
    }
  };
}
