import { describe, expect, it } from 'vitest';
import { calendarPeriod, timeZoneOffsetMs, zonedTimeToEpochMs } from './calendar-period.js';

const HOUR = 3_600_000;

describe('calendarPeriod', () => {
  it('finds the month in a time zone across the month boundary', () => {
    // 2026-01-31T23:30Z is already February 1st, 00:30 in Berlin (UTC+1).
    const february = calendarPeriod(Date.UTC(2026, 0, 31, 23, 30), 'month', 'Europe/Berlin');
    expect(new Date(february.startMs).toISOString()).toBe('2026-01-31T23:00:00.000Z');
    expect(new Date(february.endMs).toISOString()).toBe('2026-02-28T23:00:00.000Z');
    const january = calendarPeriod(Date.UTC(2026, 0, 31, 22, 59), 'month', 'Europe/Berlin');
    expect(new Date(january.startMs).toISOString()).toBe('2025-12-31T23:00:00.000Z');
    expect(january.endMs).toBe(february.startMs);
  });

  it('makes the DST days 23 and 25 hours long', () => {
    const spring = calendarPeriod(Date.UTC(2026, 2, 29, 12), 'day', 'Europe/Berlin');
    expect(spring.endMs - spring.startMs).toBe(23 * HOUR);
    const autumn = calendarPeriod(Date.UTC(2026, 9, 25, 12), 'day', 'Europe/Berlin');
    expect(autumn.endMs - autumn.startMs).toBe(25 * HOUR);
    const march = calendarPeriod(Date.UTC(2026, 2, 15), 'month', 'Europe/Berlin');
    expect(march.endMs - march.startMs).toBe(31 * 24 * HOUR - HOUR);
  });

  it('starts weeks on Monday in the zone', () => {
    // Sunday 2026-03-01 23:30 in New York is Monday 04:30 UTC.
    const week = calendarPeriod(Date.UTC(2026, 2, 2, 4, 30), 'week', 'America/New_York');
    expect(new Date(week.startMs).toISOString()).toBe('2026-02-23T05:00:00.000Z');
    // The week containing the US DST change (2026-03-08) is 167 hours long.
    const dstWeek = calendarPeriod(Date.UTC(2026, 2, 10), 'week', 'America/New_York');
    expect(new Date(dstWeek.startMs).toISOString()).toBe('2026-03-09T04:00:00.000Z');
    const before = calendarPeriod(Date.UTC(2026, 2, 5), 'week', 'America/New_York');
    expect(before.endMs - before.startMs).toBe(167 * HOUR);
  });

  it('handles quarter-hour offsets (Kathmandu, UTC+5:45)', () => {
    const day = calendarPeriod(Date.UTC(2026, 4, 1, 12), 'day', 'Asia/Kathmandu');
    expect(new Date(day.startMs).toISOString()).toBe('2026-04-30T18:15:00.000Z');
    expect(timeZoneOffsetMs(day.startMs, 'Asia/Kathmandu')).toBe(5 * HOUR + 45 * 60_000);
  });

  it('maps a wall time skipped by DST to the instant the clocks jump', () => {
    // Berlin 2026-03-29 02:30 does not exist; clocks jump from 02:00 (01:00Z) to 03:00.
    expect(new Date(zonedTimeToEpochMs('Europe/Berlin', 2026, 3, 29, 2, 30)).toISOString()).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    // Santiago skips midnight: the day of 2026-09-06 starts at 01:00 local = 04:00Z.
    const day = calendarPeriod(Date.UTC(2026, 8, 6, 15), 'day', 'America/Santiago');
    expect(new Date(day.startMs).toISOString()).toBe('2026-09-06T04:00:00.000Z');
    expect(day.endMs - day.startMs).toBe(23 * HOUR);
  });
});
