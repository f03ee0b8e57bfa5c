import { durationSchema, parseDuration, parseWithSchema } from '@ops/core';
import { z } from 'zod';
import { HealthError } from '../errors.js';
import { functionSchema, positiveDurationSchema } from '../validation/option-schemas.js';
import type { CheckMode, CheckRegistration, Probe } from './types.js';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const RESERVED_NAMES = new Set(['live', 'ready', 'startup']);
const TAGS = ['live', 'ready', 'startup'] as const;

/** A {@link CheckMode} with its duration in milliseconds. */
export type ParsedCheckMode = { every: number } | { ttl: number };

/**
 * The shortest polling interval accepted (`mode: { every }`): polling faster than every 100 ms only loads the
 * dependency (and `every: 0` ran a check hundreds of times a second). On-demand checks (`{ ttl }`) have no floor:
 * concurrent callers share one run.
 */
export const MIN_POLL_INTERVAL_MS = 100;

/** Schema of a {@link CheckMode}, shared by the health options and the registrations. */
export const checkModeSchema = z
  .strictObject({ every: durationSchema.optional(), ttl: durationSchema.optional() })
  .superRefine((mode, context) => {
    if (mode.every !== undefined && mode.ttl !== undefined) {
      context.addIssue({ code: 'custom', message: 'give either every (polled) or ttl (on demand), not both' });
    } else if (mode.every === undefined && mode.ttl === undefined) {
      context.addIssue({
        code: 'custom',
        message: 'expected { every: Duration } (polled) or { ttl: Duration } (on demand)',
      });
    } else if (mode.every !== undefined && mode.every < MIN_POLL_INTERVAL_MS) {
      context.addIssue({
        code: 'custom',
        path: ['every'],
        message: `must be at least ${MIN_POLL_INTERVAL_MS}ms (polling faster only loads the dependency; use { ttl } for on-demand checks)`,
      });
    }
  });

const registrationSchema = z.strictObject({
  name: z.string().regex(NAME_PATTERN, 'must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 100 characters)'),
  check: functionSchema<unknown>('a function (signal) => Promise<CheckResult>'),
  critical: z.boolean().optional(),
  timeout: positiveDurationSchema.optional(),
  tags: z.array(z.enum(TAGS)).min(1).optional(),
  mode: checkModeSchema.optional(),
  failAfter: z.number().int().min(1).optional(),
  failAfterDuration: durationSchema.optional(),
  recoverAfter: z.number().int().min(1).optional(),
  componentType: z.enum(['component', 'datastore', 'system']).optional(),
  componentId: z.string().optional(),
  measurement: z
    .string()
    .regex(/^[^:]+$/, 'must not contain ":"')
    .optional(),
  secrets: z.array(z.string()).optional(),
});

/** Parses the duration of a {@link CheckMode}. */
export function parseCheckMode(mode: CheckMode): ParsedCheckMode {
  return 'every' in mode ? { every: parseDuration(mode.every) } : { ttl: parseDuration(mode.ttl) };
}

/**
 * Refuses a registration before anything runs: a malformed one (`ConfigError` naming the field), an endpoint's name,
 * a name `isTaken` (`CHECK_DUPLICATE`), and a remote dependency probe tagged `live`.
 */
export function validateRegistration(registration: CheckRegistration, isTaken: (name: string) => boolean): void {
  parseWithSchema(
    registrationSchema,
    registration,
    `check registration${typeof registration.name === 'string' ? ` "${registration.name}"` : ''}`,
  );
  const { name } = registration;
  if (RESERVED_NAMES.has(name))
    throw new HealthError('ARGUMENT_INVALID', `check name "${name}" is reserved for an endpoint`);
  if (isTaken(name)) throw new HealthError('CHECK_DUPLICATE', `a check named "${name}" is already registered`);
  const probe = registration.check as Partial<Probe>;
  if ((registration.tags ?? []).includes('live') && probe.kind === 'dependency') {
    throw new HealthError(
      'ARGUMENT_INVALID',
      `check "${name}" probes a remote dependency and cannot be tagged "live": liveness must stay process-local (a dependency outage would restart every instance)`,
    );
  }
}
