import { durationSchema } from '@ops/core';
import { z } from 'zod';
import type { HealingRule } from '../engine/rule.js';
import { HealingError } from '../errors.js';

/**
 * The rule-level options every recipe accepts, set on the rule it returns (instead of spreading the rule and
 * overriding fields by hand). Each one means what it means on a {@link HealingRule}; a recipe documents its own
 * defaults where it has them.
 */
export interface RecipeRuleOptions {
  /** Rule name (unique per healer). Default the recipe's own (`'memory'`, `'latency'`, …). */
  name?: string;
  /** The targets: a list, or a function returning the current ones. Default the recipe's own (`['process']`). */
  targets?: NonNullable<HealingRule['targets']>;
  /** After an action, no new episode acts on the same (rule, target) for this long. Default `'1m'`. */
  cooldown?: NonNullable<HealingRule['cooldown']>;
  /** No evaluation for this long after the healer starts, a target starts, and each action. Default 0. */
  warmup?: NonNullable<HealingRule['warmup']>;
  /** Attempt cap per (rule, target). Default 3 per `'1h'`. */
  maxAttempts?: NonNullable<HealingRule['maxAttempts']>;
  /** Backoff between actions on one (rule, target). Default 10 s doubling to 5 min. */
  backoff?: NonNullable<HealingRule['backoff']>;
  /** Flap detection. Default more than 5 episodes in `'1h'`. */
  flap?: NonNullable<HealingRule['flap']>;
  /** The fleet rule (shared cause); `false` turns it off. */
  fleet?: NonNullable<HealingRule['fleet']>;
  /** The fleet disruption budget. */
  budget?: NonNullable<HealingRule['budget']>;
  /** Evaluate, lock and audit "would run", never act. Default the healer's `dryRun`. */
  dryRun?: NonNullable<HealingRule['dryRun']>;
  /** Severity of escalations. Default `'error'`. */
  severity?: NonNullable<HealingRule['severity']>;
  /** What the rule is about, for alerts. Default the recipe's own. */
  summary?: NonNullable<HealingRule['summary']>;
}

const count = z.number().int().min(1);
const share = z.number().gt(0).max(1);

const targetsSchema = z.union(
  [
    z.array(z.string().min(1, 'target names must be non-empty strings')).min(1, 'give at least one target'),
    z.custom<(signal: AbortSignal) => readonly string[]>((value) => typeof value === 'function'),
  ],
  { error: 'expected a non-empty list of target names or a function returning them' },
);

/** The zod schema of a rule's `backoff` (also used by `ops-heal` rules files). */
export const backoffSchema = z.strictObject({
  initialDelay: durationSchema.optional(),
  maxDelay: durationSchema.optional(),
  multiplier: z.number().min(1).optional(),
  jitterRatio: z.number().min(0).max(1).optional(),
  resetAfter: durationSchema.optional(),
});

const recipeRuleOptionsSchema = z.object({
  name: z.string().min(1, 'must be a non-empty string').optional(),
  targets: targetsSchema.optional(),
  cooldown: durationSchema.optional(),
  warmup: durationSchema.optional(),
  maxAttempts: z.strictObject({ count, window: durationSchema }).optional(),
  backoff: backoffSchema.optional(),
  flap: z.strictObject({ maxEpisodes: count, window: durationSchema }).optional(),
  fleet: z
    .union(
      [
        z.literal(false),
        z.strictObject({
          maxUnhealthyShare: share.optional(),
          minFleetSize: count.optional(),
          scope: z.enum(['targets', 'instances']).optional(),
        }),
      ],
      { error: 'expected false or { maxUnhealthyShare?, minFleetSize?, scope? }' },
    )
    .optional(),
  budget: z
    .strictObject({ max: count.optional(), maxShare: share.optional(), scope: z.string().min(1).optional() })
    .optional(),
  dryRun: z.boolean().optional(),
  severity: z.enum(['info', 'warning', 'error', 'critical']).optional(),
  summary: z.string().min(1).optional(),
});

const KEYS = Object.keys(recipeRuleOptionsSchema.shape) as (keyof RecipeRuleOptions)[];

/**
 * Validates the rule-level options of a recipe and returns those given, to spread over the recipe's rule (the
 * values are kept as given: durations stay `'5m'`, the healer parses them). A bad value throws `ARGUMENT_INVALID`
 * naming the recipe and the field: `databaseConnectionLadder: cooldown: invalid duration "5 minutes" …`.
 */
export function recipeRuleOptions(recipe: string, options: RecipeRuleOptions): RecipeRuleOptions {
  const picked: Record<string, unknown> = {};
  for (const key of KEYS) if (options[key] !== undefined) picked[key] = options[key];
  const parsed = recipeRuleOptionsSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((part, index) =>
      typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`,
    );
    throw new HealingError('ARGUMENT_INVALID', `${recipe}: ${path.join('')}: ${issue.message}`);
  }
  return picked as RecipeRuleOptions;
}
