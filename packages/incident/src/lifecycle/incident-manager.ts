import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  createEmitter,
  createPeriodicTask,
  guardLogger,
  parseDuration,
  parseOptionalDuration,
  safeErrorMessage,
  silentLogger,
  systemClock,
  type AlertSeverity,
  type AlertSink,
  type Clock,
  type Duration,
  type EventSource,
  type Logger,
  type TimerHandle,
} from '@ops/core';
import { IncidentError } from '../errors.js';
import {
  isOpenStatus,
  type ActionItem,
  type Actor,
  type ComponentStatus,
  type Incident,
  type IncidentAlert,
  type IncidentStatus,
  type IncidentTimer,
  type NotificationRecord,
  type Postmortem,
  type PostmortemSection,
  type ResolveReason,
  type Severity,
  type SingleRole,
  type TimelineEvent,
  type TimerKind,
  type Visibility,
} from '../model/records.js';
import {
  createSeverityPolicy,
  type SeverityLevel,
  type SeverityPolicy,
  type SeverityPolicyOptions,
} from '../severity/severity-policy.js';
import { createMemoryIncidentStore } from '../stores/memory-incident-store.js';
import { checkRoutes, resolvePolicies, type EscalationPolicy, type Route } from '../escalation/escalation-policy.js';
import { checkNotifiers, createDispatcher } from '../notifications/dispatcher.js';
import { createOutboxDelivery, type DeliveryOptions, type DeliveryOutcome } from '../notifications/outbox-delivery.js';
import type { Automation, Notifier } from '../notifiers/notifier.js';
import { computeIncidentMetrics, type IncidentMetricsReport } from '../metrics/mttx.js';
import { generatePostmortemDraft, renderPostmortemMarkdown } from '../postmortem/postmortem-draft.js';
import {
  checkMatchers,
  checkRecurrence,
  findSuppression,
  maintenanceOccurrences,
  silenceActive,
  type MaintenanceOccurrence,
  type MaintenanceWindow,
  type Matcher,
  type Recurrence,
  type Silence,
} from '../suppression/suppression.js';
import type { IncidentQuery, IncidentStore, IncidentTransaction } from '../stores/incident-store.js';
import {
  createDiagnosticsRunner,
  describeDiagnostic,
  type DiagnosticResult,
  type DiagnosticsOptions,
} from '../diagnostics/auto-diagnostics.js';
import { ChangeSet } from './change-set.js';
import { formatIncidentId, incidentDayKey } from './incident-id.js';
import type { IncidentEvents } from './incident-events.js';
import { opsAlertToEvent } from './ops-alert-event.js';

/** The state of one alert inside an inbound event (an Alertmanager group member). */
export interface AlertMember {
  /** Identifies the alert within the incident (Alertmanager fingerprint). */
  alertKey: string;
  fingerprint?: string;
  status: 'firing' | 'resolved';
  summary?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: number;
  endsAt?: number;
  generatorUrl?: string;
  /** This alert as received (stored with it; the event's `raw` is used when absent). */
  raw?: unknown;
}

/**
 * One inbound event about one (service, dedup key): what every ingest path (OpsAlert, Alertmanager, PagerDuty Events
 * v2, `trigger()`) turns its payload into.
 */
export interface AlertEvent {
  /** `trigger` opens or appends; `acknowledge` and `resolve` apply to the open incident only (dropped otherwise). */
  action: 'trigger' | 'acknowledge' | 'resolve';
  service: string;
  dedupKey: string;
  /** Title of a new incident, and the summary of the alert. */
  summary: string;
  /** Our severity; when absent the policy classifies `alertSeverity` and `labels`. */
  severity?: Severity;
  alertSeverity?: AlertSeverity;
  /** `'alertmanager'`, `'pagerduty-events'`, `'sdk'`, `'health'`… */
  source: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** When the problem started (epoch ms); the earliest becomes `impactStartedAt`. */
  startsAt?: number;
  generatorUrl?: string;
  /** The alert key of a single-alert event. Default: the dedup key. */
  alertKey?: string;
  fingerprint?: string;
  /** Group members (Alertmanager): each one's state is recorded; resolved members are timeline events. */
  members?: readonly AlertMember[];
  /** Alerts the sender left out (Alertmanager `truncatedAlerts`), recorded on the timeline. */
  truncatedAlerts?: number;
  /** The payload as received (stored with the alert). */
  raw?: unknown;
  /** Status-page components this alert affects. */
  components?: readonly string[];
  /** Who sent it. Default `{ type: 'integration', id: source }`. */
  actor?: Actor;
}

/** What an event did. */
export interface IngestResult {
  /**
   * `created` a new incident, `appended` to the open one, `reopened` one resolved within the reopen window,
   * `acknowledged`/`resolved` the open one, `ignored` (an acknowledge/resolve without an open incident, as
   * PagerDuty drops them), or `queued` (inbox mode: durably queued, applied shortly after).
   */
  action: 'created' | 'appended' | 'reopened' | 'acknowledged' | 'resolved' | 'ignored' | 'queued';
  incident?: Incident;
  /** Why an event was ignored. */
  reason?: string;
}

/** Input of {@link IncidentManager.trigger}. */
export interface TriggerInput {
  service: string;
  title: string;
  /** Default: a random UUID (PagerDuty generates one too), so the incident can only be followed by id. */
  dedupKey?: string;
  severity?: Severity;
  alertSeverity?: AlertSeverity;
  source?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: number;
  components?: readonly string[];
  by?: string;
}

/** Who does a manual change, and an optional note. */
export interface ActionOptions {
  /** User id; default `'api'`. */
  by?: string;
  /** Free text added to the timeline entry. */
  note?: string;
}

/** Options of {@link IncidentManager.resolve}. */
export interface ResolveOptions extends ActionOptions {
  /** Required: why it is resolved (`'user'` for a person). */
  reason: ResolveReason;
}

/** Options of {@link IncidentManager.close}. */
export interface CloseOptions extends ActionOptions {
  /** Close a severity that needs a postmortem without one; the text says why (Dispatch `exclude_from_review`). */
  excludeFromReview?: string;
}

/** A note or status update. */
export interface NoteInput {
  body: string;
  by?: string;
  /** Default `internal` for notes, `public` for status updates. */
  visibility?: Visibility;
  pinned?: boolean;
}

/** A status update (public by default; the status page shows public ones). */
export interface StatusUpdateInput extends NoteInput {
  /** Statuspage incident status shown with it. Default: derived from the incident status. */
  statuspageStatus?: 'investigating' | 'identified' | 'monitoring' | 'resolved';
}

/** Input of {@link IncidentManager.addActionItem}. */
export interface ActionItemInput {
  title: string;
  owner?: string;
  priority?: ActionItem['priority'];
  dueAt?: number;
  externalUrl?: string;
  by?: string;
}

/** Input of {@link IncidentManager.createSilence}. */
export interface SilenceInput {
  /** At least one; all must match (incident labels plus `service` and `severity`). */
  matchers: Matcher[];
  /** Default: now. */
  startsAt?: number;
  /** Required, unless `duration` is given: silences are always temporary. */
  endsAt?: number;
  duration?: Duration;
  /** Required: who. */
  createdBy: string;
  /** Required: why. */
  comment: string;
}

/** Input of {@link IncidentManager.scheduleMaintenance}. */
export interface MaintenanceInput {
  title: string;
  description?: string;
  services?: string[];
  components?: string[];
  matchers?: Matcher[];
  /** A one-off window: `startsAt` and `endsAt` (or `duration`)… */
  startsAt?: number;
  endsAt?: number;
  duration?: Duration;
  /** …or a recurring one in an IANA time zone. */
  recurrence?: Recurrence;
  /** Default true. */
  suppressPaging?: boolean;
  createdBy: string;
}

/** Options of {@link createIncidentManager}. */
export interface IncidentManagerOptions {
  /** Where incidents live. Default: in memory ({@link createMemoryIncidentStore}). */
  store?: IncidentStore;
  /** Severity levels, targets and classification (a policy or its options). Default P0–P3 with runbook targets. */
  severityPolicy?: SeverityPolicy | SeverityPolicyOptions;
  /**
   * A trigger within this long of its incident's resolve reopens it instead of opening a new one. Default `0`:
   * PagerDuty's rule, a trigger after a resolve always opens a new incident.
   */
  reopenWindow?: Duration;
  /** Require a note with user resolves (what fixed it). Default `true`. */
  requireResolutionNote?: boolean;
  /** Service of alerts that carry no `service` label. Default `'default'`. */
  defaultService?: string;
  /** IANA time zone of the date in incident ids. Default `'UTC'`. */
  idTimeZone?: string;
  /** How often due timers (ack timeout, targets, auto-resolve, escalation) are looked for. Default `'5s'`. */
  tickEvery?: Duration;
  /** How long a claimed timer stays with this process before another may take it. Default `'1m'`. */
  timerLease?: Duration;
  /** Id of this process in timer claims. Default `host:pid:random`. */
  owner?: string;
  /** Start the timer loop on creation. Default `true` (call `close()` to stop it). */
  autoStart?: boolean;
  /** Notification targets by id: `webhookNotifier`, `slackNotifier`, `pagerDutyNotifier`, `ticketWebhookNotifier`, yours. */
  notifiers?: Record<string, Notifier>;
  /** Automated escalation steps by id (a level targets them with `{ automation: id }`). */
  automations?: Record<string, Automation>;
  /** Escalation policies (levels with offsets from the trigger, repeat, exhaustion). */
  escalationPolicies?: readonly EscalationPolicy[];
  /**
   * Which policy pages and who hears about which incidents; the first matching route wins. Default: incidents whose
   * severity routes to `page` (P0/P1) start the first escalation policy.
   */
  routes?: readonly Route[];
  /** Outbox delivery: retries, backoff, timeouts, circuit breaker. */
  delivery?: DeliveryOptions;
  /** A link to an incident (your UI or status page), put in notifications. */
  publicUrl?: (incident: Incident) => string | undefined;
  /**
   * Auto-diagnostics: functions (or core `Check`s through `diagnosticFromCheck`) run when a paging incident (P0/P1)
   * opens, reopens or is raised to a paging severity, each with a deadline; their redacted output is attached to the
   * timeline (`diagnostics` entries, internal), and one that hangs is cut at the deadline and recorded as timed out.
   */
  diagnostics?: DiagnosticsOptions;
  /**
   * Group commit of ingest: events that arrive while earlier ones are being stored, or in the same turn of the event
   * loop, go together in the next transaction (up to 500 events, 2 transactions at a time), cutting round trips and
   * CPU under load; every caller still returns only once its own events are committed, and a combined transaction
   * that fails is retried call by call. Default `true`.
   */
  coalesceIngest?: boolean;
  /**
   * Inbox mode, for alert storms: ingest answers once the events are durably queued in the store's inbox (one
   * multi-row insert for the webhooks that arrive together), with the action `queued`; the manager then applies them
   * in arrival order in large batches — dedup, alerts, timeline and outbox in one transaction per batch — one
   * applier at a time across the fleet (PostgreSQL: an advisory lock; the others leave it to the holder). Queued
   * events are applied after each enqueue, on every loop tick and by {@link IncidentManager.drainInbox}; a process
   * that dies while applying leaves its batch in the inbox (the transaction rolls back). `true` or `{ batchSize }`
   * (default 500). Needs a store with an inbox (both shipped stores have one). Default off: ingest answers once its
   * events are committed, with what they did.
   */
  inbox?: boolean | { batchSize?: number };
  /** Source of time. Default `systemClock`. */
  clock?: Clock;
  /** Logger. Default silent. */
  logger?: Logger;
}

/** The incident manager: ingest, lifecycle, timeline, timers. */
export interface IncidentManager extends EventSource<IncidentEvents> {
  /** The severity policy in force. */
  readonly severityPolicy: SeverityPolicy;
  /** The store. */
  readonly store: IncidentStore;
  /** core's `AlertSink`: an `OpsAlert` firing triggers, resolved resolves (service from `labels.service`). */
  readonly alertSink: AlertSink;
  /** Applies one inbound event in one transaction. */
  ingest(event: AlertEvent): Promise<IngestResult>;
  /** Applies several events in one transaction: all are stored, or none. */
  ingestBatch(events: readonly AlertEvent[]): Promise<IngestResult[]>;
  /** Opens an incident (or appends to the open one with the same dedup key). */
  trigger(input: TriggerInput): Promise<IngestResult>;
  get(id: string): Promise<Incident | undefined>;
  /** Like `get`, but throws `INCIDENT_NOT_FOUND`. */
  require(id: string): Promise<Incident>;
  list(query?: IncidentQuery): Promise<Incident[]>;
  timeline(id: string, options?: { visibility?: Visibility }): Promise<TimelineEvent[]>;
  alerts(id: string): Promise<IncidentAlert[]>;
  /** `triggered → acknowledged` (again from `acknowledged`: renews the acknowledgement timeout). */
  acknowledge(id: string, options?: ActionOptions): Promise<Incident>;
  /** `acknowledged → triggered`: paging resumes. */
  unacknowledge(id: string, options?: ActionOptions): Promise<Incident>;
  /** `triggered | acknowledged → mitigated`. */
  mitigate(id: string, options?: ActionOptions): Promise<Incident>;
  /** `triggered | acknowledged | mitigated → resolved`, with a required reason. */
  resolve(id: string, options: ResolveOptions): Promise<Incident>;
  /** `resolved → closed`; needs a published postmortem when the severity requires one. */
  closeIncident(id: string, options?: CloseOptions): Promise<Incident>;
  /** `resolved → triggered` by hand. */
  reopen(id: string, options?: ActionOptions): Promise<Incident>;
  /** Merges `sourceIds` into `intoId`: sources resolve (`merged`), their alerts and later triggers go to the target. */
  merge(intoId: string, sourceIds: readonly string[], options?: ActionOptions): Promise<Incident>;
  /** Marks `id` a duplicate of `ofId` (a merge that also sets `duplicateOf`). */
  markDuplicate(id: string, ofId: string, options?: ActionOptions): Promise<Incident>;
  setSeverity(id: string, severity: Severity, options?: ActionOptions): Promise<Incident>;
  /** Sets (or clears, with `undefined`) a one-person role. */
  assignRole(id: string, role: SingleRole, user: string | undefined, options?: ActionOptions): Promise<Incident>;
  addResponder(id: string, user: string, options?: ActionOptions): Promise<Incident>;
  removeResponder(id: string, user: string, options?: ActionOptions): Promise<Incident>;
  /** Sets the status-page components an incident affects (status defaults from the severity). */
  setComponents(
    id: string,
    components: readonly (string | { id: string; status: ComponentStatus })[],
    options?: ActionOptions,
  ): Promise<Incident>;
  /** Corrects when impact started (MTTD), e.g. during the postmortem. */
  setImpactStartedAt(id: string, at: number, options?: ActionOptions): Promise<Incident>;
  addNote(id: string, note: NoteInput): Promise<TimelineEvent>;
  /** Posts a status update (public by default) and restarts the `updateEvery` cadence. */
  postUpdate(id: string, update: StatusUpdateInput): Promise<TimelineEvent>;
  addActionItem(id: string, item: ActionItemInput): Promise<ActionItem>;
  updateActionItem(
    id: string,
    itemId: string,
    patch: Partial<Omit<ActionItem, 'id' | 'createdAt'>> & { by?: string },
  ): Promise<ActionItem>;
  getPostmortem(id: string): Promise<Postmortem | undefined>;
  /** Creates or replaces the postmortem's sections/action items (status `draft` or `in_review`). */
  savePostmortem(
    id: string,
    input: { sections?: PostmortemSection[]; actionItems?: ActionItem[]; status?: 'draft' | 'in_review'; by?: string },
  ): Promise<Postmortem>;
  /**
   * Generates the postmortem draft from the timeline, alerts and response times (done by itself when an incident whose
   * severity needs a postmortem is mitigated or resolved). Keeps an existing postmortem unless `replaceDraft` is set
   * (a published one is never replaced).
   */
  generatePostmortem(
    id: string,
    options?: { replaceDraft?: boolean; by?: string; quiet?: boolean },
  ): Promise<Postmortem>;
  /** The postmortem as Markdown. @throws `POSTMORTEM_REQUIRED` when there is none. */
  postmortemMarkdown(id: string): Promise<string>;
  /** Publishes the postmortem; refused while a required section is empty (`POSTMORTEM_REQUIRED`). */
  publishPostmortem(id: string, options?: ActionOptions): Promise<Postmortem>;
  /** Creates a silence: paging and route notifications are held back for matching incidents (which are still stored). */
  createSilence(input: SilenceInput): Promise<Silence>;
  /** Ends a silence now. */
  expireSilence(id: string, options?: { by?: string }): Promise<Silence>;
  /** Silences; `active: true` keeps those in force now. */
  silences(options?: { active?: boolean }): Promise<Silence[]>;
  /** Schedules a one-off or recurring maintenance window. */
  scheduleMaintenance(input: MaintenanceInput): Promise<MaintenanceWindow>;
  /** Cancels a maintenance window from now on. */
  cancelMaintenance(id: string, options?: { by?: string }): Promise<MaintenanceWindow>;
  /** Occurrences of maintenance windows overlapping [from, to) (default: now to 7 days ahead), in order. */
  maintenance(options?: { from?: number; to?: number }): Promise<MaintenanceOccurrence[]>;
  /**
   * MTTA, MTTM, MTTR, MTTD per service × severity and MTBF/availability per service over [from, to) (default: the
   * last 30 days), from the store. Outages that began up to 30 days before `from` still count inside the window.
   */
  metrics(options?: {
    from?: number;
    to?: number;
    service?: string;
    isOutage?: (incident: Incident) => boolean;
  }): Promise<IncidentMetricsReport>;
  /**
   * Runs the registered diagnostics for an incident now (whatever its severity) and attaches their redacted output to
   * its timeline; resolves with the results.
   */
  diagnose(id: string): Promise<DiagnosticResult[]>;
  /** The outbox rows of an incident (delivered, pending, dead), oldest first. */
  notifications(id: string): Promise<NotificationRecord[]>;
  /** Claims and runs due timers now (the loop does it every `tickEvery`); resolves with how many ran. */
  runDueTimers(): Promise<number>;
  /** Delivers due notifications now (the loop does it every `tickEvery`); resolves with how many were attempted. */
  deliverNotifications(): Promise<number>;
  /**
   * Inbox mode: applies every event queued so far (and any queued meanwhile) and resolves with how many this call
   * applied; 0 when another process holds the inbox (it applies them) or there is no inbox.
   */
  drainInbox(): Promise<number>;
  /** Starts the timer loop (when `autoStart: false`). */
  start(): void;
  /** Stops the timer loop and waits for a run in progress. Does not close the store. */
  close(): Promise<void>;
}

const MAX_CONFLICT_RETRIES = 10;
/** Concurrent ingest transactions of one manager when ingest calls are coalesced. */
const MAX_INGESTS_IN_FLIGHT = 2;
/** `setImmediate` as it was when this module loaded (fake timers installed later do not stall ingest). */
const realSetImmediate = globalThis.setImmediate;
/** Resolves in the next turn of the event loop, after the I/O callbacks already due. */
const nextTurn = () => new Promise<void>((resolve) => realSetImmediate(resolve));
const TIMER_BATCH = 100;

const userActor = (by: string | undefined): Actor => ({ type: 'user', id: by ?? 'api' });
const systemActor: Actor = { type: 'system', id: 'incident-manager' };

/**
 * Creates an {@link IncidentManager}: one open incident per (service, dedup key), the lifecycle `triggered →
 * acknowledged → mitigated → resolved → closed` with refused invalid transitions, an append-only timeline, durable
 * timers (acknowledgement timeout, response targets, auto-resolve after silence), merge and duplicates, roles, notes,
 * status updates, action items and postmortems, on an in-memory or PostgreSQL store.
 *
 * @example
 * ```ts
 * const incidents = createIncidentManager({ reopenWindow: '10m' });
 * const { incident } = await incidents.trigger({ service: 'checkout', dedupKey: 'db-down', title: 'Database unreachable', severity: 'P0' });
 * await incidents.acknowledge(incident!.id, { by: 'alice' });
 * await incidents.resolve(incident!.id, { reason: 'user', note: 'failed over to the replica', by: 'alice' });
 * ```
 */
export function createIncidentManager(options: IncidentManagerOptions = {}): IncidentManager {
  const {
    store = createMemoryIncidentStore(),
    clock = systemClock,
    defaultService = 'default',
    idTimeZone = 'UTC',
    requireResolutionNote = true,
    autoStart = true,
    owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
  } = options;
  const logger = guardLogger(options.logger ?? silentLogger);
  const policy = isSeverityPolicy(options.severityPolicy)
    ? options.severityPolicy
    : createSeverityPolicy(options.severityPolicy);
  const reopenWindowMs = parseOptionalDuration(options.reopenWindow, 'reopenWindow') ?? 0;
  const coalesce = options.coalesceIngest ?? true;
  const coalesceMaxEvents = 500;
  const inboxBatch =
    options.inbox === undefined || options.inbox === false
      ? undefined
      : options.inbox === true
        ? 500
        : (options.inbox.batchSize ?? 500);
  if (inboxBatch !== undefined) {
    if (!Number.isInteger(inboxBatch) || inboxBatch < 1 || inboxBatch > 10_000)
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `inbox.batchSize must be an integer from 1 to 10000, got ${String(inboxBatch)}`,
      );
    if (typeof store.enqueueInbox !== 'function')
      throw new IncidentError('ARGUMENT_INVALID', 'inbox mode needs a store with an inbox (enqueueInbox, takeInbox)');
  }
  const timerLeaseMs = parseOptionalDuration(options.timerLease, 'timerLease') ?? 60_000;
  incidentDayKey(0, idTimeZone); // validates the zone now, not at the first incident
  const events = createEmitter<IncidentEvents>({ logger, source: 'incident' });
  const notifierConfig = options.notifiers ?? {};
  const automationConfig = options.automations ?? {};
  checkNotifiers(notifierConfig, automationConfig);
  const notifiers = new Map(Object.entries(notifierConfig));
  const automations = new Map(Object.entries(automationConfig));
  const policies = resolvePolicies(
    options.escalationPolicies ?? [],
    new Set(notifiers.keys()),
    new Set(automations.keys()),
  );
  const firstPolicy = [...policies.keys()][0];
  const routes: readonly Route[] =
    options.routes ?? (firstPolicy === undefined ? [] : [{ when: { route: 'page' }, escalationPolicy: firstPolicy }]);
  checkRoutes(routes, policies, new Set(notifiers.keys()));

  // ---- transactions ------------------------------------------------------------------------------------------

  const run = async <T>(work: (changes: ChangeSet) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      let pending: ReturnType<ChangeSet['committed']> | undefined;
      try {
        const result = await store.transaction(async (transaction) => {
          const changes = new ChangeSet(transaction, clock.now());
          const value = await work(changes);
          await changes.flush({ last: true }); // the store may commit with the timeline's round trip
          pending = changes.committed();
          return value;
        });
        if (pending) {
          // Listeners get a copy (they must not change the incident); no listener, no copy.
          for (const { name, payload } of pending.events)
            if (events.has(name)) events.emit(name, structuredClone(payload) as never);
          if (events.has('timeline.appended'))
            for (const event of pending.timeline) events.emit('timeline.appended', { at: event.at, event });
          for (const work of pending.afterCommit) {
            await work().catch((error: unknown) =>
              logger.warn({ error: safeErrorMessage(error) }, 'incident follow-up after commit failed'),
            );
          }
        }
        return result;
      } catch (error) {
        if (IncidentError.hasCode(error, 'STORE_CONFLICT') && attempt < MAX_CONFLICT_RETRIES) {
          logger.debug(
            { attempt, error: safeErrorMessage(error) },
            'incident store conflict; retrying the transaction',
          );
          continue;
        }
        throw error;
      }
    }
  };

  const levelOf = (incident: Incident): SeverityLevel =>
    policy.has(incident.severity) ? policy.level(incident.severity) : policy.levels[policy.levels.length - 1]!;

  // Dispatch creates the review document when an incident turns stable: the postmortem draft is written right after
  // the mitigate (or resolve) commits, before the call returns.
  const draftAfterCommit = (changes: ChangeSet, incident: Incident) => {
    if (!levelOf(incident).requiresPostmortem || incident.resolveReason === 'merged') return;
    changes.afterCommit(async () => {
      await manager.generatePostmortem(incident.id, { quiet: true });
    });
  };
  // Silences and windows in force, read once per transaction — before a new incident takes its number, so the
  // per-day counter's row lock is held for as few round trips as possible.
  const suppressionLists = new WeakMap<ChangeSet, Promise<{ silences: Silence[]; windows: MaintenanceWindow[] }>>();
  const suppressionsOf = (changes: ChangeSet) => {
    let lists = suppressionLists.get(changes);
    if (!lists) {
      lists = (async () => ({
        silences: await changes.transaction.listSilences({ endsAfter: changes.now }),
        windows: await changes.transaction.listMaintenanceWindows({ activeAfter: changes.now }),
      }))();
      suppressionLists.set(changes, lists);
    }
    return lists;
  };
  const dispatcher = createDispatcher({
    notifiers,
    automations,
    policies,
    routes,
    levelOf,
    publicUrl: options.publicUrl,
    suppressed: async (changes, incident) => {
      const { silences, windows } = await suppressionsOf(changes);
      if (silences.length === 0 && windows.length === 0) return undefined;
      return findSuppression(incident, changes.now, silences, windows);
    },
  });

  // ---- timers ------------------------------------------------------------------------------------------------

  const setTimer = (
    changes: ChangeSet,
    incident: Incident,
    kind: TimerKind,
    dueAt: number,
    data: Record<string, unknown> = {},
  ) => changes.transaction.setTimer({ incidentId: incident.id, kind, dueAt, data });

  /** Timers of a freshly (re)opened incident: response targets and auto-resolve. */
  const armOpenTimers = async (changes: ChangeSet, incident: Incident) => {
    const level = levelOf(incident);
    if (level.ackWithinMs !== undefined && incident.acknowledgedAt === undefined)
      await setTimer(changes, incident, 'ack_target', incident.triggeredAt + level.ackWithinMs);
    if (level.mitigateWithinMs !== undefined && incident.mitigatedAt === undefined) {
      await setTimer(changes, incident, 'mitigate_target', incident.triggeredAt + level.mitigateWithinMs);
    }
    if (level.updateEveryMs !== undefined)
      await setTimer(changes, incident, 'update_target', (incident.lastUpdateAt ?? changes.now) + level.updateEveryMs);
    if (level.autoResolveAfterSilenceMs !== undefined)
      await setTimer(changes, incident, 'auto_resolve', incident.lastSeenAt + level.autoResolveAfterSilenceMs);
  };

  // ---- status changes shared by user actions, ingest and timers ---------------------------------------------

  const setStatus = (changes: ChangeSet, incident: Incident, status: IncidentStatus) => {
    incident.status = status;
    incident.lastStatusChangeAt = changes.now;
    changes.touch(incident);
  };

  const doAcknowledge = async (changes: ChangeSet, incident: Incident, actor: Actor, note?: string) => {
    const renewing = incident.status === 'acknowledged';
    setStatus(changes, incident, 'acknowledged');
    incident.acknowledgedAt ??= changes.now;
    const level = levelOf(incident);
    await changes.transaction.deleteTimer(incident.id, 'ack_target');
    if (level.ackTimeoutMs !== undefined)
      await setTimer(changes, incident, 'ack_timeout', changes.now + level.ackTimeoutMs, {
        acknowledgedAt: changes.now,
      });
    changes.log(incident, {
      kind: 'acknowledged',
      actor,
      description: `${renewing ? 'Acknowledged again' : 'Acknowledged'} by ${actor.id}${note ? `: ${note}` : ''}`,
    });
    if (!renewing) await dispatcher.announce(changes, incident, 'incident.acknowledged');
    changes.emit('incident.acknowledged', { at: changes.now, incident });
  };

  const doUnacknowledge = async (
    changes: ChangeSet,
    incident: Incident,
    actor: Actor,
    reason: 'user' | 'ack_timeout',
    description: string,
  ) => {
    setStatus(changes, incident, 'triggered');
    await changes.transaction.deleteTimer(incident.id, 'ack_timeout');
    changes.log(incident, { kind: 'unacknowledged', actor, description });
    await dispatcher.announce(changes, incident, 'incident.unacknowledged');
    await dispatcher.restartEscalation(changes, incident);
    changes.emit('incident.unacknowledged', { at: changes.now, incident, reason });
  };

  const doResolve = async (
    changes: ChangeSet,
    incident: Incident,
    reason: ResolveReason,
    actor: Actor,
    description: string,
  ) => {
    setStatus(changes, incident, 'resolved');
    incident.resolvedAt = changes.now;
    incident.resolveReason = reason;
    incident.escalation = { ...incident.escalation, exhausted: incident.escalation.exhausted };
    delete incident.escalation.nextAt;
    await changes.transaction.deleteTimers(incident.id);
    changes.log(incident, { kind: 'resolved', actor, description, details: { reason } });
    await dispatcher.announce(changes, incident, 'incident.resolved');
    draftAfterCommit(changes, incident);
    changes.emit('incident.resolved', { at: changes.now, incident });
  };

  const doReopen = async (changes: ChangeSet, incident: Incident, actor: Actor, description: string) => {
    setStatus(changes, incident, 'triggered');
    delete incident.resolvedAt;
    delete incident.resolveReason;
    delete incident.mitigatedAt;
    incident.reopenCount += 1;
    incident.escalation = {
      ...(incident.escalation.policyId === undefined ? {} : { policyId: incident.escalation.policyId }),
      level: -1,
      loop: 0,
      exhausted: false,
    };
    changes.log(incident, { kind: 'reopened', actor, description });
    await armOpenTimers(changes, incident);
    await dispatcher.announce(changes, incident, 'incident.reopened');
    await dispatcher.startEscalation(changes, incident);
    changes.emit('incident.reopened', { at: changes.now, incident });
  };

  // ---- ingest ------------------------------------------------------------------------------------------------

  const recordMembers = async (
    changes: ChangeSet,
    incident: Incident,
    event: AlertEvent,
    severity: Severity,
    creating = false,
    /** A brand-new incident has no alerts yet: no need to look them up. */
    fresh = false,
  ) => {
    const members: AlertMember[] = event.members?.length
      ? [...event.members]
      : [
          {
            alertKey: event.alertKey ?? event.dedupKey,
            status: event.action === 'resolve' ? 'resolved' : 'firing',
            summary: event.summary,
            ...(event.fingerprint === undefined ? {} : { fingerprint: event.fingerprint }),
            ...(event.labels === undefined ? {} : { labels: event.labels }),
            ...(event.annotations === undefined ? {} : { annotations: event.annotations }),
            ...(event.startsAt === undefined ? {} : { startsAt: event.startsAt }),
            ...(event.generatorUrl === undefined ? {} : { generatorUrl: event.generatorUrl }),
          },
        ];
    const recorded: IncidentAlert[] = [];
    for (const member of members) {
      const previous = fresh ? undefined : await changes.transaction.getAlert(incident.id, member.alertKey);
      const alert: IncidentAlert = {
        id: previous?.id ?? randomUUID(),
        incidentId: incident.id,
        source: event.source,
        dedupKey: event.dedupKey,
        alertKey: member.alertKey,
        status: member.status,
        severity,
        summary: member.summary ?? previous?.summary ?? event.summary,
        labels: member.labels ?? previous?.labels ?? event.labels ?? {},
        annotations: member.annotations ?? previous?.annotations ?? event.annotations ?? {},
        startsAt: member.startsAt ?? previous?.startsAt ?? event.startsAt ?? changes.now,
        receivedAt: previous?.receivedAt ?? changes.now,
        lastSeenAt: changes.now,
        occurrences: (previous?.occurrences ?? 0) + (member.status === 'firing' ? 1 : 0),
        ...(member.fingerprint === undefined
          ? previous?.fingerprint === undefined
            ? {}
            : { fingerprint: previous.fingerprint }
          : { fingerprint: member.fingerprint }),
        ...(member.endsAt === undefined ? {} : { endsAt: member.endsAt }),
        ...((member.generatorUrl ?? previous?.generatorUrl) === undefined
          ? {}
          : { generatorUrl: (member.generatorUrl ?? previous?.generatorUrl)! }),
        ...((member.raw ?? event.raw) === undefined ? {} : { raw: member.raw ?? event.raw }),
      };
      if (member.status === 'resolved' && member.endsAt === undefined && previous?.status !== 'resolved')
        alert.endsAt = changes.now;
      if (
        member.status === 'resolved' &&
        previous?.status === 'resolved' &&
        previous.endsAt !== undefined &&
        member.endsAt === undefined
      )
        alert.endsAt = previous.endsAt;
      await changes.transaction.upsertAlert(alert);
      recorded.push(alert);
      // The incident's own alert needs no entries of its own: triggered/resolved/reopened say it all.
      const ownAlert = alert.alertKey === incident.dedupKey;
      if (member.status === 'firing' && (!previous || previous.status === 'resolved')) {
        if (!creating && !ownAlert) {
          changes.log(incident, {
            kind: 'alert_added',
            actor: actorOf(event),
            description: `${previous ? 'Alert fired again' : 'Alert added'}: ${alert.summary}`,
            details: { alertKey: alert.alertKey, labels: alert.labels },
          });
        }
      } else if (member.status === 'resolved' && !ownAlert && (!previous || previous.status === 'firing')) {
        changes.log(incident, {
          kind: 'alert_resolved',
          actor: actorOf(event),
          description: `Alert resolved: ${alert.summary}`,
          details: { alertKey: alert.alertKey, labels: alert.labels },
        });
      }
      if (
        member.startsAt !== undefined &&
        (incident.impactStartedAt === undefined || member.startsAt < incident.impactStartedAt)
      ) {
        incident.impactStartedAt = member.startsAt;
        changes.touch(incident);
      }
    }
    if (event.truncatedAlerts !== undefined && event.truncatedAlerts > 0) {
      changes.log(incident, {
        kind: 'note',
        actor: actorOf(event),
        description: `The sender left out ${event.truncatedAlerts} alert(s) of this group (truncatedAlerts)`,
        details: { truncatedAlerts: event.truncatedAlerts },
      });
    }
    return recorded;
  };

  const newIncident = async (changes: ChangeSet, event: AlertEvent, severity: Severity): Promise<Incident> => {
    const now = changes.now;
    const dayKey = incidentDayKey(now, idTimeZone);
    const { number, daySequence } = await changes.transaction.nextIncidentNumber(dayKey);
    const level = policy.level(severity);
    const firstStart = earliestStart(event);
    const incident: Incident = {
      id: formatIncidentId(dayKey, daySequence),
      number,
      service: event.service,
      title: truncate(event.summary, 1024),
      summary: truncate(event.annotations?.['description'] ?? event.annotations?.['summary'] ?? event.summary, 4096),
      dedupKey: event.dedupKey,
      status: 'triggered',
      severity,
      urgency: level.urgency,
      source: event.source,
      labels: event.labels ?? {},
      triggeredAt: now,
      lastStatusChangeAt: now,
      lastSeenAt: now,
      occurrences: 1,
      reopenCount: 0,
      escalation: { level: -1, loop: 0, exhausted: false },
      roles: { responders: [] },
      components: (event.components ?? []).map((id) => ({ id, status: level.componentStatus })),
      actionItems: [],
      version: 1,
      ...(firstStart === undefined ? {} : { impactStartedAt: Math.min(firstStart, now) }),
    };
    await changes.transaction.insertIncident(incident);
    changes.log(incident, {
      kind: 'triggered',
      actor: actorOf(event),
      description: `Triggered by ${event.source}: ${incident.title}`,
      details: { dedupKey: event.dedupKey, severity, urgency: level.urgency, labels: incident.labels },
    });
    return incident;
  };

  const upgradeSeverity = (changes: ChangeSet, incident: Incident, severity: Severity, actor: Actor) => {
    if (!policy.has(incident.severity) || policy.compare(severity, incident.severity) >= 0) return;
    const from = incident.severity;
    incident.severity = severity;
    incident.urgency = policy.level(severity).urgency;
    changes.touch(incident);
    changes.log(incident, {
      kind: 'severity_changed',
      actor,
      description: `Severity raised from ${from} to ${severity} by a new alert`,
      details: { from, to: severity },
    });
    changes.emit('incident.severity_changed', { at: changes.now, incident, from, to: severity });
  };

  const alertKeysOf = (event: AlertEvent): string[] =>
    event.members?.length ? event.members.map((member) => member.alertKey) : [event.alertKey ?? event.dedupKey];

  const applyEvent = async (changes: ChangeSet, event: AlertEvent, prefetched: boolean): Promise<IngestResult> => {
    const severity =
      event.severity === undefined ? policy.classify(classifiable(event)) : policy.level(event.severity).name;
    const alertKeys = alertKeysOf(event);
    if (!prefetched && alertKeys.length <= 100)
      await changes.transaction.prefetchAlerts?.(event.service, event.dedupKey, alertKeys);
    let open = changes.current(await changes.transaction.findOpenIncident(event.service, event.dedupKey));
    if (open && !isOpenStatus(open.status)) {
      // Resolved by an earlier event of this transaction: written down first, so the key is free in the store too.
      await changes.flush();
      open = undefined;
    }
    let target = open;
    let viaMerge = false;
    if (!target) {
      const latest = changes.current(await changes.transaction.findLatestIncident(event.service, event.dedupKey));
      const parentId = latest?.resolveReason === 'merged' ? (latest.parentId ?? latest.duplicateOf) : undefined;
      if (parentId !== undefined) {
        const parent = changes.current(await changes.transaction.getIncident(parentId));
        if (parent && isOpenStatus(parent.status)) {
          target = parent;
          viaMerge = true;
        }
      }
      if (
        !target &&
        event.action === 'trigger' &&
        latest &&
        latest.status === 'resolved' &&
        latest.resolveReason !== 'merged' &&
        reopenWindowMs > 0
      ) {
        if (latest.resolvedAt !== undefined && changes.now - latest.resolvedAt <= reopenWindowMs) {
          await doReopen(
            changes,
            latest,
            actorOf(event),
            `Reopened by a new alert ${Math.round((changes.now - latest.resolvedAt) / 1000)}s after it was resolved (within the reopen window)`,
          );
          latest.occurrences += 1;
          latest.lastSeenAt = changes.now;
          upgradeSeverity(changes, latest, severity, actorOf(event));
          await recordMembers(changes, latest, event, severity, true);
          return { action: 'reopened', incident: latest };
        }
      }
    }
    if (event.action === 'acknowledge') {
      if (!target || viaMerge)
        return { action: 'ignored', reason: `no open incident for dedup key "${event.dedupKey}"` };
      if (target.status !== 'triggered')
        return { action: 'ignored', incident: target, reason: `incident ${target.id} is ${target.status}` };
      await doAcknowledge(changes, target, actorOf(event));
      return { action: 'acknowledged', incident: target };
    }
    if (event.action === 'resolve') {
      if (!target) return { action: 'ignored', reason: `no open incident for dedup key "${event.dedupKey}"` };
      await recordMembers(changes, target, event, severity);
      if (viaMerge)
        return {
          action: 'ignored',
          incident: target,
          reason: `dedup key "${event.dedupKey}" was merged into ${target.id}; only its alert was resolved`,
        };
      target.lastSeenAt = changes.now;
      await doResolve(changes, target, 'source', actorOf(event), `Resolved by ${event.source}`);
      return { action: 'resolved', incident: target };
    }
    if (!target) {
      await suppressionsOf(changes);
      const incident = await newIncident(changes, event, severity);
      await recordMembers(changes, incident, event, severity, true, true);
      await armOpenTimers(changes, incident);
      await dispatcher.announce(changes, incident, 'incident.triggered');
      await dispatcher.startEscalation(changes, incident);
      changes.emit('incident.triggered', { at: changes.now, incident });
      return { action: 'created', incident };
    }
    target.occurrences += 1;
    target.lastSeenAt = changes.now;
    changes.touch(target);
    upgradeSeverity(changes, target, severity, actorOf(event));
    const alerts = await recordMembers(changes, target, event, severity);
    changes.emit('alert.deduplicated', { at: changes.now, incident: target, alert: alerts[0]! });
    return { action: 'appended', incident: target };
  };

  const validateEvent = (event: AlertEvent) => {
    if (!['trigger', 'acknowledge', 'resolve'].includes(event.action)) {
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `event.action must be trigger, acknowledge or resolve, got ${JSON.stringify(event.action)}`,
      );
    }
    for (const field of ['service', 'dedupKey', 'summary', 'source'] as const) {
      if (typeof event[field] !== 'string' || event[field].length === 0)
        throw new IncidentError('ARGUMENT_INVALID', `event.${field} must be a non-empty string`);
    }
    if (event.dedupKey.length > 255 * 4)
      throw new IncidentError('ARGUMENT_INVALID', 'event.dedupKey is longer than 1020 characters');
    if (event.severity !== undefined) policy.level(event.severity);
  };

  const applyBatch = (batch: readonly AlertEvent[]): Promise<IngestResult[]> =>
    run((changes) => applyEvents(changes, batch));

  const applyEvents = async (changes: ChangeSet, batch: readonly AlertEvent[]): Promise<IngestResult[]> => {
    // Lock every key first, in one global order, so concurrent batches never deadlock.
    const keys = [...new Map(batch.map((event) => [`${event.service}\u0000${event.dedupKey}`, event])).values()].sort(
      (a, b) =>
        a.service === b.service
          ? a.dedupKey < b.dedupKey
            ? -1
            : a.dedupKey > b.dedupKey
              ? 1
              : 0
          : a.service < b.service
            ? -1
            : 1,
    );
    for (const event of keys) await changes.transaction.lockDedupKey(event.service, event.dedupKey);
    // One round trip reads what the batch looks up and takes the numbers of the incidents it may create, so the
    // per-day counter stays locked from there to the commit only (a store without the hint is asked key by key).
    const prefetch = changes.transaction.prefetch;
    if (prefetch) {
      const byKey = new Map<
        string,
        { service: string; dedupKey: string; alertKeys: Set<string>; mayCreate: boolean }
      >();
      const many = new Set<string>();
      for (const event of batch) {
        const key = `${event.service}\u0000${event.dedupKey}`;
        let entry = byKey.get(key);
        if (!entry) {
          entry = { service: event.service, dedupKey: event.dedupKey, alertKeys: new Set(), mayCreate: false };
          byKey.set(key, entry);
        }
        entry.mayCreate ||= event.action === 'trigger';
        for (const alertKey of alertKeysOf(event)) entry.alertKeys.add(alertKey);
        if (entry.alertKeys.size > 100) many.add(key);
      }
      await prefetch.call(changes.transaction, {
        keys: [...byKey].map(([key, entry]) => ({ ...entry, alertKeys: many.has(key) ? [] : [...entry.alertKeys] })),
        create: { dayKey: incidentDayKey(changes.now, idTimeZone), at: changes.now },
      });
    }
    const results: IngestResult[] = [];
    for (const event of batch) results.push(await applyEvent(changes, event, prefetch !== undefined));
    return results;
  };

  // Group commit: calls that arrive while transactions are in flight are applied together in the next one (each
  // caller still resolves only once its events are committed). A combined transaction that fails is retried call by
  // call, so one caller's events never fail another's.
  const waiting: {
    events: readonly AlertEvent[];
    resolve: (results: IngestResult[]) => void;
    reject: (error: unknown) => void;
  }[] = [];
  let ingestsInFlight = 0;
  const drainIngest = async () => {
    ingestsInFlight++;
    try {
      while (waiting.length > 0) {
        // Let the calls that arrive in this turn of the event loop join: webhooks read from the sockets together, or
        // callers resumed by the previous commit, then share one transaction instead of the first going alone.
        await nextTurn();
        // Calls about the same dedup key never share a transaction: each must see the other's committed change.
        const group: typeof waiting = [];
        const keys = new Set<string>();
        const keysOf = (call: (typeof waiting)[number]) =>
          call.events.map((event) => `${event.service}\u0000${event.dedupKey}`);
        let events = 0;
        while (waiting.length > 0) {
          const next = waiting[0]!;
          if (
            group.length > 0 &&
            (events + next.events.length > coalesceMaxEvents || keysOf(next).some((key) => keys.has(key)))
          )
            break;
          waiting.shift();
          group.push(next);
          for (const key of keysOf(next)) keys.add(key);
          events += next.events.length;
        }
        try {
          const results = await applyBatch(group.flatMap((call) => call.events));
          let offset = 0;
          for (const call of group) {
            call.resolve(results.slice(offset, offset + call.events.length));
            offset += call.events.length;
          }
        } catch (error) {
          if (group.length === 1) group[0]!.reject(error);
          else for (const call of group) await applyBatch(call.events).then(call.resolve, call.reject);
        }
      }
    } finally {
      ingestsInFlight--;
    }
  };
  // ---- inbox mode: queue durably now, apply in arrival order in large batches --------------------------------

  const queued: { events: readonly AlertEvent[]; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let enqueuesInFlight = 0;
  const drainQueued = async () => {
    enqueuesInFlight++;
    try {
      while (queued.length > 0) {
        await nextTurn(); // the calls of this turn of the event loop go in the same insert
        const group = queued.splice(0, queued.length);
        try {
          await store.enqueueInbox!(group.flatMap((call) => call.events));
          for (const call of group) call.resolve();
        } catch (error) {
          for (const call of group) call.reject(error);
        }
        void applyInbox();
      }
    } finally {
      enqueuesInFlight--;
    }
  };
  const enqueue = (batch: readonly AlertEvent[]) =>
    new Promise<void>((resolve, reject) => {
      queued.push({ events: batch, resolve, reject });
      if (enqueuesInFlight < MAX_INGESTS_IN_FLIGHT) void drainQueued();
    });

  /** One batch from the inbox: its count, or -1 when another transaction holds the inbox. */
  const applyInboxBatch = (): Promise<number> =>
    run(async (changes) => {
      const take = changes.transaction.takeInbox;
      if (!take)
        throw new IncidentError('ARGUMENT_INVALID', 'inbox mode needs a store whose transactions have takeInbox');
      const entries = await take.call(changes.transaction, inboxBatch!);
      if (entries === undefined) return -1;
      const events = entries as AlertEvent[];
      for (const event of events) {
        // Queued under another severity policy (a deploy changed the levels meanwhile): classified by this one, so
        // one such event never blocks the inbox behind it.
        if (event.severity !== undefined && !policy.has(event.severity)) {
          logger.warn(
            { severity: event.severity, dedupKey: event.dedupKey },
            'a queued event names a severity this policy does not have; classifying it instead',
          );
          delete event.severity;
        }
      }
      if (events.length > 0) await applyEvents(changes, events);
      return events.length;
    });
  let applying: Promise<number> | undefined;
  let applyAgain = false;
  let retryTimer: TimerHandle | undefined;
  /** Applies what the inbox holds until it is empty; one run at a time in this process, a second call joins it. */
  const applyInbox = (): Promise<number> => {
    if (inboxBatch === undefined) return Promise.resolve(0);
    if (applying) {
      applyAgain = true;
      return applying;
    }
    applying = (async () => {
      let applied = 0;
      for (;;) {
        applyAgain = false;
        const count = await applyInboxBatch();
        if (count === -1) {
          // Another process is applying; look again shortly in case it finished before our events arrived.
          retryTimer ??= clock
            .setTimeout(() => {
              retryTimer = undefined;
              void applyInbox();
            }, 100)
            .unref();
          return applied;
        }
        applied += count;
        // Empty, and nothing was queued by this process since the batch was taken: done.
        if (count === 0 && !applyAgain) return applied;
      }
    })()
      .catch((error: unknown) => {
        logger.error(
          { error: safeErrorMessage(error) },
          'applying queued alert events failed; retried on the next tick',
        );
        return 0;
      })
      .finally(() => {
        applying = undefined;
      });
    return applying;
  };

  const ingestBatch = async (batch: readonly AlertEvent[]): Promise<IngestResult[]> => {
    for (const event of batch) validateEvent(event);
    if (batch.length === 0) return [];
    if (inboxBatch !== undefined) {
      await enqueue(batch);
      return batch.map(() => ({ action: 'queued' }));
    }
    if (!coalesce) return applyBatch(batch);
    return new Promise<IngestResult[]>((resolve, reject) => {
      waiting.push({ events: batch, resolve, reject });
      if (ingestsInFlight < MAX_INGESTS_IN_FLIGHT) void drainIngest();
    });
  };

  // ---- user actions ------------------------------------------------------------------------------------------

  const loadForUpdate = async (transaction: IncidentTransaction, id: string): Promise<Incident> => {
    const incident = await transaction.getIncident(id);
    if (!incident) throw new IncidentError('INCIDENT_NOT_FOUND', `no incident ${JSON.stringify(id)}`);
    return incident;
  };

  const refuse = (incident: Incident, action: string, allowed: readonly string[]): never => {
    throw new IncidentError(
      'TRANSITION_INVALID',
      `cannot ${action} ${incident.id}: it is ${incident.status}; ${action} is allowed from ${allowed.join(' or ')}`,
    );
  };

  const transition = (
    id: string,
    action: string,
    allowed: readonly IncidentStatus[],
    work: (changes: ChangeSet, incident: Incident) => Promise<void>,
  ) =>
    run(async (changes) => {
      const incident = await loadForUpdate(changes.transaction, id);
      if (!allowed.includes(incident.status)) refuse(incident, action, allowed);
      await work(changes, incident);
      return incident;
    });

  const edit = (id: string, work: (changes: ChangeSet, incident: Incident) => Promise<void> | void) =>
    run(async (changes) => {
      const incident = await loadForUpdate(changes.transaction, id);
      await work(changes, incident);
      changes.touch(incident);
      return incident;
    });

  const mergeInto = async (
    intoId: string,
    sourceIds: readonly string[],
    by: string | undefined,
    note: string | undefined,
    duplicate: boolean,
  ) => {
    if (sourceIds.length === 0) throw new IncidentError('ARGUMENT_INVALID', 'merge needs at least one source incident');
    if (sourceIds.includes(intoId)) throw new IncidentError('ARGUMENT_INVALID', `cannot merge ${intoId} into itself`);
    return run(async (changes) => {
      // Lock in id order, so two merges of the same incidents never deadlock.
      const locked = new Map<string, Incident>();
      for (const id of [...new Set([intoId, ...sourceIds])].sort())
        locked.set(id, await loadForUpdate(changes.transaction, id));
      const target = locked.get(intoId)!;
      if (!isOpenStatus(target.status)) refuse(target, 'merge into', ['triggered', 'acknowledged', 'mitigated']);
      const actor = userActor(by);
      for (const sourceId of sourceIds) {
        const source = locked.get(sourceId)!;
        if (source.status === 'closed' || (source.status === 'resolved' && source.resolveReason === 'merged')) {
          refuse(source, duplicate ? 'mark as duplicate' : 'merge', [
            'triggered',
            'acknowledged',
            'mitigated',
            'resolved',
          ]);
        }
        const moved = await changes.transaction.moveAlerts(source.id, target.id);
        if (duplicate) source.duplicateOf = target.id;
        else source.parentId = target.id;
        const wasOpen = isOpenStatus(source.status);
        setStatus(changes, source, 'resolved');
        source.resolvedAt ??= changes.now;
        if (wasOpen) source.resolvedAt = changes.now;
        source.resolveReason = 'merged';
        await changes.transaction.deleteTimers(source.id);
        if (wasOpen)
          await dispatcher.announce(changes, source, 'incident.resolved', { message: `merged into ${target.id}` });
        const verb = duplicate ? 'Marked as a duplicate of' : 'Merged into';
        changes.log(source, {
          kind: 'merged',
          actor,
          description: `${verb} ${target.id}${note ? `: ${note}` : ''}`,
          details: { into: target.id, duplicate },
        });
        target.occurrences += source.occurrences;
        target.lastSeenAt = Math.max(target.lastSeenAt, source.lastSeenAt);
        if (
          source.impactStartedAt !== undefined &&
          (target.impactStartedAt === undefined || source.impactStartedAt < target.impactStartedAt)
        )
          target.impactStartedAt = source.impactStartedAt;
        changes.log(target, {
          kind: 'merged',
          actor,
          description: `${source.id} ${duplicate ? 'marked as a duplicate of' : 'merged into'} this incident (${moved} alert(s) moved)`,
          details: { from: source.id, duplicate, alertsMoved: moved },
        });
        changes.touch(target);
        upgradeSeverity(changes, target, source.severity, actor);
        changes.emit('incident.merged', { at: changes.now, incident: source, into: target });
      }
      return target;
    });
  };

  // ---- timers ------------------------------------------------------------------------------------------------

  const breach = (
    changes: ChangeSet,
    incident: Incident,
    target: 'ack' | 'mitigate' | 'update',
    targetMs: number,
    description: string,
  ) => {
    changes.log(incident, {
      kind: 'target_breached',
      actor: systemActor,
      description,
      details: { target, targetMs, severity: incident.severity },
    });
    changes.emit('target.breached', { at: changes.now, incident, target, targetMs });
  };

  const fireTimer = async (
    changes: ChangeSet,
    incident: Incident,
    timer: IncidentTimer,
  ): Promise<'done' | 'kept' | number> => {
    const level = levelOf(incident);
    const now = changes.now;
    switch (timer.kind) {
      case 'ack_timeout': {
        if (incident.status !== 'acknowledged') return 'done';
        await doUnacknowledge(
          changes,
          incident,
          systemActor,
          'ack_timeout',
          `Acknowledgement timed out after ${formatMs(level.ackTimeoutMs ?? 0)}; back to triggered`,
        );
        return 'done';
      }
      case 'auto_resolve': {
        if (!isOpenStatus(incident.status) || level.autoResolveAfterSilenceMs === undefined) return 'done';
        const dueAt = incident.lastSeenAt + level.autoResolveAfterSilenceMs;
        if (dueAt > now) return dueAt;
        await doResolve(
          changes,
          incident,
          'auto_timeout',
          systemActor,
          `Auto-resolved: no alert for ${formatMs(level.autoResolveAfterSilenceMs)}`,
        );
        return 'done';
      }
      case 'ack_target': {
        if (
          incident.status === 'triggered' &&
          incident.acknowledgedAt === undefined &&
          level.ackWithinMs !== undefined
        ) {
          breach(
            changes,
            incident,
            'ack',
            level.ackWithinMs,
            `Not acknowledged within ${formatMs(level.ackWithinMs)} (${incident.severity} target)`,
          );
        }
        return 'done';
      }
      case 'mitigate_target': {
        if (
          (incident.status === 'triggered' || incident.status === 'acknowledged') &&
          level.mitigateWithinMs !== undefined
        ) {
          breach(
            changes,
            incident,
            'mitigate',
            level.mitigateWithinMs,
            `Not mitigated within ${formatMs(level.mitigateWithinMs)} (${incident.severity} target)`,
          );
        }
        return 'done';
      }
      case 'update_target': {
        if (!isOpenStatus(incident.status) || level.updateEveryMs === undefined) return 'done';
        const dueAt = (incident.lastUpdateAt ?? incident.triggeredAt) + level.updateEveryMs;
        if (dueAt > now) return dueAt;
        breach(
          changes,
          incident,
          'update',
          level.updateEveryMs,
          `No status update for ${formatMs(level.updateEveryMs)} (${incident.severity} cadence)`,
        );
        return now + level.updateEveryMs;
      }
      case 'escalation':
        return dispatcher.fireEscalation(changes, incident, timer);
      default:
        return 'done';
    }
  };

  const runTimer = (timer: IncidentTimer) =>
    run(async (changes) => {
      // The incident first, then the timer: the same lock order as every other transaction.
      const incident = await changes.transaction.getIncident(timer.incidentId);
      const current = await changes.transaction.getTimer(timer.incidentId, timer.kind);
      if (!current || current.claimedBy !== owner || current.dueAt !== timer.dueAt) return false; // rescheduled or taken meanwhile
      if (!incident) {
        await changes.transaction.deleteTimer(timer.incidentId, timer.kind, owner);
        return false;
      }
      const outcome = await fireTimer(changes, incident, current);
      if (outcome === 'done') await changes.transaction.deleteTimer(timer.incidentId, timer.kind, owner);
      else if (outcome !== 'kept')
        await changes.transaction.setTimer({
          incidentId: incident.id,
          kind: timer.kind,
          dueAt: outcome,
          data: current.data,
        });
      return true;
    });

  const runDueTimers = async (): Promise<number> => {
    let ran = 0;
    for (;;) {
      const claimed = await store.claimDueTimers({
        now: clock.now(),
        owner,
        leaseMs: timerLeaseMs,
        limit: TIMER_BATCH,
      });
      for (const timer of claimed) {
        try {
          if (await runTimer(timer)) ran++;
        } catch (error) {
          logger.warn(
            { incidentId: timer.incidentId, kind: timer.kind, error: safeErrorMessage(error) },
            'incident timer failed; it runs again when its claim lapses',
          );
        }
      }
      if (claimed.length < TIMER_BATCH) return ran;
    }
  };

  const recordDelivery = (row: NotificationRecord, outcome: DeliveryOutcome) =>
    run(async (changes) => {
      // The incident first, then the row: the same lock order as every other transaction.
      const incident = await changes.transaction.getIncident(row.incidentId);
      const current = await changes.transaction.getNotification(row.id);
      if (!current || current.status !== 'pending' || current.claimedBy !== owner) return; // another process took it over
      const automation = row.target.startsWith('automation:') ? row.target.slice('automation:'.length) : undefined;
      if (outcome.kind === 'delivered') {
        const delivered: NotificationRecord = {
          ...current,
          status: 'delivered',
          attempts: current.attempts + 1,
          deliveredAt: changes.now,
        };
        delete delivered.lastError;
        await changes.transaction.updateNotification(delivered);
        if (incident && automation !== undefined && outcome.automation) {
          const { outcome: result, detail } = outcome.automation;
          changes.log(incident, {
            kind: 'automation',
            actor: { type: 'system', id: `automation:${automation}` },
            description: `Automation ${automation}: ${result}${detail ? ` — ${detail}` : ''}`,
            details: { automation, outcome: result, ...(detail ? { detail } : {}) },
          });
          if (result === 'resolved' && isOpenStatus(incident.status)) {
            await doResolve(
              changes,
              incident,
              'escalation_step',
              { type: 'system', id: `automation:${automation}` },
              `Resolved by automation ${automation}`,
            );
          } else if (
            result === 'mitigated' &&
            (incident.status === 'triggered' || incident.status === 'acknowledged')
          ) {
            setStatus(changes, incident, 'mitigated');
            incident.mitigatedAt = changes.now;
            for (const kind of ['ack_target', 'ack_timeout', 'mitigate_target', 'escalation'] as const)
              await changes.transaction.deleteTimer(incident.id, kind);
            delete incident.escalation.nextAt;
            changes.log(incident, {
              kind: 'mitigated',
              actor: { type: 'system', id: `automation:${automation}` },
              description: `Mitigated by automation ${automation}`,
            });
            await dispatcher.announce(changes, incident, 'incident.mitigated');
            draftAfterCommit(changes, incident);
            changes.emit('incident.mitigated', { at: changes.now, incident });
          }
        } else if (incident) {
          const level = row.payload.level === undefined ? '' : ` (level ${row.payload.level + 1})`;
          changes.log(incident, {
            kind: 'notified',
            actor: { type: 'system', id: 'notifications' },
            description: `Notified ${row.target} of ${row.event}${level}`,
            details: { notificationId: row.id, target: row.target, event: row.event, attempts: delivered.attempts },
          });
        }
        changes.emit('notification.delivered', { at: changes.now, notification: delivered });
        return;
      }
      if (outcome.kind === 'retry') {
        await changes.transaction.updateNotification({
          ...current,
          attempts: current.attempts + (outcome.counted ? 1 : 0),
          nextAttemptAt: outcome.nextAttemptAt,
          lastError: outcome.error,
        });
        return;
      }
      const dead: NotificationRecord = {
        ...current,
        status: 'dead',
        attempts: current.attempts + 1,
        lastError: outcome.error,
      };
      await changes.transaction.updateNotification(dead);
      if (incident) {
        changes.log(incident, {
          kind: 'notify_failed',
          actor: { type: 'system', id: 'notifications' },
          description: `Could not notify ${row.target} of ${row.event}: ${outcome.error}`,
          details: {
            notificationId: row.id,
            target: row.target,
            event: row.event,
            attempts: dead.attempts,
            error: outcome.error,
          },
        });
      }
      changes.emit('notification.failed', { at: changes.now, notification: dead, error: outcome.error });
    });

  const delivery = createOutboxDelivery({
    store,
    owner,
    clock,
    logger,
    notifiers,
    automations,
    alertSeverityOf: (incident) => levelOf(incident).pagerDutySeverity,
    options: options.delivery ?? {},
    record: recordDelivery,
  });

  let timersRun = 0;
  let notificationsAttempted = 0;
  const loop = createPeriodicTask({
    name: 'incident-timers',
    every: options.tickEvery ?? '5s',
    clock,
    logger,
    run: async () => {
      await applyInbox();
      timersRun += await runDueTimers();
      notificationsAttempted += await delivery.deliverDue();
    },
  });
  if (autoStart) loop.start();

  // ---- auto-diagnostics --------------------------------------------------------------------------------------

  const diagnosticsActor: Actor = { type: 'system', id: 'diagnostics' };
  const diagnostics = createDiagnosticsRunner({
    diagnostics: options.diagnostics,
    pagingSeverities: policy.levels.filter((level) => level.route === 'page').map((level) => level.name),
    clock,
    logger,
    record: async (incident, results) => {
      await run(async (changes) => {
        const current = await loadForUpdate(changes.transaction, incident.id);
        for (const result of results)
          changes.log(current, {
            kind: 'diagnostics',
            actor: diagnosticsActor,
            description: describeDiagnostic(result),
            details: result,
            visibility: 'internal',
          });
        changes.emit('diagnostics.completed', { at: changes.now, incident: current, results: [...results] });
      });
    },
  });
  // Each replica runs them for the changes it made (the events come from the transaction that made the change).
  const diagnoseOnPage = ({ incident }: { incident: Incident }) => {
    if (diagnostics.wants(incident.severity)) diagnostics.start(incident);
  };
  // Only with diagnostics to run: an event nobody listens to is not copied.
  if (Object.keys(options.diagnostics?.run ?? {}).length > 0) {
    events.on('incident.triggered', diagnoseOnPage);
    events.on('incident.reopened', diagnoseOnPage);
    events.on('incident.severity_changed', (event) => {
      if (!diagnostics.wants(event.from as Severity)) diagnoseOnPage(event);
    });
  }

  const alertSink: AlertSink = async (alert) => {
    await ingestBatch([opsAlertToEvent(alert, defaultService)]);
  };

  const manager: IncidentManager = {
    severityPolicy: policy,
    store,
    alertSink,
    on: events.on,
    ingest: async (event) => (await ingestBatch([event]))[0]!,
    ingestBatch,
    trigger: async (input) => {
      const event: AlertEvent = {
        action: 'trigger',
        service: input.service,
        dedupKey: input.dedupKey ?? randomUUID(),
        summary: input.title,
        source: input.source ?? 'sdk',
        ...(input.severity === undefined ? {} : { severity: input.severity }),
        ...(input.alertSeverity === undefined ? {} : { alertSeverity: input.alertSeverity }),
        ...(input.labels === undefined ? {} : { labels: input.labels }),
        ...(input.annotations === undefined ? {} : { annotations: input.annotations }),
        ...(input.startsAt === undefined ? {} : { startsAt: input.startsAt }),
        ...(input.components === undefined ? {} : { components: input.components }),
        ...(input.by === undefined ? {} : { actor: userActor(input.by) }),
      };
      return (await ingestBatch([event]))[0]!;
    },
    get: (id) => store.getIncident(id),
    async require(id) {
      const incident = await store.getIncident(id);
      if (!incident) throw new IncidentError('INCIDENT_NOT_FOUND', `no incident ${JSON.stringify(id)}`);
      return incident;
    },
    list: (query) => store.listIncidents(query),
    timeline: (id, timelineOptions) => store.listTimeline(id, timelineOptions),
    alerts: (id) => store.listAlerts(id),
    acknowledge: (id, { by, note } = {}) =>
      transition(id, 'acknowledge', ['triggered', 'acknowledged'], (changes, incident) =>
        doAcknowledge(changes, incident, userActor(by), note),
      ),
    unacknowledge: (id, { by, note } = {}) =>
      transition(id, 'unacknowledge', ['acknowledged'], (changes, incident) =>
        doUnacknowledge(
          changes,
          incident,
          userActor(by),
          'user',
          `Unacknowledged by ${by ?? 'api'}${note ? `: ${note}` : ''}`,
        ),
      ),
    mitigate: (id, { by, note } = {}) =>
      transition(id, 'mitigate', ['triggered', 'acknowledged'], async (changes, incident) => {
        setStatus(changes, incident, 'mitigated');
        incident.mitigatedAt = changes.now;
        for (const kind of ['ack_target', 'ack_timeout', 'mitigate_target', 'escalation'] as const)
          await changes.transaction.deleteTimer(incident.id, kind);
        delete incident.escalation.nextAt;
        changes.log(incident, {
          kind: 'mitigated',
          actor: userActor(by),
          description: `Mitigated by ${by ?? 'api'}${note ? `: ${note}` : ''}`,
        });
        await dispatcher.announce(changes, incident, 'incident.mitigated');
        draftAfterCommit(changes, incident);
        changes.emit('incident.mitigated', { at: changes.now, incident });
      }),
    resolve: (id, resolveOptions) => {
      const { reason, by, note } = (resolveOptions ?? {}) as Partial<ResolveOptions>;
      const reasons: ResolveReason[] = ['source', 'user', 'auto_timeout', 'escalation_step', 'merged'];
      if (reason === undefined) {
        return Promise.reject(
          new IncidentError('RESOLVE_REASON_REQUIRED', `resolve ${id}: a reason is required (${reasons.join(', ')})`),
        );
      }
      if (!reasons.includes(reason))
        return Promise.reject(
          new IncidentError(
            'ARGUMENT_INVALID',
            `resolve ${id}: reason must be one of ${reasons.join(', ')}, got ${JSON.stringify(reason)}`,
          ),
        );
      if (reason === 'merged')
        return Promise.reject(
          new IncidentError('ARGUMENT_INVALID', `resolve ${id}: use merge() or markDuplicate() to merge`),
        );
      if (reason === 'user' && requireResolutionNote && !note?.trim()) {
        return Promise.reject(
          new IncidentError(
            'RESOLVE_REASON_REQUIRED',
            `resolve ${id}: a user resolve needs a note saying what fixed it (requireResolutionNote)`,
          ),
        );
      }
      return transition(id, 'resolve', ['triggered', 'acknowledged', 'mitigated'], (changes, incident) =>
        doResolve(
          changes,
          incident,
          reason,
          userActor(by),
          `Resolved by ${by ?? 'api'} (${reason})${note ? `: ${note}` : ''}`,
        ),
      );
    },
    closeIncident: (id, { by, note, excludeFromReview } = {}) =>
      transition(id, 'close', ['resolved'], async (changes, incident) => {
        if (incident.resolveReason === 'merged') refuse(incident, 'close', ['resolved (not merged)']);
        const level = levelOf(incident);
        if (level.requiresPostmortem && excludeFromReview === undefined) {
          const postmortem = await changes.transaction.getPostmortem(incident.id);
          if (postmortem?.status !== 'published') {
            throw new IncidentError(
              'POSTMORTEM_REQUIRED',
              `cannot close ${incident.id}: ${incident.severity} needs a published postmortem (it is ${postmortem ? postmortem.status : 'missing'}); publish it, or close with excludeFromReview`,
            );
          }
        }
        setStatus(changes, incident, 'closed');
        incident.closedAt = changes.now;
        const why = excludeFromReview === undefined ? '' : ` without review: ${excludeFromReview}`;
        changes.log(incident, {
          kind: 'closed',
          actor: userActor(by),
          description: `Closed by ${by ?? 'api'}${why}${note ? `: ${note}` : ''}`,
        });
        await dispatcher.announce(changes, incident, 'incident.closed');
        changes.emit('incident.closed', { at: changes.now, incident });
      }),
    reopen: (id, { by, note } = {}) =>
      transition(id, 'reopen', ['resolved'], async (changes, incident) => {
        if (incident.resolveReason === 'merged') refuse(incident, 'reopen', ['resolved (not merged)']);
        await doReopen(changes, incident, userActor(by), `Reopened by ${by ?? 'api'}${note ? `: ${note}` : ''}`);
      }),
    merge: (intoId, sourceIds, { by, note } = {}) => mergeInto(intoId, sourceIds, by, note, false),
    markDuplicate: (id, ofId, { by, note } = {}) => mergeInto(ofId, [id], by, note, true),
    setSeverity: (id, severity, { by, note } = {}) =>
      edit(id, async (changes, incident) => {
        const level = policy.level(severity);
        if (incident.severity === level.name) return;
        const from = incident.severity;
        incident.severity = level.name;
        incident.urgency = level.urgency;
        changes.log(incident, {
          kind: 'severity_changed',
          actor: userActor(by),
          description: `Severity changed from ${from} to ${level.name}${note ? `: ${note}` : ''}`,
          details: { from, to: level.name },
        });
        if (isOpenStatus(incident.status)) await armOpenTimers(changes, incident);
        changes.emit('incident.severity_changed', { at: changes.now, incident, from, to: level.name });
      }),
    assignRole: (id, role, user, { by } = {}) =>
      edit(id, (changes, incident) => {
        if (!['commander', 'scribe', 'liaison'].includes(role))
          throw new IncidentError(
            'ARGUMENT_INVALID',
            `role must be commander, scribe or liaison, got ${JSON.stringify(role)}`,
          );
        if (user === undefined) delete incident.roles[role];
        else incident.roles[role] = user;
        changes.log(incident, {
          kind: 'role_assigned',
          actor: userActor(by),
          description: user === undefined ? `${role} role cleared` : `${user} is ${role}`,
          details: { role, user: user ?? null },
        });
      }),
    addResponder: (id, user, { by } = {}) =>
      edit(id, (changes, incident) => {
        if (incident.roles.responders.includes(user)) return;
        incident.roles.responders.push(user);
        changes.log(incident, {
          kind: 'role_assigned',
          actor: userActor(by),
          description: `${user} joined as responder`,
          details: { role: 'responder', user },
        });
      }),
    removeResponder: (id, user, { by } = {}) =>
      edit(id, (changes, incident) => {
        if (!incident.roles.responders.includes(user)) return;
        incident.roles.responders = incident.roles.responders.filter((responder) => responder !== user);
        changes.log(incident, {
          kind: 'role_assigned',
          actor: userActor(by),
          description: `${user} left the responders`,
          details: { role: 'responder', user, removed: true },
        });
      }),
    setComponents: (id, components, { by } = {}) =>
      edit(id, (changes, incident) => {
        const status = levelOf(incident).componentStatus;
        incident.components = components.map((component) =>
          typeof component === 'string' ? { id: component, status } : { ...component },
        );
        changes.log(incident, {
          kind: 'note',
          actor: userActor(by),
          description: `Affected components: ${incident.components.map((component) => `${component.id} (${component.status})`).join(', ') || 'none'}`,
        });
      }),
    setImpactStartedAt: (id, at, { by, note } = {}) =>
      edit(id, (changes, incident) => {
        if (!Number.isFinite(at) || at > incident.triggeredAt)
          throw new IncidentError(
            'ARGUMENT_INVALID',
            `impactStartedAt must be a time at or before the trigger (${new Date(incident.triggeredAt).toISOString()})`,
          );
        incident.impactStartedAt = at;
        changes.log(incident, {
          kind: 'note',
          actor: userActor(by),
          description: `Impact start set to ${new Date(at).toISOString()}${note ? `: ${note}` : ''}`,
        });
      }),
    addNote: (id, note) =>
      run(async (changes) => {
        const incident = await loadForUpdate(changes.transaction, id);
        if (!note.body?.trim()) throw new IncidentError('ARGUMENT_INVALID', 'a note needs a body');
        changes.log(incident, {
          kind: 'note',
          actor: userActor(note.by),
          description: note.body,
          visibility: note.visibility ?? 'internal',
          ...(note.pinned ? { pinned: true } : {}),
        });
        const timeline = await changes.flush();
        return timeline[0]!;
      }),
    postUpdate: (id, update) =>
      run(async (changes) => {
        const incident = await loadForUpdate(changes.transaction, id);
        if (!update.body?.trim()) throw new IncidentError('ARGUMENT_INVALID', 'a status update needs a body');
        const visibility = update.visibility ?? 'public';
        const statuspageStatus = update.statuspageStatus ?? statuspageStatusOf(incident.status);
        if (visibility === 'public') {
          incident.lastUpdateAt = changes.now;
          changes.touch(incident);
          const level = levelOf(incident);
          if (isOpenStatus(incident.status) && level.updateEveryMs !== undefined)
            await setTimer(changes, incident, 'update_target', changes.now + level.updateEveryMs);
        }
        changes.log(incident, {
          kind: 'status_update',
          actor: userActor(update.by),
          description: update.body,
          visibility,
          details: { statuspageStatus },
          ...(update.pinned ? { pinned: true } : {}),
        });
        if (visibility === 'public')
          await dispatcher.announce(changes, incident, 'incident.status_updated', { message: update.body });
        const timeline = await changes.flush();
        return timeline.find((event) => event.kind === 'status_update')!;
      }),
    addActionItem: (id, input) =>
      run(async (changes) => {
        const incident = await loadForUpdate(changes.transaction, id);
        if (!input.title?.trim()) throw new IncidentError('ARGUMENT_INVALID', 'an action item needs a title');
        const item: ActionItem = {
          id: randomUUID(),
          title: input.title,
          priority: input.priority ?? 'medium',
          status: 'open',
          createdAt: changes.now,
          ...(input.owner === undefined ? {} : { owner: input.owner }),
          ...(input.dueAt === undefined ? {} : { dueAt: input.dueAt }),
          ...(input.externalUrl === undefined ? {} : { externalUrl: input.externalUrl }),
        };
        incident.actionItems.push(item);
        changes.touch(incident);
        changes.log(incident, {
          kind: 'action_item',
          actor: userActor(input.by),
          description: `Action item added: ${item.title}`,
          details: { item },
        });
        return item;
      }),
    updateActionItem: (id, itemId, patch) =>
      run(async (changes) => {
        const incident = await loadForUpdate(changes.transaction, id);
        const index = incident.actionItems.findIndex((item) => item.id === itemId);
        if (index < 0) throw new IncidentError('ARGUMENT_INVALID', `incident ${id} has no action item ${itemId}`);
        const { by, ...fields } = patch;
        const item = { ...incident.actionItems[index]!, ...fields };
        incident.actionItems[index] = item;
        changes.touch(incident);
        changes.log(incident, {
          kind: 'action_item',
          actor: userActor(by),
          description: `Action item updated: ${item.title} (${item.status})`,
          details: { item },
        });
        return item;
      }),
    getPostmortem: (id) => store.getPostmortem(id),
    savePostmortem: (id, input) =>
      run(async (changes) => {
        const incident = await loadForUpdate(changes.transaction, id);
        const existing = await changes.transaction.getPostmortem(incident.id);
        if (existing?.status === 'published')
          throw new IncidentError(
            'TRANSITION_INVALID',
            `the postmortem of ${id} is published; it can no longer change`,
          );
        const postmortem: Postmortem = {
          incidentId: incident.id,
          status: input.status ?? existing?.status ?? 'draft',
          sections: input.sections ?? existing?.sections ?? [],
          actionItems: input.actionItems ?? existing?.actionItems ?? [],
          createdAt: existing?.createdAt ?? changes.now,
          updatedAt: changes.now,
        };
        await changes.transaction.savePostmortem(postmortem);
        changes.log(incident, {
          kind: 'note',
          actor: userActor(input.by),
          description: `Postmortem ${existing ? 'updated' : 'created'} (${postmortem.status})`,
        });
        return postmortem;
      }),
    generatePostmortem: async (id, { replaceDraft = false, by, quiet = false } = {}) => {
      const incident = await manager.require(id);
      const [timeline, alerts] = await Promise.all([store.listTimeline(id), store.listAlerts(id)]);
      const draft = generatePostmortemDraft({ incident, timeline, alerts, policy, now: clock.now() });
      return run(async (changes) => {
        const locked = await loadForUpdate(changes.transaction, id);
        const existing = await changes.transaction.getPostmortem(id);
        if (existing && (existing.status === 'published' || !replaceDraft)) return existing;
        await changes.transaction.savePostmortem({ ...draft, createdAt: existing?.createdAt ?? draft.createdAt });
        if (!quiet)
          changes.log(locked, {
            kind: 'note',
            actor: by === undefined ? systemActor : userActor(by),
            description: `Postmortem draft ${existing ? 'regenerated' : 'generated'} from the timeline`,
          });
        return draft;
      });
    },
    postmortemMarkdown: async (id) => {
      const incident = await manager.require(id);
      const postmortem = await store.getPostmortem(id);
      if (!postmortem)
        throw new IncidentError(
          'POSTMORTEM_REQUIRED',
          `${id} has no postmortem yet (generatePostmortem creates the draft)`,
        );
      return renderPostmortemMarkdown(postmortem, incident);
    },
    publishPostmortem: (id, { by } = {}) =>
      run(async (changes) => {
        const incident = await loadForUpdate(changes.transaction, id);
        if (incident.status !== 'resolved' && incident.status !== 'mitigated')
          refuse(incident, 'publish the postmortem of', ['mitigated', 'resolved']);
        const postmortem = await changes.transaction.getPostmortem(incident.id);
        if (!postmortem)
          throw new IncidentError('POSTMORTEM_REQUIRED', `${id} has no postmortem to publish; save one first`);
        if (postmortem.status === 'published') return postmortem;
        const empty = postmortem.sections
          .filter((section) => section.required && !section.body.trim())
          .map((section) => section.title);
        if (empty.length > 0)
          throw new IncidentError(
            'POSTMORTEM_REQUIRED',
            `cannot publish the postmortem of ${id}: required section(s) empty: ${empty.join(', ')}`,
          );
        const published: Postmortem = {
          ...postmortem,
          status: 'published',
          publishedAt: changes.now,
          updatedAt: changes.now,
        };
        await changes.transaction.savePostmortem(published);
        changes.log(incident, {
          kind: 'postmortem_published',
          actor: userActor(by),
          description: `Postmortem published by ${by ?? 'api'}`,
        });
        return published;
      }),
    notifications: (id) => store.listNotifications({ incidentId: id }),
    metrics: async ({ from, to, service, isOutage } = {}) => {
      const end = to ?? clock.now();
      const start = from ?? end - 30 * 86_400_000;
      const incidents = await store.listIncidents({
        since: start - 30 * 86_400_000,
        until: end,
        limit: 10_000,
        ...(service === undefined ? {} : { service }),
      });
      return computeIncidentMetrics(incidents, { from: start, to: end, ...(isOutage ? { isOutage } : {}) });
    },
    createSilence: (input) =>
      run(async (changes) => {
        if (!Array.isArray(input.matchers) || input.matchers.length === 0)
          throw new IncidentError('ARGUMENT_INVALID', 'a silence needs at least one matcher');
        checkMatchers(input.matchers, 'matchers');
        if (!input.createdBy?.trim()) throw new IncidentError('ARGUMENT_INVALID', 'a silence needs createdBy (who)');
        if (!input.comment?.trim()) throw new IncidentError('ARGUMENT_INVALID', 'a silence needs a comment (why)');
        const startsAt = input.startsAt ?? changes.now;
        const endsAt =
          input.endsAt ??
          (input.duration === undefined ? undefined : startsAt + parseDuration(input.duration, 'duration'));
        if (endsAt === undefined)
          throw new IncidentError(
            'ARGUMENT_INVALID',
            'a silence needs endsAt or duration: silences are always temporary',
          );
        if (!(endsAt > startsAt) || endsAt <= changes.now)
          throw new IncidentError('ARGUMENT_INVALID', 'a silence must end after it starts, and in the future');
        const silence: Silence = {
          id: randomUUID(),
          matchers: input.matchers.map((matcher) => ({
            name: matcher.name,
            value: matcher.value,
            isRegex: matcher.isRegex ?? false,
            isEqual: matcher.isEqual ?? true,
          })),
          startsAt,
          endsAt,
          createdBy: input.createdBy,
          comment: input.comment,
          createdAt: changes.now,
        };
        await changes.transaction.saveSilence(silence);
        return silence;
      }),
    expireSilence: (id, { by } = {}) =>
      run(async (changes) => {
        const silence = (await changes.transaction.listSilences()).find((entry) => entry.id === id);
        if (!silence) throw new IncidentError('ARGUMENT_INVALID', `no silence ${JSON.stringify(id)}`);
        if (!silenceActive(silence, changes.now) && silence.startsAt <= changes.now) return silence;
        const expired: Silence = { ...silence, expiredAt: changes.now };
        await changes.transaction.saveSilence(expired);
        logger.info({ silence: id, by: by ?? 'api' }, 'silence expired');
        return expired;
      }),
    silences: async ({ active } = {}) => {
      const now = clock.now();
      const all = await store.listSilences(active ? { endsAfter: now } : {});
      return active ? all.filter((silence) => silenceActive(silence, now)) : all;
    },
    scheduleMaintenance: (input) =>
      run(async (changes) => {
        if (!input.title?.trim()) throw new IncidentError('ARGUMENT_INVALID', 'a maintenance window needs a title');
        if (!input.createdBy?.trim())
          throw new IncidentError('ARGUMENT_INVALID', 'a maintenance window needs createdBy');
        if (input.matchers) checkMatchers(input.matchers, 'matchers');
        const window: MaintenanceWindow = {
          id: randomUUID(),
          title: input.title,
          suppressPaging: input.suppressPaging ?? true,
          createdBy: input.createdBy,
          createdAt: changes.now,
          ...(input.description === undefined ? {} : { description: input.description }),
          ...(input.services === undefined ? {} : { services: input.services }),
          ...(input.components === undefined ? {} : { components: input.components }),
          ...(input.matchers === undefined ? {} : { matchers: input.matchers }),
        };
        if (input.recurrence) {
          if (input.startsAt !== undefined || input.endsAt !== undefined)
            throw new IncidentError('ARGUMENT_INVALID', 'give either recurrence or startsAt/endsAt, not both');
          checkRecurrence(input.recurrence, 'recurrence');
          window.recurrence = input.recurrence;
        } else {
          const startsAt = input.startsAt;
          const endsAt =
            input.endsAt ??
            (input.duration === undefined || startsAt === undefined
              ? undefined
              : startsAt + parseDuration(input.duration, 'duration'));
          if (startsAt === undefined || endsAt === undefined)
            throw new IncidentError(
              'ARGUMENT_INVALID',
              'a maintenance window needs startsAt and endsAt (or duration), or a recurrence',
            );
          if (!(endsAt > startsAt))
            throw new IncidentError('ARGUMENT_INVALID', 'a maintenance window must end after it starts');
          window.startsAt = startsAt;
          window.endsAt = endsAt;
        }
        await changes.transaction.saveMaintenanceWindow(window);
        return window;
      }),
    cancelMaintenance: (id, { by } = {}) =>
      run(async (changes) => {
        const window = (await changes.transaction.listMaintenanceWindows()).find((entry) => entry.id === id);
        if (!window) throw new IncidentError('ARGUMENT_INVALID', `no maintenance window ${JSON.stringify(id)}`);
        if (window.cancelledAt !== undefined) return window;
        const cancelled: MaintenanceWindow = { ...window, cancelledAt: changes.now };
        await changes.transaction.saveMaintenanceWindow(cancelled);
        logger.info({ maintenance: id, by: by ?? 'api' }, 'maintenance window cancelled');
        return cancelled;
      }),
    maintenance: async ({ from, to } = {}) => {
      const start = from ?? clock.now();
      const end = to ?? start + 7 * 86_400_000;
      const windows = await store.listMaintenanceWindows({ activeAfter: start });
      return windows
        .flatMap((window) => maintenanceOccurrences(window, start, end))
        .sort((a, b) => a.startsAt - b.startsAt);
    },
    runDueTimers: async () => {
      const before = timersRun;
      await loop.runNow();
      return timersRun - before;
    },
    deliverNotifications: async () => {
      const before = notificationsAttempted;
      await loop.runNow();
      return notificationsAttempted - before;
    },
    diagnose: async (id) => diagnostics.run(await manager.require(id)),
    drainInbox: () => applyInbox(),
    start: () => loop.start(),
    close: async () => {
      await loop.stop();
      retryTimer?.cancel();
      retryTimer = undefined;
      await applying;
      await diagnostics.close();
    },
  };
  return manager;
}

function isSeverityPolicy(value: SeverityPolicy | SeverityPolicyOptions | undefined): value is SeverityPolicy {
  return value !== undefined && typeof (value as SeverityPolicy).classify === 'function';
}

function actorOf(event: AlertEvent): Actor {
  return event.actor ?? { type: 'integration', id: event.source };
}

function classifiable(event: AlertEvent) {
  return {
    service: event.service,
    source: event.source,
    ...(event.alertSeverity === undefined ? {} : { severity: event.alertSeverity }),
    ...(event.labels === undefined ? {} : { labels: event.labels }),
  };
}

function earliestStart(event: AlertEvent): number | undefined {
  let earliest = event.startsAt;
  for (const member of event.members ?? []) {
    if (member.startsAt !== undefined && (earliest === undefined || member.startsAt < earliest))
      earliest = member.startsAt;
  }
  return earliest;
}

function truncate(text: string, max: number): string {
  const characters = [...text];
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join('')}…`;
}

/** Statuspage incident status for one of ours (reference §b.4). */
export function statuspageStatusOf(status: IncidentStatus): 'investigating' | 'identified' | 'monitoring' | 'resolved' {
  switch (status) {
    case 'triggered':
      return 'investigating';
    case 'acknowledged':
      return 'identified';
    case 'mitigated':
      return 'monitoring';
    default:
      return 'resolved';
  }
}

function formatMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
