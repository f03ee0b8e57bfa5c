import {
  createEmitter,
  parseDuration,
  silentLogger,
  systemClock,
  type Clock,
  type Duration,
  type EventSource,
  type Logger,
} from '@ops/core';
import { CapacityError } from '../errors.js';
import type { HpaPod } from './pods.js';
import { calculateMetricReplicas, type HpaMetric, type MetricProposal } from './replica-calculator.js';
import {
  resolveScalingRules,
  scaleDownLimit,
  scaleUpLimit,
  storeScaleEvent,
  type ResolvedScalingRules,
  type ScaleEvent,
  type ScalingBehavior,
} from './scaling-rules.js';
import { DEFAULT_TOLERANCE, type Tolerances } from './tolerances.js';

/** Reasons the HPA writes into its conditions; every decision carries the ones that applied. */
export type HpaReason =
  /** AbleToScale: the stabilized recommendation equals the proposal. */
  | 'ReadyForNewScale'
  /** AbleToScale: a lower recent proposal (scale-up window) held the replica count down. */
  | 'ScaleUpStabilized'
  /** AbleToScale: a higher recent proposal (scale-down window) held the replica count up. */
  | 'ScaleDownStabilized'
  /** ScalingActive: at least one metric produced a proposal. */
  | 'ValidMetricFound'
  /** ScalingActive: metrics could not be read; the decision keeps the current count (never scales down on partial data). */
  | 'FailedGetMetrics'
  /** ScalingActive: the target has 0 replicas and minReplicas > 0, so autoscaling is off. */
  | 'ScalingDisabled'
  /** ScalingLimited: the proposal is within bounds and rates. */
  | 'DesiredWithinRange'
  /** ScalingLimited: a scale-up rate policy (or the legacy 2×/+4 cap) capped the move. */
  | 'ScaleUpLimit'
  /** ScalingLimited: a scale-down rate policy capped the move. */
  | 'ScaleDownLimit'
  /** ScalingLimited: maxReplicas capped the move. */
  | 'TooManyReplicas'
  /** ScalingLimited: minReplicas (or 1) raised the count. */
  | 'TooFewReplicas';

/** One HPA condition as the controller would set it. */
export interface HpaCondition {
  status: boolean;
  reason: HpaReason;
  message: string;
}

/** What one decision saw and did, with every reason. */
export interface HpaDecision {
  /** Decision time (epoch ms). */
  at: number;
  currentReplicas: number;
  /** The replica count to set. Equal to `currentReplicas` when nothing should change. */
  desiredReplicas: number;
  /** The largest metric proposal before stabilization and limits (`undefined` when no metric was valid). */
  proposedReplicas: number | undefined;
  /** After the stabilization windows, before rate limits and bounds. */
  stabilizedReplicas: number | undefined;
  /** The metric whose proposal won (the maximum). */
  metric: string | undefined;
  /** Every metric's proposal or error. */
  metrics: MetricProposal[];
  conditions: { ableToScale: HpaCondition; scalingActive: HpaCondition; scalingLimited: HpaCondition };
  /** The conditions' reasons, in the order AbleToScale, ScalingActive, ScalingLimited. */
  reasons: HpaReason[];
  /** Human-readable account of the decision, one step per line. */
  explanation: string[];
}

/** Input of {@link HpaAutoscaler.decide}. */
export interface HpaDecisionInput {
  /** Current replica count of the target. */
  currentReplicas: number;
  /** The metrics with their readings. */
  metrics: readonly HpaMetric[];
  /** The pods behind the target (needed by resource and pods metrics, and by object/external `value` targets). */
  pods?: readonly HpaPod[];
}

/** Options of {@link createHpaAutoscaler}. */
export interface HpaAutoscalerOptions {
  /** Lower bound (`spec.minReplicas`). Default 1. */
  minReplicas?: number;
  /** Upper bound (`spec.maxReplicas`). */
  maxReplicas: number;
  /** `spec.behavior`. Without it the legacy path applies: scale-down stabilization only, scale-up capped at max(2×current, 4). */
  behavior?: ScalingBehavior;
  /** Dead band around a usage ratio of 1, both directions. Default 0.1. */
  tolerance?: number;
  /** Default scale-down stabilization window (`--horizontal-pod-autoscaler-downscale-stabilization`). Default `'5m'`. */
  downscaleStabilizationWindow?: Duration;
  /** CPU samples of pods younger than this are trusted only when Ready and a window past the Ready transition. Default `'5m'`. */
  cpuInitializationPeriod?: Duration;
  /** A pod not Ready whose last Ready transition came within this of its start never became ready. Default `'30s'`. */
  initialReadinessDelay?: Duration;
  /** Legacy scale-up cap factor (`scaleUpLimitFactor`, 2) and minimum (`scaleUpLimitMinimum`, 4). */
  legacyScaleUpLimit?: { factor?: number; minimum?: number };
  /**
   * Whether the first decision seeds the recommendation history with the current count (the controller's
   * `recordInitialRecommendation`, which holds a scale-down for one window after start). Default true.
   */
  seedInitialRecommendation?: boolean;
  /** Source of time. */
  clock?: Clock;
  /** Logger (debug: each decision). */
  logger?: Logger;
}

/** Events of an {@link HpaAutoscaler}. */
export interface HpaAutoscalerEvents {
  /** Every decision. */
  'decision.made': { at: number; decision: HpaDecision };
  /** A decision that changes the replica count. */
  'scale.recommended': { at: number; from: number; to: number; reasons: HpaReason[]; metric: string | undefined };
}

/** The state an autoscaler keeps between decisions (what a restart would lose). */
export interface HpaAutoscalerState {
  recommendations: Array<{ replicas: number; atMs: number }>;
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}

/** A Kubernetes-exact horizontal autoscaler: replica math, stabilization, behavior policies and bounds. */
export interface HpaAutoscaler extends EventSource<HpaAutoscalerEvents> {
  /**
   * Computes the replica count for the current readings and records it (recommendation history, and the scale
   * event when the count changes — call it once per sync period, like the controller, and apply the result).
   */
  decide(input: HpaDecisionInput): HpaDecision;
  /** A copy of the history that stabilization and rate policies read. */
  state(): HpaAutoscalerState;
  /** Restores a history (e.g. after a restart). */
  restore(state: HpaAutoscalerState): void;
}

/**
 * Creates an autoscaler that makes the decisions the Kubernetes HPA controller makes (`horizontal.go` and
 * `replica_calculator.go`): per-metric proposals with tolerance, missing and unready pods and the CPU start-up
 * rules; the maximum across metrics; no scale-down while any metric is invalid; stabilization windows;
 * `behavior` rate policies (or the legacy cap); min/max bounds — with the controller's reason on every step.
 *
 * @example
 * ```ts
 * const hpa = createHpaAutoscaler({ minReplicas: 2, maxReplicas: 20 });
 * const decision = hpa.decide({
 *   currentReplicas: 3,
 *   pods: [{ name: 'a', ready: true, startedAtMs: 0 }, { name: 'b', ready: true, startedAtMs: 0 }, { name: 'c', ready: true, startedAtMs: 0 }],
 *   metrics: [{ type: 'resource', name: 'cpu', target: { averageUtilization: 60 }, requests: { a: 1, b: 1, c: 1 }, usage: { a: 0.9, b: 0.8, c: 1 } }],
 * });
 * decision.desiredReplicas; // 5 — utilization 90% against 60%
 * ```
 */
export function createHpaAutoscaler(options: HpaAutoscalerOptions): HpaAutoscaler {
  const {
    minReplicas = 1,
    maxReplicas,
    behavior,
    tolerance = DEFAULT_TOLERANCE,
    seedInitialRecommendation = true,
    clock = systemClock,
    logger = silentLogger,
  } = options;
  if (!Number.isInteger(minReplicas) || minReplicas < 0)
    throw new CapacityError('ARGUMENT_INVALID', `minReplicas: expected an integer ≥ 0, got ${minReplicas}`);
  if (!Number.isInteger(maxReplicas) || maxReplicas < Math.max(1, minReplicas)) {
    throw new CapacityError(
      'ARGUMENT_INVALID',
      `maxReplicas: expected an integer ≥ max(1, minReplicas), got ${maxReplicas}`,
    );
  }
  const downWindowMs = parseDuration(options.downscaleStabilizationWindow ?? '5m', 'downscaleStabilizationWindow');
  const cpuInitializationPeriodMs = parseDuration(options.cpuInitializationPeriod ?? '5m', 'cpuInitializationPeriod');
  const initialReadinessDelayMs = parseDuration(options.initialReadinessDelay ?? '30s', 'initialReadinessDelay');
  const legacyFactor = options.legacyScaleUpLimit?.factor ?? 2;
  const legacyMinimum = options.legacyScaleUpLimit?.minimum ?? 4;
  const upRules: ResolvedScalingRules | undefined = behavior
    ? resolveScalingRules(behavior.scaleUp, 'up', downWindowMs)
    : undefined;
  const downRules: ResolvedScalingRules | undefined = behavior
    ? resolveScalingRules(behavior.scaleDown, 'down', downWindowMs)
    : undefined;
  const tolerances: Tolerances = {
    scaleUp: behavior?.scaleUp?.tolerance ?? tolerance,
    scaleDown: behavior?.scaleDown?.tolerance ?? tolerance,
  };
  const events = createEmitter<HpaAutoscalerEvents>({ logger, source: 'hpa' });
  let recommendations: Array<{ replicas: number; atMs: number }> | undefined;
  let upEvents: ScaleEvent[] = [];
  let downEvents: ScaleEvent[] = [];

  const condition = (status: boolean, reason: HpaReason, message: string): HpaCondition => ({
    status,
    reason,
    message,
  });

  /** Legacy (no behavior): scale-down window only (`stabilizeRecommendation`). */
  const stabilizeLegacy = (proposal: number, nowMs: number): number => {
    const list = (recommendations ??= []);
    let max = proposal;
    let oldIndex = -1;
    const cutoff = nowMs - downWindowMs;
    list.forEach((recommendation, index) => {
      if (recommendation.atMs < cutoff) oldIndex = index;
      else if (recommendation.replicas > max) max = recommendation.replicas;
    });
    const entry = { replicas: proposal, atMs: nowMs };
    if (oldIndex >= 0) list[oldIndex] = entry;
    else list.push(entry);
    return max;
  };

  /** With behavior: both windows (`stabilizeRecommendationWithBehaviors`). */
  const stabilize = (
    current: number,
    proposal: number,
    up: ResolvedScalingRules,
    down: ResolvedScalingRules,
    nowMs: number,
  ): number => {
    const list = (recommendations ??= []);
    let upRecommendation = proposal;
    let downRecommendation = proposal;
    const upCutoff = nowMs - up.stabilizationWindowMs;
    const downCutoff = nowMs - down.stabilizationWindowMs;
    let oldIndex = -1;
    list.forEach((recommendation, index) => {
      if (recommendation.atMs > upCutoff) upRecommendation = Math.min(upRecommendation, recommendation.replicas);
      if (recommendation.atMs > downCutoff) downRecommendation = Math.max(downRecommendation, recommendation.replicas);
      if (recommendation.atMs < upCutoff && recommendation.atMs < downCutoff) oldIndex = index;
    });
    const entry = { replicas: proposal, atMs: nowMs };
    if (oldIndex >= 0) list[oldIndex] = entry;
    else list.push(entry);
    return Math.min(Math.max(current, upRecommendation), downRecommendation);
  };

  const decide = (input: HpaDecisionInput): HpaDecision => {
    const nowMs = clock.now();
    const current = input.currentReplicas;
    if (!Number.isInteger(current) || current < 0)
      throw new CapacityError('ARGUMENT_INVALID', `currentReplicas: expected an integer ≥ 0, got ${current}`);
    if (seedInitialRecommendation && recommendations === undefined)
      recommendations = [{ replicas: current, atMs: nowMs }];
    const explanation: string[] = [];
    const base = { at: nowMs, currentReplicas: current };
    let metrics: MetricProposal[] = [];

    const finish = (
      decision: Omit<HpaDecision, 'reasons' | 'explanation' | 'metrics' | 'at' | 'currentReplicas'>,
    ): HpaDecision => {
      const full: HpaDecision = {
        ...base,
        ...decision,
        metrics,
        reasons: [
          decision.conditions.ableToScale.reason,
          decision.conditions.scalingActive.reason,
          decision.conditions.scalingLimited.reason,
        ],
        explanation,
      };
      if (full.desiredReplicas !== current && behavior) {
        if (full.desiredReplicas > current)
          storeScaleEvent(upEvents, full.desiredReplicas - current, upRules as ResolvedScalingRules, nowMs);
        else storeScaleEvent(downEvents, current - full.desiredReplicas, downRules as ResolvedScalingRules, nowMs);
      }
      logger.debug({ current, desired: full.desiredReplicas, reasons: full.reasons }, 'hpa decision');
      events.emit('decision.made', { at: nowMs, decision: full });
      if (full.desiredReplicas !== current) {
        events.emit('scale.recommended', {
          at: nowMs,
          from: current,
          to: full.desiredReplicas,
          reasons: full.reasons,
          metric: full.metric,
        });
      }
      return full;
    };

    const ready = condition(true, 'ReadyForNewScale', 'recommended size matches current size');
    if (current === 0 && minReplicas !== 0) {
      explanation.push('the target has 0 replicas and minReplicas > 0: autoscaling is disabled');
      return finish({
        desiredReplicas: 0,
        proposedReplicas: undefined,
        stabilizedReplicas: undefined,
        metric: undefined,
        conditions: {
          ableToScale: ready,
          scalingActive: condition(
            false,
            'ScalingDisabled',
            'scaling is disabled since the replica count of the target is zero',
          ),
          scalingLimited: condition(false, 'DesiredWithinRange', 'the desired count is within the acceptable range'),
        },
      });
    }
    if (current > maxReplicas || current < minReplicas) {
      const above = current > maxReplicas;
      const desired = above ? maxReplicas : minReplicas;
      explanation.push(`current ${current} is ${above ? 'above maxReplicas' : 'below minReplicas'}: set to ${desired}`);
      return finish({
        desiredReplicas: desired,
        proposedReplicas: undefined,
        stabilizedReplicas: undefined,
        metric: undefined,
        conditions: {
          ableToScale: ready,
          scalingActive: condition(true, 'ValidMetricFound', 'bounds applied before metrics'),
          scalingLimited: above
            ? condition(true, 'TooManyReplicas', 'current number of replicas above maxReplicas')
            : condition(true, 'TooFewReplicas', 'current number of replicas below minReplicas'),
        },
      });
    }

    // computeReplicasForMetrics: the largest proposal wins; invalid metrics forbid a scale-down.
    const context = {
      currentReplicas: current,
      pods: input.pods ?? [],
      nowMs,
      tolerances,
      cpuInitializationPeriodMs,
      initialReadinessDelayMs,
    };
    metrics = input.metrics.map((metric) => calculateMetricReplicas(metric, context));
    let proposal: number | undefined;
    let winner: string | undefined;
    for (const result of metrics) {
      if (!result.ok) {
        explanation.push(`${result.metric}: unavailable (${result.error})`);
        continue;
      }
      explanation.push(`${result.metric}: ${describeProposal(result)} → ${result.replicas} replicas`);
      if (proposal === undefined || result.replicas > proposal) {
        proposal = result.replicas;
        winner = result.metric;
      }
    }
    const invalid = metrics.filter((result) => !result.ok).length;
    if (proposal === undefined || invalid >= metrics.length || (invalid > 0 && proposal < current)) {
      explanation.push(
        proposal === undefined || invalid >= metrics.length
          ? 'no metric could be evaluated: keeping the current replica count'
          : `${invalid} metric(s) unavailable and the others propose scaling down to ${proposal}: refusing to scale down on partial data (kubernetes#99394)`,
      );
      return finish({
        desiredReplicas: current,
        proposedReplicas: proposal,
        stabilizedReplicas: undefined,
        metric: winner,
        conditions: {
          ableToScale: condition(true, 'ReadyForNewScale', 'no change'),
          scalingActive: condition(
            false,
            'FailedGetMetrics',
            metrics
              .filter((result) => !result.ok)
              .map((result) => (result.ok ? '' : `${result.metric}: ${result.error}`))
              .join('; ') || 'no metrics',
          ),
          scalingLimited: condition(false, 'DesiredWithinRange', 'the desired count is within the acceptable range'),
        },
      });
    }
    if (metrics.length > 1) explanation.push(`largest proposal: ${proposal} from ${winner}`);

    let stabilized: number;
    let ableToScale: HpaCondition;
    let desired: number;
    let limited: HpaCondition;
    if (!upRules || !downRules) {
      stabilized = stabilizeLegacy(proposal, nowMs);
      ableToScale =
        stabilized !== proposal
          ? condition(
              true,
              'ScaleDownStabilized',
              'recent recommendations were higher than current one, applying the highest recent recommendation',
            )
          : ready;
      ({ desired, limited } = legacyBounds(current, stabilized));
    } else {
      stabilized = stabilize(current, proposal, upRules, downRules, nowMs);
      ableToScale =
        stabilized === proposal
          ? ready
          : proposal >= current
            ? condition(
                true,
                'ScaleUpStabilized',
                'recent recommendations were lower than current one, applying the lowest recent recommendation',
              )
            : condition(
                true,
                'ScaleDownStabilized',
                'recent recommendations were higher than current one, applying the highest recent recommendation',
              );
      ({ desired, limited } = behaviorBounds(current, stabilized, upRules, downRules, nowMs));
    }
    if (stabilized !== proposal)
      explanation.push(`${ableToScale.reason}: ${ableToScale.message} (${proposal} → ${stabilized})`);
    if (desired !== stabilized) explanation.push(`${limited.reason}: ${limited.message} (${stabilized} → ${desired})`);
    explanation.push(
      desired === current
        ? `keep ${current} replicas`
        : `scale ${desired > current ? 'up' : 'down'} from ${current} to ${desired}`,
    );
    return finish({
      desiredReplicas: desired,
      proposedReplicas: proposal,
      stabilizedReplicas: stabilized,
      metric: winner,
      conditions: {
        ableToScale,
        scalingActive: condition(
          true,
          'ValidMetricFound',
          `the HPA was able to compute a replica count from ${winner}`,
        ),
        scalingLimited: limited,
      },
    });
  };

  /** `convertDesiredReplicasWithRules`: bounds plus the legacy scale-up cap. */
  const legacyBounds = (current: number, desired: number): { desired: number; limited: HpaCondition } => {
    const minimumAllowed = minReplicas;
    const cap = Math.trunc(Math.max(legacyFactor * current, legacyMinimum));
    let maximumAllowed: number;
    let limitReason: HpaReason;
    let limitMessage: string;
    if (maxReplicas > cap) {
      maximumAllowed = cap;
      limitReason = 'ScaleUpLimit';
      limitMessage = 'the desired replica count is increasing faster than the maximum scale rate';
    } else {
      maximumAllowed = maxReplicas;
      limitReason = 'TooManyReplicas';
      limitMessage = 'the desired replica count is more than the maximum replica count';
    }
    if (desired < minimumAllowed) {
      return {
        desired: minimumAllowed,
        limited: condition(true, 'TooFewReplicas', 'the desired replica count is less than the minimum replica count'),
      };
    }
    if (desired > maximumAllowed)
      return { desired: maximumAllowed, limited: condition(true, limitReason, limitMessage) };
    return {
      desired,
      limited: condition(false, 'DesiredWithinRange', 'the desired count is within the acceptable range'),
    };
  };

  /** `convertDesiredReplicasWithBehaviorRate`: rate policies plus bounds. */
  const behaviorBounds = (
    current: number,
    desired: number,
    up: ResolvedScalingRules,
    down: ResolvedScalingRules,
    nowMs: number,
  ): { desired: number; limited: HpaCondition } => {
    if (desired > current) {
      const limit = Math.max(scaleUpLimit(current, upEvents, downEvents, up, nowMs), current);
      if (maxReplicas > limit) {
        if (desired > limit)
          return {
            desired: limit,
            limited: condition(
              true,
              'ScaleUpLimit',
              'the desired replica count is increasing faster than the maximum scale rate',
            ),
          };
      } else if (desired > maxReplicas) {
        return {
          desired: maxReplicas,
          limited: condition(
            true,
            'TooManyReplicas',
            'the desired replica count is more than the maximum replica count',
          ),
        };
      }
    } else if (desired < current) {
      const limit = Math.min(scaleDownLimit(current, upEvents, downEvents, down, nowMs), current);
      if (minReplicas < limit) {
        if (desired < limit)
          return {
            desired: limit,
            limited: condition(
              true,
              'ScaleDownLimit',
              'the desired replica count is decreasing faster than the maximum scale rate',
            ),
          };
      } else if (desired < minReplicas) {
        return {
          desired: minReplicas,
          limited: condition(
            true,
            'TooFewReplicas',
            'the desired replica count is less than the minimum replica count',
          ),
        };
      }
    }
    return {
      desired,
      limited: condition(false, 'DesiredWithinRange', 'the desired count is within the acceptable range'),
    };
  };

  return {
    on: events.on,
    decide,
    state: () => ({
      recommendations: (recommendations ?? []).map((entry) => ({ ...entry })),
      scaleUpEvents: upEvents.map((event) => ({ ...event })),
      scaleDownEvents: downEvents.map((event) => ({ ...event })),
    }),
    restore(state) {
      recommendations = state.recommendations.map((entry) => ({ ...entry }));
      upEvents = state.scaleUpEvents.map((event) => ({ ...event }));
      downEvents = state.scaleDownEvents.map((event) => ({ ...event }));
    },
  };
}

function describeProposal(result: Extract<MetricProposal, { ok: true }>): string {
  const parts: string[] = [];
  if (result.averageUtilization !== undefined) parts.push(`utilization ${result.averageUtilization}%`);
  else if (result.averageValue !== undefined) parts.push(`average ${result.averageValue}`);
  if (result.value !== undefined) parts.push(`value ${result.value}`);
  parts.push(`ratio ${result.usageRatio.toFixed(3)}`);
  if (result.unreadyPods.length > 0) parts.push(`${result.unreadyPods.length} unready`);
  if (result.missingPods.length > 0) parts.push(`${result.missingPods.length} missing`);
  if (result.ignoredPods.length > 0) parts.push(`${result.ignoredPods.length} ignored`);
  return parts.join(', ');
}
