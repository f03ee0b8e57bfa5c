import { parseDuration, type Duration } from '@ops/core';
import { CapacityError } from '../errors.js';

/** One rate limit: at most `value` pods, or `value` percent, of change per `period`. */
export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  /** Length of the look-back, e.g. `'15s'` or `'1m'` (HPA `periodSeconds`). */
  period: Duration;
}

/** How one direction of scaling is limited (HPA `behavior.scaleUp` / `behavior.scaleDown`). */
export interface ScalingRules {
  /** Look-back of the stabilization window: scale-up takes the minimum, scale-down the maximum recent proposal. */
  stabilizationWindow?: Duration;
  /** `Max` (default) lets the most permissive policy win, `Min` the most restrictive; `Disabled` forbids the direction. */
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  /** Rate limits; default for scale-up: 4 pods or 100% per 15 s, for scale-down: 100% per 15 s. */
  policies?: readonly ScalingPolicy[];
  /** Dead band for this direction (KEP-4951); default the autoscaler's `tolerance`. */
  tolerance?: number;
}

/** HPA `spec.behavior`. */
export interface ScalingBehavior {
  scaleUp?: ScalingRules;
  scaleDown?: ScalingRules;
}

/** Rules with every default applied, durations in milliseconds. */
export interface ResolvedScalingRules {
  stabilizationWindowMs: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: Array<{ type: 'Pods' | 'Percent'; value: number; periodMs: number }>;
}

/** Defaults of `pkg/apis/autoscaling/v2/defaults.go`. */
const DEFAULT_SCALE_UP_POLICIES: readonly ScalingPolicy[] = [
  { type: 'Pods', value: 4, period: 15_000 },
  { type: 'Percent', value: 100, period: 15_000 },
];
const DEFAULT_SCALE_DOWN_POLICIES: readonly ScalingPolicy[] = [{ type: 'Percent', value: 100, period: 15_000 }];

/** Applies the HPA defaults to one direction's rules (`GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules`). */
export function resolveScalingRules(
  rules: ScalingRules | undefined,
  direction: 'up' | 'down',
  defaultDownWindowMs: number,
): ResolvedScalingRules {
  const policies =
    rules?.policies && rules.policies.length > 0
      ? rules.policies
      : direction === 'up'
        ? DEFAULT_SCALE_UP_POLICIES
        : DEFAULT_SCALE_DOWN_POLICIES;
  const resolved = policies.map((policy, index) => {
    if (!(Number.isInteger(policy.value) && policy.value > 0)) {
      throw new CapacityError(
        'ARGUMENT_INVALID',
        `behavior.scale${direction === 'up' ? 'Up' : 'Down'}.policies[${index}].value: expected an integer > 0, got ${policy.value}`,
      );
    }
    return {
      type: policy.type,
      value: policy.value,
      periodMs: parseDuration(policy.period, `policies[${index}].period`),
    };
  });
  const window = rules?.stabilizationWindow;
  return {
    stabilizationWindowMs:
      window === undefined
        ? direction === 'up'
          ? 0
          : defaultDownWindowMs
        : parseDuration(window, 'stabilizationWindow'),
    selectPolicy: rules?.selectPolicy ?? 'Max',
    policies: resolved,
  };
}

/** A past scaling move, kept to enforce the rate policies. */
export interface ScaleEvent {
  /** Replicas added (up events) or removed (down events), > 0. */
  replicaChange: number;
  atMs: number;
  /** Older than the longest policy period: its slot may be reused. */
  outdated: boolean;
}

/** Replicas changed by events newer than `periodMs` before `nowMs` (`getReplicasChangePerPeriod`). */
export function replicasChangedInPeriod(periodMs: number, events: readonly ScaleEvent[], nowMs: number): number {
  const cutoff = nowMs - periodMs;
  let replicas = 0;
  for (const event of events) if (event.atMs > cutoff) replicas += event.replicaChange;
  return replicas;
}

/**
 * The highest replica count the scale-up policies allow now (`calculateScaleUpLimitWithScalingRules`): per policy,
 * start from the count at the beginning of its period and add `value` pods or `value`% (rounded up); `Max` takes
 * the largest, `Min` the smallest, `Disabled` returns `currentReplicas`.
 */
export function scaleUpLimit(
  currentReplicas: number,
  upEvents: readonly ScaleEvent[],
  downEvents: readonly ScaleEvent[],
  rules: ResolvedScalingRules,
  nowMs: number,
): number {
  if (rules.selectPolicy === 'Disabled') return currentReplicas;
  let result = rules.selectPolicy === 'Min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const policy of rules.policies) {
    const start =
      currentReplicas -
      replicasChangedInPeriod(policy.periodMs, upEvents, nowMs) +
      replicasChangedInPeriod(policy.periodMs, downEvents, nowMs);
    const proposed = policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    result = rules.selectPolicy === 'Min' ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/**
 * The lowest replica count the scale-down policies allow now (`calculateScaleDownLimitWithBehaviors`): per
 * policy, the count at the start of its period minus `value` pods or `value`% (truncated); `Max` takes the
 * smallest, `Min` the largest, `Disabled` returns `currentReplicas`.
 */
export function scaleDownLimit(
  currentReplicas: number,
  upEvents: readonly ScaleEvent[],
  downEvents: readonly ScaleEvent[],
  rules: ResolvedScalingRules,
  nowMs: number,
): number {
  if (rules.selectPolicy === 'Disabled') return currentReplicas;
  let result = rules.selectPolicy === 'Min' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const policy of rules.policies) {
    const start =
      currentReplicas -
      replicasChangedInPeriod(policy.periodMs, upEvents, nowMs) +
      replicasChangedInPeriod(policy.periodMs, downEvents, nowMs);
    const proposed = policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
    result = rules.selectPolicy === 'Min' ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

/**
 * Records a scaling move (`storeScaleEvent`): events older than the direction's longest policy period are marked
 * outdated and the last outdated slot is reused, so the list stays bounded.
 */
export function storeScaleEvent(
  events: ScaleEvent[],
  replicaChange: number,
  rules: ResolvedScalingRules,
  nowMs: number,
): void {
  const longestPeriodMs = Math.max(0, ...rules.policies.map((policy) => policy.periodMs));
  const cutoff = nowMs - longestPeriodMs;
  for (const event of events) if (event.atMs < cutoff) event.outdated = true;
  const slot = events.findLastIndex((event) => event.outdated);
  const fresh: ScaleEvent = { replicaChange, atMs: nowMs, outdated: false };
  if (slot >= 0) events[slot] = fresh;
  else events.push(fresh);
}
