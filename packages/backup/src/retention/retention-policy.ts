import { durationSchema, type Duration } from '@ops/core';
import { z } from 'zod';

/**
 * Which backups to keep. The `keep*` rules follow restic's `forget` exactly (see the README): each count rule keeps
 * the newest backup of each of the last N calendar periods that contain a backup; `-1` means unlimited. A backup is
 * kept when any rule keeps it. Only good backups (completed, verification not failed) take part in these rules.
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
   * removed when backups stop). Fixed-length units only: `d` = 24 h, `w` = 7 d (`m` is minutes, not months).
   */
  keepWithin?: Duration;
  /** Within `keepWithinHourly` of the newest good backup, keep the newest backup of every hour. */
  keepWithinHourly?: Duration;
  /** Within `keepWithinDaily` of the newest good backup, keep the newest backup of every day. */
  keepWithinDaily?: Duration;
  /** Within `keepWithinWeekly` of the newest good backup, keep the newest backup of every ISO week. */
  keepWithinWeekly?: Duration;
  /** Within `keepWithinMonthly` of the newest good backup, keep the newest backup of every month. */
  keepWithinMonthly?: Duration;
  /** Within `keepWithinYearly` of the newest good backup, keep the newest backup of every year. */
  keepWithinYearly?: Duration;
  /** Never leave fewer than this many good backups; default 1 (the newest good backup is always kept anyway). */
  minGood?: number;
  /** Failed, partially failed and verification-failed backups are removed once older than this (from now); default `'7d'`. */
  failedKeepFor?: Duration;
  /** In-progress backups older than this (from now) are treated as abandoned and removed; default `'24h'`. Prune under the job lock. */
  staleInProgressAfter?: Duration;
  /** Whether completed backups that were never verified count as good; default `false` (only verified `ok` counts). */
  countUnverified?: boolean;
}

const count = z.number().int().min(-1);
const optionalDuration = durationSchema.optional();

/**
 * zod schema of a {@link RetentionPolicy} in a config file (`retention:` of a job). Unknown keys are rejected;
 * errors name the path (`jobs[0].retention.keepDaily: expected integer >= -1`). Durations come out as milliseconds.
 *
 * @example
 * ```ts
 * const policy = parseWithSchema(retentionPolicySchema, { keepDaily: 7, keepWeekly: 4, failedKeepFor: '3d' }, 'ops-backup.yaml');
 * ```
 */
export const retentionPolicySchema = z
  .object({
    keepLast: count.optional(),
    keepHourly: count.optional(),
    keepDaily: count.optional(),
    keepWeekly: count.optional(),
    keepMonthly: count.optional(),
    keepYearly: count.optional(),
    keepWithin: optionalDuration,
    keepWithinHourly: optionalDuration,
    keepWithinDaily: optionalDuration,
    keepWithinWeekly: optionalDuration,
    keepWithinMonthly: optionalDuration,
    keepWithinYearly: optionalDuration,
    minGood: z.number().int().min(1).optional(),
    failedKeepFor: optionalDuration,
    staleInProgressAfter: optionalDuration,
    countUnverified: z.boolean().optional(),
  })
  .strict();
