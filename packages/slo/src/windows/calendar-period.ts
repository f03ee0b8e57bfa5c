/** Calendar unit of a calendar-aligned SLO window. */
export type CalendarUnit = 'day' | 'week' | 'month';

/** A time span `[startMs, endMs)`. */
export interface TimeSpan {
  startMs: number;
  endMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether `timeZone` is an IANA zone name this runtime knows (`'Europe/Berlin'`, `'UTC'`). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Monday … 6 = Sunday. */
  weekdayFromMonday: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

function localParts(epochMs: number, timeZone: string): LocalParts {
  const values: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(epochMs)) values[part.type] = part.value;
  return {
    year: Number(values.year),
    month: Number(values.month),
    day: Number(values.day),
    hour: Number(values.hour),
    minute: Number(values.minute),
    second: Number(values.second),
    weekdayFromMonday: WEEKDAYS[values.weekday ?? 'Mon'] ?? 0,
  };
}

/** Offset of `timeZone` from UTC at instant `epochMs`, in milliseconds (positive east of Greenwich). */
export function timeZoneOffsetMs(epochMs: number, timeZone: string): number {
  const parts = localParts(epochMs, timeZone);
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return asUtc - (epochMs - (((epochMs % 1000) + 1000) % 1000));
}

/**
 * The UTC instant of a local wall-clock time in `timeZone`. A wall time skipped by a DST change (e.g. 02:30 on the
 * spring-forward night) maps to the first instant after the gap; an ambiguous one (autumn) to its first occurrence.
 */
export function zonedTimeToEpochMs(
  timeZone: string,
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  // Try the offsets in force a day before and after: one of them is the offset at the answer.
  const candidates = [timeZoneOffsetMs(wall - 86_400_000, timeZone), timeZoneOffsetMs(wall + 86_400_000, timeZone)];
  const valid: number[] = [];
  for (const offset of candidates) {
    const instant = wall - offset;
    if (timeZoneOffsetMs(instant, timeZone) === offset) valid.push(instant);
  }
  if (valid.length > 0) return Math.min(...valid);
  // Skipped wall time (spring forward): answer the transition instant, found by bisection between the instant
  // read with the new offset (still before the change) and the one read with the old offset (already after it).
  const before = candidates[0] as number;
  let low = wall - Math.max(...candidates);
  let high = wall - Math.min(...candidates);
  for (let step = 0; step < 64 && high - low > 1000; step++) {
    const middle = Math.floor((low + high) / 2 / 1000) * 1000;
    if (timeZoneOffsetMs(middle, timeZone) === before) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The calendar period (`day`, `week` starting Monday, or `month`) in `timeZone` that contains `epochMs`, as UTC
 * instants. Lengths follow the calendar: a month is 28–31 days and a day is 23 or 25 hours on DST change days.
 *
 * @example
 * ```ts
 * calendarPeriod(Date.UTC(2026, 2, 29, 12), 'day', 'Europe/Berlin') // 23-hour span: DST starts that night
 * ```
 */
export function calendarPeriod(epochMs: number, unit: CalendarUnit, timeZone: string): TimeSpan {
  const parts = localParts(epochMs, timeZone);
  if (unit === 'month') {
    const startMs = zonedTimeToEpochMs(timeZone, parts.year, parts.month, 1);
    const nextYear = parts.month === 12 ? parts.year + 1 : parts.year;
    const nextMonth = parts.month === 12 ? 1 : parts.month + 1;
    return { startMs, endMs: zonedTimeToEpochMs(timeZone, nextYear, nextMonth, 1) };
  }
  const offsetDays = unit === 'week' ? parts.weekdayFromMonday : 0;
  const startDate = new Date(Date.UTC(parts.year, parts.month - 1, parts.day - offsetDays));
  const endDate = new Date(Date.UTC(parts.year, parts.month - 1, parts.day - offsetDays + (unit === 'week' ? 7 : 1)));
  return {
    startMs: zonedTimeToEpochMs(
      timeZone,
      startDate.getUTCFullYear(),
      startDate.getUTCMonth() + 1,
      startDate.getUTCDate(),
    ),
    endMs: zonedTimeToEpochMs(timeZone, endDate.getUTCFullYear(), endDate.getUTCMonth() + 1, endDate.getUTCDate()),
  };
}
