import {
  createEmitter,
  createSustainedCondition,
  parseOptionalDuration,
  safeErrorMessage,
  silentLogger,
  systemClock,
  type Clock,
  type Duration,
  type EventSource,
  type Logger,
  type SustainedCondition,
} from '@ops/core';
import { HealingError } from '../errors.js';
import { errorRateTest, latencyTest, quantile, type TestResult } from './statistics.js';

/** Which side of the split a request went to. */
export type CanaryArm = 'canary' | 'baseline';

/** What the guard decides. `hold`: keep the split and keep watching. */
export type CanaryDecision = 'promote' | 'hold' | 'rollback';

/** Figures of one arm over a span. */
export interface CanaryArmStats {
  requests: number;
  errors: number;
  errorRate: number | undefined;
  p95Ms: number | undefined;
}

/** One evaluation of the guard. */
export interface CanaryVerdict {
  decision: CanaryDecision;
  /** Whether the decision is final (promote / rollback are; hold is not). */
  final: boolean;
  /** Why, one line each: `canary error rate 8.1% > 5% for 2m`. */
  reasons: string[];
  /** Since the deploy (epoch ms) and how long the analysis has run. */
  startedAt: number;
  elapsedMs: number;
  /** Over the whole analysis so far. */
  canary: CanaryArmStats;
  baseline: CanaryArmStats;
  /** Over the recent span the thresholds are checked on (`recentWindow`). */
  recent: { canary: CanaryArmStats };
  /** The statistical tests (present once both arms have `minSamples`). */
  tests: { errorRate?: TestResult; latency?: TestResult };
}

/** Events of {@link CanaryGuard}. */
export interface CanaryGuardEvents {
  /** Every evaluation. */
  'canary.evaluated': CanaryVerdict & { at: number };
  /** The guard decided to promote (once). */
  'canary.promoted': CanaryVerdict & { at: number };
  /** The guard decided to roll back (once). */
  'canary.rolled-back': CanaryVerdict & { at: number };
}

/** Options of {@link createCanaryGuard}. */
export interface CanaryGuardOptions {
  /** Analysis window: promote no sooner than this after `start`. Default `'5m'` (the runbook's seed scenario). */
  window?: Duration;
  /** Requests each arm needs before a statistical decision, or a promotion. Default 100. */
  minSamples?: number;
  /** Canary error rate above which (held for `errorRateFor`) the guard rolls back. Default 0.05 (5%). */
  maxErrorRate?: number;
  /** Default `'2m'`. */
  errorRateFor?: Duration;
  /** Canary P95 latency above which (held for `p95For`) the guard rolls back. Default 2000 ms. */
  maxP95Ms?: number;
  /** Default `'5m'`. */
  p95For?: Duration;
  /** Span the threshold checks look at (error rate and P95 of the last …). Default `'1m'`. */
  recentWindow?: Duration;
  /** One-sided significance level of the statistical tests. Default 0.05. */
  significance?: number;
  /** A significant error-rate increase smaller than this (absolute) is tolerated. Default 0.01 (1 point). */
  minErrorRateIncrease?: number;
  /** A significant latency increase rolls back only when canary P95 > baseline P95 × this. Default 1.2. */
  maxLatencyRatio?: number;
  /** Latency samples kept per arm (oldest dropped). Default 20,000. */
  maxSamplesPerArm?: number;
  /** Called once when the guard decides to promote (shift all traffic to the new version). */
  onPromote?: (verdict: CanaryVerdict) => unknown;
  /** Source of time. */
  clock?: Clock;
  /** Logger. */
  logger?: Logger;
}

/**
 * Compares a canary with its baseline after a deploy and decides promote / hold / rollback.
 * Feed it every request's outcome (`record`), call `evaluate()` on a schedule (a healing rule's tick does).
 */
export interface CanaryGuard extends EventSource<CanaryGuardEvents> {
  /** Starts (or restarts) an analysis: the deploy of the canary. Clears earlier samples. */
  start(): void;
  /** Records one request's outcome. */
  record(arm: CanaryArm, outcome: { ok: boolean; latencyMs?: number; at?: number }): void;
  /** Evaluates now; promote and rollback are final until the next `start()`. */
  evaluate(): CanaryVerdict;
  /** The last verdict, if any. */
  readonly last: CanaryVerdict | undefined;
  /** Whether the rollback ran (set by {@link CanaryGuard.markRolledBack}); until the next `start()`. */
  readonly rolledBack: boolean;
  /** Records that the rollback was carried out (the `guardedRollback` action calls it). */
  markRolledBack(): void;
}

interface Sample {
  at: number;
  ok: boolean;
  latencyMs: number | undefined;
}

function statsOf(samples: readonly Sample[]): CanaryArmStats {
  const errors = samples.reduce((count, sample) => count + (sample.ok ? 0 : 1), 0);
  const latencies = samples.flatMap((sample) => (sample.latencyMs === undefined ? [] : [sample.latencyMs]));
  return {
    requests: samples.length,
    errors,
    errorRate: samples.length === 0 ? undefined : errors / samples.length,
    p95Ms: quantile(latencies, 0.95),
  };
}

const pValueText = (p: number) => (p < 0.0001 ? 'p < 0.0001' : `p = ${p.toPrecision(2)}`);

const percent = (value: number | undefined) => (value === undefined ? 'n/a' : `${(value * 100).toFixed(1)}%`);

/**
 * Creates a canary/rollback guard with the runbook's thresholds (error rate > 5% for 2 minutes, P95 > 2000 ms for
 * 5 minutes) plus statistics: a one-sided two-proportion z-test (Fisher's exact test on small counts) on error
 * counts and a one-sided Mann-Whitney U test on latencies, canary against baseline, once both arms have
 * `minSamples` requests. Rollback as soon as a threshold breach is sustained or a test is significant (and the
 * effect large enough); promote after `window` with enough samples and no breach pending; otherwise hold.
 *
 * Run the rollback through the healer's rails with `canaryRollbackCondition(guard)` as a rule's `when`
 * (see the `rollbackGuardRule` recipe).
 *
 * @example
 * ```ts
 * const guard = createCanaryGuard({ window: '5m', onPromote: () => deploy.promote() });
 * guard.start();
 * app.use((request, response, next) => { const started = performance.now(); response.on('finish', () =>
 *   guard.record(request.headers['x-canary'] ? 'canary' : 'baseline', { ok: response.statusCode < 500, latencyMs: performance.now() - started })); next(); });
 * ```
 */
export function createCanaryGuard(options: CanaryGuardOptions = {}): CanaryGuard {
  const {
    minSamples = 100,
    maxErrorRate = 0.05,
    maxP95Ms = 2000,
    significance = 0.05,
    minErrorRateIncrease = 0.01,
    maxLatencyRatio = 1.2,
    maxSamplesPerArm = 20_000,
    onPromote,
    clock = systemClock,
    logger = silentLogger,
  } = options;
  const windowMs = parseOptionalDuration(options.window, 'window') ?? 300_000;
  const errorRateForMs = parseOptionalDuration(options.errorRateFor, 'errorRateFor') ?? 120_000;
  const p95ForMs = parseOptionalDuration(options.p95For, 'p95For') ?? 300_000;
  const recentMs = parseOptionalDuration(options.recentWindow, 'recentWindow') ?? 60_000;
  if (!(maxErrorRate > 0 && maxErrorRate < 1))
    throw new HealingError(
      'ARGUMENT_INVALID',
      `createCanaryGuard: maxErrorRate must be in (0, 1), got ${maxErrorRate}`,
    );
  if (!(significance > 0 && significance < 0.5))
    throw new HealingError(
      'ARGUMENT_INVALID',
      `createCanaryGuard: significance must be in (0, 0.5), got ${significance}`,
    );
  if (!(Number.isInteger(minSamples) && minSamples >= 1))
    throw new HealingError(
      'ARGUMENT_INVALID',
      `createCanaryGuard: minSamples must be an integer ≥ 1, got ${minSamples}`,
    );

  const events = createEmitter<CanaryGuardEvents>({ logger, source: 'canary-guard' });
  const samples: Record<CanaryArm, Sample[]> = { canary: [], baseline: [] };
  let startedAt = clock.now();
  let final: CanaryVerdict | undefined;
  let last: CanaryVerdict | undefined;
  let rolledBack = false;
  let errorBreach: SustainedCondition;
  let latencyBreach: SustainedCondition;
  const reset = () => {
    samples.canary = [];
    samples.baseline = [];
    startedAt = clock.now();
    final = undefined;
    last = undefined;
    rolledBack = false;
    errorBreach = createSustainedCondition({ for: errorRateForMs, clock, name: 'canary-error-rate' });
    latencyBreach = createSustainedCondition({ for: p95ForMs, clock, name: 'canary-p95' });
  };
  reset();

  const evaluate = (): CanaryVerdict => {
    if (final !== undefined) return final;
    const now = clock.now();
    const canary = statsOf(samples.canary);
    const baseline = statsOf(samples.baseline);
    const recentCanary = statsOf(samples.canary.filter((sample) => sample.at > now - recentMs));
    const reasons: string[] = [];
    const tests: CanaryVerdict['tests'] = {};
    let rollback = false;

    // Thresholds, sustained (missing data counts as not breached).
    errorBreach.update(recentCanary.errorRate !== undefined && recentCanary.errorRate > maxErrorRate);
    latencyBreach.update(recentCanary.p95Ms !== undefined && recentCanary.p95Ms > maxP95Ms);
    if (errorBreach.state === 'firing') {
      rollback = true;
      reasons.push(
        `canary error rate ${percent(recentCanary.errorRate)} > ${percent(maxErrorRate)} for ${errorRateForMs / 1000} s`,
      );
    }
    if (latencyBreach.state === 'firing') {
      rollback = true;
      reasons.push(`canary P95 ${Math.round(recentCanary.p95Ms ?? 0)} ms > ${maxP95Ms} ms for ${p95ForMs / 1000} s`);
    }

    // Statistics, once both arms have enough requests.
    const enough = canary.requests >= minSamples && baseline.requests >= minSamples;
    if (enough) {
      tests.errorRate = errorRateTest(canary.errors, canary.requests, baseline.errors, baseline.requests);
      const increase = (canary.errorRate ?? 0) - (baseline.errorRate ?? 0);
      if (tests.errorRate.pValue < significance && increase >= minErrorRateIncrease) {
        rollback = true;
        reasons.push(
          `canary error rate ${percent(canary.errorRate)} vs baseline ${percent(baseline.errorRate)} (${tests.errorRate.test}, ${pValueText(tests.errorRate.pValue)})`,
        );
      }
      const latencies = (arm: CanaryArm) =>
        samples[arm].flatMap((sample) => (sample.latencyMs === undefined ? [] : [sample.latencyMs]));
      const canaryLatencies = latencies('canary');
      const baselineLatencies = latencies('baseline');
      if (canaryLatencies.length >= minSamples && baselineLatencies.length >= minSamples) {
        tests.latency = latencyTest(canaryLatencies, baselineLatencies);
        const ratio = (canary.p95Ms ?? 0) / Math.max(baseline.p95Ms ?? 0, 1e-9);
        if (tests.latency.pValue < significance && ratio > maxLatencyRatio) {
          rollback = true;
          reasons.push(
            `canary P95 ${Math.round(canary.p95Ms ?? 0)} ms is ${ratio.toFixed(2)}× baseline ${Math.round(baseline.p95Ms ?? 0)} ms (mann-whitney-u, ${pValueText(tests.latency.pValue)})`,
          );
        }
      }
    }

    const elapsedMs = now - startedAt;
    let decision: CanaryDecision = 'hold';
    if (rollback) decision = 'rollback';
    else if (elapsedMs >= windowMs && enough) {
      if (errorBreach.state === 'pending' || latencyBreach.state === 'pending') {
        reasons.push('a threshold breach is pending: holding until it clears or is sustained');
      } else {
        decision = 'promote';
        reasons.push(
          `no regression after ${Math.round(elapsedMs / 1000)} s: canary ${percent(canary.errorRate)} errors, P95 ${Math.round(canary.p95Ms ?? 0)} ms; baseline ${percent(baseline.errorRate)}, P95 ${Math.round(baseline.p95Ms ?? 0)} ms`,
        );
      }
    } else if (!enough) {
      reasons.push(
        `waiting for ${minSamples} requests per arm (canary ${canary.requests}, baseline ${baseline.requests})`,
      );
    } else {
      reasons.push(`analysis runs until ${Math.round(windowMs / 1000)} s (${Math.round(elapsedMs / 1000)} s so far)`);
    }
    const verdict: CanaryVerdict = {
      decision,
      final: decision !== 'hold',
      reasons,
      startedAt,
      elapsedMs,
      canary,
      baseline,
      recent: { canary: recentCanary },
      tests,
    };
    last = verdict;
    events.emit('canary.evaluated', { ...verdict, at: now });
    if (decision === 'rollback') {
      final = verdict;
      logger.warn({ reasons }, 'canary: rollback');
      events.emit('canary.rolled-back', { ...verdict, at: now });
    } else if (decision === 'promote') {
      final = verdict;
      logger.info({ reasons }, 'canary: promote');
      events.emit('canary.promoted', { ...verdict, at: now });
      if (onPromote !== undefined) {
        try {
          const result = onPromote(verdict) as Promise<unknown> | undefined;
          if (result !== undefined && typeof result.then === 'function')
            result.then(undefined, (error: unknown) =>
              logger.error({ error: safeErrorMessage(error) }, 'canary: onPromote failed'),
            );
        } catch (error) {
          logger.error({ error: safeErrorMessage(error) }, 'canary: onPromote failed');
        }
      }
    }
    return verdict;
  };

  return {
    on: events.on,
    start: reset,
    record(arm, outcome) {
      if (arm !== 'canary' && arm !== 'baseline')
        throw new HealingError(
          'ARGUMENT_INVALID',
          `canary.record: arm must be 'canary' or 'baseline', got ${String(arm)}`,
        );
      const list = samples[arm];
      list.push({ at: outcome.at ?? clock.now(), ok: outcome.ok, latencyMs: outcome.latencyMs });
      if (list.length > maxSamplesPerArm) list.splice(0, list.length - maxSamplesPerArm);
    },
    evaluate,
    get last() {
      return last;
    },
    get rolledBack() {
      return rolledBack;
    },
    markRolledBack() {
      rolledBack = true;
    },
  };
}
