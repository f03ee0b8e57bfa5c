import { randomUUID } from 'node:crypto';
import type { Actor, Incident, NewTimelineEvent, TimelineEvent, TimelineKind, Visibility } from '../model/records.js';
import type { IncidentTransaction } from '../stores/incident-store.js';
import type { IncidentEvents } from './incident-events.js';

/** A timeline entry as the lifecycle writes it. */
export interface TimelineEntry {
  kind: TimelineKind;
  description: string;
  actor: Actor;
  details?: unknown;
  visibility?: Visibility;
  pinned?: boolean;
  endedAt?: number;
}

type PendingEvent = {
  [Name in keyof IncidentEvents]: { name: Name; payload: IncidentEvents[Name] };
}[keyof IncidentEvents];

/**
 * What one transaction changes besides the store writes it makes directly: timeline entries (appended in one call),
 * incidents to write back, and events to emit once the transaction committed.
 */
export class ChangeSet {
  readonly transaction: IncidentTransaction;
  readonly now: number;
  readonly #timeline: NewTimelineEvent[] = [];
  readonly #events: PendingEvent[] = [];
  readonly #dirty = new Map<string, Incident>();
  readonly #appended: TimelineEvent[] = [];
  readonly #afterCommit: (() => Promise<void>)[] = [];

  constructor(transaction: IncidentTransaction, now: number) {
    this.transaction = transaction;
    this.now = now;
  }

  /** Appends a timeline entry for `incident` (written at the end of the transaction). */
  log(incident: Incident, entry: TimelineEntry): void {
    this.#timeline.push({
      id: randomUUID(),
      incidentId: incident.id,
      at: this.now,
      kind: entry.kind,
      actor: entry.actor,
      description: entry.description,
      visibility: entry.visibility ?? 'internal',
      ...(entry.details === undefined ? {} : { details: entry.details }),
      ...(entry.pinned === undefined ? {} : { pinned: entry.pinned }),
      ...(entry.endedAt === undefined ? {} : { endedAt: entry.endedAt }),
    });
  }

  /** Marks `incident` changed: it is written back (version + 1) at the end of the transaction. */
  touch(incident: Incident): void {
    this.#dirty.set(incident.id, incident);
  }

  /**
   * The copy of `incident` this transaction already changed, if any, else `incident`: two events about one incident
   * in one transaction then build on each other instead of the second overwriting the first when written back.
   */
  current(incident: Incident): Incident;
  current(incident: Incident | undefined): Incident | undefined;
  current(incident: Incident | undefined): Incident | undefined {
    return incident && (this.#dirty.get(incident.id) ?? incident);
  }

  /** Queues an event, emitted after commit. */
  emit<Name extends keyof IncidentEvents>(name: Name, payload: IncidentEvents[Name]): void {
    this.#events.push({ name, payload } as PendingEvent);
  }

  /**
   * Writes the touched incidents and the timeline logged since the last flush; returns what this flush appended.
   * Safe to call more than once (the lifecycle flushes again at the end of every transaction).
   */
  async flush(options: { last?: boolean } = {}): Promise<TimelineEvent[]> {
    const dirty = [...this.#dirty.values()];
    this.#dirty.clear();
    for (const incident of dirty) {
      incident.version += 1;
      await this.transaction.updateIncident(incident);
    }
    const pending = this.#timeline.splice(0);
    const appended =
      pending.length > 0
        ? await this.transaction.appendTimeline(pending, options.last ? { lastInTransaction: true } : undefined)
        : [];
    this.#appended.push(...appended);
    return appended;
  }

  /** Work to do once the transaction committed (awaited by the caller; a failure is logged, not thrown). */
  afterCommit(work: () => Promise<void>): void {
    this.#afterCommit.push(work);
  }

  /** Everything to emit once the transaction committed: queued events, then one `timeline.appended` per entry. */
  committed(): { events: PendingEvent[]; timeline: TimelineEvent[]; afterCommit: (() => Promise<void>)[] } {
    return { events: this.#events, timeline: this.#appended, afterCommit: this.#afterCommit };
  }
}
