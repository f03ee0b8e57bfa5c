import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWithSchema } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runBackup } from '../jobs/run-backup.js';
import { pruneBackups } from '../prune/prune-backups.js';
import { createFilesSource } from '../sources/files-source.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { planRetention, type RetentionCandidate, type RetentionPlan } from './plan-retention.js';
import { retentionPolicySchema, type RetentionPolicy } from './retention-policy.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const at = (iso: string): number => Date.parse(iso);
const good = (id: string, time: number | string, tags?: string[]): RetentionCandidate => ({
  id,
  time: typeof time === 'string' ? at(time) : time,
  state: 'completed',
  verified: 'ok',
  ...(tags ? { tags } : {}),
});
const keptIds = (plan: RetentionPlan): string[] => plan.keep.map((decision) => decision.id);
const reasonsOf = (plan: RetentionPlan, id: string): string[] =>
  [...plan.keep, ...plan.remove].find((decision) => decision.id === id)?.reasons ?? [];

describe("calendar units in keepWithin*, with restic's AddDate arithmetic", () => {
  it('"1mo" from March 31 reaches back to March 3 (February 31 normalizes, as Go\'s AddDate does)', () => {
    const newest = at('2026-03-31T12:00:00Z');
    const candidates = [
      good('newest', newest),
      good('inside', '2026-03-03T12:00:01Z'),
      good('edge', '2026-03-03T12:00:00Z'),
      good('before', '2026-03-01T12:00:00Z'),
    ];
    const plan = planRetention(candidates, { keepWithin: '1mo' }, { now: newest + HOUR });
    expect(keptIds(plan)).toEqual(['newest', 'inside']); // strictly after newest − 1 month = 2026-03-03T12:00Z
    expect(reasonsOf(plan, 'inside')).toEqual(['within 1mo of the newest backup']);
  });

  it('"1y" from February 29 reaches back to March 1 of the year before', () => {
    const newest = at('2024-02-29T00:00:00Z');
    const candidates = [
      good('newest', newest),
      good('mar2', '2023-03-01T00:00:01Z'),
      good('mar1', '2023-03-01T00:00:00Z'),
    ];
    expect(keptIds(planRetention(candidates, { keepWithin: '1y' }, { now: newest + HOUR }))).toEqual([
      'newest',
      'mar2',
    ]);
  });

  it('"1y2mo3d4h": years, months and days on the calendar, then the hours', () => {
    const newest = at('2026-06-15T12:00:00Z');
    // 2026-06-15 12:00 − 1y2mo3d = 2025-04-12 12:00, − 4h = 08:00.
    const candidates = [
      good('newest', newest),
      good('after', '2025-04-12T08:00:01Z'),
      good('at', '2025-04-12T08:00:00Z'),
    ];
    expect(keptIds(planRetention(candidates, { keepWithin: '1y2mo3d4h' }, { now: newest + HOUR }))).toEqual([
      'newest',
      'after',
    ]);
  });

  it('days are calendar days in the configured time zone (a DST day has 23 hours)', () => {
    // Europe/Berlin springs forward on 2026-03-29: 1d back from 2026-03-29T12:00+02:00 is 2026-03-28T12:00+01:00.
    const newest = at('2026-03-29T10:00:00Z');
    const candidates = [
      good('newest', newest),
      good('after', '2026-03-28T11:00:01Z'),
      good('at', '2026-03-28T11:00:00Z'),
    ];
    expect(
      keptIds(planRetention(candidates, { keepWithin: '1d' }, { now: newest + HOUR, timeZone: 'Europe/Berlin' })),
    ).toEqual(['newest', 'after']);
    expect(
      keptIds(planRetention(candidates, { keepWithin: '24h' }, { now: newest + HOUR, timeZone: 'Europe/Berlin' })),
    ).toEqual(['newest', 'after', 'at']);
  });

  it('keepWithinMonthly: "6mo" keeps the newest backup of each month inside six calendar months', () => {
    const newest = at('2026-08-31T06:00:00Z');
    const candidates = Array.from({ length: 300 }, (_, index) =>
      good(`d${String(index).padStart(3, '0')}`, newest - index * DAY),
    );
    const plan = planRetention(candidates, { keepWithinMonthly: '6mo' }, { now: newest + HOUR });
    // Window: strictly after August 31 − 6 months = February 31, which normalizes to 2026-03-03T06:00Z.
    expect(plan.keep.map((decision) => decision.reasons[0])).toEqual([
      'monthly 2026-08 within 6mo',
      'monthly 2026-07 within 6mo',
      'monthly 2026-06 within 6mo',
      'monthly 2026-05 within 6mo',
      'monthly 2026-04 within 6mo',
      'monthly 2026-03 within 6mo',
    ]);
  });

  it('"m" is refused, never silently read as minutes or months', () => {
    for (const key of ['keepWithin', 'keepWithinDaily'] as const) {
      expect(() => planRetention([], { [key]: '1m' })).toThrow(
        /"m" is ambiguous.*"1mo" for months.*"1min" for minutes/,
      );
      expect(() => planRetention([], { [key]: '1y2m3d4h' })).toThrow(/"m" is ambiguous/);
    }
    expect(
      planRetention(
        [good('a', at('2026-01-01T00:00:00Z'))],
        { keepWithin: '90min' },
        { now: at('2026-01-02T00:00:00Z') },
      ).keep,
    ).toHaveLength(1);
  });

  it('a zero window is refused (restic treats it as unset; it used to keep only the newest backup)', () => {
    expect(() => planRetention([], { keepWithin: '0s' })).toThrow(/keepWithin: a zero window keeps nothing/);
    expect(() => planRetention([], { keepDaily: 7, keepWithinDaily: 0 })).toThrow(
      /keepWithinDaily: a zero window keeps nothing/,
    );
    expect(() => planRetention([], { keepWithin: '-1d' })).toThrow(/keepWithin/);
  });
});

describe('tags: keepTags keeps every good backup that has all tags of one set, as restic --keep-tag', () => {
  const now = at('2026-11-22T12:00:00Z');
  const candidates = [
    good('b0', now - 1 * DAY, ['nightly']),
    good('b1', now - 2 * DAY, ['release', 'prod']),
    good('b2', now - 3 * DAY, ['release']),
    good('b3', now - 4 * DAY),
    good('b4', now - 5 * DAY, ['nightly', 'monthly-archive']),
    good('b5', now - 6 * DAY, ['nightly']),
  ];

  it('lists of tag sets: a set matches when the backup has all its tags; tags use no count', () => {
    const plan = planRetention(
      candidates,
      { keepLast: 1, keepTags: [['release', 'prod'], ['monthly-archive']] },
      { now },
    );
    expect(keptIds(plan)).toEqual(['b0', 'b1', 'b4']);
    expect(reasonsOf(plan, 'b1')).toEqual(['has tags [release, prod]']);
    expect(reasonsOf(plan, 'b4')).toEqual(['has tags [monthly-archive]']);
    expect(reasonsOf(plan, 'b0')).toEqual(['last #1']);
  });

  it('[""] keeps the untagged backups', () => {
    const plan = planRetention(candidates, { keepTags: [['']] }, { now });
    expect(keptIds(plan)).toEqual(['b0', 'b3']); // b0: the newest good backup is never removed
    expect(reasonsOf(plan, 'b3')).toEqual(['has no tags (keepTags [""])']);
  });

  it('refuses an empty tag set, which every backup matches, and tags with commas', () => {
    expect(() => planRetention(candidates, { keepTags: [[]] }, { now })).toThrow(
      /keepTags\[0\]: an empty tag set matches every backup/,
    );
    expect(() => planRetention(candidates, { keepTags: [['a,b']] }, { now })).toThrow(/keepTags\[0\]\[0\]/);
  });

  it('pruneBackups reads the tags of each run from the manifests', async () => {
    const storage = createMemoryStorage();
    const source = createFilesSource({ directory: dirname(fileURLToPath(import.meta.url)) });
    const release = await runBackup({
      job: 'app',
      storage,
      sources: [source],
      tags: ['release', 'v1.2.0'],
      lock: false,
    });
    const nightly = await runBackup({ job: 'app', storage, sources: [source], tags: ['nightly'], lock: false });
    const newest = await runBackup({ job: 'app', storage, sources: [source], tags: ['nightly'], lock: false });
    const report = await pruneBackups({ storage, job: 'app', policy: { keepLast: 1, keepTags: [['release']] } });
    const actions = Object.fromEntries(
      report.decisions.map((decision) => [decision.id, [decision.action, decision.tags, decision.reasons[0]]]),
    );
    expect(actions[release.id]).toEqual(['keep', ['release', 'v1.2.0'], 'has tags [release]']);
    expect(actions[nightly.id]?.[0]).toBe('remove');
    expect(actions[newest.id]?.[0]).toBe('keep');
    await expect(
      runBackup({ job: 'app', storage, sources: [source], tags: ['a,b'], lock: false }),
    ).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
  });
});

describe('planRetention validates like the config schema', () => {
  it('refuses unknown and misspelled keys, suggesting the right one', () => {
    expect(() => planRetention([], { keepDayly: 7 } as RetentionPolicy)).toThrow(
      /unknown key\(s\) "keepDayly" \(did you mean "keepDaily"\?\)/,
    );
    expect(() => planRetention([], { keepLast: 3, keep_tags: [] } as unknown as RetentionPolicy)).toThrow(
      /"keep_tags" \(did you mean "keepTags"\?\)/,
    );
    expect(() => planRetention([], { keepLast: 3, minGod: 2 } as unknown as RetentionPolicy)).toThrow(
      /"minGod" \(did you mean "minGood"\?\)/,
    );
  });

  it('refuses an empty or all-zero policy, which restic refuses too (it used to keep everything silently)', () => {
    for (const policy of [
      {},
      { keepDaily: 0, keepLast: 0 },
      { minGood: 3, failedKeepFor: '3d' },
    ] as RetentionPolicy[]) {
      expect(() => planRetention([good('a', at('2026-01-01T00:00:00Z'))], policy), JSON.stringify(policy)).toThrow(
        /no keep rule.*keepLast: -1/,
      );
    }
  });

  it('refuses bad values with the path, like the config file', () => {
    expect(() => planRetention([], { keepDaily: -2 })).toThrow(
      /keepDaily: expected an integer >= 0, or -1 for unlimited/,
    );
    expect(() => planRetention([], { keepDaily: 1.5 })).toThrow(/keepDaily: expected int/);
    expect(() => planRetention([], { keepWithin: '3x' })).toThrow(/keepWithin: invalid retention window "3x"/);
    expect(() => planRetention([], { keepLast: 1, minGood: 0 })).toThrow(/minGood: expected integer >= 1/);
  });

  it('the config schema refuses the same, naming the path', () => {
    const fileSchema = z.object({ jobs: z.array(z.object({ retention: retentionPolicySchema })) });
    const load = (retention: unknown) => () =>
      parseWithSchema(fileSchema, { jobs: [{ retention }] }, 'ops-backup.yaml');
    expect(load({})).toThrow(/jobs\[0\]\.retention: no keep rule/);
    expect(load({ keepWithin: '1m' })).toThrow(/jobs\[0\]\.retention\.keepWithin: .*"m" is ambiguous/);
    expect(load({ keepWithin: '0s' })).toThrow(/jobs\[0\]\.retention\.keepWithin: a zero window keeps nothing/);
    expect(load({ keepDayly: 7 })).toThrow(/did you mean "keepDaily"/);
    expect(
      parseWithSchema(
        fileSchema,
        { jobs: [{ retention: { keepWithin: '1y2mo', keepTags: [['release'], ['']] } }] },
        'ops-backup.yaml',
      ).jobs[0]?.retention,
    ).toEqual({ keepWithin: '1y2mo', keepTags: [['release'], ['']] });
  });
});
