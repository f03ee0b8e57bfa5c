import { describe, expect, it } from 'vitest';
import { formatIncidentId, incidentDayKey, isIncidentId } from './incident-id.js';

// The day key as Intl gives it, computed every time.
const formatters = new Map<string, Intl.DateTimeFormat>();
function expectedDayKey(epochMs: number, timeZone: string): string {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, formatter);
  }
  const parts = formatter.formatToParts(new Date(epochMs));
  const part = (type: string) => parts.find((entry) => entry.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}${part('day')}`;
}

describe('incidentDayKey', () => {
  it('is the date in the zone', () => {
    expect(incidentDayKey(Date.UTC(2026, 0, 13, 9, 0, 0))).toBe('2026-0113');
    expect(incidentDayKey(Date.UTC(2026, 0, 13, 23, 30, 0), 'Europe/Berlin')).toBe('2026-0114');
    expect(formatIncidentId(incidentDayKey(Date.UTC(2026, 0, 13)), 7)).toBe('INC-2026-0113-007');
    expect(isIncidentId('INC-2026-0113-1000')).toBe(true);
  });

  it('follows midnights and offset changes, asked in any order', () => {
    // Midnight DST changes (Santiago, Havana), half-hour DST (Lord Howe), odd offsets (Kathmandu, Chatham) and a
    // historical local mean time with seconds (Amsterdam 1937).
    const zones = [
      'UTC',
      'America/Santiago',
      'America/Havana',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
      'Pacific/Chatham',
    ];
    // Three days around each change: Santiago 2026-04-05 and 2026-09-06, Havana 2026-03-08 and 2026-11-01, Lord Howe
    // 2026-04-05 and 2026-10-04, Amsterdam 1937-07-01.
    const starts = [
      Date.UTC(2026, 3, 3),
      Date.UTC(2026, 8, 4),
      Date.UTC(2026, 2, 6),
      Date.UTC(2026, 9, 2),
      Date.UTC(2026, 9, 30),
      Date.UTC(1937, 5, 29),
    ];
    for (const timeZone of [...zones, 'Europe/Amsterdam']) {
      const times: number[] = [];
      for (const start of starts)
        for (let step = 0; step < (3 * 24 * 60) / 7; step++) times.push(start + step * 7 * 60_000 + step);
      const shuffled = [...times, ...times.map((time, index) => times[(index * 7919) % times.length]! + (time % 1000))];
      for (const time of shuffled)
        expect(incidentDayKey(time, timeZone), `${timeZone} ${time}`).toBe(expectedDayKey(time, timeZone));
    }
  });

  it('refuses an unknown zone and an invalid time as before', () => {
    expect(() => incidentDayKey(0, 'Mars/Olympus')).toThrow(/unknown time zone/);
    incidentDayKey(Date.UTC(2026, 0, 13), 'UTC');
    expect(() => incidentDayKey(Number.NaN, 'UTC')).toThrow(RangeError);
  });
});
