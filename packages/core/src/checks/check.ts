/** The outcome of one check: `pass`, `warn` (degraded but serving) or `fail`. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

/**
 * What a {@link Check} returns. `output` is a short human-readable reason (already redacted); `observed` is the
 * measured value behind the status, with its unit.
 */
export interface CheckResult {
  status: CheckStatus;
  /** Short reason for a non-pass status, safe to show (no secrets). */
  output?: string;
  /** The measured value (e.g. `0.82` for a ratio, `12` for milliseconds). */
  observed?: number | string | boolean;
  /** Unit of `observed` (e.g. `'ms'`, `'ratio'`, `'bytes'`, `'days'`). */
  observedUnit?: string;
  /** Extra structured facts (already redacted), e.g. `{ maxConnections: 100 }`. */
  details?: Record<string, unknown>;
}

/**
 * A health check: does its work, honours the AbortSignal (the deadline), and resolves to a {@link CheckResult}.
 * Checks may also throw; the runner turns a throw into `fail` with a redacted message.
 *
 * This is the contract `@ops/health` runs and other packages provide (backup freshness, healing state).
 *
 * @example
 * ```ts
 * const diskCheck: Check = async () => ({ status: usedRatio() > 0.9 ? 'fail' : 'pass', observed: usedRatio(), observedUnit: 'ratio' });
 * ```
 */
export type Check = (signal: AbortSignal) => Promise<CheckResult>;

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2 };

/** The worse of two statuses (`fail` > `warn` > `pass`). */
export function worstStatus(a: CheckStatus, b: CheckStatus): CheckStatus {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Ordering for statuses: negative when `a` is healthier than `b`. */
export function compareStatus(a: CheckStatus, b: CheckStatus): number {
  return RANK[a] - RANK[b];
}
