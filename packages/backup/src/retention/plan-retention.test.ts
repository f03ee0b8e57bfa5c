import { parseWithSchema } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isoWeek } from './calendar-buckets.js';
import { planRetention, type RetentionCandidate, type RetentionPlan } from './plan-retention.js';
import { retentionPolicySchema } from './retention-policy.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const at = (iso: string): number => Date.parse(iso);
const good = (id: string, time: number | string): RetentionCandidate => ({
  id,
  time: typeof time === 'string' ? at(time) : time,
  state: 'completed',
  verified: 'ok',
});
const keptIds = (plan: RetentionPlan): string[] => plan.keep.map((decision) => decision.id);
const removedIds = (plan: RetentionPlan): string[] => plan.remove.map((decision) => decision.id);
const reasonsOf = (plan: RetentionPlan, id: string): string[] =>
  [...plan.keep, ...plan.remove].find((decision) => decision.id === id)?.reasons ?? [];

describe('restic forget worked examples (doc/060_forget.rst)', () => {
  // One backup every Sunday at 11:00 for 12 weeks; ids as in the restic documentation.
  const sundays = [
    ['0a1f9759', '2019-09-01'],
    ['46cfe4d5', '2019-09-08'],
    ['f6b1f037', '2019-09-15'],
    ['eb430a5d', '2019-09-22'],
    ['8cf1cb9a', '2019-09-29'],
    ['5d33b116', '2019-10-06'],
    ['b9553125', '2019-10-13'],
    ['e1a7b58b', '2019-10-20'],
    ['8f8018c0', '2019-10-27'],
    ['59403279', '2019-11-03'],
    ['dfee9fb4', '2019-11-10'],
    ['e1ae2f40', '2019-11-17'],
  ].map(([id, day]) => good(id as string, `${day as string}T11:00:00Z`));

  it('--keep-daily 4 keeps the last four Sundays and removes the other eight', () => {
    const plan = planRetention(sundays, { keepDaily: 4 }, { now: at('2019-11-18T00:00:00Z') });
    expect(keptIds(plan)).toEqual(['e1ae2f40', 'dfee9fb4', '59403279', '8f8018c0']);
    expect(
      plan.keep.every((decision) => decision.reasons.length === 1 && decision.reasons[0]?.startsWith('daily ')),
    ).toBe(true);
    expect(removedIds(plan)).toHaveLength(8);
    expect(removedIds(plan).at(-1)).toBe('0a1f9759');
  });

  it('-d7 -w5 -m12 -y75 over 100 years of dailies keeps 7 dailies, 4 more weeklies, 11 more monthlies, 73 more yearlies', () => {
    const candidates: RetentionCandidate[] = [];
    const newest = at('2019-11-17T11:00:00Z'); // a Sunday
    for (let day = 0; day < 36_525; day += 1)
      candidates.push(good(`d${String(day).padStart(5, '0')}`, newest - day * DAY));
    const plan = planRetention(
      candidates,
      { keepDaily: 7, keepWeekly: 5, keepMonthly: 12, keepYearly: 75 },
      { now: newest + HOUR },
    );
    const withRule = (rule: string): string[] =>
      plan.keep
        .filter((decision) => decision.reasons.some((reason) => reason.startsWith(`${rule} `)))
        .map((decision) => decision.id);
    expect(withRule('daily')).toHaveLength(7);
    expect(withRule('weekly')).toHaveLength(5);
    expect(withRule('monthly')).toHaveLength(12);
    expect(withRule('yearly')).toHaveLength(75);
    const onlyWeekly = withRule('weekly').filter((id) => !withRule('daily').includes(id));
    expect(onlyWeekly).toHaveLength(4); // "the 7 dailies already include 1 weekly"
    // Last days of Oct 2019 … Dec 2018 are monthly; Dec 31 2018 is also the 2018 yearly, so 73 yearly-only ones.
    expect(plan.keep).toHaveLength(7 + 4 + 11 + 73);
    expect(reasonsOf(plan, candidates[0]?.id as string)).toEqual([
      'daily 2019-11-17',
      'weekly 2019-W46',
      'monthly 2019-11',
      'yearly 2019',
    ]);
  });

  it('keeps the oldest backup while a rule has count left ("oldest daily", restic#3624)', () => {
    const candidates = [
      good('a', '2026-11-20T10:00:00Z'),
      good('b', '2026-11-20T08:00:00Z'),
      good('c', '2026-11-19T23:00:00Z'),
      good('d', '2026-11-19T22:00:00Z'),
    ];
    const plan = planRetention(candidates, { keepDaily: 5 }, { now: at('2026-11-21T00:00:00Z') });
    expect(keptIds(plan)).toEqual(['a', 'c', 'd']);
    expect(reasonsOf(plan, 'd')).toEqual(['oldest daily 2026-11-19']);
    expect(removedIds(plan)).toEqual(['b']);
  });

  it('-1 means unlimited', () => {
    const candidates = Array.from({ length: 40 }, (_, index) =>
      good(`m${index}`, at('2026-11-15T00:00:00Z') - index * 31 * DAY),
    );
    const plan = planRetention(candidates, { keepMonthly: -1 }, { now: at('2026-12-01T00:00:00Z') });
    expect(plan.remove).toHaveLength(0);
  });

  it('keepWithin counts from the newest backup, not from now, so stopped backups are not all removed', () => {
    const candidates = Array.from({ length: 10 }, (_, index) =>
      good(`b${index}`, at('2026-01-10T12:00:00Z') - index * DAY),
    );
    const plan = planRetention(candidates, { keepWithin: '3d' }, { now: at('2026-11-22T00:00:00Z') });
    expect(keptIds(plan)).toEqual(['b0', 'b1', 'b2']); // strictly after newest − 3d: b3 is exactly 3 days older and goes
    expect(reasonsOf(plan, 'b1')).toEqual(['within 3d of the newest backup']);
  });

  it('keepWithinDaily keeps one per day inside the window only', () => {
    const candidates = Array.from({ length: 20 }, (_, index) =>
      good(`h${String(index).padStart(2, '0')}`, at('2026-11-22T18:00:00Z') - index * 6 * HOUR),
    );
    const plan = planRetention(candidates, { keepWithinDaily: '2d' }, { now: at('2026-11-23T00:00:00Z') });
    // Window: strictly after 2026-11-20T18:00Z, so the 20th has no backup inside it; newest of the 22nd and the 21st.
    expect(keptIds(plan)).toEqual(['h00', 'h04']);
    expect(reasonsOf(plan, 'h04')).toEqual(['daily 2026-11-21 within 2d']);
  });

  it('ignores backups in the future for the newest-backup reference, but still keeps them by buckets', () => {
    const now = at('2026-11-22T00:00:00Z');
    const candidates = [
      good('future', now + 10 * DAY),
      good('b0', now - DAY),
      good('b1', now - 2 * DAY),
      good('b2', now - 5 * DAY),
    ];
    const plan = planRetention(candidates, { keepWithin: '2d' }, { now });
    expect(keptIds(plan)).toEqual(['future', 'b0', 'b1']);
    expect(removedIds(plan)).toEqual(['b2']);
  });
});

describe('calendar: ISO weeks, DST and time zones', () => {
  it('computes ISO weeks across year boundaries', () => {
    expect(isoWeek(2026, 12, 31)).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(2027, 1, 1)).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(2027, 1, 3)).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(2027, 1, 4)).toEqual({ year: 2027, week: 1 });
    expect(isoWeek(2024, 12, 30)).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(2021, 1, 3)).toEqual({ year: 2020, week: 53 });
    expect(isoWeek(2026, 11, 22)).toEqual({ year: 2026, week: 47 });
  });

  it('2026-12-31 and 2027-01-01 share ISO week 2026-W53 but not a year', () => {
    const candidates = [
      good('jan1', '2027-01-01T12:00:00Z'),
      good('dec31', '2026-12-31T12:00:00Z'),
      good('dec24', '2026-12-24T12:00:00Z'),
    ];
    const weekly = planRetention(candidates, { keepWeekly: 2 }, { now: at('2027-01-02T00:00:00Z') });
    expect(keptIds(weekly)).toEqual(['jan1', 'dec24']);
    expect(reasonsOf(weekly, 'jan1')).toEqual(['weekly 2026-W53']);
    const yearly = planRetention(candidates, { keepYearly: 2 }, { now: at('2027-01-02T00:00:00Z') });
    expect(keptIds(yearly)).toEqual(['jan1', 'dec31']);
  });

  it('on the autumn DST day in Europe/Berlin the repeated local hour is one hourly bucket', () => {
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET. 00:30Z = 02:30 CEST, 01:30Z = 02:30 CET.
    const candidates = [
      good('cet', '2026-10-25T01:30:00Z'),
      good('cest', '2026-10-25T00:30:00Z'),
      good('before', '2026-10-24T23:30:00Z'),
    ];
    const now = at('2026-10-25T06:00:00Z');
    const berlin = planRetention(candidates, { keepHourly: 3 }, { now, timeZone: 'Europe/Berlin' });
    expect(keptIds(berlin)).toEqual(['cet', 'before']);
    expect(reasonsOf(berlin, 'cet')).toEqual(['hourly 2026-10-25T02']);
    expect(reasonsOf(berlin, 'before')).toEqual(['hourly 2026-10-25T01']);
    const utc = planRetention(candidates, { keepHourly: 3 }, { now });
    expect(keptIds(utc)).toEqual(['cet', 'cest', 'before']);
    // The 25-hour day is one daily bucket.
    const day = Array.from({ length: 25 }, (_, index) =>
      good(`h${String(index).padStart(2, '0')}`, at('2026-10-24T22:10:00Z') + index * HOUR),
    );
    expect(keptIds(planRetention(day, { keepDaily: 1 }, { now, timeZone: 'Europe/Berlin' }))).toEqual(['h24']);
  });

  it('the configured time zone moves a backup into another day', () => {
    const candidates = [
      good('morning', '2026-11-22T10:00:00Z'),
      good('late', '2026-11-21T23:30:00Z'),
      good('evening', '2026-11-21T22:30:00Z'),
    ];
    const now = at('2026-11-22T12:00:00Z');
    expect(keptIds(planRetention(candidates, { keepDaily: 2 }, { now }))).toEqual(['morning', 'late']);
    // In Berlin (UTC+1) 23:30Z is already 00:30 on the 22nd.
    const berlin = planRetention(candidates, { keepDaily: 2 }, { now, timeZone: 'Europe/Berlin' });
    expect(keptIds(berlin)).toEqual(['morning', 'evening']);
    expect(reasonsOf(berlin, 'evening')).toEqual(['daily 2026-11-21']);
    // In Tokyo (UTC+9) all three fall on the 22nd: the newest is kept, and the oldest while count is left.
    const tokyo = planRetention(candidates, { keepDaily: 2 }, { now, timeZone: 'Asia/Tokyo' });
    expect(keptIds(tokyo)).toEqual(['morning', 'evening']);
    expect(reasonsOf(tokyo, 'evening')).toEqual(['oldest daily 2026-11-22']);
  });

  it('rejects an unknown time zone', () => {
    expect(() => planRetention([], { keepDaily: 1 }, { timeZone: 'Mars/Olympus' })).toThrow(
      /unknown time zone "Mars\/Olympus"/,
    );
  });
});

describe('safety rules', () => {
  const now = at('2026-11-22T12:00:00Z');
  const daily = (count: number, start = now - HOUR): RetentionCandidate[] =>
    Array.from({ length: count }, (_, index) => good(`g${index}`, start - index * DAY));

  it('when the newest backups failed, the good ones stay and failures do not fill buckets', () => {
    const candidates: RetentionCandidate[] = [
      { id: 'f0', time: now - 10 * 60_000, state: 'failed' },
      { id: 'f1', time: now - DAY - 10 * 60_000, state: 'partially-failed' },
      { id: 'f2', time: now - 2 * DAY - 10 * 60_000, state: 'completed', verified: 'failed' },
      ...daily(6, now - 3 * DAY),
    ];
    const plan = planRetention(candidates, { keepLast: 3 }, { now });
    expect(keptIds(plan)).toEqual(['f0', 'f1', 'f2', 'g0', 'g1', 'g2']);
    expect(reasonsOf(plan, 'f2')[0]).toMatch(
      /^verification failed 2d10m ago; kept for inspection until older than failedKeepFor 1w;/,
    );
    expect(removedIds(plan)).toEqual(['g3', 'g4', 'g5']);
  });

  it('removes failed and partial backups once older than failedKeepFor, and abandoned in-progress ones', () => {
    const candidates: RetentionCandidate[] = [
      { id: 'running', time: now - HOUR, state: 'in-progress' },
      { id: 'abandoned', time: now - 2 * DAY, state: 'in-progress' },
      { id: 'old-failed', time: now - 9 * DAY, state: 'failed' },
      { id: 'old-partial', time: now - 4 * DAY, state: 'partially-failed' },
      good('g0', now - 2 * HOUR),
    ];
    const plan = planRetention(candidates, { keepLast: 5, failedKeepFor: '3d', staleInProgressAfter: '12h' }, { now });
    expect(keptIds(plan)).toEqual(['running', 'g0']);
    expect(removedIds(plan)).toEqual(['abandoned', 'old-partial', 'old-failed']);
    expect(reasonsOf(plan, 'abandoned')).toEqual([
      'in progress since 2d ago, longer than staleInProgressAfter 12h: abandoned',
    ]);
    expect(reasonsOf(plan, 'old-failed')).toEqual(['failed 1w2d ago, older than failedKeepFor 3d']);
  });

  it('when every recent verification failed, the newest of those backups is kept as the last restore point', () => {
    // A scratch server without an extension the data needs fails every test restore: no backup is good any more.
    const failedVerification = (id: string, time: number): RetentionCandidate => ({
      id,
      time,
      state: 'completed',
      verified: 'failed',
    });
    const candidates: RetentionCandidate[] = [
      failedVerification('v0', now - 9 * DAY),
      failedVerification('v1', now - 10 * DAY),
      failedVerification('v2', now - 11 * DAY),
      good('g-old', now - 20 * DAY),
    ];
    const plan = planRetention(candidates, { keepLast: 3, minGood: 1 }, { now });
    expect(keptIds(plan)).toEqual(['v0', 'g-old']);
    expect(reasonsOf(plan, 'v0')).toEqual([
      'verification failed 1w2d ago, older than failedKeepFor 1w, but kept: no good backup is newer, so it is the last restore point; not counted by the keep rules',
    ]);
    expect(removedIds(plan)).toEqual(['v1', 'v2']);

    // Once a good backup is newer, it goes by failedKeepFor like the others.
    const recovered = planRetention([good('g-new', now - HOUR), ...candidates], { keepLast: 3 }, { now });
    expect(removedIds(recovered)).toEqual(['v0', 'v1', 'v2']);
    expect(keptIds(recovered)).toEqual(['g-new', 'g-old']);
  });

  it('a source that keeps failing: the newest partially failed backup is kept while no good backup is newer', () => {
    const candidates: RetentionCandidate[] = [
      { id: 'p0', time: now - 8 * DAY, state: 'partially-failed' },
      { id: 'p1', time: now - 9 * DAY, state: 'partially-failed' },
      { id: 'f0', time: now - 10 * DAY, state: 'failed' },
    ];
    const plan = planRetention(candidates, { keepLast: 2 }, { now });
    expect(keptIds(plan)).toEqual(['p0']);
    expect(reasonsOf(plan, 'p0')[0]).toMatch(/^partially-failed 1w1d ago, .*the last restore point/);
    expect(removedIds(plan)).toEqual(['p1', 'f0']);
  });

  it('unverified backups count only when countUnverified is set; otherwise they are kept and say why', () => {
    const candidates: RetentionCandidate[] = [
      { id: 'u0', time: now - HOUR, state: 'completed' },
      { id: 'u1', time: now - DAY, state: 'completed', verified: 'unverified' },
      ...daily(3, now - 2 * DAY),
    ];
    const strict = planRetention(candidates, { keepLast: 1 }, { now });
    expect(keptIds(strict)).toEqual(['u0', 'u1', 'g0']);
    expect(reasonsOf(strict, 'u0')[0]).toMatch(/not verified: not counted/);
    const lenient = planRetention(candidates, { keepLast: 1, countUnverified: true }, { now });
    expect(keptIds(lenient)).toEqual(['u0']);
    expect(removedIds(lenient)).toEqual(['u1', 'g0', 'g1', 'g2']);
  });

  it('minGood overrides the rules and keeps the newest good backups', () => {
    const candidates = daily(6, now - 30 * DAY);
    const plan = planRetention(candidates, { keepWithin: '1h', minGood: 3 }, { now });
    expect(keptIds(plan)).toEqual(['g0', 'g1', 'g2']);
    expect(reasonsOf(plan, 'g1')).toEqual(['minGood 3: keeps at least 3 good backup(s)']);
  });

  it('never removes the newest good backup; keepLast: -1 keeps every good one (an empty policy is refused)', () => {
    const candidates = [{ id: 'bad', time: now, state: 'failed' } as RetentionCandidate, ...daily(3)];
    const onlyFailures = planRetention(candidates, { keepLast: -1, failedKeepFor: '1d' }, { now });
    expect(removedIds(onlyFailures)).toEqual([]);
    expect(reasonsOf(onlyFailures, 'g2')).toEqual(['last #3']);
    const plan = planRetention(candidates, { keepLast: 1 }, { now });
    expect(keptIds(plan)).toEqual(['bad', 'g0']);
  });

  it('pinned backups are kept without using a count', () => {
    const candidates = daily(4).map((candidate) =>
      candidate.id === 'g3' ? { ...candidate, pinned: true } : candidate,
    );
    const plan = planRetention(candidates, { keepLast: 1 }, { now });
    expect(keptIds(plan)).toEqual(['g0', 'g3']);
    expect(reasonsOf(plan, 'g3')).toEqual(['pinned']);
  });

  it('breaks equal start times by id, larger id newer', () => {
    const plan = planRetention([good('a', now - HOUR), good('b', now - HOUR)], { keepLast: 1 }, { now });
    expect(keptIds(plan)).toEqual(['b']);
  });

  it('rejects bad policies and candidates with clear messages', () => {
    expect(() => planRetention([], { keepDaily: -2 })).toThrow(
      /invalid retention policy: keepDaily: expected an integer >= 0, or -1 for unlimited/,
    );
    expect(() => planRetention([], { keepWithin: '3x' })).toThrow(/keepWithin: invalid retention window "3x"/);
    expect(() => planRetention([], { keepLast: 1, minGood: 0 })).toThrow(/minGood: expected integer >= 1/);
    expect(() => planRetention([good('a', now), good('a', now - 1)], { keepLast: 1 })).toThrow(
      /duplicate backup id "a"/,
    );
    expect(() => planRetention([{ ...good('a', now), time: Number.NaN }], { keepLast: 1 })).toThrow(
      /candidates\[0\].time/,
    );
  });
});

describe('retentionPolicySchema', () => {
  it('accepts a config policy: durations of the safety rules become milliseconds, windows stay as written', () => {
    expect(retentionPolicySchema.parse({ keepDaily: 7, keepWithin: '2d', failedKeepFor: '1h' })).toEqual({
      keepDaily: 7,
      keepWithin: '2d',
      failedKeepFor: HOUR,
    });
  });

  it('names the path of every bad value', () => {
    const fileSchema = z.object({ jobs: z.array(z.object({ retention: retentionPolicySchema })) });
    expect(() =>
      parseWithSchema(
        fileSchema,
        { jobs: [{ retention: { keepDaily: 1.5, keepWithin: '1m', keepForever: true } }] },
        'ops-backup.yaml',
      ),
    ).toThrow(
      /invalid ops-backup\.yaml: .*jobs\[0\]\.retention\.keepDaily: expected int.*jobs\[0\]\.retention\.keepWithin: "m" is ambiguous.*unknown key\(s\) "keepForever"/,
    );
  });
});
