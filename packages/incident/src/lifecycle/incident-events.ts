import type { DiagnosticResult } from '../diagnostics/auto-diagnostics.js';
import type { Incident, IncidentAlert, NotificationRecord, TimelineEvent } from '../model/records.js';

/** Payload of the incident lifecycle events. */
export interface IncidentEventPayload {
  at: number;
  incident: Incident;
}

/** Which response target was missed. */
export type ResponseTarget = 'ack' | 'mitigate' | 'update';

/**
 * Events of an {@link IncidentManager} (past-tense `noun.verb`, each with `at`), emitted after the change is
 * stored. A throwing listener is logged, never passed back.
 */
export interface IncidentEvents {
  'incident.triggered': IncidentEventPayload;
  'incident.reopened': IncidentEventPayload;
  'incident.acknowledged': IncidentEventPayload;
  'incident.unacknowledged': IncidentEventPayload & { reason: 'user' | 'ack_timeout' };
  'incident.mitigated': IncidentEventPayload;
  'incident.resolved': IncidentEventPayload;
  'incident.closed': IncidentEventPayload;
  'incident.merged': IncidentEventPayload & { into: Incident };
  'incident.severity_changed': IncidentEventPayload & { from: string; to: string };
  /** A trigger for an open incident was deduplicated into it (occurrences and lastSeenAt bumped). */
  'alert.deduplicated': IncidentEventPayload & { alert: IncidentAlert };
  /** A response target was missed. */
  'target.breached': IncidentEventPayload & { target: ResponseTarget; targetMs: number };
  /** An escalation level paged its targets (or ran its automations). */
  'incident.escalated': IncidentEventPayload & { level: number; loop: number; targets: string[] };
  /** Every level and repeat of the escalation policy was used. */
  'escalation.exhausted': IncidentEventPayload & { policyId: string };
  /** A notification reached its target. */
  'notification.delivered': { at: number; notification: NotificationRecord };
  /** A notification was given up (dead letter): attempts used up, or the target refused it for good. */
  'notification.failed': { at: number; notification: NotificationRecord; error: string };
  /** The auto-diagnostics of an incident ran and their results are on its timeline. */
  'diagnostics.completed': IncidentEventPayload & { results: DiagnosticResult[] };
  /** Any timeline append, for integrations that mirror the timeline. */
  'timeline.appended': { at: number; event: TimelineEvent };
}
