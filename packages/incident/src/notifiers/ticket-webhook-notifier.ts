import { systemClock, type Clock } from '@ops/core';
import type { Incident, NotificationEventName, NotificationPayload } from '../model/records.js';
import { defaultFetch, postJson, type FetchFunction } from './http-post.js';
import type { Notifier } from './notifier.js';
import { signStandardWebhook } from './standard-webhooks.js';
import { checkUrl } from './webhook-notifier.js';

/** Options of {@link ticketWebhookNotifier}. */
export interface TicketWebhookNotifierOptions {
  url: string;
  /** Body shape: GitHub-issue-like (default) or Jira-issue-like. */
  format?: 'github' | 'jira';
  /** Jira project key (format `jira`). */
  projectKey?: string;
  /** Standard Webhooks secret; messages are signed when given. */
  secret?: string;
  headers?: Record<string, string>;
  /** Events to send. Default: triggered (open), reopened (reopen), resolved (close). */
  events?: readonly NotificationEventName[];
  fetch?: FetchFunction;
  clock?: Clock;
}

const ACTION: Partial<Record<NotificationEventName, 'opened' | 'reopened' | 'closed' | 'edited'>> = {
  'incident.triggered': 'opened',
  'incident.reopened': 'reopened',
  'incident.resolved': 'closed',
  'incident.closed': 'closed',
};

function ticketBody(incident: Incident, payload: NotificationPayload): string {
  return [
    `**${incident.id}** — ${incident.severity} (${incident.urgency} urgency), service \`${incident.service}\``,
    '',
    incident.summary,
    '',
    `- Status: ${incident.status}`,
    `- Triggered: ${new Date(incident.triggeredAt).toISOString()}`,
    `- Occurrences: ${incident.occurrences}`,
    ...(payload.url ? [`- Link: ${payload.url}`] : []),
  ].join('\n');
}

/**
 * The low-urgency route of the runbooks ("P2/P3: create a ticket"): a webhook whose body looks like a GitHub issue
 * event (`{ action: 'opened' | 'reopened' | 'closed', issue: { title, body, labels, state }, incident }`) or a Jira
 * create-issue request (`{ fields: { project, summary, description, issuetype, priority, labels } }`), for a small
 * bridge or an automation endpoint to file. Idempotency key and Standard Webhooks headers as {@link webhookNotifier}.
 */
export function ticketWebhookNotifier(options: TicketWebhookNotifierOptions): Notifier {
  const { url, format = 'github', secret, headers = {}, fetch = defaultFetch, clock = systemClock } = options;
  checkUrl(url, 'ticketWebhookNotifier');
  const events = options.events ?? ['incident.triggered', 'incident.reopened', 'incident.resolved'];
  return {
    kind: 'ticket',
    events,
    async send(payload, context) {
      const { incident } = payload;
      const action = ACTION[payload.event] ?? 'edited';
      const title = `[${incident.severity}] ${incident.id}: ${incident.title}`;
      const labels = ['incident', incident.severity, `service:${incident.service}`];
      const document =
        format === 'jira'
          ? {
              fields: {
                ...(options.projectKey ? { project: { key: options.projectKey } } : {}),
                summary: title,
                description: ticketBody(incident, payload),
                issuetype: { name: 'Incident' },
                priority: { name: incident.severity },
                labels: labels.map((label) => label.replaceAll(/\s+/g, '-')),
              },
              ...(action === 'closed'
                ? { transition: { name: 'Done' } }
                : action === 'reopened'
                  ? { transition: { name: 'Reopen' } }
                  : {}),
              incident: { id: incident.id, status: incident.status },
            }
          : {
              action,
              issue: {
                title,
                body: ticketBody(incident, payload),
                labels,
                state: action === 'closed' ? 'closed' : 'open',
              },
              incident: {
                id: incident.id,
                status: incident.status,
                severity: incident.severity,
                service: incident.service,
              },
            };
      const body = JSON.stringify(document);
      const timestampSeconds = Math.floor(clock.now() / 1000);
      const signed = secret ? signStandardWebhook({ id: context.idempotencyKey, timestampSeconds, body, secret }) : {};
      await postJson({
        fetch,
        url,
        body,
        headers: { ...headers, ...signed, 'idempotency-key': context.idempotencyKey },
        signal: context.signal,
        clock,
        target: `tickets ${new URL(url).host}`,
      });
    },
  };
}
