import { durationSchema, type Duration } from '@ops/core';
import { z } from 'zod';
import { retentionWindowProblem, type RetentionWindow } from './retention-window.js';

/**
 * Which backups to keep. The `keep*` rules follow restic's `forget` exactly (see the README): each count rule keeps
 * the newest backup of each of the last N calendar periods that contain a backup; `-1` means unlimited; windows
 * count back from the newest good backup with calendar units (restic's AddDate); tag sets keep what carries their
 * tags. A backup is kept when any rule keeps it. Only good backups (completed, verification not failed) take part
 * in these rules. A policy needs at least one keep rule — an empty or all-zero one is refused, as restic does.
 */
export interface RetentionPolicy {
  /** Keep the N newest good backups. */
  keepLast?: number;
  /** Keep the newest good backup of each of the last N hours that have one. */
  keepHourly?: number;
  /** Keep the newest good backup of each of the last N days that have one. */
  keepDaily?: number;
  /** Keep the newest good backup of each of the last N ISO weeks (Monday to Sunday) that have one. */
  keepWeekly?: number;
  /** Keep the newest good backup of each of the last N months that have one. */
  keepMonthly?: number;
  /** Keep the newest good backup of each of the last N years that have one. */
  keepYearly?: number;
  /**
   * Keep every good backup started strictly after `newest − keepWithin`, where `newest` is the newest good backup
   * not in the future (restic's `--keep-within`: counted from the newest backup, not from now, so nothing more is
   * removed when backups stop). Calendar units `y`, `mo`, `w`, `d` count back on the calendar of `timeZone` as
   * restic's AddDate does (`'1mo'` from March 31 reaches March 3); `h`, `min`, `s`, `ms` are fixed. A bare `m` is
   * refused (months in restic, minutes elsewhere): write `mo` or `min`. See {@link RetentionWindow}.
   */
  keepWithin?: RetentionWindow;
  /** Within `keepWithinHourly` of the newest good backup, keep the newest backup of every hour. */
  keepWithinHourly?: RetentionWindow;
  /** Within `keepWithinDaily` of the newest good backup, keep the newest backup of every day. */
  keepWithinDaily?: RetentionWindow;
  /** Within `keepWithinWeekly` of the newest good backup, keep the newest backup of every ISO week. */
  keepWithinWeekly?: RetentionWindow;
  /** Within `keepWithinMonthly` of the newest good backup, keep the newest backup of every month. */
  keepWithinMonthly?: RetentionWindow;
  /** Within `keepWithinYearly` of the newest good backup, keep the newest backup of every year. */
  keepWithinYearly?: RetentionWindow;
  /**
   * Tag sets (restic's `--keep-tag`): keep every good backup that has all the tags of at least one set, using no
   * count. `[['release'], ['monthly', 'prod']]`; `['']` keeps untagged backups. Tags come from `runBackup({ tags })`.
   */
  keepTags?: readonly (readonly string[])[];
  /** Never leave fewer than this many good backups; default 1 (the newest good backup is always kept anyway). */
  minGood?: number;
  /** Failed, partially failed and verification-failed backups are removed once older than this (from now); default `'7d'`. */
  failedKeepFor?: Duration;
  /** In-progress backups older than this (from now) are treated as abandoned and removed; default `'24h'`. Prune under the job lock. */
  staleInProgressAfter?: Duration;
  /** Whether completed backups that were never verified count as good; default `false` (only verified `ok` counts). */
  countUnverified?: boolean;
}

const count = z
  .number()
  .int()
  .refine((value) => value >= -1, { message: 'expected an integer >= 0, or -1 for unlimited' })
  .optional();
const window = z
  .union([z.number(), z.string()])
  .superRefine((value, context) => {
    const problem = retentionWindowProblem(value);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  })
  .optional();
const tag = z.string().refine((value) => !value.includes(','), {
  message: 'a tag cannot contain "," (restic separates the tags of a set with commas)',
});

/** A tag of a backup: not empty, no comma (restic's separator), no leading or trailing space. */
export const backupTagSchema = z
  .string()
  .refine((value) => value !== '' && !value.includes(',') && value.trim() === value, {
    message: 'a tag must be non-empty, without "," and without leading or trailing spaces',
  });

const NO_KEEP_RULE =
  'no keep rule: give at least one of keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly (a count; -1 keeps all), keepWithin or keepWithinHourly … keepWithinYearly (a window such as "30d") or keepTags. An empty or all-zero policy would keep nothing, and restic refuses it too; to keep every good backup and only clean failed ones, use keepLast: -1';

/**
 * zod schema of a {@link RetentionPolicy}, used for config files (`retention:` of a job) and by `planRetention`
 * itself, so both refuse the same: unknown keys (with a "did you mean"), negative counts other than -1, zero,
 * negative or ambiguous windows (`'1m'`), empty tag sets, and policies without any keep rule. Errors name the path
 * (`jobs[0].retention.keepDaily: expected integer`). `failedKeepFor` and `staleInProgressAfter` come out as
 * milliseconds; windows are kept as written.
 *
 * @example
 * ```ts
 * const policy = parseWithSchema(retentionPolicySchema, { keepDaily: 7, keepWithin: '1y6mo', keepTags: [['release']] }, 'ops-backup.yaml');
 * ```
 */
export const retentionPolicySchema = z
  .object({
    keepLast: count,
    keepHourly: count,
    keepDaily: count,
    keepWeekly: count,
    keepMonthly: count,
    keepYearly: count,
    keepWithin: window,
    keepWithinHourly: window,
    keepWithinDaily: window,
    keepWithinWeekly: window,
    keepWithinMonthly: window,
    keepWithinYearly: window,
    keepTags: z
      .array(
        z.array(tag).refine((set) => set.length > 0, {
          message: 'an empty tag set matches every backup; use [""] to keep untagged backups',
        }),
      )
      .optional(),
    minGood: z.number().int().min(1).optional(),
    failedKeepFor: durationSchema.optional(),
    staleInProgressAfter: durationSchema.optional(),
    countUnverified: z.boolean().optional(),
  })
  .strict()
  .superRefine((policy, context) => {
    const counted = (value: number | undefined) => value !== undefined && value !== 0;
    const hasRule =
      [
        policy.keepLast,
        policy.keepHourly,
        policy.keepDaily,
        policy.keepWeekly,
        policy.keepMonthly,
        policy.keepYearly,
      ].some(counted) ||
      [
        policy.keepWithin,
        policy.keepWithinHourly,
        policy.keepWithinDaily,
        policy.keepWithinWeekly,
        policy.keepWithinMonthly,
        policy.keepWithinYearly,
      ].some((value) => value !== undefined) ||
      (policy.keepTags?.length ?? 0) > 0;
    if (!hasRule) context.addIssue({ code: 'custom', message: NO_KEEP_RULE });
  });
