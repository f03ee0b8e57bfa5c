import { ConfigError, formatDuration, parseDuration, systemClock } from '@ops/core';
import { canonicalTimeZone, createCalendar, isoWeek, type CalendarFields } from './calendar-buckets.js';
import { retentionPolicySchema, type RetentionPolicy } from './retention-policy.js';
import {
  formatRetentionSpan,
  parseRetentionWindow,
  subtractRetentionSpan,
  type RetentionSpan,
} from './retention-window.js';
import { BackupError } from '../errors.js';
import type { z } from 'zod';

/** One backup as retention sees it. */
export interface RetentionCandidate {
  /** Backup id (unique). Breaks ties between equal start times: the larger id counts as newer. */
  id: string;
  /** Start time of the backup, epoch milliseconds (from the manifest, never parsed from a name). */
  time: number;
  /** Final state of the run. */
  state: 'completed' | 'partially-failed' | 'failed' | 'in-progress';
  /** Verification outcome; absent means `'unverified'`. */
  verified?: 'ok' | 'failed' | 'unverified';
  /** Pinned backups are always kept and do not use up any rule's count. */
  pinned?: boolean;
  /** Tags of the backup (from the manifest), matched by the policy's `keepTags`. */
  tags?: readonly string[];
}

/** One decision of a {@link RetentionPlan}. */
export interface RetentionDecision {
  id: string;
  /** Every reason, e.g. `['daily 2026-11-22', 'weekly 2026-W47']` or `['failed 9d ago, older than failedKeepFor 7d']`. */
  reasons: string[];
}

/** What to keep and what to remove, each newest first, with reasons (print it for a dry run). */
export interface RetentionPlan {
  keep: RetentionDecision[];
  remove: RetentionDecision[];
}

/** Options of {@link planRetention}. */
export interface PlanRetentionOptions {
  /** Current time (epoch ms) for the failed / in-progress age rules and the "not in the future" check; default: system clock. */
  now?: number;
  /** IANA time zone whose calendar defines hours, days, ISO weeks, months and years; default `'UTC'`. */
  timeZone?: string;
}

type Bucketer = (fields: CalendarFields, index: number) => string;

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
const BUCKETERS = {
  last: (_fields: CalendarFields, index: number) => `#${index + 1}`,
  hourly: (fields: CalendarFields) =>
    `${pad(fields.year, 4)}-${pad(fields.month)}-${pad(fields.day)}T${pad(fields.hour)}`,
  daily: (fields: CalendarFields) => `${pad(fields.year, 4)}-${pad(fields.month)}-${pad(fields.day)}`,
  weekly: (fields: CalendarFields) => {
    const week = isoWeek(fields.year, fields.month, fields.day);
    return `${pad(week.year, 4)}-W${pad(week.week)}`;
  },
  monthly: (fields: CalendarFields) => `${pad(fields.year, 4)}-${pad(fields.month)}`,
  yearly: (fields: CalendarFields) => pad(fields.year, 4),
} satisfies Record<string, Bucketer>;

type BucketName = keyof typeof BUCKETERS;
const COUNT_RULES: Array<[BucketName, keyof RetentionPolicy]> = [
  ['last', 'keepLast'],
  ['hourly', 'keepHourly'],
  ['daily', 'keepDaily'],
  ['weekly', 'keepWeekly'],
  ['monthly', 'keepMonthly'],
  ['yearly', 'keepYearly'],
];
const WITHIN_RULES: Array<[Exclude<BucketName, 'last'>, keyof RetentionPolicy]> = [
  ['hourly', 'keepWithinHourly'],
  ['daily', 'keepWithinDaily'],
  ['weekly', 'keepWithinWeekly'],
  ['monthly', 'keepWithinMonthly'],
  ['yearly', 'keepWithinYearly'],
];
const STATES = new Set(['completed', 'partially-failed', 'failed', 'in-progress']);
const VERIFICATIONS = new Set(['ok', 'failed', 'unverified']);

function invalid(message: string): BackupError {
  return new BackupError('ARGUMENT_INVALID', `retention: ${message}`);
}

/** Validates the policy with the config schema (same messages, "did you mean" for unknown keys). */
function validatePolicy(policy: RetentionPolicy): z.output<typeof retentionPolicySchema> {
  const parsed = retentionPolicySchema.safeParse(policy);
  if (parsed.success) return parsed.data;
  const configError = ConfigError.fromZod(parsed.error, 'retention policy', [], retentionPolicySchema);
  throw new BackupError('ARGUMENT_INVALID', configError.message, { cause: configError });
}

/** Whether a backup carries every tag of `set`; `''` in a set matches an untagged backup (restic's HasTags). */
function hasTags(tags: readonly string[], set: readonly string[]): boolean {
  for (const tag of set) {
    if (tag === '' && tags.length === 0) return true;
    if (!tags.includes(tag)) return false;
  }
  return true;
}

function describeTagSet(set: readonly string[]): string {
  return set.length === 1 && set[0] === '' ? 'has no tags (keepTags [""])' : `has tags [${set.join(', ')}]`;
}

function compareNewestFirst(left: RetentionCandidate, right: RetentionCandidate): number {
  if (left.time !== right.time) return right.time - left.time;
  return left.id < right.id ? 1 : left.id > right.id ? -1 : 0;
}

function ago(now: number, time: number): string {
  const age = now - time;
  return age < 0 ? 'in the future' : `${formatDuration(Math.floor(age / 60_000) * 60_000)} ago`;
}

/**
 * Decides which backups to keep and which to remove: restic `forget` rules over the good backups, plus safety rules.
 *
 * 1. Good backups (completed; verification `ok`, or unverified when `countUnverified`) are sorted newest first and
 *    go through restic's rules: `keepLast/Hourly/Daily/Weekly/Monthly/Yearly` (newest backup per calendar period in
 *    `timeZone`, ISO weeks; the oldest good backup is also kept while a rule has count left), `keepWithin` and
 *    `keepWithin<Period>` (back from the newest good backup that is not in the future, calendar units counted as
 *    restic's AddDate in `timeZone`) and `keepTags` (every backup with all tags of one set, using no count).
 *    Pinned backups are always kept.
 * 2. The newest good backup is never removed, and at least `minGood` good backups are kept (newest first).
 * 3. Failed, partially failed and verification-failed backups are removed once older than `failedKeepFor`;
 *    in-progress ones once older than `staleInProgressAfter`. They never fill a bucket. Completed backups that are
 *    not counted (unverified with `countUnverified: false`) are kept and say so. One exception: the newest
 *    verification-failed or partially failed backup is kept while no good backup is newer — the last restore point
 *    when every recent verification fails (a scratch server without an extension the data needs, say) or a source
 *    keeps failing; it goes by `failedKeepFor` once a newer good backup exists.
 *
 * Pure and deterministic: it only plans; deleting is the caller's job (manifest first, then data).
 *
 * The policy is validated with {@link retentionPolicySchema}, exactly as a config file is: unknown or misspelled
 * keys (with a "did you mean"), zero or ambiguous windows (`'0s'`, `'1m'`) and a policy without any keep rule are
 * refused rather than silently keeping everything or nothing.
 *
 * @throws BackupError `ARGUMENT_INVALID` for a bad policy, time zone or candidate list (duplicate ids, bad times).
 *
 * @example
 * ```ts
 * const plan = planRetention(candidates, { keepDaily: 7, keepWeekly: 4, keepMonthly: 12, minGood: 3 }, { timeZone: 'Europe/Berlin' });
 * for (const { id, reasons } of plan.remove) console.log(`remove ${id}: ${reasons.join('; ')}`);
 * ```
 */
export function planRetention(
  candidates: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  options: PlanRetentionOptions = {},
): RetentionPlan {
  const { now = systemClock.now(), timeZone = 'UTC' } = options;
  const zone = canonicalTimeZone(timeZone);
  if (zone === undefined)
    throw invalid(`unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as "UTC" or "Europe/Berlin"`);
  if (!Number.isFinite(now)) throw invalid('options.now must be a finite epoch time in milliseconds');
  const rules = readRules(policy);
  checkCandidates(candidates);

  const sorted = [...candidates].sort(compareNewestFirst);
  const isGood = (candidate: RetentionCandidate): boolean =>
    candidate.state === 'completed' &&
    (candidate.verified === 'ok' || (rules.countUnverified && (candidate.verified ?? 'unverified') === 'unverified'));
  const good = sorted.filter((candidate) => isGood(candidate));
  const reasons = new Map<string, string[]>();
  applyKeepRules(good, rules, { now, zone, reasons });
  applySafetyRules(good, rules.minGood, reasons);

  // The newest backup holding data that is not good (verification failed, or some sources failed), when no good
  // backup is newer: it may be all there is to restore from.
  const newestGoodTime = good[0]?.time ?? Number.NEGATIVE_INFINITY;
  const lastResort = sorted.find(
    (candidate) =>
      candidate.time > newestGoodTime &&
      ((candidate.state === 'completed' && candidate.verified === 'failed') || candidate.state === 'partially-failed'),
  );
  const plan: RetentionPlan = { keep: [], remove: [] };
  for (const candidate of sorted) {
    if (isGood(candidate)) {
      const kept = reasons.get(candidate.id);
      if (kept !== undefined) plan.keep.push({ id: candidate.id, reasons: kept });
      else plan.remove.push({ id: candidate.id, reasons: ['good, but no rule keeps it'] });
    } else {
      decideUncounted(candidate, rules, now, plan, candidate === lastResort);
    }
  }
  return plan;
}

/** The policy's rules, read and checked; `last` of each rule is the bucket it last kept. */
interface RetentionRules {
  counts: Array<{ name: BucketName; count: number; last: string | undefined }>;
  withins: Array<{ name: BucketName; span: RetentionSpan | undefined; last: string | undefined }>;
  keepWithin: RetentionSpan | undefined;
  keepTags: readonly (readonly string[])[];
  failedKeepFor: number;
  staleInProgressAfter: number;
  minGood: number;
  countUnverified: boolean;
}

function readRules(input: RetentionPolicy): RetentionRules {
  const policy = validatePolicy(input);
  const window = (value: string | number | undefined) =>
    value === undefined ? undefined : parseRetentionWindow(value);
  const counts = COUNT_RULES.map(([name, key]) => ({
    name,
    count: (policy[key] as number | undefined) ?? 0,
    last: undefined as string | undefined,
  }));
  const withins = WITHIN_RULES.map(([name, key]) => ({
    name,
    span: window(policy[key] as string | number | undefined),
    last: undefined as string | undefined,
  }));
  const {
    minGood = 1,
    countUnverified = false,
    keepTags = [],
    failedKeepFor = parseDuration('7d'),
    staleInProgressAfter = parseDuration('24h'),
  } = policy;
  return {
    counts,
    withins,
    keepWithin: window(policy.keepWithin),
    keepTags,
    failedKeepFor,
    staleInProgressAfter,
    minGood,
    countUnverified,
  };
}

function checkCandidates(candidates: readonly RetentionCandidate[]): void {
  const seen = new Set<string>();
  for (const [index, candidate] of candidates.entries()) {
    if (typeof candidate.id !== 'string' || candidate.id === '')
      throw invalid(`candidates[${index}].id must be a non-empty string`);
    if (seen.has(candidate.id))
      throw invalid(`duplicate backup id ${JSON.stringify(candidate.id)} (candidates[${index}])`);
    seen.add(candidate.id);
    if (!Number.isFinite(candidate.time))
      throw invalid(`candidates[${index}].time must be epoch milliseconds (backup ${candidate.id})`);
    if (!STATES.has(candidate.state))
      throw invalid(
        `candidates[${index}].state ${JSON.stringify(candidate.state)} is not one of completed, partially-failed, failed, in-progress`,
      );
    if (candidate.verified !== undefined && !VERIFICATIONS.has(candidate.verified)) {
      throw invalid(
        `candidates[${index}].verified ${JSON.stringify(candidate.verified)} is not one of ok, failed, unverified`,
      );
    }
    if (
      candidate.tags !== undefined &&
      (!Array.isArray(candidate.tags) || candidate.tags.some((tag) => typeof tag !== 'string'))
    ) {
      throw invalid(`candidates[${index}].tags must be an array of strings (backup ${candidate.id})`);
    }
  }
}

function addReason(reasons: Map<string, string[]>, id: string, reason: string): void {
  const list = reasons.get(id);
  if (list === undefined) reasons.set(id, [reason]);
  else list.push(reason);
}

/** 1. restic's ApplyPolicy over the good backups (newest first). Pinned and tagged ones are kept by no count of their own. */
function applyKeepRules(
  good: readonly RetentionCandidate[],
  rules: RetentionRules,
  context: { now: number; zone: string; reasons: Map<string, string[]> },
): void {
  const { now, zone, reasons } = context;
  const { counts, withins, keepWithin, keepTags } = rules;
  const calendar = createCalendar(zone);
  let latest = Number.NEGATIVE_INFINITY;
  for (const candidate of good) if (candidate.time > latest && candidate.time < now) latest = candidate.time;
  // Each window starts at the newest good backup minus its span, on the calendar of the zone (restic's AddDate).
  const windowStart = (span: RetentionSpan): number =>
    latest === Number.NEGATIVE_INFINITY ? latest : subtractRetentionSpan(latest, span, zone);
  const within =
    keepWithin === undefined ? undefined : { start: windowStart(keepWithin), label: formatRetentionSpan(keepWithin) };
  const withinRules = withins.flatMap((rule) =>
    rule.span === undefined ? [] : [{ rule, start: windowStart(rule.span), label: formatRetentionSpan(rule.span) }],
  );
  for (const [index, candidate] of good.entries()) {
    if (candidate.pinned === true) addReason(reasons, candidate.id, 'pinned');
    for (const set of keepTags)
      if (hasTags(candidate.tags ?? [], set)) addReason(reasons, candidate.id, describeTagSet(set));
    const fields = calendar(candidate.time);
    const isOldest = index === good.length - 1;
    if (within !== undefined && candidate.time > within.start)
      addReason(reasons, candidate.id, `within ${within.label} of the newest backup`);
    for (const rule of counts) {
      if (rule.count === 0) continue;
      const key = (BUCKETERS[rule.name] as Bucketer)(fields, index);
      if (key !== rule.last || isOldest) {
        addReason(reasons, candidate.id, key === rule.last ? `oldest ${rule.name} ${key}` : `${rule.name} ${key}`);
        rule.last = key;
        if (rule.count > 0) rule.count -= 1;
      }
    }
    for (const { rule, start, label } of withinRules) {
      if (!(candidate.time > start)) continue;
      const key = (BUCKETERS[rule.name] as Bucketer)(fields, index);
      if (key !== rule.last || isOldest) {
        addReason(reasons, candidate.id, `${key === rule.last ? 'oldest ' : ''}${rule.name} ${key} within ${label}`);
        rule.last = key;
      }
    }
  }
}

/** 2. Safety: the newest good backup, and at least `minGood` good backups (newest first). */
function applySafetyRules(good: readonly RetentionCandidate[], minGood: number, reasons: Map<string, string[]>): void {
  const newestGood = good[0];
  if (newestGood !== undefined && !reasons.has(newestGood.id))
    addReason(reasons, newestGood.id, 'newest good backup (never removed)');
  let keptGood = good.filter((candidate) => reasons.has(candidate.id)).length;
  for (const candidate of good) {
    if (keptGood >= minGood) break;
    if (reasons.has(candidate.id)) continue;
    addReason(reasons, candidate.id, `minGood ${minGood}: keeps at least ${minGood} good backup(s)`);
    keptGood += 1;
  }
}

/** 3. A backup the keep rules do not count (pinned, in progress, unverified, failed): kept or removed by its age. */
function decideUncounted(
  candidate: RetentionCandidate,
  rules: RetentionRules,
  now: number,
  plan: RetentionPlan,
  /** The newest verification-failed or partially failed backup, and no good backup is newer. */
  lastResort: boolean,
): void {
  const { id, state } = candidate;
  const { failedKeepFor, staleInProgressAfter } = rules;
  const verified = candidate.verified ?? 'unverified';
  if (candidate.pinned === true) {
    plan.keep.push({ id, reasons: [`pinned (${state}, verification ${verified}; not counted by the keep rules)`] });
    return;
  }
  const age = ago(now, candidate.time);
  if (state === 'in-progress') {
    if (now - candidate.time > staleInProgressAfter)
      plan.remove.push({
        id,
        reasons: [
          `in progress since ${age}, longer than staleInProgressAfter ${formatDuration(staleInProgressAfter)}: abandoned`,
        ],
      });
    else plan.keep.push({ id, reasons: [`in progress (started ${age}); not counted by the keep rules`] });
    return;
  }
  if (state === 'completed' && verified !== 'failed') {
    plan.keep.push({
      id,
      reasons: [
        'completed but not verified: not counted by the keep rules and not removed (verify it, or set countUnverified)',
      ],
    });
    return;
  }
  const what = state === 'completed' ? 'verification failed' : state;
  if (now - candidate.time > failedKeepFor) {
    const older = `${what} ${age}, older than failedKeepFor ${formatDuration(failedKeepFor)}`;
    if (lastResort)
      plan.keep.push({
        id,
        reasons: [
          `${older}, but kept: no good backup is newer, so it is the last restore point; not counted by the keep rules`,
        ],
      });
    else plan.remove.push({ id, reasons: [older] });
  } else
    plan.keep.push({
      id,
      reasons: [
        `${what} ${age}; kept for inspection until older than failedKeepFor ${formatDuration(failedKeepFor)}; not counted by the keep rules`,
      ],
    });
}
