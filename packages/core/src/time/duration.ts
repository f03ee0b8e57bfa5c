import { z } from 'zod';
import { OpsError } from '../errors/ops-error.js';

/** A single unit suffix accepted in duration strings. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w';

/**
 * A length of time: milliseconds as a number, or a string of one or more `<integer-or-decimal><unit>` parts
 * such as `'500ms'`, `'30s'`, `'5m'`, `'1h30m'`, `'7d'`, `'4w'` (units `ms s m h d w`, as Prometheus).
 */
export type Duration = number | `${number}${DurationUnit}` | (string & {});

const UNIT_MS: Record<DurationUnit, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

function invalid(value: unknown, reason: string, name?: string): OpsError {
  const label = name ? `${name}: ` : '';
  return new OpsError(
    'DURATION_INVALID',
    `${label}invalid duration ${JSON.stringify(value) ?? String(value)}: ${reason}`,
  );
}

/**
 * Parses a {@link Duration} into whole milliseconds.
 *
 * @param name - names the option in the error message (`'timeout'` → `timeout: invalid duration "5x" …`).
 * @throws OpsError with code `DURATION_INVALID` for empty, negative, non-finite, unknown-unit or overflowing input.
 *
 * @example
 * ```ts
 * parseDuration('1h30m') // 5_400_000
 * parseDuration(250)     // 250
 * ```
 */
export function parseDuration(value: Duration, name?: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(value, 'must be a finite number of milliseconds', name);
    if (value < 0) throw invalid(value, 'must not be negative', name);
    if (value > Number.MAX_SAFE_INTEGER) throw invalid(value, 'too large', name);
    return Math.round(value);
  }
  if (typeof value !== 'string') throw invalid(value, 'expected a number of milliseconds or a string like "30s"', name);
  const text = value.trim();
  if (text === '') throw invalid(value, 'empty string; use a number with a unit such as "30s" or "5m"', name);
  if (text.startsWith('-')) throw invalid(value, 'must not be negative', name);
  if (/^\d+(\.\d+)?$/.test(text)) throw invalid(value, 'missing unit; use ms, s, m, h, d or w (e.g. "30s")', name);
  let total = 0;
  let index = 0;
  PART.lastIndex = 0;
  while (index < text.length) {
    PART.lastIndex = index;
    const match = PART.exec(text);
    if (!match) {
      const meant = suggestDuration(text);
      const hint = meant === undefined ? '' : ` (did you mean "${meant}"?)`;
      throw invalid(
        value,
        `unexpected "${text.slice(index)}"${hint}; units are ms, s, m, h, d, w (e.g. "1h30m")`,
        name,
      );
    }
    total += Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
    index = PART.lastIndex;
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) throw invalid(value, 'too large', name);
  return Math.round(total);
}

// Unit words people write ("5 mins", "30 seconds", "2hrs"). Single letters only in the case we accept: "5M" could
// mean months and is never guessed.
const UNIT_WORDS: ReadonlyArray<readonly [RegExp, DurationUnit]> = [
  [/^(?:ms|msecs?|millis|milliseconds?)$/i, 'ms'],
  [/^(?:s|secs?|seconds?)$/i, 's'],
  [/^(?:m|mins?|minutes?)$/i, 'm'],
  [/^(?:h|hrs?|hours?)$/i, 'h'],
  [/^(?:d|days?)$/i, 'd'],
  [/^(?:w|wks?|weeks?)$/i, 'w'],
];

/** The duration a user most likely meant by `text` (`'5 mins'` → `'5m'`), or `undefined` when there is no safe guess. */
function suggestDuration(text: string): string | undefined {
  let guessed = true;
  const candidate = text.replace(/(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*/g, (_whole, amount: string, word: string) => {
    const unit =
      word.length === 1
        ? word in UNIT_MS
          ? (word as DurationUnit)
          : undefined
        : UNIT_WORDS.find(([pattern]) => pattern.test(word))?.[1];
    if (unit === undefined) guessed = false;
    return `${amount}${unit ?? word}`;
  });
  if (!guessed || candidate === text || !/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/.test(candidate)) return undefined;
  return candidate;
}

/** Like {@link parseDuration}, but `undefined` passes through (for optional options). */
export function parseOptionalDuration(value: Duration | undefined, name?: string): number | undefined {
  return value === undefined ? undefined : parseDuration(value, name);
}

/**
 * Formats milliseconds as the shortest exact duration string: `90000` → `'1m30s'`, `0` → `'0s'`.
 * The output parses back to the same value with {@link parseDuration}.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw invalid(ms, 'cannot format a negative or non-finite duration');
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let out = '';
  for (const unit of ['w', 'd', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

/**
 * Formats a duration for humans, rounded to two significant units: `5_400_000` → `'1h 30m'`.
 * Not guaranteed to parse back; use {@link formatDuration} for that.
 */
export function humanizeDuration(ms: number): string {
  if (!Number.isFinite(ms)) return ms > 0 ? '∞' : '-∞';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1_000) return `${sign}${Math.round(rest)}ms`;
  const parts: string[] = [];
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0 || parts.length > 0) {
      if (count > 0) parts.push(`${count}${unit}`);
      rest -= count * size;
    }
    if (parts.length === 2) break;
  }
  return sign + parts.join(' ');
}

/**
 * zod schema for a duration field in config files: accepts `'30s'` or a millisecond number, outputs milliseconds.
 * Errors name the field path through {@link ConfigError}.
 */
export const durationSchema = z.union([z.number(), z.string()]).transform((value, context) => {
  try {
    return parseDuration(value);
  } catch (error) {
    context.addIssue({
      code: 'custom',
      message: (error as Error).message.replace(/^invalid duration /, 'invalid duration '),
    });
    return z.NEVER;
  }
});
