import type { AlertSeverity } from '@ops/core';
import type { Incident, NotificationEventName, NotificationPayload } from '../model/records.js';

/** What a notifier is told besides the payload. */
export interface NotificationContext {
  /** The outbox row id: the same on every attempt, so the target can drop repeats. */
  idempotencyKey: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborts at the delivery timeout. */
  signal: AbortSignal;
  /** The severity in PagerDuty vocabulary (from the severity policy). */
  alertSeverity: AlertSeverity;
}

/**
 * A notification target (a webhook, a Slack channel, PagerDuty, a ticket system). `send` resolves once the target
 * accepted the message and rejects with an `IncidentError` `NOTIFICATION_FAILED` otherwise — `isRetryable` for 429,
 * 5xx and network errors (with `retryAfterMs` from `Retry-After`), not for other 4xx.
 */
export interface Notifier {
  /** A name for logs (`'slack'`, `'webhook'`…). */
  readonly kind: string;
  /** Events this target wants; others are never queued for it. Default: every event. */
  readonly events?: readonly NotificationEventName[];
  send(payload: NotificationPayload, context: NotificationContext): Promise<void>;
}

/** What an automation reports; `resolved`/`mitigated` change the incident (and so stop the next, human level). */
export interface AutomationOutcome {
  outcome: 'resolved' | 'mitigated' | 'failed';
  /** One line for the timeline, e.g. "restarted 3 pods; error ratio back to 0.1%". */
  detail?: string;
}

/**
 * An automated escalation step ("auto diagnostics → auto fix → validate"): runs once with a deadline; its outcome
 * is recorded on the timeline and decides whether the incident resolves or the next level pages a human. A throw or a
 * timeout counts as `failed`. Automations are not retried (fixes are rarely idempotent).
 */
export type Automation = (incident: Incident, context: { signal: AbortSignal }) => Promise<AutomationOutcome>;

/** Verbs and marks used in the default one-line rendering. */
const HEADLINES: Record<NotificationEventName, string> = {
  'incident.triggered': 'triggered',
  'incident.escalated': 'escalated',
  'incident.acknowledged': 'acknowledged',
  'incident.unacknowledged': 'unacknowledged',
  'incident.mitigated': 'mitigated',
  'incident.resolved': 'resolved',
  'incident.reopened': 'reopened',
  'incident.closed': 'closed',
  'incident.status_updated': 'update',
  'incident.automation': 'automation',
};

/**
 * The default one-line text of a notification: `[P0] INC-2026-0113-001 triggered: Checkout errors (service checkout)`.
 */
export function renderNotificationLine(payload: NotificationPayload): string {
  const { incident } = payload;
  const level =
    payload.event === 'incident.escalated' && payload.level !== undefined ? ` to level ${payload.level + 1}` : '';
  const message = payload.message ? ` — ${payload.message}` : '';
  const link = payload.url ? ` ${payload.url}` : '';
  return `[${incident.severity}] ${incident.id} ${HEADLINES[payload.event]}${level}: ${incident.title} (service ${incident.service}, ${incident.status})${message}${link}`;
}
