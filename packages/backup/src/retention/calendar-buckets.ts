/** The calendar fields of an instant in one time zone, as used to bucket backups. */
export interface CalendarFields {
  year: number;
  month: number;
  day: number;
  hour: number;
}

/** Reads calendar fields of instants in one IANA time zone. One instance per plan; `Intl` formatters are costly. */
export function createCalendar(timeZone: string): (time: number) => CalendarFields {
  const formatter = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    hourCycle: 'h23',
    era: 'short',
  });
  return (time) => {
    const fields: CalendarFields = { year: 0, month: 0, day: 0, hour: 0 };
    let beforeCommonEra = false;
    for (const part of formatter.formatToParts(time)) {
      if (part.type === 'year') fields.year = Number(part.value);
      else if (part.type === 'month') fields.month = Number(part.value);
      else if (part.type === 'day') fields.day = Number(part.value);
      else if (part.type === 'hour') fields.hour = Number(part.value) % 24;
      else if (part.type === 'era') beforeCommonEra = part.value.startsWith('B');
    }
    if (beforeCommonEra) fields.year = 1 - fields.year;
    return fields;
  };
}

/** Calendar fields down to the second, to count calendar windows back in one time zone. */
export interface ZonedFields extends CalendarFields {
  minute: number;
  second: number;
}

/** Reads the wall-clock fields of instants in one IANA time zone (one formatter per call site; they are costly). */
export function createZonedFields(timeZone: string): (time: number) => ZonedFields {
  const formatter = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    hourCycle: 'h23',
    era: 'short',
  });
  return (time) => {
    const fields: ZonedFields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    let beforeCommonEra = false;
    for (const part of formatter.formatToParts(time)) {
      if (part.type === 'year') fields.year = Number(part.value);
      else if (part.type === 'month') fields.month = Number(part.value);
      else if (part.type === 'day') fields.day = Number(part.value);
      else if (part.type === 'hour') fields.hour = Number(part.value) % 24;
      else if (part.type === 'minute') fields.minute = Number(part.value);
      else if (part.type === 'second') fields.second = Number(part.value);
      else if (part.type === 'era') beforeCommonEra = part.value.startsWith('B');
    }
    if (beforeCommonEra) fields.year = 1 - fields.year;
    return fields;
  };
}

/** ISO-8601 week-numbering year and week (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const weekday = (date.getUTCDay() + 6) % 7; // Monday = 0 … Sunday = 6
  // The Thursday of this week decides the week-numbering year.
  date.setUTCDate(date.getUTCDate() - weekday + 3);
  const weekYear = date.getUTCFullYear();
  const firstThursday = new Date(0);
  firstThursday.setUTCFullYear(weekYear, 0, 4);
  firstThursday.setUTCDate(firstThursday.getUTCDate() - ((firstThursday.getUTCDay() + 6) % 7) + 3);
  const week = 1 + Math.round((date.getTime() - firstThursday.getTime()) / (7 * 86_400_000));
  return { year: weekYear, week };
}

/** Validates an IANA time zone name; returns the canonical spelling or `undefined` when unknown. */
export function canonicalTimeZone(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}
