import { randomUUID } from 'node:crypto';
import { IncidentError } from '../errors.js';
import {
  DEFAULT_ROUTE_EVENTS,
  loopStart,
  routeFor,
  type ResolvedPolicy,
  type Route,
} from '../escalation/escalation-policy.js';
import type { ChangeSet } from '../lifecycle/change-set.js';
import type { Incident, IncidentTimer, NotificationEventName, NotificationRecord } from '../model/records.js';
import type { Automation, Notifier } from '../notifiers/notifier.js';
import type { SeverityLevel } from '../severity/severity-policy.js';

/** While paging is held back, the escalation timer looks again this often (a silence may be expired early). */
const SUPPRESSION_RECHECK_MS = 60_000;

/** The prefix of outbox targets that are automations. */
export const AUTOMATION_TARGET = 'automation:';

/** What the dispatcher needs of the manager's configuration. */
export interface DispatcherConfig {
  notifiers: ReadonlyMap<string, Notifier>;
  automations: ReadonlyMap<string, Automation>;
  policies: ReadonlyMap<string, ResolvedPolicy>;
  routes: readonly Route[];
  levelOf: (incident: Incident) => SeverityLevel;
  publicUrl: ((incident: Incident) => string | undefined) | undefined;
  /** Whether paging is suppressed for the incident now (silences, maintenance): why, and until when. */
  suppressed?: (changes: ChangeSet, incident: Incident) => Promise<{ reason: string; until: number } | undefined>;
}

/**
 * Decides who hears what, inside the transaction of the change: route subscribers and paged targets get outbox rows;
 * escalation levels run on durable timers.
 */
export interface Dispatcher {
  /** Queues `event` for the incident's route subscribers (and, for follow-ups, the targets already paged). */
  announce(
    changes: ChangeSet,
    incident: Incident,
    event: NotificationEventName,
    extra?: { message?: string },
  ): Promise<void>;
  /** Starts the route's escalation policy for a (re)opened incident. */
  startEscalation(changes: ChangeSet, incident: Incident): Promise<void>;
  /** After an unacknowledge: pages the current level again now (PagerDuty), and carries on from there. */
  restartEscalation(changes: ChangeSet, incident: Incident): Promise<void>;
  /** Runs a due escalation timer; returns `'done'` (remove the timer) or `'kept'` (it was rescheduled for the next level). */
  fireEscalation(changes: ChangeSet, incident: Incident, timer: IncidentTimer): Promise<'done' | 'kept'>;
}

export function createDispatcher(config: DispatcherConfig): Dispatcher {
  const { notifiers, policies, routes, levelOf } = config;

  const wants = (target: string, event: NotificationEventName) => {
    const notifier = notifiers.get(target);
    return notifier !== undefined && (notifier.events === undefined || notifier.events.includes(event));
  };

  const enqueue = async (
    changes: ChangeSet,
    incident: Incident,
    targets: readonly string[],
    event: NotificationEventName,
    extra: { level?: number; loop?: number; message?: string } = {},
  ) => {
    if (targets.length === 0) return;
    const url = config.publicUrl?.(incident);
    const rows: NotificationRecord[] = targets.map((target) => ({
      id: randomUUID(),
      incidentId: incident.id,
      target,
      event,
      payload: {
        event,
        incident: structuredClone(incident),
        at: changes.now,
        ...(extra.level === undefined ? {} : { level: extra.level }),
        ...(extra.loop === undefined ? {} : { loop: extra.loop }),
        ...(extra.message === undefined ? {} : { message: extra.message }),
        ...(url === undefined ? {} : { url }),
      },
      status: 'pending',
      attempts: 0,
      nextAttemptAt: changes.now,
      createdAt: changes.now,
    }));
    await changes.transaction.enqueueNotifications(rows);
  };

  const route = (incident: Incident) => routeFor(routes, incident, levelOf(incident).route);

  const scheduleLevel = async (
    changes: ChangeSet,
    incident: Incident,
    policy: ResolvedPolicy,
    level: number,
    loop: number,
    startedAt: number,
    heldUntil?: number,
  ) => {
    const dueAt =
      heldUntil === undefined
        ? Math.max(changes.now, loopStart(policy, startedAt, loop) + policy.levels[level]!.startAfterMs)
        : Math.min(heldUntil, changes.now + SUPPRESSION_RECHECK_MS);
    await changes.transaction.setTimer({
      incidentId: incident.id,
      kind: 'escalation',
      dueAt,
      data: { policyId: policy.id, level, loop, startedAt, ...(heldUntil === undefined ? {} : { held: true }) },
    });
    incident.escalation = { ...incident.escalation, nextAt: dueAt, exhausted: false, startedAt };
    changes.touch(incident);
    return dueAt;
  };

  return {
    async announce(changes, incident, event, extra = {}) {
      const subscribed = route(incident);
      const targets = new Set<string>();
      const interested =
        subscribed &&
        (subscribed.events ?? DEFAULT_ROUTE_EVENTS).includes(event) &&
        (subscribed.notify ?? []).some((id) => wants(id, event));
      // Silences and maintenance mute route subscribers; targets already paged still hear how it ends.
      if (interested && !(await config.suppressed?.(changes, incident)))
        for (const id of subscribed.notify ?? []) if (wants(id, event)) targets.add(id);
      // Whoever was paged hears how it ends (PagerDuty stops paging on acknowledge/resolve).
      if (event === 'incident.acknowledged' || event === 'incident.resolved' || event === 'incident.mitigated') {
        for (const id of incident.escalation.paged ?? []) if (wants(id, event)) targets.add(id);
      }
      await enqueue(changes, incident, [...targets], event, extra);
    },

    async startEscalation(changes, incident) {
      const policyId = route(incident)?.escalationPolicy;
      const policy = policyId === undefined ? undefined : policies.get(policyId);
      if (!policy) return;
      incident.escalation = {
        policyId: policy.id,
        level: -1,
        loop: 0,
        exhausted: false,
        paged: incident.escalation.paged ?? [],
      };
      const suppression = await config.suppressed?.(changes, incident);
      if (suppression) {
        // Not dropped: the incident is stored, and paging starts when the silence or maintenance ends (if still needed).
        changes.log(incident, {
          kind: 'silenced',
          actor: { type: 'system', id: 'escalation' },
          description: `Paging suppressed by ${suppression.reason}; escalation starts at ${new Date(suppression.until).toISOString()} if still needed`,
          details: { until: suppression.until },
        });
        await scheduleLevel(changes, incident, policy, 0, 0, changes.now, suppression.until);
        return;
      }
      await scheduleLevel(changes, incident, policy, 0, 0, changes.now);
    },

    async restartEscalation(changes, incident) {
      const policy =
        incident.escalation.policyId === undefined ? undefined : policies.get(incident.escalation.policyId);
      if (!policy || incident.escalation.exhausted) return;
      const level = Math.max(0, incident.escalation.level);
      const loop = incident.escalation.loop;
      // Shift the start so the current level is due now and later levels keep their spacing.
      const startedAt = changes.now - policy.levels[level]!.startAfterMs - loopStart(policy, 0, loop);
      await scheduleLevel(changes, incident, policy, level, loop, startedAt);
    },

    async fireEscalation(changes, incident, timer) {
      const data = timer.data as {
        policyId?: string;
        level?: number;
        loop?: number;
        startedAt?: number;
        held?: boolean;
      };
      const policy = data.policyId === undefined ? undefined : policies.get(data.policyId);
      if (!policy || data.level === undefined || data.loop === undefined || data.startedAt === undefined) return 'done';
      const levelIndex = Math.min(data.level, policy.levels.length - 1);
      const level = policy.levels[levelIndex]!;
      const allowed =
        level.condition === 'if_not_acked'
          ? incident.status === 'triggered'
          : incident.status === 'triggered' || incident.status === 'acknowledged';
      if (!allowed) {
        // Acknowledged (or past it): paging pauses here; an unacknowledge restarts this level.
        delete incident.escalation.nextAt;
        changes.touch(incident);
        return 'done';
      }
      const suppression = await config.suppressed?.(changes, incident);
      if (suppression) {
        if (!data.held) {
          changes.log(incident, {
            kind: 'silenced',
            actor: { type: 'system', id: 'escalation' },
            description: `Level ${levelIndex + 1} held back by ${suppression.reason}`,
            details: { level: levelIndex, until: suppression.until },
          });
        }
        await scheduleLevel(changes, incident, policy, levelIndex, data.loop, data.startedAt, suppression.until);
        return 'kept';
      }
      // Held back until now: later levels keep their spacing from this page.
      if (data.held)
        data.startedAt = changes.now - policy.levels[levelIndex]!.startAfterMs - loopStart(policy, 0, data.loop);
      const skip = level.severities !== undefined && !level.severities.includes(incident.severity);
      if (!skip) {
        const targets = [...level.notifiers.filter((id) => wants(id, 'incident.escalated'))];
        incident.escalation = {
          ...incident.escalation,
          level: levelIndex,
          loop: data.loop,
          paged: [...new Set([...(incident.escalation.paged ?? []), ...level.notifiers])],
        };
        changes.touch(incident);
        await enqueue(changes, incident, targets, 'incident.escalated', { level: levelIndex, loop: data.loop });
        await enqueue(
          changes,
          incident,
          level.automations.map((id) => `${AUTOMATION_TARGET}${id}`),
          'incident.automation',
          { level: levelIndex, loop: data.loop },
        );
        const names = [...level.notifiers, ...level.automations.map((id) => `automation ${id}`)];
        changes.log(incident, {
          kind: 'escalated',
          actor: { type: 'system', id: 'escalation' },
          description: `Escalated to level ${levelIndex + 1}${data.loop > 0 ? ` (repeat ${data.loop})` : ''} of ${policy.name}: ${names.join(', ')}`,
          details: { policyId: policy.id, level: levelIndex, loop: data.loop, targets: names },
        });
        changes.emit('incident.escalated', {
          at: changes.now,
          incident,
          level: levelIndex,
          loop: data.loop,
          targets: names,
        });
      }
      const nextLevel = levelIndex + 1;
      if (nextLevel < policy.levels.length) {
        await scheduleLevel(changes, incident, policy, nextLevel, data.loop, data.startedAt);
        return 'kept';
      }
      if (data.loop < policy.repeatTimes) {
        await scheduleLevel(changes, incident, policy, 0, data.loop + 1, data.startedAt);
        return 'kept';
      }
      incident.escalation = { ...incident.escalation, exhausted: true };
      delete incident.escalation.nextAt;
      changes.touch(incident);
      changes.log(incident, {
        kind: 'policy_exhausted',
        actor: { type: 'system', id: 'escalation' },
        description: `Escalation policy ${policy.name} exhausted after ${policy.levels.length} level(s) and ${policy.repeatTimes} repeat(s) without an acknowledgement`,
        details: { policyId: policy.id },
      });
      await enqueue(
        changes,
        incident,
        policy.exhaustedNotify.filter((id) => wants(id, 'incident.escalated')),
        'incident.escalated',
        { level: levelIndex, loop: data.loop, message: 'escalation policy exhausted' },
      );
      changes.emit('escalation.exhausted', { at: changes.now, incident, policyId: policy.id });
      return 'done';
    },
  };
}

/** Throws when a notifier map entry is not a notifier. */
export function checkNotifiers(notifiers: Record<string, Notifier>, automations: Record<string, Automation>): void {
  for (const [id, notifier] of Object.entries(notifiers)) {
    if (id.startsWith(AUTOMATION_TARGET))
      throw new IncidentError('ARGUMENT_INVALID', `notifiers: id "${id}" must not start with "${AUTOMATION_TARGET}"`);
    if (typeof notifier?.send !== 'function')
      throw new IncidentError('ARGUMENT_INVALID', `notifiers.${id} must be a notifier (an object with send())`);
  }
  for (const [id, automation] of Object.entries(automations)) {
    if (typeof automation !== 'function')
      throw new IncidentError('ARGUMENT_INVALID', `automations.${id} must be a function`);
  }
}
