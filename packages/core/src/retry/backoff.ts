import { OpsError } from '../errors/ops-error.js';
import { parseOptionalDuration, type Duration } from '../time/duration.js';

/**
 * How a backoff delay is randomised:
 * - `none`: `min(max, initial × multiplier^attempt)`;
 * - `full`: a uniform draw in [0, that delay] (AWS "full jitter"; the default);
 * - `equal`: half the delay plus a uniform draw in [0, half] (cockatiel's `half`);
 * - `proportional`: the delay plus up to `jitterRatio` of it (kubelet's `maxJitterFactor`), capped at max;
 * - `decorrelated`: Polly's DecorrelatedJitterV2 (cockatiel's default): `t = attempt + rand`,
 *   `next = 2^t · tanh(√(4t))`, `delay = min((next − previous) · initial / 1.4, max)`.
 */
export type JitterKind = 'none' | 'full' | 'equal' | 'proportional' | 'decorrelated';

/** Options of {@link createBackoff}. */
export interface BackoffOptions {
  /** Delay before the first retry. Default `'100ms'`. */
  initialDelay?: Duration;
  /** Cap of any one delay. Default `'30s'`. */
  maxDelay?: Duration;
  /** Growth factor per attempt. Default 2. */
  multiplier?: number;
  /** Randomisation. Default `'full'`. */
  jitter?: JitterKind;
  /** With `jitter: 'proportional'`: the largest added fraction. Default 0.1. */
  jitterRatio?: number;
  /** Random source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** A sequence of delays that grows per attempt until {@link Backoff.reset}. */
export interface Backoff {
  /** Attempts taken so far (0 before the first `next()`). */
  readonly attempt: number;
  /** The delay before the next attempt, in milliseconds; advances the sequence. */
  next(): number;
  /** Back to the first delay (after a success, or a long enough clean period). */
  reset(): void;
}

/** Options with durations resolved to milliseconds, for callers that validate once. */
export interface ResolvedBackoff {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  jitter: JitterKind;
  jitterRatio: number;
  random: () => number;
}

/** Validates {@link BackoffOptions} once, naming the bad field. */
export function resolveBackoff(options: BackoffOptions = {}): ResolvedBackoff {
  const initialMs = parseOptionalDuration(options.initialDelay, 'initialDelay') ?? 100;
  const maxMs = parseOptionalDuration(options.maxDelay, 'maxDelay') ?? 30_000;
  const { multiplier = 2, jitter = 'full', jitterRatio = 0.1, random = Math.random } = options;
  if (!(initialMs > 0)) throw new OpsError('ARGUMENT_INVALID', `initialDelay must be > 0, got ${initialMs} ms`);
  if (!(maxMs >= initialMs))
    throw new OpsError('ARGUMENT_INVALID', `maxDelay (${maxMs} ms) must be >= initialDelay (${initialMs} ms)`);
  if (!(multiplier >= 1)) throw new OpsError('ARGUMENT_INVALID', `multiplier must be >= 1, got ${multiplier}`);
  if (!(jitterRatio >= 0 && jitterRatio <= 1))
    throw new OpsError('ARGUMENT_INVALID', `jitterRatio must be in [0, 1], got ${jitterRatio}`);
  if (!['none', 'full', 'equal', 'proportional', 'decorrelated'].includes(jitter)) {
    throw new OpsError(
      'ARGUMENT_INVALID',
      `jitter must be one of none, full, equal, proportional, decorrelated; got ${String(jitter)}`,
    );
  }
  return { initialMs, maxMs, multiplier, jitter, jitterRatio, random };
}

/**
 * Creates a capped exponential {@link Backoff}.
 *
 * @example
 * ```ts
 * const backoff = createBackoff({ initialDelay: '10s', maxDelay: '5m', jitter: 'proportional' }); // kubelet-like
 * await clock.sleep(backoff.next());
 * ```
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const resolved = resolveBackoff(options);
  const { initialMs, maxMs, multiplier, jitter, jitterRatio, random } = resolved;
  let attempt = 0;
  let previous = 0;
  return {
    get attempt() {
      return attempt;
    },
    next() {
      const current = attempt++;
      if (jitter === 'decorrelated') {
        const t = current + random();
        const next = 2 ** t * Math.tanh(Math.sqrt(4 * t));
        const delay = Math.min(Math.max(0, ((next - previous) * initialMs) / 1.4), maxMs);
        previous = next;
        return delay;
      }
      const base = Math.min(maxMs, initialMs * multiplier ** current);
      switch (jitter) {
        case 'none':
          return base;
        case 'full':
          return random() * base;
        case 'equal':
          return base / 2 + (random() * base) / 2;
        default:
          return Math.min(maxMs, base * (1 + random() * jitterRatio));
      }
    },
    reset() {
      attempt = 0;
      previous = 0;
    },
  };
}

/**
 * Parses an HTTP `Retry-After` header (delta seconds or an HTTP date) into milliseconds from `nowMs`;
 * `undefined` when absent or unreadable. Never negative.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
