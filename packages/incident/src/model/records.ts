// The records of @ops/incident (reference §b.3): TypeScript names, camelCase JSON, epoch-millisecond times.

/**
 * A severity name from the {@link SeverityPolicy}: `'P0'`–`'P3'` by default, most severe first; a policy may use
 * other names and another count (`'P1'`–`'P4'`, `'SEV1'`…).
 */
export type Severity = 'P0' | 'P1' | 'P2' | 'P3' | (string & {});

/** Whether an incident pages people now (`high`) or opens a ticket for working hours (`low`). */
export type Urgency = 'high' | 'low';

/**
 * Lifecycle status (reference §b.4): `triggered → acknowledged → mitigated → resolved → closed`. Open statuses are
 * `triggered`, `acknowledged` and `mitigated`: at most one open incident exists per (service, dedup key).
 */
export type IncidentStatus = 'triggered' | 'acknowledged' | 'mitigated' | 'resolved' | 'closed';

/** The statuses in which an incident is open (dedup applies, timers run). */
export const OPEN_STATUSES: readonly IncidentStatus[] = ['triggered', 'acknowledged', 'mitigated'];

/** Whether `status` is an open status. */
export function isOpenStatus(status: IncidentStatus): boolean {
  return status === 'triggered' || status === 'acknowledged' || status === 'mitigated';
}

/**
 * Why an incident was resolved (Grafana OnCall's `resolved_by`): the alert source said so, a user did, it was
 * silent for `autoResolveAfterSilence`, an escalation step (automation) resolved it, or it was merged into another.
 */
export type ResolveReason = 'source' | 'user' | 'auto_timeout' | 'escalation_step' | 'merged';

/** Status-page component status (Statuspage vocabulary). */
export type ComponentStatus =
  'operational' | 'degraded_performance' | 'partial_outage' | 'major_outage' | 'under_maintenance';

/** Who did something: a person, the package itself, or an integration (Alertmanager, a PagerDuty sender). */
export interface Actor {
  type: 'user' | 'system' | 'integration';
  id: string;
}

/** The incident roles (Dispatch): commander, scribe, liaison, and any number of responders. */
export interface IncidentRoles {
  commander?: string;
  scribe?: string;
  liaison?: string;
  responders: string[];
}

/** The one-person roles {@link IncidentRoles} has. */
export type SingleRole = 'commander' | 'scribe' | 'liaison';

/** Escalation state of an incident (the timers themselves are durable store rows). */
export interface EscalationState {
  /** The escalation policy in force, when one applies. */
  policyId?: string;
  /** Index of the last level started (-1 before the first). */
  level: number;
  /** Completed passes over the levels (for `repeat`). */
  loop: number;
  /** When the next level starts (epoch ms), while escalation runs. */
  nextAt?: number;
  /** Every level and repeat was used up. */
  exhausted: boolean;
  /** When the current escalation started (trigger, reopen or unacknowledge), epoch ms. */
  startedAt?: number;
  /** Notifier ids paged so far: they also hear the acknowledge and the resolve. */
  paged?: string[];
}

/** A follow-up task (PagerDuty review action items, Dispatch tasks). */
export interface ActionItem {
  id: string;
  title: string;
  owner?: string;
  priority: 'low' | 'medium' | 'high';
  /** Epoch ms. */
  dueAt?: number;
  status: 'open' | 'done';
  externalUrl?: string;
  createdAt: number;
}

/** An incident: one problem, however many alerts report it. */
export interface Incident {
  /** Human-readable id, `INC-YYYY-MMDD-NNN` (date of the trigger in the id time zone, per-day sequence). */
  id: string;
  /** Per-store sequence (PagerDuty `incident_number`). */
  number: number;
  service: string;
  title: string;
  summary: string;
  dedupKey: string;
  status: IncidentStatus;
  severity: Severity;
  urgency: Urgency;
  /** Where the first alert came from (`'alertmanager'`, `'pagerduty-events'`, `'sdk'`, `'health'`…). */
  source: string;
  /** Labels of the first alert (routing, silences and the status page match on them). */
  labels: Record<string, string>;
  triggeredAt: number;
  acknowledgedAt?: number;
  mitigatedAt?: number;
  resolvedAt?: number;
  closedAt?: number;
  /** Earliest known start of impact (first alert's `startsAt`); MTTD = `triggeredAt − impactStartedAt`. */
  impactStartedAt?: number;
  lastStatusChangeAt: number;
  /** Last time an alert for this incident arrived. */
  lastSeenAt: number;
  /** Trigger events applied to this incident (the first one included). */
  occurrences: number;
  /** Times it was reopened within the reopen window. */
  reopenCount: number;
  resolveReason?: ResolveReason;
  escalation: EscalationState;
  roles: IncidentRoles;
  /** Status-page impact. */
  components: { id: string; status: ComponentStatus }[];
  actionItems: ActionItem[];
  /** Set when this incident was merged into another (PagerDuty merge). */
  parentId?: string;
  /** Set when this incident was marked a duplicate of another (Dispatch `duplicate_id`). */
  duplicateOf?: string;
  /** Last public status update (epoch ms), for the `updateEvery` cadence. */
  lastUpdateAt?: number;
  /** Optimistic version: +1 per stored change. */
  version: number;
}

/** The kinds of timeline events (reference §b.3, plus `closed`, `merged`, `action_item`, `diagnostics`, `automation`). */
export type TimelineKind =
  | 'triggered'
  | 'alert_added'
  | 'alert_resolved'
  | 'acknowledged'
  | 'unacknowledged'
  | 'escalated'
  | 'notified'
  | 'notify_failed'
  | 'severity_changed'
  | 'role_assigned'
  | 'status_update'
  | 'mitigated'
  | 'resolved'
  | 'reopened'
  | 'closed'
  | 'merged'
  | 'silenced'
  | 'policy_exhausted'
  | 'target_breached'
  | 'note'
  | 'action_item'
  | 'diagnostics'
  | 'automation'
  | 'postmortem_published';

/** Who may see a timeline event: `internal` (default) or `public` (status page). */
export type Visibility = 'internal' | 'public';

/** One append-only timeline entry (Dispatch `Event` + PagerDuty `LogEntry`). */
export interface TimelineEvent {
  id: string;
  incidentId: string;
  /** Store-wide order of appends. */
  sequence: number;
  at: number;
  endedAt?: number;
  kind: TimelineKind;
  actor: Actor;
  description: string;
  details?: unknown;
  pinned?: boolean;
  visibility: Visibility;
}

/** A timeline event before the store numbers it. */
export type NewTimelineEvent = Omit<TimelineEvent, 'sequence'>;

/**
 * One alert of an incident (PagerDuty/OnCall "alert", an Alertmanager alert): one row per alert key (fingerprint)
 * per incident, with its latest state and how often it was seen.
 */
export interface IncidentAlert {
  id: string;
  incidentId: string;
  /** `'alertmanager' | 'pagerduty-events' | 'sdk' | …`. */
  source: string;
  dedupKey: string;
  /** Identifies the alert within the incident (Alertmanager fingerprint, OpsAlert key); defaults to the dedup key. */
  alertKey: string;
  fingerprint?: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  summary: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  endsAt?: number;
  generatorUrl?: string;
  /** The payload as received (bounded by the receiver). */
  raw?: unknown;
  receivedAt: number;
  lastSeenAt: number;
  occurrences: number;
}

/** A postmortem section (PagerDuty Incident Reviews). */
export interface PostmortemSection {
  title: string;
  required: boolean;
  body: string;
}

/** A postmortem (PagerDuty Incident Reviews): `draft → in_review → published`; required sections gate `closed`. */
export interface Postmortem {
  incidentId: string;
  status: 'draft' | 'in_review' | 'published';
  sections: PostmortemSection[];
  actionItems: ActionItem[];
  createdAt: number;
  updatedAt: number;
  publishedAt?: number;
}

/** What a durable timer does when it falls due. */
export type TimerKind =
  'ack_timeout' | 'auto_resolve' | 'ack_target' | 'mitigate_target' | 'update_target' | 'escalation';

/**
 * A durable timer: a store row, at most one per (incident, kind), claimed by one process at a time with a lease (in
 * PostgreSQL `FOR UPDATE SKIP LOCKED`), so a restart neither loses nor doubles it.
 */
export interface IncidentTimer {
  incidentId: string;
  kind: TimerKind;
  dueAt: number;
  /** Kind-specific data (e.g. the escalation level to start). */
  data: Record<string, unknown>;
  /** Who holds the claim, while claimed. */
  claimedBy?: string;
  /** When the claim lapses (epoch ms), while claimed. */
  claimedUntil?: number;
}

/** What a notification is about. */
export type NotificationEventName =
  | 'incident.triggered'
  | 'incident.escalated'
  | 'incident.acknowledged'
  | 'incident.unacknowledged'
  | 'incident.mitigated'
  | 'incident.resolved'
  | 'incident.reopened'
  | 'incident.closed'
  | 'incident.status_updated'
  | 'incident.automation';

/** Delivery state of an outbox row. */
export type NotificationStatus = 'pending' | 'delivered' | 'dead';

/**
 * One message to one target in the durable outbox: written in the same transaction as the change it announces,
 * delivered at least once (its `id` is the idempotency key the target sees), retried with backoff until delivered or
 * dead-lettered.
 */
export interface NotificationRecord {
  /** Idempotency key: the same on every attempt (`webhook-id`, `idempotency-key`). */
  id: string;
  incidentId: string;
  /** Notifier id (or `automation:<id>`). */
  target: string;
  event: NotificationEventName;
  /** What the notifier renders: the incident snapshot and event details. */
  payload: NotificationPayload;
  status: NotificationStatus;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  lastError?: string;
  deliveredAt?: number;
  claimedBy?: string;
  claimedUntil?: number;
}

/** The content of a notification. */
export interface NotificationPayload {
  event: NotificationEventName;
  /** The incident as it was when the change was stored. */
  incident: Incident;
  /** When the change happened (epoch ms). */
  at: number;
  /** Escalation level (0-based) for `incident.escalated`. */
  level?: number;
  /** Escalation loop for `incident.escalated`. */
  loop?: number;
  /** A status update's text, a note, an automation's outcome. */
  message?: string;
  /** The public URL of the incident or status page, when configured. */
  url?: string;
}
