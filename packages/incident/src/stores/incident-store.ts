import type {
  Incident,
  IncidentAlert,
  IncidentStatus,
  IncidentTimer,
  NewTimelineEvent,
  NotificationRecord,
  Postmortem,
  Severity,
  TimelineEvent,
  TimerKind,
  Visibility,
} from '../model/records.js';
import type { MaintenanceWindow, Silence } from '../suppression/suppression.js';

/** A filter for {@link IncidentStore.listIncidents}; every field narrows. Newest first. */
export interface IncidentQuery {
  /** Only these statuses. */
  status?: readonly IncidentStatus[];
  /** Only open incidents (`triggered`, `acknowledged`, `mitigated`) when true; only resolved/closed when false. */
  open?: boolean;
  service?: string;
  severity?: readonly Severity[];
  /** `triggeredAt >= since` (epoch ms). */
  since?: number;
  /** `triggeredAt < until` (epoch ms). */
  until?: number;
  /** At most this many (default 100, at most 10 000). */
  limit?: number;
}

/** Options of {@link IncidentStore.claimDueTimers}. */
export interface ClaimTimersOptions {
  /** The caller's time (epoch ms): timers with `dueAt <= now` whose claim is free or lapsed are due. */
  now: number;
  /** Claimant id (one per process). */
  owner: string;
  /** How long the claim holds; a process that dies holding it lets another take the timer after that. */
  leaseMs: number;
  /** At most this many. */
  limit: number;
}

/** A timer to store: `setTimer` replaces the (incident, kind) row and frees any claim. */
export type TimerInput = Pick<IncidentTimer, 'incidentId' | 'kind' | 'dueAt' | 'data'>;

/**
 * What a transaction may do. Everything done through one transaction becomes visible together on commit, or not at
 * all when the work throws. In the PostgreSQL store it is one database transaction; the in-memory store runs
 * transactions one at a time.
 */
export interface IncidentTransaction {
  /**
   * Serialises transactions working on one (service, dedup key) until this transaction ends (PostgreSQL: a
   * transaction-scoped advisory lock), so "find open, else insert" is not a race. The unique open index still
   * guards correctness if a caller skips it.
   */
  lockDedupKey(service: string, dedupKey: string): Promise<void>;
  /** The open incident for (service, dedup key), locked for update. */
  findOpenIncident(service: string, dedupKey: string): Promise<Incident | undefined>;
  /** The most recently triggered incident for (service, dedup key), whatever its status, locked for update. */
  findLatestIncident(service: string, dedupKey: string): Promise<Incident | undefined>;
  /** An incident by id, locked for update. */
  getIncident(id: string): Promise<Incident | undefined>;
  /** Next per-store incident number and the next sequence of the given day key (`'2026-0113'`). */
  nextIncidentNumber(dayKey: string): Promise<{ number: number; daySequence: number }>;
  /**
   * Stores a new incident. @throws IncidentError `STORE_CONFLICT` (retryable) when an open incident with the same
   * (service, dedup key) exists, or the id is taken.
   */
  insertIncident(incident: Incident): Promise<void>;
  /**
   * Replaces a stored incident. @throws IncidentError `STORE_CONFLICT` when it would make a second open incident
   * for its (service, dedup key); `INCIDENT_NOT_FOUND` when it does not exist.
   */
  updateIncident(incident: Incident): Promise<void>;
  /** An alert of an incident by its alert key. */
  getAlert(incidentId: string, alertKey: string): Promise<IncidentAlert | undefined>;
  /**
   * Optional hint, given before `findOpenIncident`: the alert keys about to be looked up in the open incident of
   * (service, dedup key). A store may fetch them together with the incident and answer `getAlert` from that.
   */
  prefetchAlerts?(service: string, dedupKey: string, alertKeys: readonly string[]): Promise<void>;
  /**
   * Optional hint, given once after `lockDedupKey` for a batch of alert events: the store may read now, in one round
   * trip, what the batch is about to look up — each key's open incident (else its latest), locked for update, and the
   * named alerts of the open ones — and answer `findOpenIncident`, `findLatestIncident` and `getAlert` from it. With
   * `create`, it may also take incident numbers now for the keys that `mayCreate` and have no open incident (and then
   * read the silences and maintenance windows in force, answering `listSilences`/`listMaintenanceWindows` with that
   * bound), so the per-day counter is locked only from the end of this round trip to the commit; `nextIncidentNumber`
   * hands them out and the numbers not handed out are given back before the commit (numbering stays without gaps).
   */
  prefetch?(request: TransactionPrefetch): Promise<void>;
  /** Inserts or replaces the alert with this (incident, alert key). */
  upsertAlert(alert: IncidentAlert): Promise<void>;
  /** Re-parents every alert of `fromIncidentId` to `toIncidentId` (merge); an alert key already there is kept. */
  moveAlerts(fromIncidentId: string, toIncidentId: string): Promise<number>;
  /**
   * Appends events to the timeline (never changed afterwards) and returns them numbered. `lastInTransaction` is a
   * hint that nothing else happens in this transaction afterwards: a store may commit with the same round trip.
   */
  appendTimeline(
    events: readonly NewTimelineEvent[],
    options?: { lastInTransaction?: boolean },
  ): Promise<TimelineEvent[]>;
  getPostmortem(incidentId: string): Promise<Postmortem | undefined>;
  savePostmortem(postmortem: Postmortem): Promise<void>;
  /** The (incident, kind) timer, locked for update. */
  getTimer(incidentId: string, kind: TimerKind): Promise<IncidentTimer | undefined>;
  /** Creates or replaces the (incident, kind) timer, unclaimed. */
  setTimer(timer: TimerInput): Promise<void>;
  /** Deletes the (incident, kind) timer; with `owner`, only while that owner's claim holds it. True when deleted. */
  deleteTimer(incidentId: string, kind: TimerKind, owner?: string): Promise<boolean>;
  /** Deletes every timer of an incident. */
  deleteTimers(incidentId: string): Promise<void>;
  /** Adds notifications to the outbox (delivered once the transaction committed). */
  enqueueNotifications(notifications: readonly NotificationRecord[]): Promise<void>;
  /** An outbox row, locked for update. */
  getNotification(id: string): Promise<NotificationRecord | undefined>;
  /** Replaces an outbox row (status, attempts, next attempt, error), freeing its claim. */
  updateNotification(notification: NotificationRecord): Promise<void>;
  /** Creates or replaces a silence. */
  saveSilence(silence: Silence): Promise<void>;
  /** Silences ending after `endsAfter` (all when absent). */
  listSilences(options?: { endsAfter?: number }): Promise<Silence[]>;
  /** Creates or replaces a maintenance window. */
  saveMaintenanceWindow(window: MaintenanceWindow): Promise<void>;
  /** Maintenance windows not cancelled before `activeAfter` (all when absent). */
  listMaintenanceWindows(options?: { activeAfter?: number }): Promise<MaintenanceWindow[]>;
  /**
   * Optional, for the manager's `inbox` mode: takes (and deletes, with this transaction) the oldest queued entries
   * of the inbox, at most `limit`, in the order they were queued. Only one transaction at a time may take, fleet-wide
   * (PostgreSQL: a transaction-scoped advisory lock): the others get `undefined` at once instead of waiting.
   */
  takeInbox?(limit: number): Promise<unknown[] | undefined>;
}

/** What {@link IncidentTransaction.prefetch} may read ahead. */
export interface TransactionPrefetch {
  /**
   * The (service, dedup key) pairs of the batch, each with the alert keys its events carry and whether one of them is
   * a trigger (which may create an incident).
   */
  keys: readonly { service: string; dedupKey: string; alertKeys: readonly string[]; mayCreate: boolean }[];
  /**
   * The day key (`'2026-0113'`) of the incidents the batch may create and the transaction's time (epoch ms): the store
   * may take their numbers now and then also read the silences ending after, and maintenance windows active after,
   * `at`. Absent: take no numbers ahead.
   */
  create?: { dayKey: string; at: number };
}

/** Options of {@link IncidentStore.claimNotifications}. */
export type ClaimNotificationsOptions = ClaimTimersOptions;

/** A filter for {@link IncidentStore.listNotifications}. */
export interface NotificationQuery {
  incidentId?: string;
  status?: readonly NotificationRecord['status'][];
  target?: string;
}

/**
 * Where incidents live. `createMemoryIncidentStore` is the default; `createPostgresIncidentStore` is the scale-out
 * one. Both pass `incidentStoreContract` from `@ops/incident/testing`.
 */
export interface IncidentStore {
  /** Runs `work` in one transaction: all of its writes are stored, or none (when `work` throws). */
  transaction<T>(work: (transaction: IncidentTransaction) => Promise<T>): Promise<T>;
  /**
   * Optional, for the manager's `inbox` mode: appends JSON entries to the durable inbox in one commit, in order
   * (`IncidentTransaction.takeInbox` takes them). Resolves once they are durable.
   */
  enqueueInbox?(entries: readonly unknown[]): Promise<void>;
  /** Optional: how many entries the inbox holds. */
  inboxSize?(): Promise<number>;
  getIncident(id: string): Promise<Incident | undefined>;
  listIncidents(query?: IncidentQuery): Promise<Incident[]>;
  /** The timeline of an incident in append order; `visibility` keeps only those events. */
  listTimeline(incidentId: string, options?: { visibility?: Visibility }): Promise<TimelineEvent[]>;
  listAlerts(incidentId: string): Promise<IncidentAlert[]>;
  getPostmortem(incidentId: string): Promise<Postmortem | undefined>;
  /**
   * Claims due timers for `owner` (PostgreSQL: `FOR UPDATE SKIP LOCKED`, then a lease), oldest first. Two callers
   * never get the same timer while a claim holds.
   */
  claimDueTimers(options: ClaimTimersOptions): Promise<IncidentTimer[]>;
  /** Every timer (of one incident when given), for inspection. */
  listTimers(incidentId?: string): Promise<IncidentTimer[]>;
  /**
   * Claims pending notifications due at `now` (PostgreSQL: `FOR UPDATE SKIP LOCKED`, then a lease), oldest first;
   * two callers never get the same row while a claim holds.
   */
  claimNotifications(options: ClaimNotificationsOptions): Promise<NotificationRecord[]>;
  /** Silences ending after `endsAfter` (all when absent), by start. */
  listSilences(options?: { endsAfter?: number }): Promise<Silence[]>;
  /** Maintenance windows not cancelled before `activeAfter` (all when absent), by creation. */
  listMaintenanceWindows(options?: { activeAfter?: number }): Promise<MaintenanceWindow[]>;
  /** Outbox rows, oldest first. */
  listNotifications(query?: NotificationQuery): Promise<NotificationRecord[]>;
  /** The earliest `dueAt` of any timer, for scheduling the next wake-up. */
  nextTimerDueAt(): Promise<number | undefined>;
  /** Frees what the store holds (not the user's pool). */
  close(): Promise<void>;
}
