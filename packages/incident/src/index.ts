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
  NotificationEventName,
  NotificationPayload,
  NotificationRecord,
  NotificationStatus,
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

export { createSignalRules } from './severity/signal-rules.js';
export type { SignalRule, SignalRuleState, SignalRules, SignalRulesOptions } from './severity/signal-rules.js';

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
  MaintenanceInput,
  NoteInput,
  ResolveOptions,
  SilenceInput,
  StatusUpdateInput,
  TriggerInput,
} from './lifecycle/incident-manager.js';
export type { IncidentEventPayload, IncidentEvents, ResponseTarget } from './lifecycle/incident-events.js';
export { formatIncidentId, incidentDayKey, isIncidentId } from './lifecycle/incident-id.js';
export { opsAlertToEvent } from './lifecycle/ops-alert-event.js';

// stores
export { createMemoryIncidentStore } from './stores/memory-incident-store.js';
export type {
  ClaimNotificationsOptions,
  ClaimTimersOptions,
  IncidentQuery,
  IncidentStore,
  IncidentTransaction,
  NotificationQuery,
  TimerInput,
  TransactionPrefetch,
} from './stores/incident-store.js';
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
export { createIngestRateLimiter } from './ingest/rate-limiter.js';
export type {
  IngestRateLimiter,
  IngestRateLimiterEvents,
  IngestRateLimiterOptions,
  IngestSourceCounts,
} from './ingest/rate-limiter.js';

// escalation, routing, notifications
export { MAX_REPEATS } from './escalation/escalation-policy.js';
export type { EscalationLevel, EscalationPolicy, EscalationTarget, Route } from './escalation/escalation-policy.js';
export type { DeliveryOptions } from './notifications/outbox-delivery.js';
export { renderNotificationLine } from './notifiers/notifier.js';
export type { Automation, AutomationOutcome, NotificationContext, Notifier } from './notifiers/notifier.js';
export { webhookNotifier } from './notifiers/webhook-notifier.js';
export type { WebhookNotifierOptions } from './notifiers/webhook-notifier.js';
export { slackNotifier } from './notifiers/slack-notifier.js';
export type { SlackNotifierOptions } from './notifiers/slack-notifier.js';
export { pagerDutyNotifier, pagerDutyDedupKey } from './notifiers/pagerduty-notifier.js';
export type { PagerDutyNotifierOptions } from './notifiers/pagerduty-notifier.js';
export { ticketWebhookNotifier } from './notifiers/ticket-webhook-notifier.js';
export type { TicketWebhookNotifierOptions } from './notifiers/ticket-webhook-notifier.js';
export { emailNotifier } from './notifiers/email-notifier.js';
export type { EmailNotifierOptions, MailMessage, MailTransportLike, SmtpOptions } from './notifiers/email-notifier.js';
export { signStandardWebhook, verifyStandardWebhook } from './notifiers/standard-webhooks.js';
export type { FetchFunction } from './notifiers/http-post.js';

// auto-diagnostics
export { diagnosticFromCheck } from './diagnostics/auto-diagnostics.js';
export type { Diagnostic, DiagnosticResult, DiagnosticsOptions } from './diagnostics/auto-diagnostics.js';

// silences and maintenance windows
export { matchesAll, maintenanceOccurrences, recurrenceOccurrences } from './suppression/suppression.js';
export type {
  MaintenanceOccurrence,
  MaintenanceWindow,
  Matcher,
  Recurrence,
  Silence,
  Weekday,
} from './suppression/suppression.js';

// metrics
export { computeIncidentMetrics } from './metrics/mttx.js';
export type {
  ComputeIncidentMetricsOptions,
  IncidentMetricsReport,
  ReliabilityMetrics,
  ResponseMetrics,
} from './metrics/mttx.js';
export { createIncidentMetrics } from './metrics/prometheus-metrics.js';
export type { IncidentMetrics, IncidentMetricsOptions } from './metrics/prometheus-metrics.js';

// status page
export { createStatusPage } from './status-page/status-page.js';
export type { StatusPage, StatusPageOptions } from './status-page/status-page.js';
export { buildStatusSnapshot } from './status-page/status-model.js';
export type {
  StatusComponent,
  StatusSnapshot,
  StatuspageComponent,
  StatuspageIncident,
  StatuspageMaintenance,
  StatuspageUpdate,
} from './status-page/status-model.js';

// comms and postmortems
export {
  createCommsTemplates,
  COMMS_PLACEHOLDERS,
  DEFAULT_COMMS_TEMPLATES,
  durationInWords,
} from './comms/comms-templates.js';
export type {
  CommsChannel,
  CommsContext,
  CommsMoment,
  CommsTemplate,
  CommsTemplates,
  CommsTemplatesOptions,
} from './comms/comms-templates.js';
export {
  generatePostmortemDraft,
  renderPostmortemMarkdown,
  POSTMORTEM_SECTIONS,
} from './postmortem/postmortem-draft.js';

// command line (`ops-incident`)
export { createIncidentCli, incidentCli, parseMatcher, runIncidentCli } from './cli/incident-cli.js';
export type { IncidentCliDependencies } from './cli/incident-cli.js';
