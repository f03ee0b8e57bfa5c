import { parseDuration, type Duration } from '@ops/core';
import { IncidentError } from '../errors.js';
import type { Incident } from '../model/records.js';
import { zonedParts, zonedTimeToEpoch } from './zoned-time.js';

/** An Alertmanager-style matcher (`postableSilence.matchers`). */
export interface Matcher {
  name: string;
  value: string;
  /** `value` is a regular expression matched against the whole label value. Default false. */
  isRegex?: boolean;
  /** `false` negates the match (`!=`, `!~`). Default true. */
  isEqual?: boolean;
}

/** A silence: always temporary, always signed (Alertmanager's silence, with `endsAt`, `createdBy` and `comment` required). */
export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  createdAt: number;
  /** Set when it was expired before `endsAt`. */
  expiredAt?: number;
}

/** Weekday names of recurrences. */
export type Weekday = 'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat';

/**
 * A recurring schedule in an IANA time zone: `daily` ("daily 2–5 AM"), `weekly` on `days` ("Sunday 1–4 AM"), or
 * `monthly` on the `week`-th `days[0]` of the month ("first Sunday of the month 12–6 AM"; `week: -1` is the last).
 */
export interface Recurrence {
  frequency: 'daily' | 'weekly' | 'monthly';
  timeZone: string;
  /** Local start time, `'HH:MM'`. */
  start: string;
  duration: Duration;
  days?: readonly Weekday[];
  week?: 1 | 2 | 3 | 4 | -1;
  /** First and last day the recurrence may start (epoch ms). */
  from?: number;
  until?: number;
}

/** A maintenance window: scheduled once or recurring, suppressing paging for what it covers, shown on the status page. */
export interface MaintenanceWindow {
  id: string;
  title: string;
  description?: string;
  /** Services it covers; none (with no components/matchers) covers everything. */
  services?: string[];
  /** Status-page components under maintenance. */
  components?: string[];
  /** Label matchers it covers. */
  matchers?: Matcher[];
  /** A one-off window… */
  startsAt?: number;
  endsAt?: number;
  /** …or a recurring one. */
  recurrence?: Recurrence;
  /** Suppress paging while active. Default true. */
  suppressPaging: boolean;
  createdBy: string;
  createdAt: number;
  /** Set when it was cancelled. */
  cancelledAt?: number;
}

/** One occurrence of a maintenance window. */
export interface MaintenanceOccurrence {
  window: MaintenanceWindow;
  startsAt: number;
  endsAt: number;
}

const DAY_INDEX: Record<Weekday, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

/** Validates a matcher list. */
export function checkMatchers(matchers: readonly Matcher[], where: string): void {
  matchers.forEach((matcher, index) => {
    if (typeof matcher?.name !== 'string' || matcher.name === '')
      throw new IncidentError('ARGUMENT_INVALID', `${where}[${index}].name must be a non-empty string`);
    if (typeof matcher.value !== 'string')
      throw new IncidentError('ARGUMENT_INVALID', `${where}[${index}].value must be a string`);
    if (matcher.isRegex) {
      try {
        new RegExp(matcher.value);
      } catch (error) {
        throw new IncidentError(
          'ARGUMENT_INVALID',
          `${where}[${index}].value is not a valid regular expression: ${(error as Error).message}`,
        );
      }
    }
  });
}

/** The labels matchers see for an incident: its labels, plus `service` and `severity`. */
export function incidentLabels(incident: Incident): Record<string, string> {
  return { ...incident.labels, service: incident.service, severity: incident.severity };
}

/** Whether every matcher matches `labels` (a missing label is the empty string, as in Alertmanager). */
export function matchesAll(matchers: readonly Matcher[], labels: Record<string, string>): boolean {
  return matchers.every((matcher) => {
    const value = labels[matcher.name] ?? '';
    const hit = matcher.isRegex ? new RegExp(`^(?:${matcher.value})$`).test(value) : value === matcher.value;
    return matcher.isEqual === false ? !hit : hit;
  });
}

/** Whether a silence is in force at `at`. */
export function silenceActive(silence: Silence, at: number): boolean {
  return silence.startsAt <= at && at < Math.min(silence.endsAt, silence.expiredAt ?? Infinity);
}

function parseStart(start: string, where: string): { hour: number; minute: number } {
  const match = /^(\d{1,2}):(\d{2})$/.exec(start);
  const hour = Number(match?.[1]);
  const minute = Number(match?.[2]);
  if (!match || hour > 23 || minute > 59)
    throw new IncidentError('ARGUMENT_INVALID', `${where}.start must be "HH:MM" (24 h), got ${JSON.stringify(start)}`);
  return { hour, minute };
}

/** Validates a recurrence, naming the field. */
export function checkRecurrence(recurrence: Recurrence, where: string): void {
  if (!['daily', 'weekly', 'monthly'].includes(recurrence.frequency))
    throw new IncidentError('ARGUMENT_INVALID', `${where}.frequency must be daily, weekly or monthly`);
  zonedParts(0, recurrence.timeZone);
  parseStart(recurrence.start, where);
  const durationMs = parseDuration(recurrence.duration, `${where}.duration`);
  if (durationMs <= 0 || durationMs > 7 * 86_400_000)
    throw new IncidentError('ARGUMENT_INVALID', `${where}.duration must be > 0 and at most 7d`);
  for (const day of recurrence.days ?? [])
    if (!(day in DAY_INDEX))
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `${where}.days: unknown day "${day}" (sun, mon, tue, wed, thu, fri, sat)`,
      );
  if (recurrence.frequency !== 'daily' && !recurrence.days?.length)
    throw new IncidentError('ARGUMENT_INVALID', `${where}.days is required for ${recurrence.frequency} recurrences`);
  if (recurrence.frequency === 'monthly' && recurrence.week === undefined)
    throw new IncidentError(
      'ARGUMENT_INVALID',
      `${where}.week (1–4, or -1 for the last) is required for monthly recurrences`,
    );
}

/** Occurrences of a recurrence that overlap [from, to), in order. */
export function recurrenceOccurrences(
  recurrence: Recurrence,
  from: number,
  to: number,
): { startsAt: number; endsAt: number }[] {
  const { hour, minute } = parseStart(recurrence.start, 'recurrence');
  const durationMs = parseDuration(recurrence.duration, 'recurrence.duration');
  const out: { startsAt: number; endsAt: number }[] = [];
  const days = new Set((recurrence.days ?? []).map((day) => DAY_INDEX[day]));
  // Walk local calendar days from one window-length before `from` to `to`.
  const first = zonedParts(from - durationMs - 86_400_000, recurrence.timeZone);
  let cursor = Date.UTC(first.year, first.month - 1, first.day);
  const last = zonedParts(to + 86_400_000, recurrence.timeZone);
  const end = Date.UTC(last.year, last.month - 1, last.day);
  for (; cursor <= end; cursor += 86_400_000) {
    const date = new Date(cursor);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth() + 1;
    const day = date.getUTCDate();
    const weekday = date.getUTCDay();
    if (recurrence.frequency === 'weekly' && !days.has(weekday)) continue;
    if (recurrence.frequency === 'monthly') {
      if (!days.has(weekday)) continue;
      const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
      const nth = Math.ceil(day / 7);
      const isLast = day + 7 > daysInMonth;
      if (recurrence.week === -1 ? !isLast : nth !== recurrence.week) continue;
    }
    const startsAt = zonedTimeToEpoch(year, month, day, hour, minute, recurrence.timeZone);
    const endsAt = startsAt + durationMs;
    if (recurrence.from !== undefined && startsAt < recurrence.from) continue;
    if (recurrence.until !== undefined && startsAt > recurrence.until) continue;
    if (endsAt > from && startsAt < to) out.push({ startsAt, endsAt });
  }
  return out;
}

/** Occurrences of a maintenance window overlapping [from, to). */
export function maintenanceOccurrences(window: MaintenanceWindow, from: number, to: number): MaintenanceOccurrence[] {
  const until = Math.min(to, window.cancelledAt ?? Infinity);
  if (window.recurrence)
    return recurrenceOccurrences(window.recurrence, from, until).map((occurrence) => ({ window, ...occurrence }));
  if (window.startsAt !== undefined && window.endsAt !== undefined && window.endsAt > from && window.startsAt < until) {
    return [{ window, startsAt: window.startsAt, endsAt: Math.min(window.endsAt, window.cancelledAt ?? Infinity) }];
  }
  return [];
}

/** Whether a maintenance window covers an incident (by service, component or labels; no scope covers everything). */
export function maintenanceCovers(window: MaintenanceWindow, incident: Incident): boolean {
  const scoped = Boolean(window.services?.length || window.components?.length || window.matchers?.length);
  if (!scoped) return true;
  if (window.services?.includes(incident.service)) return true;
  if (window.components?.some((id) => incident.components.some((component) => component.id === id))) return true;
  return Boolean(window.matchers?.length && matchesAll(window.matchers, incidentLabels(incident)));
}

/** Why paging is suppressed for an incident at `at`, and until when; `undefined` when it is not. */
export function findSuppression(
  incident: Incident,
  at: number,
  silences: readonly Silence[],
  windows: readonly MaintenanceWindow[],
): { reason: string; until: number; kind: 'silence' | 'maintenance'; id: string } | undefined {
  const labels = incidentLabels(incident);
  for (const silence of silences) {
    if (silenceActive(silence, at) && matchesAll(silence.matchers, labels)) {
      return {
        kind: 'silence',
        id: silence.id,
        until: Math.min(silence.endsAt, silence.expiredAt ?? Infinity),
        reason: `silence ${silence.id} by ${silence.createdBy} until ${new Date(silence.endsAt).toISOString()}: ${silence.comment}`,
      };
    }
  }
  for (const window of windows) {
    if (!window.suppressPaging || !maintenanceCovers(window, incident)) continue;
    const occurrence = maintenanceOccurrences(window, at, at + 1)[0];
    if (occurrence) {
      return {
        kind: 'maintenance',
        id: window.id,
        until: occurrence.endsAt,
        reason: `maintenance "${window.title}" until ${new Date(occurrence.endsAt).toISOString()}`,
      };
    }
  }
  return undefined;
}
