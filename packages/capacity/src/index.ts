// @ops/capacity — replica math, stabilization, right-sizing, forecasting, exhaustion, reports. Exports are listed
// by name.

// errors
export { CapacityError } from './errors.js';
export type { CapacityErrorCode } from './errors.js';

// HPA replica math (Kubernetes-exact)
export { createHpaAutoscaler } from './hpa/hpa-autoscaler.js';
export type {
  HpaAutoscaler,
  HpaAutoscalerOptions,
  HpaAutoscalerEvents,
  HpaAutoscalerState,
  HpaCondition,
  HpaDecision,
  HpaDecisionInput,
  HpaReason,
} from './hpa/hpa-autoscaler.js';
export { calculateMetricReplicas } from './hpa/replica-calculator.js';
export type { HpaMetric, MetricProposal, ReplicaCalculationContext } from './hpa/replica-calculator.js';
export { groupPods, countReadyPods } from './hpa/pods.js';
export type { HpaPod, PodPhase, PodSample, PodGroups, GroupPodsOptions } from './hpa/pods.js';
export { resolveScalingRules, scaleUpLimit, scaleDownLimit, storeScaleEvent, replicasChangedInPeriod } from './hpa/scaling-rules.js';
export type { ScalingBehavior, ScalingRules, ScalingPolicy, ResolvedScalingRules, ScaleEvent } from './hpa/scaling-rules.js';
export { isWithinTolerance, DEFAULT_TOLERANCE } from './hpa/tolerances.js';
export type { Tolerances } from './hpa/tolerances.js';

// band scaler (the runbooks' "up above X% for D1, down below Y% for D2")
export { createBandScaler } from './band/band-scaler.js';
export type { BandScaler, BandScalerOptions, BandScalerEvents, BandSignalRule, BandSignalStatus, BandDecision, BandReason } from './band/band-scaler.js';
