import { z } from 'zod';

/**
 * The value of one label matcher: a string is an exact match (`=`); an object picks the operator — `regex` (`=~`),
 * `notRegex` (`!~`) or `not` (`!=`). Regexes are anchored at both ends, as in Prometheus (RE2 syntax).
 *
 * @example
 * ```ts
 * const matchers: LabelMatchers = { job: 'api', code: { regex: '5..' }, method: { not: 'OPTIONS' } };
 * ```
 */
export type LabelMatcherValue = string | { regex: string } | { notRegex: string } | { not: string };

/** Label matchers of a counter selector, by label name. */
export type LabelMatchers = Record<string, LabelMatcherValue>;

/** A Prometheus label matcher operator. */
export type MatchOperator = '=' | '!=' | '=~' | '!~';

/** One matcher as operator and value. */
export interface LabelMatcher {
  name: string;
  operator: MatchOperator;
  value: string;
}

const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function compiles(value: string): boolean {
  try {
    new RegExp(`^(?:${value})$`);
    return true;
  } catch {
    return false;
  }
}

const regexValue = z
  .string()
  .refine(compiles, { error: (issue) => `invalid regular expression ${JSON.stringify(issue.input)}` });

/** zod schema of {@link LabelMatchers}: label names checked, regexes compiled. */
export const labelMatchersSchema = z.record(
  z.string().regex(LABEL_NAME_PATTERN, 'expected a label name'),
  z.union(
    [
      z.string(),
      z.strictObject({ regex: regexValue }),
      z.strictObject({ notRegex: regexValue }),
      z.strictObject({ not: z.string() }),
    ],
    { error: () => 'expected a string (exact match) or one of { regex }, { notRegex }, { not }' },
  ),
);

/** The matchers as operator/value triples, in the order written. */
export function toLabelMatchers(matchers: LabelMatchers | undefined): LabelMatcher[] {
  return Object.entries(matchers ?? {}).map(([name, value]) => {
    if (typeof value === 'string') return { name, operator: '=', value };
    if ('regex' in value) return { name, operator: '=~', value: value.regex };
    if ('notRegex' in value) return { name, operator: '!~', value: value.notRegex };
    return { name, operator: '!=', value: value.not };
  });
}

/** The matcher value for an operator (the inverse of {@link toLabelMatchers}). */
export function matcherValue(operator: MatchOperator, value: string): LabelMatcherValue {
  if (operator === '=~') return { regex: value };
  if (operator === '!~') return { notRegex: value };
  if (operator === '!=') return { not: value };
  return value;
}

/** Renders a PromQL selector: `metric{a="x",code=~"5.."}` (an empty `{}` is left out). */
export function renderSelector(metric: string, matchers: LabelMatchers | undefined): string {
  const parts = toLabelMatchers(matchers).map(
    (matcher) => `${matcher.name}${matcher.operator}${JSON.stringify(matcher.value)}`,
  );
  return parts.length === 0 ? metric : `${metric}{${parts.join(',')}}`;
}

/**
 * A predicate over label values with Prometheus semantics: a missing label is the empty string, regexes are fully
 * anchored. Used where the in-process engine reads prom-client counters.
 */
export function compileMatchers(
  matchers: LabelMatchers | undefined,
): (labels: Readonly<Record<string, string | number | undefined>>) => boolean {
  const tests = toLabelMatchers(matchers).map((matcher) => {
    const regex =
      matcher.operator === '=~' || matcher.operator === '!~' ? new RegExp(`^(?:${matcher.value})$`) : undefined;
    return (labels: Readonly<Record<string, string | number | undefined>>) => {
      const actual = labels[matcher.name] === undefined ? '' : String(labels[matcher.name]);
      switch (matcher.operator) {
        case '=':
          return actual === matcher.value;
        case '!=':
          return actual !== matcher.value;
        case '=~':
          return (regex as RegExp).test(actual);
        default:
          return !(regex as RegExp).test(actual);
      }
    };
  });
  return (labels) => tests.every((test) => test(labels));
}

// Characters that only make sense in a regex. A lone "." is common in plain values (versions, host names), so only
// ".." or "." before a quantifier counts.
const REGEX_LOOKING = /[*+?[\]()|^$\\{}]|\.\.|\.[*+?]/;

/**
 * Warnings for exact (`=`) matcher values that look like regular expressions (`"5.."`, `"2..|3.."`): Prometheus
 * matches them literally, so the selector most likely matches nothing.
 */
export function regexLookingWarnings(matchers: LabelMatchers | undefined, path: string): string[] {
  const warnings: string[] = [];
  for (const matcher of toLabelMatchers(matchers)) {
    if (matcher.operator !== '=' || !REGEX_LOOKING.test(matcher.value)) continue;
    warnings.push(
      `${path}.${matcher.name}: ${JSON.stringify(matcher.value)} looks like a regular expression, but a plain value is an exact match ` +
        `(${matcher.name}=${JSON.stringify(matcher.value)}); write { regex: ${JSON.stringify(matcher.value)} } for ${matcher.name}=~${JSON.stringify(matcher.value)}`,
    );
  }
  return warnings;
}
