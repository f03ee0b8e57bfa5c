import { IncidentError } from '../errors.js';
import { createMutex } from '../internal/mutex.js';
import {
  isOpenStatus,
  type Incident,
  type IncidentAlert,
  type IncidentTimer,
  type NotificationRecord,
  type Postmortem,
  type TimelineEvent,
  type TimerKind,
} from '../model/records.js';
import type { MaintenanceWindow, Silence } from '../suppression/suppression.js';
import { matchesQuery, normaliseLimit } from './query.js';
import type { IncidentQuery, IncidentStore, IncidentTransaction } from './incident-store.js';

const clone = <T>(value: T): T => structuredClone(value);
const timerKey = (incidentId: string, kind: TimerKind) => `${incidentId}\u0000${kind}`;
const dedupIdentity = (service: string, dedupKey: string) => `${service}\u0000${dedupKey}`;

interface State {
  incidents: Map<string, Incident>;
  /** (service, dedup key) → id of the open incident. */
  open: Map<string, string>;
  timeline: Map<string, TimelineEvent[]>;
  alerts: Map<string, Map<string, IncidentAlert>>;
  postmortems: Map<string, Postmortem>;
  timers: Map<string, IncidentTimer>;
  dayCounters: Map<string, number>;
  outbox: Map<string, NotificationRecord>;
  silences: Map<string, Silence>;
  maintenance: Map<string, MaintenanceWindow>;
  incidentNumber: number;
  sequence: number;
  /** Inbox entries as JSON text, oldest first. */
  inbox: string[];
}

/**
 * Creates the in-memory {@link IncidentStore}: the default, for one process (lost on restart). Transactions run one
 * at a time; a transaction that throws is undone completely. Records are copied in and out, so callers never share
 * state with the store.
 *
 * @example
 * ```ts
 * const incidents = createIncidentManager({ store: createMemoryIncidentStore() });
 * ```
 */
export function createMemoryIncidentStore(): IncidentStore {
  const state: State = {
    incidents: new Map(),
    open: new Map(),
    timeline: new Map(),
    alerts: new Map(),
    postmortems: new Map(),
    timers: new Map(),
    dayCounters: new Map(),
    outbox: new Map(),
    silences: new Map(),
    maintenance: new Map(),
    incidentNumber: 0,
    sequence: 0,
    inbox: [],
  };
  const mutex = createMutex();
  let closed = false;

  const ensureOpen = () => {
    if (closed) throw new IncidentError('STORE_FAILED', 'the in-memory incident store is closed');
  };
  const read = <T>(work: () => T): Promise<T> =>
    mutex.run(async () => {
      ensureOpen();
      return work();
    });

  // Keeps `open` in step with an incident's stored status; throws on a second open incident for one key.
  const indexIncident = (previous: Incident | undefined, next: Incident) => {
    const identity = dedupIdentity(next.service, next.dedupKey);
    if (isOpenStatus(next.status)) {
      const holder = state.open.get(identity);
      if (holder !== undefined && holder !== next.id) {
        throw new IncidentError(
          'STORE_CONFLICT',
          `an open incident (${holder}) already exists for service "${next.service}" and dedup key "${next.dedupKey}"`,
          {
            isRetryable: true,
          },
        );
      }
    }
    if (previous && isOpenStatus(previous.status)) {
      const previousIdentity = dedupIdentity(previous.service, previous.dedupKey);
      if (state.open.get(previousIdentity) === previous.id) state.open.delete(previousIdentity);
    }
    if (isOpenStatus(next.status)) state.open.set(identity, next.id);
  };

  const silencesEndingAfter = (endsAfter: number | undefined) =>
    [...state.silences.values()]
      .filter(
        (silence) => endsAfter === undefined || Math.min(silence.endsAt, silence.expiredAt ?? Infinity) > endsAfter,
      )
      .sort((a, b) => a.startsAt - b.startsAt || a.createdAt - b.createdAt)
      .map(clone);
  const windowsActiveAfter = (activeAfter: number | undefined) =>
    [...state.maintenance.values()]
      .filter(
        (window) => activeAfter === undefined || window.cancelledAt === undefined || window.cancelledAt > activeAfter,
      )
      .sort((a, b) => a.createdAt - b.createdAt)
      .map(clone);
  const put = <V>(map: Map<string, V>, id: string, value: V, undo: (() => void)[]) => {
    const previous = map.get(id);
    map.set(id, clone(value));
    undo.push(() => {
      if (previous === undefined) map.delete(id);
      else map.set(id, previous);
    });
  };

  return {
    transaction<T>(work: (transaction: IncidentTransaction) => Promise<T>): Promise<T> {
      return mutex.run(async () => {
        ensureOpen();
        const undo: (() => void)[] = [];
        const transaction: IncidentTransaction = {
          async lockDedupKey() {
            // Transactions already run one at a time.
          },
          async findOpenIncident(service, dedupKey) {
            const id = state.open.get(dedupIdentity(service, dedupKey));
            const incident = id === undefined ? undefined : state.incidents.get(id);
            return incident && clone(incident);
          },
          async findLatestIncident(service, dedupKey) {
            let latest: Incident | undefined;
            for (const incident of state.incidents.values()) {
              if (incident.service !== service || incident.dedupKey !== dedupKey) continue;
              if (
                !latest ||
                incident.triggeredAt > latest.triggeredAt ||
                (incident.triggeredAt === latest.triggeredAt && incident.number > latest.number)
              ) {
                latest = incident;
              }
            }
            return latest && clone(latest);
          },
          async getIncident(id) {
            const incident = state.incidents.get(id);
            return incident && clone(incident);
          },
          async nextIncidentNumber(dayKey) {
            const number = ++state.incidentNumber;
            const daySequence = (state.dayCounters.get(dayKey) ?? 0) + 1;
            state.dayCounters.set(dayKey, daySequence);
            undo.push(() => {
              state.incidentNumber--;
              if (daySequence === 1) state.dayCounters.delete(dayKey);
              else state.dayCounters.set(dayKey, daySequence - 1);
            });
            return { number, daySequence };
          },
          async insertIncident(incident) {
            if (state.incidents.has(incident.id)) {
              throw new IncidentError('STORE_CONFLICT', `an incident with id ${incident.id} already exists`, {
                isRetryable: true,
              });
            }
            const copy = clone(incident);
            const openBefore = new Map(state.open);
            indexIncident(undefined, copy);
            state.incidents.set(copy.id, copy);
            undo.push(() => {
              state.incidents.delete(copy.id);
              state.open = openBefore;
            });
          },
          async updateIncident(incident) {
            const previous = state.incidents.get(incident.id);
            if (!previous) throw new IncidentError('INCIDENT_NOT_FOUND', `no incident ${incident.id}`);
            const copy = clone(incident);
            const openBefore = new Map(state.open);
            indexIncident(previous, copy);
            state.incidents.set(copy.id, copy);
            undo.push(() => {
              state.incidents.set(previous.id, previous);
              state.open = openBefore;
            });
          },
          async getAlert(incidentId, alertKey) {
            const alert = state.alerts.get(incidentId)?.get(alertKey);
            return alert && clone(alert);
          },
          async upsertAlert(alert) {
            let byKey = state.alerts.get(alert.incidentId);
            if (!byKey) state.alerts.set(alert.incidentId, (byKey = new Map()));
            const map = byKey;
            const previous = map.get(alert.alertKey);
            map.set(alert.alertKey, clone(alert));
            undo.push(() => {
              if (previous) map.set(alert.alertKey, previous);
              else map.delete(alert.alertKey);
            });
          },
          async moveAlerts(fromIncidentId, toIncidentId) {
            const from = state.alerts.get(fromIncidentId);
            if (!from || from.size === 0 || fromIncidentId === toIncidentId) return 0;
            let to = state.alerts.get(toIncidentId);
            if (!to) state.alerts.set(toIncidentId, (to = new Map()));
            const target = to;
            const before = new Map(target);
            const fromBefore = new Map(from);
            let moved = 0;
            for (const [key, alert] of from) {
              if (target.has(key)) continue;
              target.set(key, { ...alert, incidentId: toIncidentId });
              from.delete(key);
              moved++;
            }
            undo.push(() => {
              state.alerts.set(toIncidentId, before);
              state.alerts.set(fromIncidentId, fromBefore);
            });
            return moved;
          },
          async appendTimeline(events) {
            const stored = events.map((event) => ({ ...clone(event), sequence: ++state.sequence }));
            for (const event of stored) {
              let list = state.timeline.get(event.incidentId);
              if (!list) state.timeline.set(event.incidentId, (list = []));
              list.push(event);
            }
            undo.push(() => {
              for (const event of stored) {
                const list = state.timeline.get(event.incidentId);
                const index = list?.indexOf(event) ?? -1;
                if (list && index >= 0) list.splice(index, 1);
              }
              state.sequence -= stored.length;
            });
            return stored.map(clone);
          },
          async getPostmortem(incidentId) {
            const postmortem = state.postmortems.get(incidentId);
            return postmortem && clone(postmortem);
          },
          async savePostmortem(postmortem) {
            const previous = state.postmortems.get(postmortem.incidentId);
            state.postmortems.set(postmortem.incidentId, clone(postmortem));
            undo.push(() => {
              if (previous) state.postmortems.set(postmortem.incidentId, previous);
              else state.postmortems.delete(postmortem.incidentId);
            });
          },
          async getTimer(incidentId, kind) {
            const timer = state.timers.get(timerKey(incidentId, kind));
            return timer && clone(timer);
          },
          async setTimer(timer) {
            const key = timerKey(timer.incidentId, timer.kind);
            const previous = state.timers.get(key);
            state.timers.set(key, {
              incidentId: timer.incidentId,
              kind: timer.kind,
              dueAt: timer.dueAt,
              data: clone(timer.data),
            });
            undo.push(() => {
              if (previous) state.timers.set(key, previous);
              else state.timers.delete(key);
            });
          },
          async deleteTimer(incidentId, kind, owner) {
            const key = timerKey(incidentId, kind);
            const previous = state.timers.get(key);
            if (!previous || (owner !== undefined && previous.claimedBy !== owner)) return false;
            state.timers.delete(key);
            undo.push(() => state.timers.set(key, previous));
            return true;
          },
          async enqueueNotifications(notifications) {
            for (const notification of notifications) {
              if (state.outbox.has(notification.id))
                throw new IncidentError('STORE_CONFLICT', `notification ${notification.id} already exists`, {
                  isRetryable: true,
                });
            }
            for (const notification of notifications) state.outbox.set(notification.id, clone(notification));
            undo.push(() => {
              for (const notification of notifications) state.outbox.delete(notification.id);
            });
          },
          async getNotification(id) {
            const notification = state.outbox.get(id);
            return notification && clone(notification);
          },
          async updateNotification(notification) {
            const previous = state.outbox.get(notification.id);
            if (!previous) throw new IncidentError('ARGUMENT_INVALID', `no notification ${notification.id}`);
            const { claimedBy: _claimedBy, claimedUntil: _claimedUntil, ...unclaimed } = clone(notification);
            state.outbox.set(notification.id, unclaimed);
            undo.push(() => state.outbox.set(notification.id, previous));
          },
          async saveSilence(silence) {
            put(state.silences, silence.id, silence, undo);
          },
          async listSilences(options = {}) {
            return silencesEndingAfter(options.endsAfter);
          },
          async saveMaintenanceWindow(window) {
            put(state.maintenance, window.id, window, undo);
          },
          async listMaintenanceWindows(options = {}) {
            return windowsActiveAfter(options.activeAfter);
          },
          async takeInbox(limit) {
            const taken = state.inbox.splice(0, Math.max(0, limit));
            undo.push(() => state.inbox.unshift(...taken));
            return taken.map((entry) => JSON.parse(entry) as unknown);
          },
          async deleteTimers(incidentId) {
            for (const [key, timer] of [...state.timers]) {
              if (timer.incidentId !== incidentId) continue;
              state.timers.delete(key);
              undo.push(() => state.timers.set(key, timer));
            }
          },
        };
        try {
          return await work(transaction);
        } catch (error) {
          for (const step of undo.reverse()) step();
          throw error;
        }
      });
    },
    async enqueueInbox(entries) {
      const texts = entries.map((entry) => JSON.stringify(entry));
      await mutex.run(async () => {
        state.inbox.push(...texts);
      });
    },
    inboxSize: async () => state.inbox.length,
    getIncident: (id) => read(() => clone(state.incidents.get(id))),
    listIncidents: (query: IncidentQuery = {}) =>
      read(() => {
        const limit = normaliseLimit(query.limit);
        return [...state.incidents.values()]
          .filter((incident) => matchesQuery(incident, query))
          .sort((a, b) => b.triggeredAt - a.triggeredAt || b.number - a.number)
          .slice(0, limit)
          .map(clone);
      }),
    listTimeline: (incidentId, options = {}) =>
      read(() =>
        (state.timeline.get(incidentId) ?? [])
          .filter((event) => options.visibility === undefined || event.visibility === options.visibility)
          .map(clone),
      ),
    listAlerts: (incidentId) =>
      read(() =>
        [...(state.alerts.get(incidentId)?.values() ?? [])].sort((a, b) => a.receivedAt - b.receivedAt).map(clone),
      ),
    getPostmortem: (incidentId) => read(() => clone(state.postmortems.get(incidentId))),
    claimDueTimers: ({ now, owner, leaseMs, limit }) =>
      read(() => {
        const due = [...state.timers.values()]
          .filter((timer) => timer.dueAt <= now && (timer.claimedUntil === undefined || timer.claimedUntil <= now))
          .sort((a, b) => a.dueAt - b.dueAt)
          .slice(0, limit);
        for (const timer of due) {
          timer.claimedBy = owner;
          timer.claimedUntil = now + leaseMs;
        }
        return due.map(clone);
      }),
    claimNotifications: ({ now, owner, leaseMs, limit }) =>
      read(() => {
        const due = [...state.outbox.values()]
          .filter(
            (row) =>
              row.status === 'pending' &&
              row.nextAttemptAt <= now &&
              (row.claimedUntil === undefined || row.claimedUntil <= now),
          )
          .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt)
          .slice(0, limit);
        for (const row of due) {
          row.claimedBy = owner;
          row.claimedUntil = now + leaseMs;
        }
        return due.map(clone);
      }),
    listSilences: (options = {}) => read(() => silencesEndingAfter(options.endsAfter)),
    listMaintenanceWindows: (options = {}) => read(() => windowsActiveAfter(options.activeAfter)),
    listNotifications: (query = {}) =>
      read(() =>
        [...state.outbox.values()]
          .filter(
            (row) =>
              (query.incidentId === undefined || row.incidentId === query.incidentId) &&
              (query.status === undefined || query.status.includes(row.status)) &&
              (query.target === undefined || row.target === query.target),
          )
          .sort((a, b) => a.createdAt - b.createdAt)
          .map(clone),
      ),
    listTimers: (incidentId) =>
      read(() =>
        [...state.timers.values()]
          .filter((timer) => incidentId === undefined || timer.incidentId === incidentId)
          .sort((a, b) => a.dueAt - b.dueAt)
          .map(clone),
      ),
    nextTimerDueAt: () =>
      read(() => {
        let next: number | undefined;
        for (const timer of state.timers.values()) {
          const at = Math.max(timer.dueAt, timer.claimedUntil ?? 0);
          if (next === undefined || at < next) next = at;
        }
        return next;
      }),
    async close() {
      await mutex.run(async () => {
        closed = true;
      });
    },
  };
}
