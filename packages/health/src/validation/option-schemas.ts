import { durationSchema, parseWithSchema } from '@ops/core';
import { z } from 'zod';

// Building blocks of the strict option schemas of createHealth, register and the probe factories: an unknown key
// is refused with a "did you mean" suggestion (core's ConfigError), and a value of the wrong kind says what is
// expected, so a typo never passes silently.

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/** A function, described as `description` when it is not one. */
export function functionSchema<T>(description: string) {
  return z.custom<T>((value) => typeof value === 'function', `must be ${description}`);
}

/** An object (a client, a clock, a logger) with the given methods, described as `description` when it is not. */
export function objectWithMethods<T>(methods: readonly string[], description: string) {
  return z.custom<T>(
    (value) => isObject(value) && methods.every((method) => typeof value[method] === 'function'),
    `must be ${description}`,
  );
}

/** A duration that must be greater than 0 (a deadline of 0 would fail every run). */
export const positiveDurationSchema = durationSchema.refine((ms) => ms > 0, 'must be greater than 0');

/** A warning ratio in [0, 1] (80 % is `0.8`: a percentage such as `80` is refused). */
export const ratioSchema = z.number().min(0).max(1);

/** A failure ratio: >= 0; a value above 1 never fails (some set `1.01` to keep only the warning). */
export const failRatioSchema = z.number().min(0);

/** A count: an integer >= 0. */
export const countSchema = z.number().int().min(0);

/** Validates a factory's options strictly; the error names `label` and every bad path. */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, label: string): z.output<S> {
  return parseWithSchema(schema, options, `${label} options`);
}
