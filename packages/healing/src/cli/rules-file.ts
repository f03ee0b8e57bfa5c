import { durationSchema, loadConfig, type LoadConfigOptions } from '@ops/core';
import { z } from 'zod';
import { backoffSchema } from '../recipes/recipe-rule-options.js';

const countSchema = z.number().int().min(1);

/** One container autoheal rule of a rules file. */
const autohealRuleSchema = z.strictObject({
  /** Rule name (unique). */
  name: z.string().min(1).default('container-autoheal'),
  /** Containers with this label (`autoheal=true`), or `all`. */
  label: z.string().min(1).default('autoheal=true'),
  /** Only these container names. */
  names: z.array(z.string().min(1)).optional(),
  mode: z.enum(['restart', 'stop-start']).default('restart'),
  restartsPerEpisode: countSchema.default(3),
  restartTimeout: durationSchema.default(60_000),
  stopTimeout: durationSchema.default(10_000),
  maxAttempts: z.strictObject({ count: countSchema, window: durationSchema }).optional(),
  backoff: backoffSchema.optional(),
  budget: z.strictObject({ max: countSchema.optional(), maxShare: z.number().gt(0).max(1).optional() }).optional(),
  fleet: z
    .union([
      z.literal(false),
      z.strictObject({
        maxUnhealthyShare: z.number().gt(0).max(1).optional(),
        minFleetSize: countSchema.optional(),
      }),
    ])
    .optional(),
  warmup: durationSchema.optional(),
  cooldown: durationSchema.optional(),
  dryRun: z.boolean().optional(),
});

/** The zod schema of an `ops-heal` rules file (YAML or JSON, `${ENV}` interpolated). */
export const rulesFileSchema = z.strictObject({
  /** The Docker Engine API: a unix socket path. Default `/var/run/docker.sock`. */
  docker: z.strictObject({ socket: z.string().min(1) }).optional(),
  /** A Redis URL: healing state (locks, budget, rails, pauses) and audit are shared there. Default in memory. */
  redis: z.string().min(1).optional(),
  /** Key prefix in Redis. Default `ops:healing:`. */
  prefix: z.string().min(1).default('ops:healing:'),
  /** Evaluation interval. Default 5 s (docker-autoheal's AUTOHEAL_INTERVAL); events tick the healer at once. */
  every: durationSchema.default(5_000),
  /** Evaluate and audit "would run", never act. */
  dryRun: z.boolean().default(false),
  /** Escalations: POSTed as core OpsAlert JSON to this URL (and always logged). */
  alerts: z.strictObject({ webhook: z.url() }).optional(),
  rules: z.array(autohealRuleSchema).min(1),
});

/** A parsed rules file (durations in ms). */
export type RulesFile = z.output<typeof rulesFileSchema>;

/** Reads and validates a rules file; errors name the field and suggest the intended key. */
export function loadRulesFile(file: string, options: LoadConfigOptions = {}): Promise<RulesFile> {
  return loadConfig(file, rulesFileSchema, options);
}
