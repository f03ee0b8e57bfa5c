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

/** The day key of an epoch time in a time zone: `'2026-0113'` (the date part of an incident id). */
export function incidentDayKey(epochMs: number, timeZone = 'UTC'): string {
  const parts = formatterFor(timeZone).formatToParts(new Date(epochMs));
  const part = (type: string) => parts.find((entry) => entry.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}${part('day')}`;
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
