import { createZonedFields } from './calendar-buckets.js';

/**
 * The length of a `keepWithin*` window: milliseconds as a number, or a string of `<number><unit>` parts with
 * calendar units `y` (years), `mo` (months), `w` (weeks of 7 days), `d` (days) and fixed units `h`, `min`, `s`,
 * `ms` — e.g. `'7d'`, `'1y6mo'`, `'2w'`, `'36h'`, `'1y2mo3d4h'`. A bare `m` is refused: it means months in restic
 * and minutes in @ops durations, so it is never guessed.
 */
export type RetentionWindow = number | string;

/** A parsed {@link RetentionWindow}: calendar parts (counted back with restic's AddDate) and a fixed length. */
export interface RetentionSpan {
  years: number;
  months: number;
  weeks: number;
  days: number;
  fixedMs: number;
}

const CALENDAR = { y: 'years', mo: 'months', w: 'weeks', d: 'days' } as const;
const FIXED_MS = { h: 3_600_000, min: 60_000, s: 1_000, ms: 1 } as const;
// Longer unit names first, so that `mo`, `min` and `ms` are not read as `m` or `s`.
const PART = /(\d+(?:\.\d+)?)(mo|min|ms|y|w|d|h|s|m)/y;
const EXAMPLES = 'use y, mo, w, d (calendar) and h, min, s, ms, e.g. "7d", "1y6mo", "36h"';
const ZERO =
  'a zero window keeps nothing (restic treats it as unset); remove it or give a positive window such as "7d"';

/** Why `value` is not a valid {@link RetentionWindow}, or `undefined` when it is. */
export function retentionWindowProblem(value: unknown): string | undefined {
  try {
    parseRetentionWindow(value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Parses a {@link RetentionWindow}; throws an `Error` whose message says what is wrong (callers prefix the option's
 * name). Zero and negative windows are refused.
 */
export function parseRetentionWindow(value: unknown): RetentionSpan {
  const span: RetentionSpan = { years: 0, months: 0, weeks: 0, days: 0, fixedMs: 0 };
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`invalid retention window ${String(value)}: a number is milliseconds and must be >= 0`);
    if (value === 0) throw new Error(ZERO);
    span.fixedMs = Math.round(value);
    return span;
  }
  if (typeof value !== 'string')
    throw new Error(`invalid retention window: expected a string such as "7d" or a number of milliseconds`);
  const text = value.trim();
  if (text.startsWith('-')) throw new Error(`invalid retention window ${JSON.stringify(value)}: must not be negative`);
  if (text === '' || /^\d+(\.\d+)?$/.test(text))
    throw new Error(`invalid retention window ${JSON.stringify(value)}: ${EXAMPLES}`);
  const seen = new Set<string>();
  for (let index = 0; index < text.length;) {
    PART.lastIndex = index;
    const match = PART.exec(text);
    if (!match)
      throw new Error(
        `invalid retention window ${JSON.stringify(value)}: unexpected "${text.slice(index)}"; ${EXAMPLES}`,
      );
    const [, amountText, unit] = match as unknown as [string, string, string];
    if (unit === 'm') {
      throw new Error(
        `"m" is ambiguous in ${JSON.stringify(value)} (months in restic, minutes in @ops durations): write "${amountText}mo" for months or "${amountText}min" for minutes`,
      );
    }
    if (seen.has(unit))
      throw new Error(`invalid retention window ${JSON.stringify(value)}: unit "${unit}" appears twice`);
    seen.add(unit);
    const amount = Number(amountText);
    if (unit in CALENDAR) {
      if (!Number.isInteger(amount))
        throw new Error(
          `invalid retention window ${JSON.stringify(value)}: calendar units (y, mo, w, d) take whole numbers`,
        );
      span[CALENDAR[unit as keyof typeof CALENDAR]] = amount;
    } else span.fixedMs += amount * FIXED_MS[unit as keyof typeof FIXED_MS];
    index = PART.lastIndex;
  }
  span.fixedMs = Math.round(span.fixedMs);
  if (span.years === 0 && span.months === 0 && span.weeks === 0 && span.days === 0 && span.fixedMs === 0)
    throw new Error(ZERO);
  return span;
}

/**
 * Parses restic's own duration syntax, as restic users write it after `--keep-within*`: `<n>y<n>m<n>d<n>h` parts in
 * any order, where `m` is **months** (restic has no minutes and no weeks). Zero and negative values are refused.
 *
 * @example
 * ```ts
 * formatRetentionSpan(parseResticDuration('1y2m3d4h')); // '1y2mo3d4h'
 * ```
 */
export function parseResticDuration(text: string): RetentionSpan {
  const span: RetentionSpan = { years: 0, months: 0, weeks: 0, days: 0, fixedMs: 0 };
  const input = text.trim();
  if (!/^(\d+[ymdh])+$/.test(input)) {
    throw new Error(
      `invalid restic duration ${JSON.stringify(text)}: expected parts such as "1y2m3d4h" (y years, m months, d days, h hours; no negative values)`,
    );
  }
  for (const [, amount, unit] of input.matchAll(/(\d+)([ymdh])/g)) {
    if (unit === 'y') span.years = Number(amount);
    else if (unit === 'm') span.months = Number(amount);
    else if (unit === 'd') span.days = Number(amount);
    else span.fixedMs = Number(amount) * FIXED_MS.h;
  }
  if (span.years === 0 && span.months === 0 && span.days === 0 && span.fixedMs === 0) throw new Error(ZERO);
  return span;
}

/** The canonical spelling of a span (`1y2mo3d4h`, `2w`, `90min`), which parses back to the same span. */
export function formatRetentionSpan(span: RetentionSpan): string {
  let out = '';
  if (span.years) out += `${span.years}y`;
  if (span.months) out += `${span.months}mo`;
  if (span.weeks) out += `${span.weeks}w`;
  if (span.days) out += `${span.days}d`;
  let rest = span.fixedMs;
  for (const unit of ['h', 'min', 's', 'ms'] as const) {
    const count = Math.floor(rest / FIXED_MS[unit]);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * FIXED_MS[unit];
    }
  }
  return out;
}

/** Epoch ms of a UTC wall time; overflowing fields normalize (as `Date.UTC`, but years below 100 stay themselves). */
function utc(
  year: number,
  monthIndex: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millisecond: number,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, millisecond);
  return date.getTime();
}

/**
 * `time` minus `span` as restic computes a window's start: `AddDate(-years, -months, -days)` on the wall clock of
 * `timeZone` (an overflowing day normalizes: March 31 − 1 month is March 3, or March 2 in a leap year), then minus
 * the fixed length. A wall time that falls into a DST gap or overlap is resolved as Go's `time.Date` does.
 */
export function subtractRetentionSpan(time: number, span: RetentionSpan, timeZone: string): number {
  let start = time;
  if (span.years || span.months || span.weeks || span.days) {
    const fieldsOf = createZonedFields(timeZone);
    const wall = fieldsOf(time);
    const milliseconds = ((time % 1000) + 1000) % 1000;
    const shifted = utc(
      wall.year - span.years,
      wall.month - 1 - span.months,
      wall.day - span.days - 7 * span.weeks,
      wall.hour,
      wall.minute,
      wall.second,
      milliseconds,
    );
    const offsetAt = (instant: number): number => {
      const fields = fieldsOf(instant);
      return (
        utc(
          fields.year,
          fields.month - 1,
          fields.day,
          fields.hour,
          fields.minute,
          fields.second,
          ((instant % 1000) + 1000) % 1000,
        ) - instant
      );
    };
    // The offset in force at the wall time read as UTC; if the instant it gives has another offset, use that one.
    const guess = offsetAt(shifted);
    const corrected = offsetAt(shifted - guess);
    start = shifted - (corrected === guess ? guess : corrected);
  }
  return start - span.fixedMs;
}
