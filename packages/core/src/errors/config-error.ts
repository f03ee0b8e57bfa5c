import type { z } from 'zod';
import { suggestKey } from '../config/suggest-key.js';
import { OpsError, type OpsErrorOptions } from './ops-error.js';

/** One problem found in a configuration value, with the path that names it. */
export interface ConfigIssue {
  /** Dotted/bracketed path such as `jobs[1].retention.keepDaily`; empty for the root. */
  path: string;
  /** What is wrong, in words a user can act on. */
  message: string;
}

/** Formats a path array (`['jobs', 1, 'retention']`) as `jobs[1].retention`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'symbol') out += `[${segment.toString()}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

interface SchemaNode {
  _zod?: { def?: Record<string, unknown> & { type?: string } };
  format?: unknown;
}

/**
 * Finds the schema that validated `path` inside `schema` (objects, arrays, tuples, records, and wrappers such as
 * optional/default/pipe), or `undefined` when the path cannot be followed (unions, lazy schemas).
 */
function schemaAt(schema: unknown, path: ReadonlyArray<PropertyKey>): SchemaNode | undefined {
  let node = schema as SchemaNode | undefined;
  let index = 0;
  for (let guard = 0; node && guard < 1_000; guard++) {
    const def = node._zod?.def;
    if (!def) return undefined;
    const wrapped = (def.innerType ?? (def.type === 'pipe' ? def.in : undefined)) as SchemaNode | undefined;
    if (wrapped && def.type !== 'object' && def.type !== 'array') {
      node = wrapped;
      continue;
    }
    if (index === path.length) return node;
    const segment = path[index++];
    if (def.type === 'object') node = (def.shape as Record<PropertyKey, SchemaNode> | undefined)?.[segment as string];
    else if (def.type === 'array') node = def.element as SchemaNode;
    else if (def.type === 'record') node = def.valueType as SchemaNode;
    else if (def.type === 'tuple') node = (def.items as SchemaNode[] | undefined)?.[segment as number];
    else return undefined;
  }
  return undefined;
}

function isIntegerSchema(node: SchemaNode | undefined): boolean {
  return typeof node?.format === 'string' && /int/.test(node.format);
}

// zod's messages do not say that a value is missing ("Invalid input: expected number, received undefined"). With the
// input at hand (parseWithSchema, parseConfigText) a per-parse error map marks missing values; from a zod error alone
// (fromZod) zod's default wording still tells.
const MISSING = 'required';

function isMissing(issue: { message: string }): boolean {
  return issue.message === MISSING || /\breceived undefined$/.test(issue.message);
}

/** Per-parse zod error map: an absent value — also an absent discriminator — is reported as {@link MISSING}. */
function markMissing(issue: { code?: string; input?: unknown; discriminator?: unknown }): string | undefined {
  if (issue.code === 'invalid_union' && typeof issue.discriminator === 'string') {
    const input = issue.input;
    return typeof input === 'object' &&
      input !== null &&
      (input as Record<string, unknown>)[issue.discriminator] === undefined
      ? MISSING
      : undefined;
  }
  if (
    (issue.code === 'invalid_type' || issue.code === 'invalid_union' || issue.code === 'invalid_value') &&
    issue.input === undefined
  )
    return MISSING;
  return undefined;
}

/** `expected …` for a union whose alternatives are plain types (`expected number or string`), else `undefined`. */
function describeUnionTypes(issue: z.core.$ZodIssueInvalidUnion): string | undefined {
  const expected: string[] = [];
  for (const branch of issue.errors) {
    const only = branch.length === 1 ? branch[0] : undefined;
    if (only?.code !== 'invalid_type' || only.path.length > 0) return undefined;
    expected.push(String(only.expected));
  }
  if (expected.length === 0) return undefined;
  return `expected ${[...new Set(expected)].join(' or ')}`;
}

function describeIssue(issue: z.core.$ZodIssue, schema?: unknown): string {
  const description = describeProblem(issue, schema);
  const missing =
    ((issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union') &&
      isMissing(issue)) ||
    // every alternative of a union saw nothing
    (issue.code === 'invalid_union' &&
      issue.errors.length > 0 &&
      issue.errors.every((branch) => branch.some((inner) => inner.path.length === 0 && isMissing(inner))));
  return missing ? `required (${description})` : description;
}

function describeProblem(issue: z.core.$ZodIssue, schema?: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected === 'number' && isIntegerSchema(schemaAt(schema, issue.path)) ? 'integer' : issue.expected}`;
    case 'too_small': {
      const op = issue.inclusive === false ? '>' : '>=';
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return `expected at least ${String(issue.minimum)} character(s)`;
      return `expected ${issue.origin === 'int' || isIntegerSchema(schemaAt(schema, issue.path)) ? 'integer' : 'number'} ${op} ${String(issue.minimum)}`;
    }
    case 'too_big': {
      const op = issue.inclusive === false ? '<' : '<=';
      if (issue.origin === 'array') return `expected at most ${String(issue.maximum)} item(s)`;
      if (issue.origin === 'string') return `expected at most ${String(issue.maximum)} character(s)`;
      return `expected ${issue.origin === 'int' || isIntegerSchema(schemaAt(schema, issue.path)) ? 'integer' : 'number'} ${op} ${String(issue.maximum)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'unrecognized_keys': {
      // "did you mean": the keys the object schema at this path declares (a typo must not pass silently)
      const shape = schemaAt(schema, issue.path)?._zod?.def?.shape as Record<string, unknown> | undefined;
      const known = shape ? Object.keys(shape) : [];
      const keys = issue.keys.map((key) => {
        const suggestion = suggestKey(key, known);
        return suggestion === undefined
          ? JSON.stringify(key)
          : `${JSON.stringify(key)} (did you mean ${JSON.stringify(suggestion)}?)`;
      });
      return `unknown key(s) ${keys.join(', ')}`;
    }
    case 'invalid_union': {
      // A discriminated union names its discriminator's allowed values (zod: "Invalid discriminator value").
      const options = (issue as { options?: unknown }).options;
      if (Array.isArray(options) && options.length > 0)
        return `expected one of ${options.map((value) => JSON.stringify(value)).join(', ')}`;
      const types = describeUnionTypes(issue);
      if (types) return types;
      return issue.message && issue.message !== 'Invalid input' && !isMissing(issue)
        ? issue.message
        : 'does not match any allowed shape';
    }
    default:
      return issue.message;
  }
}

/**
 * A configuration (file, options object, remote payload) that failed validation. Each issue names the path:
 * `jobs[1].retention.keepDaily: expected integer >= 0`.
 */
export class ConfigError extends OpsError {
  /** Every problem found, not just the first. */
  readonly issues: readonly ConfigIssue[];

  constructor(message: string, issues: readonly ConfigIssue[] = [], options: OpsErrorOptions = {}) {
    super('CONFIG_INVALID', message, options);
    this.issues = issues;
  }

  /**
   * Builds a `ConfigError` from a zod error. `source` (a file name or "options") prefixes the message. Pass the
   * `schema` that failed so integer fields are described as integers (zod 4 reports their limits as numbers).
   *
   * @example
   * ```ts
   * const parsed = schema.safeParse(input);
   * if (!parsed.success) throw ConfigError.fromZod(parsed.error, 'ops.yaml');
   * ```
   */
  static fromZod(
    error: z.ZodError,
    source?: string,
    pathPrefix: ReadonlyArray<PropertyKey> = [],
    schema?: z.ZodType,
  ): ConfigError {
    const issues = error.issues.map((issue) => ({
      path: formatPath([...pathPrefix, ...issue.path]),
      message: describeIssue(issue, schema),
    }));
    const lines = issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message));
    const head = source ? `invalid ${source}` : 'invalid configuration';
    return new ConfigError(`${head}: ${lines.join('; ')}`, issues, { cause: error });
  }
}

/**
 * Parses `input` with `schema`, throwing a {@link ConfigError} naming every bad path.
 */
export function parseWithSchema<S extends z.ZodType>(schema: S, input: unknown, source?: string): z.output<S> {
  const parsed = safeParseMarkingMissing(schema, input);
  if (!parsed.success) throw ConfigError.fromZod(parsed.error, source, [], schema);
  return parsed.data;
}

/**
 * `schema.safeParse(input)` with missing values reported as "required" (a schema's own messages still win). For
 * core's parsers; the issues then read `jobs[0].name: required (expected string)` once through {@link ConfigError}.
 */
export function safeParseMarkingMissing<S extends z.ZodType>(
  schema: S,
  input: unknown,
): z.ZodSafeParseResult<z.output<S>> {
  return schema.safeParse(input, { error: markMissing }) as z.ZodSafeParseResult<z.output<S>>;
}
