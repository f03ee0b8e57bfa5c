import {
  createBackoff,
  parseDuration,
  parseOptionalDuration,
  type AlertSeverity,
  type Check,
  type Duration,
} from '@ops/core';
import type { HealingAction } from '../actions/action.js';
import { HealingError } from '../errors.js';
import { functionCondition, type ConditionSample, type HealingCondition } from './conditions.js';

/** How a step is verified: the rule's condition clear for `clearSamples` samples, or a check that passes. */
export type VerifyOptions =
  | {
      /** Consecutive clear samples needed (missing data does not count). Default 3. */
      clearSamples?: number;
      /** Spacing of the samples. Default the healer's `every`. */
      every?: Duration;
      /** A verify that takes longer fails. Default (clearSamples + 2) × every. */
      timeout?: Duration;
    }
  | {
      /** A check (or `perTargetCheck(...)`); passes unless it reports `fail`. */
      check: Check | ((target: string) => Check);
      /** A verify that takes longer (a hung check) fails. Default `'30s'`. */
      timeout?: Duration;
    };

/** One step of a ladder. */
export interface LadderStep {
  /** What the step does. */
  action: HealingAction;
  /** Deadline of the action; past it the step is `timed-out` (a failure). Default `'30s'`. */
  timeout?: Duration;
  /** Wait between the action and its verify. Default `'10s'`. */
  settle?: Duration;
  /** How the step is verified (mandatory; the default is the condition clear for 3 samples). */
  verify?: VerifyOptions;
  /** Runs of this step per episode before moving to the next (with backoff between). Default 1; terminal: 1. */
  runs?: number;
}

/** The attempt cap: at most `count` actions per (rule, target) in a sliding `window`. */
export interface AttemptCap {
  count: number;
  window: Duration;
}

/** The kubelet-shaped backoff between actions on one (rule, target). */
export interface RuleBackoff {
  /** First delay. Default `'10s'`. */
  initialDelay?: Duration;
  /** Cap. Default `'300s'`. */
  maxDelay?: Duration;
  /** Growth per action. Default 2. */
  multiplier?: number;
  /** Jitter: up to this share of the delay is added. Default 0.1. */
  jitterRatio?: number;
  /** Clean time (no action) after which the curve starts over. Default 2 × maxDelay (10 minutes). */
  resetAfter?: Duration;
}

/** Flap detection: more than `maxEpisodes` episodes opened in `window` → stop acting and escalate. */
export interface FlapDetection {
  maxEpisodes: number;
  window: Duration;
}

/** The fleet rule: too many unhealthy at once means a shared cause — escalate, do not act. */
export interface FleetRule {
  /** Share of the fleet above which the cause is taken as shared. Default 0.5. */
  maxUnhealthyShare?: number;
  /** Below this fleet size the rule does not apply. Default 3. */
  minFleetSize?: number;
  /** `targets`: the rule's targets as seen by this healer (default); `instances`: instances reporting through the store. */
  scope?: 'targets' | 'instances';
}

/** The fleet disruption budget: at most `max` or `maxShare` of the fleet in remediation at once. */
export interface DisruptionBudget {
  /** Absolute cap. */
  max?: number;
  /** Share of the fleet (rounded down, at least 1). Default 0.25 when neither is given. */
  maxShare?: number;
  /** Budget shared by the rules naming the same scope. Default the rule's name. */
  scope?: string;
}

/** A healing rule: when a condition holds for a while on a target, run the ladder under the rails. */
export interface HealingRule {
  /** Unique name, used in keys, audit, metrics and alerts. */
  name: string;
  /** The condition, evaluated per target on each tick (a function is a {@link functionCondition}). */
  when: HealingCondition | ((target: string, signal: AbortSignal) => boolean | Promise<boolean>);
  /** How long the condition must hold before an episode opens (core sustained condition). */
  for: Duration;
  /** The targets: a list, or a function returning the current ones (container names). Default `['process']`. */
  targets?: readonly string[] | ((signal: AbortSignal) => readonly string[] | Promise<readonly string[]>);
  /** The ladder, in order. */
  ladder: readonly LadderStep[];
  /** No evaluation for this long after the healer starts, a target starts, and each action. Default 0. */
  warmup?: Duration;
  /** When a target (re)started, epoch ms, for the warm-up. */
  targetStartedAt?: (target: string) => number | undefined | Promise<number | undefined>;
  /** After an action, no new episode acts on the same (rule, target) for this long. Default `'1m'`. */
  cooldown?: Duration;
  /** Attempt cap. Default 3 per `'1h'`. */
  maxAttempts?: AttemptCap;
  /** Backoff between actions. Default 10 s × 2 up to 300 s, reset after 10 min clean. */
  backoff?: RuleBackoff;
  /** Flap detection. Default more than 5 episodes in `'1h'`. */
  flap?: FlapDetection;
  /** The fleet rule; `false` turns it off. */
  fleet?: FleetRule | false;
  /** The disruption budget. */
  budget?: DisruptionBudget;
  /** Evaluate, lock and audit "would run", never act. Default the healer's `dryRun`. */
  dryRun?: boolean;
  /** Severity of escalations. Default `'error'`. */
  severity?: AlertSeverity;
  /** Run once after the ladder is exhausted (escalated), under the same lock. */
  rollback?: HealingAction;
  /** What the rule is about, for alerts: `'API memory above 85%'`. */
  summary?: string;
}

/** A rule with its options parsed and defaults applied. */
export interface ResolvedRule {
  name: string;
  condition: HealingCondition;
  forMs: number;
  targets: HealingRule['targets'];
  ladder: ResolvedStep[];
  warmupMs: number;
  targetStartedAt: HealingRule['targetStartedAt'];
  cooldownMs: number;
  attemptCount: number;
  attemptWindowMs: number;
  backoff: Required<Omit<RuleBackoff, 'initialDelay' | 'maxDelay' | 'resetAfter'>> & {
    initialMs: number;
    maxMs: number;
    resetAfterMs: number;
  };
  flapMax: number;
  flapWindowMs: number;
  fleet: Required<FleetRule> | undefined;
  budget: { max: number | undefined; maxShare: number | undefined; scope: string };
  dryRun: boolean | undefined;
  severity: AlertSeverity;
  rollback: HealingAction | undefined;
  summary: string;
}

/** A ladder step with its options parsed. */
export interface ResolvedStep {
  action: HealingAction;
  timeoutMs: number;
  settleMs: number;
  runs: number;
  verify:
    | { method: 'condition'; clearSamples: number; everyMs: number; timeoutMs: number }
    | { method: 'check'; check: Check | ((target: string) => Check); timeoutMs: number };
}

const fail = (message: string): never => {
  throw new HealingError('RULE_INVALID', message);
};

/** Validates a rule and applies the defaults (`everyMs` is the healer's tick). */
export function resolveRule(rule: HealingRule, index: number, everyMs: number): ResolvedRule {
  const at = `rules[${index}]`;
  if (typeof rule.name !== 'string' || rule.name === '') fail(`${at}.name: must be a non-empty string`);
  const name = rule.name;
  if (!rule.when) fail(`${at} (${name}).when: give a condition or a function`);
  const condition =
    typeof rule.when === 'function'
      ? functionCondition(rule.when as (target: string, signal: AbortSignal) => boolean, 'function')
      : rule.when;
  if (typeof condition.sample !== 'function') fail(`${at} (${name}).when: a condition has sample(target, signal)`);
  if (!Array.isArray(rule.ladder) || rule.ladder.length === 0)
    fail(`${at} (${name}).ladder: give at least one step (an escalate step is a valid ladder)`);
  const ladder = rule.ladder.map((step, stepIndex) =>
    resolveStep(step, `${at} (${name}).ladder[${stepIndex}]`, everyMs),
  );
  const backoff = rule.backoff ?? {};
  const initialMs = parseOptionalDuration(backoff.initialDelay, 'backoff.initialDelay') ?? 10_000;
  const maxMs = parseOptionalDuration(backoff.maxDelay, 'backoff.maxDelay') ?? 300_000;
  // Let core validate the curve (initial ≤ max, multiplier ≥ 1, jitter in range).
  createBackoff({
    initialDelay: initialMs,
    maxDelay: maxMs,
    multiplier: backoff.multiplier ?? 2,
    jitter: 'proportional',
    jitterRatio: backoff.jitterRatio ?? 0.1,
  });
  const fleet =
    rule.fleet === false
      ? undefined
      : {
          maxUnhealthyShare: rule.fleet?.maxUnhealthyShare ?? 0.5,
          minFleetSize: rule.fleet?.minFleetSize ?? 3,
          scope: rule.fleet?.scope ?? 'targets',
        };
  if (fleet && !(fleet.maxUnhealthyShare > 0 && fleet.maxUnhealthyShare <= 1))
    fail(`${at} (${name}).fleet.maxUnhealthyShare: must be in (0, 1], got ${fleet.maxUnhealthyShare}`);
  const budget = rule.budget ?? {};
  if (budget.max !== undefined && !(Number.isInteger(budget.max) && budget.max >= 1))
    fail(`${at} (${name}).budget.max: must be an integer ≥ 1, got ${budget.max}`);
  if (budget.maxShare !== undefined && !(budget.maxShare > 0 && budget.maxShare <= 1))
    fail(`${at} (${name}).budget.maxShare: must be in (0, 1], got ${budget.maxShare}`);
  const attempts = rule.maxAttempts ?? { count: 3, window: '1h' };
  if (!(Number.isInteger(attempts.count) && attempts.count >= 1))
    fail(`${at} (${name}).maxAttempts.count: must be an integer ≥ 1`);
  const flap = rule.flap ?? { maxEpisodes: 5, window: '1h' };
  return {
    name,
    condition,
    forMs: parseDuration(rule.for, `${at}.for`),
    targets: rule.targets,
    ladder,
    warmupMs: parseOptionalDuration(rule.warmup, `${at}.warmup`) ?? 0,
    targetStartedAt: rule.targetStartedAt,
    cooldownMs: parseOptionalDuration(rule.cooldown, `${at}.cooldown`) ?? 60_000,
    attemptCount: attempts.count,
    attemptWindowMs: parseDuration(attempts.window, `${at}.maxAttempts.window`),
    backoff: {
      initialMs,
      maxMs,
      multiplier: backoff.multiplier ?? 2,
      jitterRatio: backoff.jitterRatio ?? 0.1,
      resetAfterMs: parseOptionalDuration(backoff.resetAfter, `${at}.backoff.resetAfter`) ?? 2 * maxMs,
    },
    flapMax: flap.maxEpisodes,
    flapWindowMs: parseDuration(flap.window, `${at}.flap.window`),
    fleet,
    budget: {
      max: budget.max,
      maxShare: budget.max === undefined && budget.maxShare === undefined ? 0.25 : budget.maxShare,
      scope: budget.scope ?? name,
    },
    dryRun: rule.dryRun,
    severity: rule.severity ?? 'error',
    rollback: rule.rollback,
    summary: rule.summary ?? `${name}: ${condition.description}`,
  };
}

function resolveStep(step: LadderStep, at: string, everyMs: number): ResolvedStep {
  if (!step || !step.action || typeof step.action.run !== 'function')
    fail(`${at}.action: a HealingAction with run(context)`);
  const verify = step.verify ?? {};
  const runs = step.action.terminal ? 1 : (step.runs ?? 1);
  if (!(Number.isInteger(runs) && runs >= 1)) fail(`${at}.runs: must be an integer ≥ 1`);
  let resolvedVerify: ResolvedStep['verify'];
  if ('check' in verify) {
    if (typeof verify.check !== 'function') fail(`${at}.verify.check: a Check function`);
    resolvedVerify = {
      method: 'check',
      check: verify.check,
      timeoutMs: parseOptionalDuration(verify.timeout, `${at}.verify.timeout`) ?? 30_000,
    };
  } else {
    const clearSamples = verify.clearSamples ?? 3;
    if (!(Number.isInteger(clearSamples) && clearSamples >= 1)) fail(`${at}.verify.clearSamples: integer ≥ 1`);
    const sampleEveryMs = parseOptionalDuration(verify.every, `${at}.verify.every`) ?? everyMs;
    resolvedVerify = {
      method: 'condition',
      clearSamples,
      everyMs: sampleEveryMs,
      timeoutMs: parseOptionalDuration(verify.timeout, `${at}.verify.timeout`) ?? (clearSamples + 2) * sampleEveryMs,
    };
  }
  return {
    action: step.action,
    timeoutMs: parseOptionalDuration(step.timeout, `${at}.timeout`) ?? 30_000,
    settleMs: parseOptionalDuration(step.settle, `${at}.settle`) ?? 10_000,
    runs,
    verify: resolvedVerify,
  };
}

/** The delay after the `level`-th action (1-based) on the rule's backoff curve, through core's backoff. */
export function backoffDelay(rule: ResolvedRule, level: number, random: () => number): number {
  if (level <= 0) return 0;
  const curve = createBackoff({
    initialDelay: rule.backoff.initialMs,
    maxDelay: rule.backoff.maxMs,
    multiplier: rule.backoff.multiplier,
    jitter: 'proportional',
    jitterRatio: rule.backoff.jitterRatio,
    random,
  });
  let delay = 0;
  for (let step = 0; step < Math.min(level, 64); step++) delay = curve.next();
  return delay;
}

/** Re-exported for rule authors. */
export type { ConditionSample };
