// @ops/incident — severity policy, lifecycle, dedup, timeline, durable timers, stores. Exports are listed by name.

// errors
export { IncidentError } from './errors.js';
export type { IncidentErrorCode } from './errors.js';

// records
export { OPEN_STATUSES, isOpenStatus } from './model/records.js';
export type {
  ActionItem,
  Actor,
  ComponentStatus,
  EscalationState,
  Incident,
  IncidentAlert,
  IncidentRoles,
  IncidentStatus,
  IncidentTimer,
  NewTimelineEvent,
  Postmortem,
  PostmortemSection,
  ResolveReason,
  Severity,
  SingleRole,
  TimelineEvent,
  TimelineKind,
  TimerKind,
  Urgency,
  Visibility,
} from './model/records.js';

// severity policy
export { createSeverityPolicy, DEFAULT_SEVERITY_LEVELS } from './severity/severity-policy.js';
export type {
  ClassifiableAlert,
  SeverityLevel,
  SeverityLevelOptions,
  SeverityPolicy,
  SeverityPolicyOptions,
  SeverityRule,
  StatuspageImpact,
} from './severity/severity-policy.js';

// lifecycle
export { createIncidentManager, statuspageStatusOf } from './lifecycle/incident-manager.js';
export type {
  ActionItemInput,
  ActionOptions,
  AlertEvent,
  AlertMember,
  CloseOptions,
  IncidentManager,
  IncidentManagerOptions,
  IngestResult,
  NoteInput,
  ResolveOptions,
  StatusUpdateInput,
  TriggerInput,
} from './lifecycle/incident-manager.js';
export type { IncidentEventPayload, IncidentEvents, ResponseTarget } from './lifecycle/incident-events.js';
export { formatIncidentId, incidentDayKey, isIncidentId } from './lifecycle/incident-id.js';
export { opsAlertToEvent } from './lifecycle/ops-alert-event.js';

// stores
export { createMemoryIncidentStore } from './stores/memory-incident-store.js';
export type { ClaimTimersOptions, IncidentQuery, IncidentStore, IncidentTransaction, TimerInput } from './stores/incident-store.js';
export { createPostgresIncidentStore } from './stores/postgres/postgres-incident-store.js';
export type { PostgresIncidentStore, PostgresIncidentStoreOptions } from './stores/postgres/postgres-incident-store.js';
export { migrateIncidentSchema, INCIDENT_MIGRATIONS } from './stores/postgres/migrations.js';
export type { IncidentMigration } from './stores/postgres/migrations.js';
export type { PgClientLike, PgPoolLike, PgQueryable, PgQueryResult } from './stores/postgres/pg-like.js';

// ingest (HTTP receivers; the AlertSink is `incidents.alertSink`)
export { createAlertmanagerReceiver } from './receivers/alertmanager-webhook.js';
export type { AlertmanagerReceiverOptions } from './receivers/alertmanager-webhook.js';
export { createPagerDutyEventsReceiver } from './receivers/pagerduty-events.js';
export type { PagerDutyEventsReceiverOptions } from './receivers/pagerduty-events.js';
export type { ReceiverOptions } from './receivers/receiver-http.js';
