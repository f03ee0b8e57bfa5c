import { parseDuration, parseOptionalDuration, type Duration } from '@ops/core';
import { IncidentError } from '../errors.js';
import type { Incident, NotificationEventName, Severity, Urgency } from '../model/records.js';

/** A target of an escalation level: a notifier id, or an automation. */
export type EscalationTarget = string | { notifier: string } | { automation: string };

/** One level of an escalation policy. */
export interface EscalationLevel {
  /** When the level starts, counted from the trigger (runbooks: L1 `0`, L2 `'5m'`, L3 `'15m'`, L4 `'30m'`). */
  startAfter: Duration;
  /** Who is paged (notifier ids) or what runs (automations). */
  targets: readonly EscalationTarget[];
  /**
   * `if_not_acked` (default): the level pages only while the incident is `triggered` — acknowledging stops paging.
   * `if_not_resolved`: it also pages while `acknowledged` (Opsgenie's if-not-closed).
   */
  condition?: 'if_not_acked' | 'if_not_resolved';
  /** Only for these severities (the level is skipped otherwise). */
  severities?: readonly Severity[];
}

/** An escalation policy (reference §b.6): levels with offsets from the trigger, repeat with a hard cap. */
export interface EscalationPolicy {
  id: string;
  name?: string;
  levels: readonly EscalationLevel[];
  /** Start over from the first level `times` times after the last one (at most 10), waiting `after` (default 5m). */
  repeat?: { times: number; after?: Duration };
  /** When every level and repeat was used: who to tell (`policy_exhausted` is always on the timeline). */
  onExhausted?: { notify?: readonly string[] };
}

/** A route: which incidents it takes, which policy pages for them, who hears about their changes. */
export interface Route {
  /** Every given field must match; no `when` matches everything. */
  when?: {
    /** The severity level's route (`page` for P0/P1, `ticket` for P2/P3 by default). */
    route?: 'page' | 'ticket';
    urgency?: Urgency;
    severities?: readonly Severity[];
    services?: readonly string[];
    /** Labels that must equal these values. */
    labels?: Record<string, string>;
  };
  /** Escalation policy started when an incident opens (paging). */
  escalationPolicy?: string;
  /** Notifier ids told about lifecycle changes (a ticket webhook, a channel). */
  notify?: readonly string[];
  /** Which changes `notify` targets hear. Default: triggered, acknowledged, resolved, reopened. */
  events?: readonly NotificationEventName[];
}

/** A level with its offset in milliseconds and targets normalised. */
export interface ResolvedLevel {
  startAfterMs: number;
  notifiers: string[];
  automations: string[];
  condition: 'if_not_acked' | 'if_not_resolved';
  severities: readonly Severity[] | undefined;
}

/** A validated policy. */
export interface ResolvedPolicy {
  id: string;
  name: string;
  levels: ResolvedLevel[];
  repeatTimes: number;
  repeatAfterMs: number;
  exhaustedNotify: string[];
}

/** The hard cap on repeats (Grafana OnCall's is 5; users found it too low, PagerDuty allows 9 loops). */
export const MAX_REPEATS = 10;

export const DEFAULT_ROUTE_EVENTS: readonly NotificationEventName[] = [
  'incident.triggered',
  'incident.acknowledged',
  'incident.resolved',
  'incident.reopened',
];

/** Validates policies against the known notifiers and automations. @throws IncidentError `ARGUMENT_INVALID` naming the field. */
export function resolvePolicies(
  policies: readonly EscalationPolicy[],
  notifiers: ReadonlySet<string>,
  automations: ReadonlySet<string>,
): Map<string, ResolvedPolicy> {
  const resolved = new Map<string, ResolvedPolicy>();
  policies.forEach((policy, index) => {
    const where = `escalationPolicies[${index}]`;
    if (typeof policy.id !== 'string' || policy.id === '')
      throw new IncidentError('ARGUMENT_INVALID', `${where}.id must be a non-empty string`);
    if (resolved.has(policy.id))
      throw new IncidentError('ARGUMENT_INVALID', `${where}.id "${policy.id}" is used twice`);
    if (!policy.levels?.length)
      throw new IncidentError('ARGUMENT_INVALID', `${where}.levels must have at least one level`);
    let previous = -1;
    const levels = policy.levels.map((level, levelIndex): ResolvedLevel => {
      const at = `${where}.levels[${levelIndex}]`;
      const startAfterMs = parseDuration(level.startAfter, `${at}.startAfter`);
      if (startAfterMs < previous)
        throw new IncidentError(
          'ARGUMENT_INVALID',
          `${at}.startAfter must not be earlier than the level before (offsets count from the trigger)`,
        );
      previous = startAfterMs;
      if (!level.targets?.length)
        throw new IncidentError('ARGUMENT_INVALID', `${at}.targets must name at least one target`);
      if (level.targets.length > 10)
        throw new IncidentError('ARGUMENT_INVALID', `${at}.targets: at most 10 targets per level`);
      const notifierIds: string[] = [];
      const automationIds: string[] = [];
      level.targets.forEach((target, targetIndex) => {
        if (typeof target === 'object' && target !== null && 'automation' in target) {
          if (!automations.has(target.automation))
            throw new IncidentError(
              'ARGUMENT_INVALID',
              `${at}.targets[${targetIndex}]: no automation "${target.automation}" (known: ${[...automations].join(', ') || 'none'})`,
            );
          automationIds.push(target.automation);
          return;
        }
        const id = typeof target === 'string' ? target : target.notifier;
        if (!notifiers.has(id))
          throw new IncidentError(
            'ARGUMENT_INVALID',
            `${at}.targets[${targetIndex}]: no notifier "${id}" (known: ${[...notifiers].join(', ') || 'none'})`,
          );
        notifierIds.push(id);
      });
      const condition = level.condition ?? 'if_not_acked';
      if (condition !== 'if_not_acked' && condition !== 'if_not_resolved')
        throw new IncidentError('ARGUMENT_INVALID', `${at}.condition must be if_not_acked or if_not_resolved`);
      return {
        startAfterMs,
        notifiers: notifierIds,
        automations: automationIds,
        condition,
        severities: level.severities,
      };
    });
    const repeatTimes = policy.repeat?.times ?? 0;
    if (!(Number.isInteger(repeatTimes) && repeatTimes >= 0 && repeatTimes <= MAX_REPEATS)) {
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `${where}.repeat.times must be an integer in [0, ${MAX_REPEATS}], got ${repeatTimes}`,
      );
    }
    const repeatAfterMs = parseOptionalDuration(policy.repeat?.after, `${where}.repeat.after`) ?? 300_000;
    if (repeatTimes > 0 && repeatAfterMs <= 0)
      throw new IncidentError('ARGUMENT_INVALID', `${where}.repeat.after must be > 0`);
    const exhaustedNotify = [...(policy.onExhausted?.notify ?? [])];
    for (const id of exhaustedNotify)
      if (!notifiers.has(id))
        throw new IncidentError('ARGUMENT_INVALID', `${where}.onExhausted.notify: no notifier "${id}"`);
    resolved.set(policy.id, {
      id: policy.id,
      name: policy.name ?? policy.id,
      levels,
      repeatTimes,
      repeatAfterMs,
      exhaustedNotify,
    });
  });
  return resolved;
}

/** Validates routes. */
export function checkRoutes(
  routes: readonly Route[],
  policies: ReadonlyMap<string, ResolvedPolicy>,
  notifiers: ReadonlySet<string>,
): void {
  routes.forEach((route, index) => {
    if (route.escalationPolicy !== undefined && !policies.has(route.escalationPolicy)) {
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `routes[${index}].escalationPolicy: no policy "${route.escalationPolicy}" (known: ${[...policies.keys()].join(', ') || 'none'})`,
      );
    }
    for (const id of route.notify ?? [])
      if (!notifiers.has(id))
        throw new IncidentError('ARGUMENT_INVALID', `routes[${index}].notify: no notifier "${id}"`);
  });
}

/** The first route matching `incident`. */
export function routeFor(
  routes: readonly Route[],
  incident: Incident,
  levelRoute: 'page' | 'ticket',
): Route | undefined {
  return routes.find((route) => {
    const when = route.when;
    if (!when) return true;
    if (when.route !== undefined && when.route !== levelRoute) return false;
    if (when.urgency !== undefined && when.urgency !== incident.urgency) return false;
    if (when.severities && !when.severities.includes(incident.severity)) return false;
    if (when.services && !when.services.includes(incident.service)) return false;
    for (const [name, value] of Object.entries(when.labels ?? {})) if (incident.labels[name] !== value) return false;
    return true;
  });
}

/** When loop `loop` of a policy starts, given when escalation started. */
export function loopStart(policy: ResolvedPolicy, startedAt: number, loop: number): number {
  const cycle = policy.levels[policy.levels.length - 1]!.startAfterMs + policy.repeatAfterMs;
  return startedAt + loop * cycle;
}
