import { createHash, randomUUID } from 'node:crypto';
import { guardLogger, jsonResponse, silentLogger, type OpsHandler } from '@ops/core';
import { z } from 'zod';
import type { AlertEvent, IncidentManager } from '../lifecycle/incident-manager.js';
import { errorResponse, formatIssues, readJsonBody, RefusedRequest, type ReceiverOptions } from './receiver-http.js';

/** Options of {@link createPagerDutyEventsReceiver}. */
export interface PagerDutyEventsReceiverOptions extends ReceiverOptions {
  /**
   * Integration (routing) key → service. Events apply only within their routing key's scope, as PagerDuty's. When
   * given, other keys are refused (400); when absent, every key is accepted and scoped to a service named
   * `pd-<12 hex of sha256(key)>` (the key itself is never stored).
   */
  routingKeys?: Record<string, string>;
}

const DEFAULT_MAX_BODY_BYTES = 512 * 1024; // PagerDuty's own limit per event

const link = z.looseObject({ href: z.string().min(1), text: z.string().optional() });
const image = z.looseObject({
  src: z.string().refine((value) => value.startsWith('https://'), { message: 'must be an HTTPS URL' }),
  href: z.string().optional(),
  alt: z.string().optional(),
});
const payloadSchema = z.looseObject({
  summary: z.string().min(1).max(1024),
  source: z.string().min(1),
  severity: z.enum(['critical', 'error', 'warning', 'info']),
  timestamp: z
    .string()
    .refine((value) => !Number.isNaN(Date.parse(value)), { message: 'must be an ISO 8601 time' })
    .optional(),
  component: z.string().optional(),
  group: z.string().optional(),
  class: z.string().optional(),
  custom_details: z.unknown().optional(),
});
const eventSchema = z
  .looseObject({
    routing_key: z.string().min(1, { message: 'is required' }),
    event_action: z.enum(['trigger', 'acknowledge', 'resolve']),
    dedup_key: z.string().min(1).max(255).optional(),
    payload: payloadSchema.optional(),
    client: z.string().optional(),
    client_url: z.string().optional(),
    links: z.array(link).optional(),
    images: z.array(image).optional(),
  })
  .superRefine((event, context) => {
    if (event.event_action === 'trigger' && event.payload === undefined)
      context.addIssue({ code: 'custom', path: ['payload'], message: 'is required for trigger' });
    if (event.event_action !== 'trigger' && event.dedup_key === undefined) {
      context.addIssue({ code: 'custom', path: ['dedup_key'], message: `is required for ${event.event_action}` });
    }
  });

/** A PagerDuty Events API v2 event, parsed. */
export type PagerDutyEvent = z.output<typeof eventSchema>;

const invalid = (errors: readonly string[]) => new RefusedRequest(400, 'Event object is invalid', errors);

/** Parses an Events API v2 body. @throws RefusedRequest (400) with PagerDuty's `errors` list. */
export function parsePagerDutyEvent(body: unknown): PagerDutyEvent {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid(['the body must be a JSON object']);
  const parsed = eventSchema.safeParse(body);
  if (!parsed.success) throw invalid(formatIssues(parsed.error.issues));
  return parsed.data;
}

/** The service a routing key scopes to (see {@link PagerDutyEventsReceiverOptions.routingKeys}). */
export function pagerDutyServiceOf(routingKey: string, routingKeys?: Record<string, string>): string | undefined {
  if (routingKeys) return Object.hasOwn(routingKeys, routingKey) ? routingKeys[routingKey] : undefined;
  return `pd-${createHash('sha256').update(routingKey).digest('hex').slice(0, 12)}`;
}

/** The {@link AlertEvent} of a PagerDuty event (its dedup key generated when a trigger has none). */
export function pagerDutyEventToAlertEvent(event: PagerDutyEvent, service: string, dedupKey: string): AlertEvent {
  const payload = event.payload;
  const labels: Record<string, string> = {};
  for (const field of ['source', 'component', 'group', 'class'] as const)
    if (payload?.[field] !== undefined) labels[field] = payload[field];
  const annotations: Record<string, string> = {};
  if (payload?.custom_details !== undefined) {
    annotations['custom_details'] =
      typeof payload.custom_details === 'string' ? payload.custom_details : JSON.stringify(payload.custom_details);
  }
  if (event.client) annotations['client'] = event.client;
  if (event.client_url) annotations['client_url'] = event.client_url;
  const { routing_key: _routingKey, ...raw } = event;
  return {
    action: event.event_action,
    service,
    dedupKey,
    summary: payload?.summary ?? `${event.event_action} ${dedupKey}`,
    source: 'pagerduty-events',
    labels,
    annotations,
    ...(payload ? { alertSeverity: payload.severity } : {}),
    ...(payload?.timestamp ? { startsAt: Date.parse(payload.timestamp) } : {}),
    ...(event.client_url ? { generatorUrl: event.client_url } : {}),
    ...(payload?.component ? { components: [payload.component] } : {}),
    raw,
  };
}

/**
 * An {@link OpsHandler} speaking PagerDuty's Events API v2 `enqueue` (default path `/v2/enqueue`), so any tool that
 * sends to PagerDuty can send here: `trigger` opens or appends, `acknowledge`/`resolve` apply to the open incident of
 * the dedup key and are dropped after it resolved, a trigger without `dedup_key` gets a generated one, and follow-ups
 * apply only within their routing key. Answers as PagerDuty does: `202 {"status":"success","message":"Event
 * processed","dedup_key":…}`, or `400 {"status":"invalid event","message":"Event object is invalid","errors":[…]}`
 * (a body over 512 KB too, with the limit as the reason). The event is stored before the 202.
 *
 * @example
 * ```ts
 * const receiver = createPagerDutyEventsReceiver(incidents, { routingKeys: { [process.env.PD_KEY!]: 'checkout' } });
 * ```
 */
export function createPagerDutyEventsReceiver(
  incidents: Pick<IncidentManager, 'ingestBatch'>,
  options: PagerDutyEventsReceiverOptions = {},
): OpsHandler {
  const { path = '/v2/enqueue', maxBodyBytes = DEFAULT_MAX_BODY_BYTES, authorize, routingKeys } = options;
  const logger = guardLogger(options.logger ?? silentLogger);
  const body = (message: string, errors: readonly string[]) =>
    message === 'Event object is invalid'
      ? { status: 'invalid event', message, errors }
      : { status: 'error', message, errors };
  return async (request) => {
    if (request.path !== path) return undefined;
    try {
      const event = parsePagerDutyEvent(await readJsonBody(request, { maxBodyBytes, authorize }));
      options.rateLimit?.check(`pagerduty:${event.routing_key}`);
      const service = pagerDutyServiceOf(event.routing_key, routingKeys);
      if (service === undefined) throw invalid(['routing_key: is not a known integration key']);
      const dedupKey = event.dedup_key ?? randomUUID().replaceAll('-', '');
      await incidents.ingestBatch([pagerDutyEventToAlertEvent(event, service, dedupKey)]);
      return jsonResponse(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
    } catch (error) {
      return errorResponse(error, logger, body);
    }
  };
}
