import { parseDuration, type Duration } from '@ops/core';
import { CapacityError } from '../errors.js';
import { createDecayingHistogram } from './decaying-histogram.js';
import { quantile } from './statistics.js';

/** A usage sample. */
export interface UsageSample {
  atMs: number;
  value: number;
}

/** Options of {@link recommendResources}. */
export interface RightSizingOptions {
  /** CPU usage samples in cores, and the current request. */
  cpu?: { samples: readonly UsageSample[]; requestCores?: number };
  /** Memory usage samples in bytes (working set), the current request, and OOM kills seen. */
  memory?: { samples: readonly UsageSample[]; requestBytes?: number; ooms?: readonly UsageSample[] };
  /** Half-life of the sample weights. Default `'24h'` (VPA). */
  halfLife?: Duration;
  /** Safety margin on every estimate. Default 0.15 (`recommendation-margin-fraction`). */
  marginFraction?: number;
  /** Percentiles of target / lower / upper bound. Default 0.9 / 0.5 / 0.95. */
  percentiles?: { target?: number; lower?: number; upper?: number };
  /** Floors per replica. Default 0.025 cores and 250 MiB (VPA `pod-recommendation-min-*`). */
  floors?: { cpuCores?: number; memoryBytes?: number };
  /** Recommend a change only when it differs from the request by at least this ratio. Default 0.1 (`pod-update-threshold`). */
  minChangeRatio?: number;
  /** Memory peak interval. Default `'24h'`; peaks of the last 8 intervals are kept (VPA). */
  memoryInterval?: Duration;
  /** Utilization (p95 usage ÷ request) below which a request is reported over-provisioned. Default 0.5 (runbook). */
  overProvisionedBelow?: number;
  /** Utilization below which a workload is reported idle. Default 0.05. */
  idleBelow?: number;
}

/** A recommendation for one resource. */
export interface ResourceRecommendation {
  resource: 'cpu' | 'memory';
  /** What to request: percentile(target) × (1 + margin), floored. */
  target: number;
  /** Below this the request is too low: percentile(lower) × (1 + margin) × (1 + 0.001/c)^−2. */
  lowerBound: number;
  /** Above this the request is wasteful: percentile(upper) × (1 + margin) × (1 + 1/c). */
  upperBound: number;
  /** The current request, when given. */
  request?: number;
  /** |target − request| ÷ request. */
  changeRatio?: number;
  /** `update` when the change reaches `minChangeRatio` and the request lies outside [lowerBound, upperBound]. */
  action: 'keep' | 'update' | 'set';
  reason: string;
  /** p95 of raw usage ÷ request (how busy the request is). */
  utilization?: number;
}

/** A cost or risk finding. */
export interface RightSizingFinding {
  code: 'IDLE' | 'OVER_PROVISIONED' | 'UNDER_PROVISIONED' | 'OOM_SEEN';
  resource: 'cpu' | 'memory';
  message: string;
  /** Request − target when positive (what a change would free). */
  reclaimable?: number;
}

/** The result of {@link recommendResources}. */
export interface RightSizingResult {
  /** min(days between first and last sample, samples ÷ 1,440) — the VPA's confidence. */
  confidence: number;
  cpu?: ResourceRecommendation;
  memory?: ResourceRecommendation;
  findings: RightSizingFinding[];
}

const DAY_MS = 86_400_000;
const MIB = 1024 * 1024;

function confidenceOf(samples: readonly UsageSample[]): number {
  if (samples.length === 0) return 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const sample of samples) {
    first = Math.min(first, sample.atMs);
    last = Math.max(last, sample.atMs);
  }
  return Math.min((last - first) / DAY_MS, samples.length / 1440);
}

/**
 * VPA-style right-sizing (`vertical-pod-autoscaler/pkg/recommender`): CPU samples go into a decaying histogram
 * weighted by max(request, 0.1 core); memory feeds one peak per 24 h interval (last 8 kept), OOM kills a bumped
 * sample (max(×1.2, +100 MB)); target = p90 × 1.15, lower = p50 × 1.15 × (1 + 0.001/c)^−2, upper = p95 × 1.15 ×
 * (1 + 1/c) with confidence c = min(days of history, samples/1,440); floors 25 millicores / 250 MiB; a change is
 * recommended only when ≥ 10% and the request is outside [lower, upper]. Findings flag idle, over-provisioned
 * (p95 utilization < 50%, the runbook's rule) and under-provisioned requests.
 *
 * @example
 * ```ts
 * const advice = recommendResources({ cpu: { samples: cpuCores, requestCores: 2 }, memory: { samples: rssBytes, requestBytes: 4 * 2 ** 30 } });
 * advice.cpu?.target; // cores to request
 * ```
 */
export function recommendResources(options: RightSizingOptions): RightSizingResult {
  const { marginFraction = 0.15, minChangeRatio = 0.1, overProvisionedBelow = 0.5, idleBelow = 0.05 } = options;
  const halfLifeMs = parseDuration(options.halfLife ?? '24h', 'halfLife');
  const intervalMs = parseDuration(options.memoryInterval ?? '24h', 'memoryInterval');
  const targetPercentile = options.percentiles?.target ?? 0.9;
  const lowerPercentile = options.percentiles?.lower ?? 0.5;
  const upperPercentile = options.percentiles?.upper ?? 0.95;
  const cpuFloor = options.floors?.cpuCores ?? 0.025;
  const memoryFloor = options.floors?.memoryBytes ?? 250 * MIB;
  if (!options.cpu && !options.memory)
    throw new CapacityError('ARGUMENT_INVALID', 'recommendResources: give cpu and/or memory samples');
  const all = [...(options.cpu?.samples ?? []), ...(options.memory?.samples ?? [])];
  const confidence = confidenceOf(options.cpu?.samples.length ? options.cpu.samples : all);
  const findings: RightSizingFinding[] = [];

  const estimate = (
    resource: 'cpu' | 'memory',
    percentile: (p: number) => number,
    floor: number,
    request: number | undefined,
    rawUsage: number[],
  ): ResourceRecommendation => {
    const withMargin = (value: number) => value * (1 + marginFraction);
    const target = Math.max(floor, withMargin(percentile(targetPercentile)));
    const lowerBound = Math.max(
      floor,
      confidence > 0 ? withMargin(percentile(lowerPercentile)) * Math.pow(1 + 0.001 / confidence, -2) : 0,
    );
    const upperBound = Math.max(
      floor,
      confidence > 0 ? withMargin(percentile(upperPercentile)) * (1 + 1 / confidence) : Number.POSITIVE_INFINITY,
    );
    const recommendation: ResourceRecommendation = {
      resource,
      target,
      lowerBound,
      upperBound,
      action: 'keep',
      reason: '',
    };
    const unit =
      resource === 'cpu'
        ? (value: number) => `${(value * 1000).toFixed(0)}m`
        : (value: number) => `${(value / MIB).toFixed(0)}Mi`;
    if (request === undefined || !(request > 0)) {
      recommendation.action = 'set';
      recommendation.reason = `no request set: request ${unit(target)}`;
      return recommendation;
    }
    recommendation.request = request;
    recommendation.changeRatio = Math.abs(target - request) / request;
    const utilization = rawUsage.length > 0 ? quantile(rawUsage, 0.95) / request : undefined;
    if (utilization !== undefined) recommendation.utilization = utilization;
    const outside = request < lowerBound || request > upperBound;
    if (recommendation.changeRatio < minChangeRatio) {
      recommendation.reason = `request ${unit(request)} is within ${Math.round(minChangeRatio * 100)}% of the target ${unit(target)}`;
    } else if (!outside) {
      recommendation.reason = `request ${unit(request)} is inside [${unit(lowerBound)}, ${unit(upperBound)}] (confidence ${confidence.toFixed(2)}): not worth a restart`;
    } else {
      recommendation.action = 'update';
      recommendation.reason = `request ${unit(request)} is ${request < lowerBound ? 'below the lower' : 'above the upper'} bound: set ${unit(target)} (p${Math.round(targetPercentile * 100)} × ${(1 + marginFraction).toFixed(2)})`;
    }
    if (utilization !== undefined) {
      if (utilization < idleBelow) {
        findings.push({
          code: 'IDLE',
          resource,
          message: `${resource} p95 usage is ${(utilization * 100).toFixed(1)}% of the request: idle`,
          reclaimable: Math.max(0, request - target),
        });
      } else if (utilization < overProvisionedBelow) {
        findings.push({
          code: 'OVER_PROVISIONED',
          resource,
          message: `${resource} p95 usage is ${(utilization * 100).toFixed(0)}% of the request (< ${Math.round(overProvisionedBelow * 100)}% sustained): ${unit(Math.max(0, request - target))} reclaimable`,
          reclaimable: Math.max(0, request - target),
        });
      } else if (request < lowerBound) {
        findings.push({
          code: 'UNDER_PROVISIONED',
          resource,
          message: `${resource} request ${unit(request)} is below the lower bound ${unit(lowerBound)}`,
        });
      }
    }
    return recommendation;
  };

  const result: RightSizingResult = { confidence, findings };
  if (options.cpu) {
    const histogram = createDecayingHistogram({ maxValue: 1000, firstBucketSize: 0.01, halfLifeMs });
    const weight = Math.max(options.cpu.requestCores ?? 0, 0.1);
    for (const sample of options.cpu.samples) histogram.addSample(sample.value, weight, sample.atMs);
    if (histogram.isEmpty()) throw new CapacityError('INSUFFICIENT_DATA', 'cpu: no samples');
    result.cpu = estimate(
      'cpu',
      (p) => histogram.percentile(p),
      cpuFloor,
      options.cpu.requestCores,
      options.cpu.samples.map((sample) => sample.value),
    );
  }
  if (options.memory) {
    const histogram = createDecayingHistogram({ maxValue: 1e12, firstBucketSize: 1e7, halfLifeMs });
    const peaks = new Map<number, { value: number; atMs: number }>();
    const samples = [...options.memory.samples];
    for (const oom of options.memory.ooms ?? []) {
      const bumped = Math.max(oom.value * 1.2, oom.value + 100 * 1e6);
      samples.push({ atMs: oom.atMs, value: bumped });
      findings.push({
        code: 'OOM_SEEN',
        resource: 'memory',
        message: `OOM kill at ${new Date(oom.atMs).toISOString()} with ${(oom.value / MIB).toFixed(0)}Mi: counted as ${(bumped / MIB).toFixed(0)}Mi`,
      });
    }
    if (samples.length === 0) throw new CapacityError('INSUFFICIENT_DATA', 'memory: no samples');
    const origin = Math.min(...samples.map((sample) => sample.atMs));
    for (const sample of samples) {
      const interval = Math.floor((sample.atMs - origin) / intervalMs);
      const current = peaks.get(interval);
      if (!current || sample.value > current.value)
        peaks.set(interval, { value: sample.value, atMs: origin + (interval + 1) * intervalMs });
    }
    const kept = [...peaks.entries()].sort((a, b) => a[0] - b[0]).slice(-8);
    for (const [, peak] of kept) histogram.addSample(peak.value, 1, peak.atMs);
    result.memory = estimate(
      'memory',
      (p) => histogram.percentile(p),
      memoryFloor,
      options.memory.requestBytes,
      options.memory.samples.map((sample) => sample.value),
    );
  }
  return result;
}
