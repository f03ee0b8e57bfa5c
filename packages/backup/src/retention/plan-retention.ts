import { formatDuration, parseDuration, systemClock, type Duration } from '@ops/core';
import { canonicalTimeZone, createCalendar, isoWeek, type CalendarFields } from './calendar-buckets.js';
import type { RetentionPolicy } from './retention-policy.js';
import { BackupError } from '../errors.js';

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
  hourly: (fields: CalendarFields) => `${pad(fields.year, 4)}-${pad(fields.month)}-${pad(fields.day)}T${pad(fields.hour)}`,
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

function readCount(policy: RetentionPolicy, key: keyof RetentionPolicy): number {
  const value = policy[key];
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -1) {
    throw invalid(`${key} must be an integer >= 0, or -1 for unlimited; got ${JSON.stringify(value)}`);
  }
  return value;
}

function readDuration(policy: RetentionPolicy, key: keyof RetentionPolicy, fallback?: Duration): number | undefined {
  const value = (policy[key] as Duration | undefined) ?? fallback;
  if (value === undefined) return undefined;
  try {
    return parseDuration(value, `retention.${key}`);
  } catch (error) {
    throw new BackupError('ARGUMENT_INVALID', (error as Error).message, { cause: error });
  }
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
 *    `keepWithin<Period>` (from the newest good backup that is not in the future). Pinned backups are always kept.
 * 2. The newest good backup is never removed, and at least `minGood` good backups are kept (newest first).
 * 3. Failed, partially failed and verification-failed backups are removed once older than `failedKeepFor`;
 *    in-progress ones once older than `staleInProgressAfter`. They never fill a bucket. Completed backups that are
 *    not counted (unverified with `countUnverified: false`) are kept and say so.
 *
 * Pure and deterministic: it only plans; deleting is the caller's job (manifest first, then data).
 *
 * @throws BackupError `ARGUMENT_INVALID` for a bad policy, time zone or candidate list (duplicate ids, bad times).
 *
 * @example
 * ```ts
 * const plan = planRetention(candidates, { keepDaily: 7, keepWeekly: 4, keepMonthly: 12, minGood: 3 }, { timeZone: 'Europe/Berlin' });
 * for (const { id, reasons } of plan.remove) console.log(`remove ${id}: ${reasons.join('; ')}`);
 * ```
 */
export function planRetention(candidates: readonly RetentionCandidate[], policy: RetentionPolicy, options: PlanRetentionOptions = {}): RetentionPlan {
  const { now = systemClock.now(), timeZone = 'UTC' } = options;
  const zone = canonicalTimeZone(timeZone);
  if (zone === undefined) throw invalid(`unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as "UTC" or "Europe/Berlin"`);
  if (!Number.isFinite(now)) throw invalid('options.now must be a finite epoch time in milliseconds');
  const rules = readRules(policy);
  checkCandidates(candidates);

  const sorted = [...candidates].sort(compareNewestFirst);
  const isGood = (candidate: RetentionCandidate): boolean =>
    candidate.state === 'completed' && (candidate.verified === 'ok' || (rules.countUnverified && (candidate.verified ?? 'unverified') === 'unverified'));
  const good = sorted.filter((candidate) => isGood(candidate));
  const reasons = new Map<string, string[]>();
  applyKeepRules(good, rules, { now, zone, reasons });
  applySafetyRules(good, rules.minGood, reasons);

  const plan: RetentionPlan = { keep: [], remove: [] };
  for (const candidate of sorted) {
    if (isGood(candidate)) {
      const kept = reasons.get(candidate.id);
      if (kept !== undefined) plan.keep.push({ id: candidate.id, reasons: kept });
      else plan.remove.push({ id: candidate.id, reasons: ['good, but no rule keeps it'] });
    } else {
      decideUncounted(candidate, rules, now, plan);
    }
  }
  return plan;
}

/** The policy's rules, read and checked; `last` of each rule is the bucket it last kept. */
interface RetentionRules {
  counts: Array<{ name: BucketName; count: number; last: string | undefined }>;
  withins: Array<{ name: BucketName; within: number | undefined; last: string | undefined }>;
  keepWithin: number | undefined;
  failedKeepFor: number;
  staleInProgressAfter: number;
  minGood: number;
  countUnverified: boolean;
  /** Any keep rule at all (else good backups are never removed). */
  hasKeepRule: boolean;
}

function readRules(policy: RetentionPolicy): RetentionRules {
  const counts = COUNT_RULES.map(([name, key]) => ({ name, count: readCount(policy, key), last: undefined as string | undefined }));
  const withins = WITHIN_RULES.map(([name, key]) => ({ name, within: readDuration(policy, key), last: undefined as string | undefined }));
  const keepWithin = readDuration(policy, 'keepWithin');
  const failedKeepFor = readDuration(policy, 'failedKeepFor', '7d') as number;
  const staleInProgressAfter = readDuration(policy, 'staleInProgressAfter', '24h') as number;
  const { minGood = 1, countUnverified = false } = policy;
  if (!Number.isInteger(minGood) || minGood < 1) throw invalid(`minGood must be an integer >= 1; got ${JSON.stringify(minGood)}`);
  const hasKeepRule = counts.some((rule) => rule.count !== 0) || keepWithin !== undefined || withins.some((rule) => rule.within !== undefined);
  return { counts, withins, keepWithin, failedKeepFor, staleInProgressAfter, minGood, countUnverified, hasKeepRule };
}

function checkCandidates(candidates: readonly RetentionCandidate[]): void {
  const seen = new Set<string>();
  for (const [index, candidate] of candidates.entries()) {
    if (typeof candidate.id !== 'string' || candidate.id === '') throw invalid(`candidates[${index}].id must be a non-empty string`);
    if (seen.has(candidate.id)) throw invalid(`duplicate backup id ${JSON.stringify(candidate.id)} (candidates[${index}])`);
    seen.add(candidate.id);
    if (!Number.isFinite(candidate.time)) throw invalid(`candidates[${index}].time must be epoch milliseconds (backup ${candidate.id})`);
    if (!STATES.has(candidate.state)) throw invalid(`candidates[${index}].state ${JSON.stringify(candidate.state)} is not one of completed, partially-failed, failed, in-progress`);
    if (candidate.verified !== undefined && !VERIFICATIONS.has(candidate.verified)) {
      throw invalid(`candidates[${index}].verified ${JSON.stringify(candidate.verified)} is not one of ok, failed, unverified`);
    }
  }
}

function addReason(reasons: Map<string, string[]>, id: string, reason: string): void {
  const list = reasons.get(id);
  if (list === undefined) reasons.set(id, [reason]);
  else list.push(reason);
}

/** 1. restic's ApplyPolicy over the good backups (newest first). Pinned ones are kept but do not consume counts (like tags). */
function applyKeepRules(good: readonly RetentionCandidate[], rules: RetentionRules, context: { now: number; zone: string; reasons: Map<string, string[]> }): void {
  const { now, zone, reasons } = context;
  const { counts, withins, keepWithin } = rules;
  const calendar = createCalendar(zone);
  let latest = Number.NEGATIVE_INFINITY;
  for (const candidate of good) if (candidate.time > latest && candidate.time < now) latest = candidate.time;
  for (const [index, candidate] of good.entries()) {
    if (candidate.pinned === true) addReason(reasons, candidate.id, 'pinned');
    const fields = calendar(candidate.time);
    const isOldest = index === good.length - 1;
    if (keepWithin !== undefined && candidate.time > latest - keepWithin) addReason(reasons, candidate.id, `within ${formatDuration(keepWithin)} of the newest backup`);
    for (const rule of counts) {
      if (rule.count === 0) continue;
      const key = (BUCKETERS[rule.name] as Bucketer)(fields, index);
      if (key !== rule.last || isOldest) {
        addReason(reasons, candidate.id, key === rule.last ? `oldest ${rule.name} ${key}` : `${rule.name} ${key}`);
        rule.last = key;
        if (rule.count > 0) rule.count -= 1;
      }
    }
    for (const rule of withins) {
      if (rule.within === undefined || !(candidate.time > latest - rule.within)) continue;
      const key = (BUCKETERS[rule.name] as Bucketer)(fields, index);
      if (key !== rule.last || isOldest) {
        addReason(reasons, candidate.id, `${key === rule.last ? 'oldest ' : ''}${rule.name} ${key} within ${formatDuration(rule.within)}`);
        rule.last = key;
      }
    }
  }
  if (!rules.hasKeepRule) for (const candidate of good) addReason(reasons, candidate.id, 'no keep rule configured: good backups are never removed');
}

/** 2. Safety: the newest good backup, and at least `minGood` good backups (newest first). */
function applySafetyRules(good: readonly RetentionCandidate[], minGood: number, reasons: Map<string, string[]>): void {
  const newestGood = good[0];
  if (newestGood !== undefined && !reasons.has(newestGood.id)) addReason(reasons, newestGood.id, 'newest good backup (never removed)');
  let keptGood = good.filter((candidate) => reasons.has(candidate.id)).length;
  for (const candidate of good) {
    if (keptGood >= minGood) break;
    if (reasons.has(candidate.id)) continue;
    addReason(reasons, candidate.id, `minGood ${minGood}: keeps at least ${minGood} good backup(s)`);
    keptGood += 1;
  }
}

/** 3. A backup the keep rules do not count (pinned, in progress, unverified, failed): kept or removed by its age. */
function decideUncounted(candidate: RetentionCandidate, rules: RetentionRules, now: number, plan: RetentionPlan): void {
  const { id, state } = candidate;
  const { failedKeepFor, staleInProgressAfter } = rules;
  const verified = candidate.verified ?? 'unverified';
  if (candidate.pinned === true) {
    plan.keep.push({ id, reasons: [`pinned (${state}, verification ${verified}; not counted by the keep rules)`] });
    return;
  }
  const age = ago(now, candidate.time);
  if (state === 'in-progress') {
    if (now - candidate.time > staleInProgressAfter) plan.remove.push({ id, reasons: [`in progress since ${age}, longer than staleInProgressAfter ${formatDuration(staleInProgressAfter)}: abandoned`] });
    else plan.keep.push({ id, reasons: [`in progress (started ${age}); not counted by the keep rules`] });
    return;
  }
  if (state === 'completed' && verified !== 'failed') {
    plan.keep.push({ id, reasons: ['completed but not verified: not counted by the keep rules and not removed (verify it, or set countUnverified)'] });
    return;
  }
  const what = state === 'completed' ? 'verification failed' : state;
  if (now - candidate.time > failedKeepFor) plan.remove.push({ id, reasons: [`${what} ${age}, older than failedKeepFor ${formatDuration(failedKeepFor)}`] });
  else plan.keep.push({ id, reasons: [`${what} ${age}; kept for inspection until older than failedKeepFor ${formatDuration(failedKeepFor)}; not counted by the keep rules`] });
}
