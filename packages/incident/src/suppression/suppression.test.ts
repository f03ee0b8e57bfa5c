import { describe, expect, it } from 'vitest';
import { sampleIncident } from '../testing/incident-store-contract.js';
import { findSuppression, matchesAll, recurrenceOccurrences, type Recurrence } from './suppression.js';
import { zonedTimeToEpoch } from './zoned-time.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('recurring maintenance in an IANA zone', () => {
  it('"daily 2–5 AM" in Europe/Berlin follows the clocks across the spring DST change', () => {
    const daily: Recurrence = { frequency: 'daily', timeZone: 'Europe/Berlin', start: '02:00', duration: '3h' };
    const occurrences = recurrenceOccurrences(daily, Date.UTC(2026, 2, 27, 12), Date.UTC(2026, 2, 31, 12)).map(
      (entry) => [iso(entry.startsAt), iso(entry.endsAt)],
    );
    expect(occurrences).toEqual([
      ['2026-03-28T01:00:00.000Z', '2026-03-28T04:00:00.000Z'], // CET (+1)
      ['2026-03-29T01:00:00.000Z', '2026-03-29T04:00:00.000Z'], // 02:00 does not exist that night: starts when clocks jump to 03:00
      ['2026-03-30T00:00:00.000Z', '2026-03-30T03:00:00.000Z'], // CEST (+2)
      ['2026-03-31T00:00:00.000Z', '2026-03-31T03:00:00.000Z'],
    ]);
  });

  it('"Sunday 1–4 AM" weekly and "first Sunday of the month 12–6 AM" monthly', () => {
    const weekly: Recurrence = {
      frequency: 'weekly',
      timeZone: 'America/New_York',
      start: '01:00',
      duration: '3h',
      days: ['sun'],
    };
    expect(
      recurrenceOccurrences(weekly, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 20)).map((entry) => iso(entry.startsAt)),
    ).toEqual(['2026-01-04T06:00:00.000Z', '2026-01-11T06:00:00.000Z', '2026-01-18T06:00:00.000Z']);
    const monthly: Recurrence = {
      frequency: 'monthly',
      timeZone: 'UTC',
      start: '00:00',
      duration: '6h',
      days: ['sun'],
      week: 1,
    };
    expect(
      recurrenceOccurrences(monthly, Date.UTC(2026, 0, 1), Date.UTC(2026, 4, 1)).map((entry) => iso(entry.startsAt)),
    ).toEqual([
      '2026-01-04T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
      '2026-04-05T00:00:00.000Z',
    ]);
    const lastFriday: Recurrence = {
      frequency: 'monthly',
      timeZone: 'UTC',
      start: '22:00',
      duration: '2h',
      days: ['fri'],
      week: -1,
    };
    expect(
      recurrenceOccurrences(lastFriday, Date.UTC(2026, 0, 1), Date.UTC(2026, 2, 1)).map((entry) => iso(entry.startsAt)),
    ).toEqual(['2026-01-30T22:00:00.000Z', '2026-02-27T22:00:00.000Z']);
  });

  it('includes an occurrence that started before the range and still runs', () => {
    const daily: Recurrence = { frequency: 'daily', timeZone: 'UTC', start: '23:00', duration: '4h' };
    expect(
      recurrenceOccurrences(daily, Date.UTC(2026, 0, 2, 1), Date.UTC(2026, 0, 2, 2)).map((entry) =>
        iso(entry.startsAt),
      ),
    ).toEqual(['2026-01-01T23:00:00.000Z']);
  });

  it('maps wall-clock times to instants, picking the first of a repeated autumn hour', () => {
    expect(iso(zonedTimeToEpoch(2026, 10, 25, 2, 30, 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(zonedTimeToEpoch(2026, 7, 1, 12, 0, 'Asia/Kolkata'))).toBe('2026-07-01T06:30:00.000Z');
  });
});

describe('matchers and suppression', () => {
  it('matches like Alertmanager: equality, negation, whole-value regex, missing label as empty', () => {
    const labels = { service: 'checkout', env: 'production' };
    expect(matchesAll([{ name: 'service', value: 'checkout' }], labels)).toBe(true);
    expect(matchesAll([{ name: 'env', value: 'prod', isRegex: true }], labels)).toBe(false);
    expect(matchesAll([{ name: 'env', value: 'prod.*', isRegex: true }], labels)).toBe(true);
    expect(matchesAll([{ name: 'env', value: 'staging', isEqual: false }], labels)).toBe(true);
    expect(matchesAll([{ name: 'team', value: '' }], labels)).toBe(true);
  });

  it('finds the silence or maintenance window holding back an incident, and until when', () => {
    const incident = sampleIncident({ service: 'checkout', labels: { alertname: 'HighErrorRate' } });
    const at = Date.UTC(2026, 0, 13, 3);
    const silence = {
      id: 's',
      matchers: [{ name: 'alertname', value: 'HighErrorRate' }],
      startsAt: at - 1,
      endsAt: at + 60_000,
      createdBy: 'alice',
      comment: 'deploy',
      createdAt: 0,
    };
    expect(findSuppression(incident, at, [silence], [])).toMatchObject({ kind: 'silence', until: at + 60_000 });
    expect(findSuppression(incident, at, [{ ...silence, expiredAt: at - 1 }], [])).toBeUndefined();
    const window = {
      id: 'm',
      title: 'Nightly',
      services: ['checkout'],
      recurrence: { frequency: 'daily' as const, timeZone: 'UTC', start: '02:00', duration: '3h' },
      suppressPaging: true,
      createdBy: 'b',
      createdAt: 0,
    };
    expect(findSuppression(incident, at, [], [window])).toMatchObject({
      kind: 'maintenance',
      until: Date.UTC(2026, 0, 13, 5),
    });
    expect(findSuppression(incident, Date.UTC(2026, 0, 13, 6), [], [window])).toBeUndefined();
    expect(findSuppression(sampleIncident({ service: 'search' }), at, [], [window])).toBeUndefined();
  });
});
