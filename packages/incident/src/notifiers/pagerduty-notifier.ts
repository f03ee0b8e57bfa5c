import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '@ops/core';
import type { NotificationEventName } from '../model/records.js';
import { defaultFetch, postJson, type FetchFunction } from './http-post.js';
import type { Notifier } from './notifier.js';
import { checkUrl } from './webhook-notifier.js';

/** Options of {@link pagerDutyNotifier}. */
export interface PagerDutyNotifierOptions {
  /** The 32-character integration (routing) key. */
  routingKey: string;
  /** Events API endpoint. Default `https://events.pagerduty.com/v2/enqueue`. */
  url?: string;
  /** `client` shown in PagerDuty. Default `'@ops/incident'`. */
  client?: string;
  fetch?: FetchFunction;
  clock?: Clock;
}

/** PagerDuty's limit per event, and what Alertmanager puts in place of details that make an event too large. */
const MAX_EVENT_BYTES = 512_000;
const DETAILS_REMOVED = 'Custom details have been removed because the original event exceeds the maximum size of 512KB';

const ACTIONS: Partial<Record<NotificationEventName, 'trigger' | 'acknowledge' | 'resolve'>> = {
  'incident.triggered': 'trigger',
  'incident.escalated': 'trigger',
  'incident.reopened': 'trigger',
  'incident.unacknowledged': 'trigger',
  'incident.acknowledged': 'acknowledge',
  'incident.resolved': 'resolve',
};

/** The PagerDuty `dedup_key` of one of our dedup keys: itself, or its SHA-256 hex when longer than 255 characters. */
export function pagerDutyDedupKey(dedupKey: string): string {
  return dedupKey.length <= 255 ? dedupKey : createHash('sha256').update(dedupKey).digest('hex');
}

/**
 * Sends to PagerDuty's Events API v2 (`trigger` on triggered/escalated/reopened/unacknowledged, `acknowledge` on
 * acknowledged — which Alertmanager never sends — and `resolve` on resolved), with `dedup_key` the incident's dedup key
 * and Alertmanager's truncation rules: `summary` cut to 1024 characters, `custom_details` replaced by a note when the
 * event would pass 512 KB. 429 and 5xx are retried; other 4xx are not.
 *
 * @example
 * ```ts
 * const notifiers = { pagerduty: pagerDutyNotifier({ routingKey: process.env.PAGERDUTY_ROUTING_KEY! }) };
 * ```
 */
export function pagerDutyNotifier(options: PagerDutyNotifierOptions): Notifier {
  const {
    routingKey,
    url = 'https://events.pagerduty.com/v2/enqueue',
    client = '@ops/incident',
    fetch = defaultFetch,
    clock = systemClock,
  } = options;
  checkUrl(url, 'pagerDutyNotifier');
  return {
    kind: 'pagerduty',
    events: Object.keys(ACTIONS) as NotificationEventName[],
    async send(payload, context) {
      const action = ACTIONS[payload.event];
      if (!action) return;
      const { incident } = payload;
      const event: Record<string, unknown> = {
        routing_key: routingKey,
        event_action: action,
        dedup_key: pagerDutyDedupKey(incident.dedupKey),
      };
      if (action === 'trigger') {
        const summary = [...`[${incident.severity}] ${incident.title}`];
        event['payload'] = {
          summary: summary.length > 1024 ? summary.slice(0, 1024).join('') : summary.join(''),
          source: incident.service,
          severity: context.alertSeverity,
          timestamp: new Date(incident.triggeredAt).toISOString(),
          component: incident.components[0]?.id ?? incident.service,
          group: incident.service,
          class: incident.labels['alertname'] ?? incident.source,
          custom_details: {
            incident_id: incident.id,
            status: incident.status,
            occurrences: incident.occurrences,
            summary: incident.summary,
            labels: incident.labels,
            ...(payload.level === undefined ? {} : { escalation_level: payload.level + 1 }),
          },
        };
        event['client'] = client;
        if (payload.url) {
          event['client_url'] = payload.url;
          event['links'] = [{ href: payload.url, text: incident.id }];
        }
      }
      let body = JSON.stringify(event);
      if (Buffer.byteLength(body) > MAX_EVENT_BYTES) {
        (event['payload'] as Record<string, unknown>)['custom_details'] = { error: DETAILS_REMOVED };
        body = JSON.stringify(event);
      }
      await postJson({ fetch, url, body, headers: {}, signal: context.signal, clock, target: 'pagerduty' });
    },
  };
}
