import { IncidentError } from '../errors.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch (error) {
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `unknown time zone "${timeZone}" (use an IANA name such as "Europe/Berlin")`,
        { cause: error },
      );
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

function formatDayKey(epochMs: number, timeZone: string): string {
  const parts = formatterFor(timeZone).formatToParts(new Date(epochMs));
  const part = (type: string) => parts.find((entry) => entry.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}${part('day')}`;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
// Beyond this a span's ends may fall outside the range of a Date.
const LARGEST_CACHED_MS = 8.64e15 - 2 * DAY_MS;
// Per zone, the last span of time known to have one day key (formatToParts is slow, and ingest asks once per batch).
const lastSpans = new Map<string, { from: number; to: number; dayKey: string }>();

/** The day key of an epoch time in a time zone: `'2026-0113'` (the date part of an incident id). */
export function incidentDayKey(epochMs: number, timeZone = 'UTC'): string {
  const last = lastSpans.get(timeZone);
  if (last && epochMs >= last.from && epochMs <= last.to) return last.dayKey;
  const dayKey = formatDayKey(epochMs, timeZone);
  if (Math.abs(epochMs) <= LARGEST_CACHED_MS) {
    // UTC days are whole UTC days. Elsewhere an offset change (DST) may move midnight to any minute, or even second,
    // but never twice within a minute: a minute whose first and last millisecond have the same key has it throughout.
    const span = timeZone === 'UTC' ? DAY_MS : MINUTE_MS;
    const from = Math.floor(epochMs / span) * span;
    const to = from + span - 1;
    if (formatDayKey(from, timeZone) === dayKey && formatDayKey(to, timeZone) === dayKey)
      lastSpans.set(timeZone, { from, to, dayKey });
  }
  return dayKey;
}

/**
 * The human-readable id of the `daySequence`-th incident of a day: `INC-2026-0113-001` (three digits at least; the
 * thousandth incident of a day is `INC-2026-0113-1000`).
 */
export function formatIncidentId(dayKey: string, daySequence: number): string {
  return `INC-${dayKey}-${String(daySequence).padStart(3, '0')}`;
}

/** Whether `id` has the shape of an incident id. */
export function isIncidentId(id: string): boolean {
  return /^INC-\d{4}-\d{4}-\d{3,}$/.test(id);
}
