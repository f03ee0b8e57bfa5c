import { seededRandom } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createCalendar, isoWeek } from './calendar-buckets.js';
import { planRetention, type RetentionCandidate } from './plan-retention.js';
import type { RetentionPolicy } from './retention-policy.js';

const random = seededRandom;

const HOUR = 3_600_000;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'];
const STATES: RetentionCandidate['state'][] = [
  'completed',
  'completed',
  'completed',
  'partially-failed',
  'failed',
  'in-progress',
];
const VERIFIED: Array<RetentionCandidate['verified']> = ['ok', 'ok', 'ok', 'failed', 'unverified', undefined];
const RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

describe('planRetention properties (randomized, seeded)', () => {
  it('holds its invariants over 400 random histories and policies', () => {
    for (let seed = 1; seed <= 400; seed += 1) {
      const next = random(seed);
      const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
      const now = Date.parse('2026-11-22T12:00:00Z');
      const count = Math.floor(next() * 60);
      const spreadHours = pick([6, 72, 24 * 40, 24 * 800]);
      const candidates: RetentionCandidate[] = Array.from({ length: count }, (_, index) => {
        const candidate: RetentionCandidate = {
          id: `b${String(index).padStart(3, '0')}`,
          time: now - Math.floor(next() * spreadHours * HOUR) + (next() < 0.03 ? 5 * HOUR : 0),
          state: pick(STATES),
        };
        const verified = pick(VERIFIED);
        if (verified !== undefined) candidate.verified = verified;
        if (next() < 0.05) candidate.pinned = true;
        if (next() < 0.3) candidate.tags = pick([['a'], ['a', 'b'], ['b']]);
        return candidate;
      });
      const policy: RetentionPolicy = { minGood: 1 + Math.floor(next() * 4), countUnverified: next() < 0.5 };
      if (next() < 0.5) policy.keepLast = Math.floor(next() * 5);
      if (next() < 0.4) policy.keepHourly = pick([1, 3, 10, -1]);
      if (next() < 0.6) policy.keepDaily = pick([1, 3, 7, -1]);
      if (next() < 0.5) policy.keepWeekly = pick([1, 2, 5]);
      if (next() < 0.4) policy.keepMonthly = pick([1, 6, 12]);
      if (next() < 0.3) policy.keepYearly = pick([1, 3]);
      if (next() < 0.3) policy.keepWithin = pick(['2h', '24h', '240h']); // fixed units: calendar windows have their own tests
      if (next() < 0.2) policy.keepWithinDaily = pick(['3d', '30d']);
      if (next() < 0.2) policy.keepTags = pick([[['a']], [['a', 'b'], ['']]]);
      // An empty or all-zero policy is refused (as restic refuses it); give such draws one rule.
      if (
        ![
          policy.keepLast,
          policy.keepHourly,
          policy.keepDaily,
          policy.keepWeekly,
          policy.keepMonthly,
          policy.keepYearly,
        ].some((value) => value !== undefined && value !== 0) &&
        !policy.keepWithin &&
        !policy.keepWithinDaily &&
        !policy.keepTags
      )
        policy.keepLast = 1;
      const timeZone = pick(ZONES);
      const plan = planRetention(candidates, policy, { now, timeZone });
      const context = `seed ${seed}`;

      // Every candidate is decided exactly once, and each decision has at least one reason.
      const decided = [...plan.keep, ...plan.remove];
      expect(decided.map((decision) => decision.id).sort(), context).toEqual(
        candidates.map((candidate) => candidate.id).sort(),
      );
      expect(
        decided.every((decision) => decision.reasons.length > 0),
        context,
      ).toBe(true);

      const byId = new Map(candidates.map((candidate) => [candidate.id, candidate]));
      const isGood = (candidate: RetentionCandidate): boolean =>
        candidate.state === 'completed' &&
        (candidate.verified === 'ok' ||
          (policy.countUnverified === true && (candidate.verified ?? 'unverified') === 'unverified'));
      const goodNewestFirst = candidates
        .filter(isGood)
        .sort((left, right) => right.time - left.time || (left.id < right.id ? 1 : -1));
      const kept = new Set(plan.keep.map((decision) => decision.id));

      // The newest good backup is always kept; nothing good is removed when there are at most minGood of them.
      if (goodNewestFirst[0] !== undefined) expect(kept.has(goodNewestFirst[0].id), context).toBe(true);
      const minGood = policy.minGood ?? 1;
      const keptGood = goodNewestFirst.filter((candidate) => kept.has(candidate.id)).length;
      expect(keptGood, context).toBeGreaterThanOrEqual(Math.min(minGood, goodNewestFirst.length));
      if (goodNewestFirst.length <= minGood) expect(keptGood, context).toBe(goodNewestFirst.length);

      // While no good backup is newer, the newest verification-failed or partially failed backup is kept.
      const newestGoodTime = goodNewestFirst[0]?.time ?? Number.NEGATIVE_INFINITY;
      const lastResort = [...candidates]
        .sort((left, right) => right.time - left.time || (left.id < right.id ? 1 : -1))
        .find(
          (candidate) =>
            candidate.time > newestGoodTime &&
            ((candidate.state === 'completed' && candidate.verified === 'failed') ||
              candidate.state === 'partially-failed'),
        );
      if (lastResort !== undefined) expect(kept.has(lastResort.id), context).toBe(true);

      // Pinned backups are never removed.
      for (const candidate of candidates)
        if (candidate.pinned === true) expect(kept.has(candidate.id), context).toBe(true);

      // Every period reason is valid: the backup is the newest good one of that period, or the oldest good backup.
      const calendar = createCalendar(timeZone);
      const keyOf = (rule: (typeof RULES)[number], candidate: RetentionCandidate): string => {
        const fields = calendar(candidate.time);
        const pad = (value: number): string => String(value).padStart(2, '0');
        if (rule === 'hourly') return `${fields.year}-${pad(fields.month)}-${pad(fields.day)}T${pad(fields.hour)}`;
        if (rule === 'daily') return `${fields.year}-${pad(fields.month)}-${pad(fields.day)}`;
        if (rule === 'weekly') {
          const week = isoWeek(fields.year, fields.month, fields.day);
          return `${week.year}-W${pad(week.week)}`;
        }
        if (rule === 'monthly') return `${fields.year}-${pad(fields.month)}`;
        return String(fields.year);
      };
      const policyCount: Record<(typeof RULES)[number], number | undefined> = {
        last: policy.keepLast,
        hourly: policy.keepHourly,
        daily: policy.keepDaily,
        weekly: policy.keepWeekly,
        monthly: policy.keepMonthly,
        yearly: policy.keepYearly,
      };
      for (const rule of RULES) {
        const ruleReason = (text: string): boolean =>
          !text.includes(' within ') && (text.startsWith(`${rule} `) || text.startsWith(`oldest ${rule} `));
        const holders = plan.keep.filter((decision) => decision.reasons.some(ruleReason));
        const limit = policyCount[rule] ?? 0;
        if (limit === 0) {
          expect(holders.length, context).toBe(0);
          continue;
        }
        if (rule === 'last') {
          const expected = limit === -1 ? goodNewestFirst.length : Math.min(limit, goodNewestFirst.length);
          expect(holders.length, context).toBe(expected);
          continue;
        }
        const distinct = new Set<string>();
        for (const candidate of goodNewestFirst) distinct.add(keyOf(rule, candidate));
        const periods = limit === -1 ? distinct.size : Math.min(limit, distinct.size);
        // One per period, plus possibly the oldest backup while count was left.
        expect(holders.length, context).toBeGreaterThanOrEqual(periods);
        expect(holders.length, context).toBeLessThanOrEqual(periods + 1);
        for (const decision of holders) {
          const candidate = byId.get(decision.id) as RetentionCandidate;
          expect(isGood(candidate), context).toBe(true);
          const reason = decision.reasons.find(ruleReason) as string;
          const key = keyOf(rule, candidate);
          expect(reason.endsWith(` ${key}`), `${context}: ${reason} vs ${key}`).toBe(true);
          if (reason.startsWith('oldest ')) {
            expect(candidate.id, context).toBe(goodNewestFirst.at(-1)?.id);
          } else {
            const newestInPeriod = goodNewestFirst.find((other) => keyOf(rule, other) === key);
            expect(newestInPeriod?.id, context).toBe(candidate.id);
          }
        }
      }

      // keepWithin reasons only inside the window (from the newest good backup not in the future); safety reasons
      // only on good backups, and "newest good" only on the newest one.
      const latest = Math.max(
        Number.NEGATIVE_INFINITY,
        ...goodNewestFirst.filter((candidate) => candidate.time < now).map((candidate) => candidate.time),
      );
      const withinMs =
        policy.keepWithin === undefined
          ? undefined
          : { '2h': 2 * HOUR, '24h': 24 * HOUR, '240h': 240 * HOUR }[policy.keepWithin as string];
      for (const decision of plan.keep) {
        const candidate = byId.get(decision.id) as RetentionCandidate;
        for (const reason of decision.reasons) {
          if (reason.endsWith('of the newest backup'))
            expect(candidate.time > latest - (withinMs as number), `${context}: ${reason}`).toBe(true);
          if (reason.startsWith('newest good backup')) expect(candidate.id, context).toBe(goodNewestFirst[0]?.id);
          if (reason.startsWith('minGood')) expect(isGood(candidate), context).toBe(true);
        }
      }
      if (withinMs !== undefined) {
        for (const candidate of goodNewestFirst) {
          if (candidate.time > latest - withinMs)
            expect(kept.has(candidate.id), `${context}: ${candidate.id} is inside keepWithin`).toBe(true);
        }
      }

      // A good backup carrying every tag of a keepTags set is kept ('' in a set: an untagged backup).
      for (const candidate of goodNewestFirst) {
        const tags = candidate.tags ?? [];
        const matches = (policy.keepTags ?? []).some(
          (set) =>
            set.every((tag) => (tag === '' ? tags.length === 0 : tags.includes(tag))) ||
            (set.includes('') && tags.length === 0),
        );
        if (matches)
          expect(kept.has(candidate.id), `${context}: ${candidate.id} has tags ${tags.join(',')}`).toBe(true);
      }

      // Failures and in-progress backups never carry a keep-rule reason, and are removed only by their age rules.
      for (const decision of plan.remove) {
        const candidate = byId.get(decision.id) as RetentionCandidate;
        if (isGood(candidate)) expect(decision.reasons, context).toEqual(['good, but no rule keeps it']);
        else if (candidate.state === 'in-progress') expect(now - candidate.time, context).toBeGreaterThan(24 * HOUR);
        else expect(now - candidate.time, context).toBeGreaterThan(7 * 24 * HOUR);
      }
    }
  });
});
