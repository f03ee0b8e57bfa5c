import { CapacityError } from '../errors.js';
import { quantile } from './statistics.js';

/** Options of {@link planGrowth}. */
export interface GrowthPlanOptions {
  /** Replicas serving the load now (n). */
  currentReplicas: number;
  /**
   * Per-replica utilization samples (ratios of per-replica capacity, e.g. CPU 0.6), or the peak to plan for. From
   * samples, the peak is the `peakPercentile` (default p95) of per-window maxima when `windowSize` is given, else of
   * the samples themselves.
   */
  utilization?: readonly number[] | { peak: number; mean?: number };
  /**
   * Plan from demand instead of utilization: the peak demand (e.g. 1,000 rps) and what one replica serves at 100%
   * (e.g. 250 rps): u_peak = peak ÷ (currentReplicas × perReplicaCapacity).
   */
  demand?: { peak: number; perReplicaCapacity: number };
  /** Samples per window for the window maxima (e.g. 60 one-minute samples → hourly peaks). */
  windowSize?: number;
  /** Default 0.95. */
  peakPercentile?: number;
  /** Spare capacity kept above the peak: 0.5 = "50% headroom". Default 0.5. */
  headroom?: number;
  /** Demand growth scenarios: `0.25` = +25%. Default `[0, 0.25, 0.5, 1]`; labels for the report optional. */
  growth?: ReadonlyArray<number | { growth: number; label: string }>;
  /**
   * Multiplicative index of the busiest season slot (e.g. 1.8 = the busiest hour-of-week runs at 180% of the
   * average), applied when `utilization` is an average rather than a peak. Default 1.
   */
  seasonalPeakRatio?: number;
  /** Failure-domain spares added on top (N+1: 1). Default 0. */
  spareReplicas?: number;
  minReplicas?: number;
  maxReplicas?: number;
}

/** One growth scenario. */
export interface GrowthScenario {
  growth: number;
  label: string;
  /** Peak demand in replica-equivalents at 100% utilization: n × u_peak × seasonal × (1 + g). */
  peakDemand: number;
  /** ceil(peakDemand × (1 + headroom)) + spares, within bounds. */
  replicas: number;
  /** Utilization at the projected peak on `replicas`. */
  peakUtilization: number;
  /** The runbook script: current × (1 + g) × (1 + headroom), blind to how busy the replicas are. */
  naiveReplicas: number;
  /** naive − ours: positive = the script over-provisions, negative = it under-provisions the peak. */
  naiveDifference: number;
  /** Capped by minReplicas/maxReplicas. */
  bounded?: 'min' | 'max';
}

/** The result of {@link planGrowth}. */
export interface GrowthPlan {
  currentReplicas: number;
  peakUtilization: number;
  meanUtilization: number | undefined;
  headroom: number;
  seasonalPeakRatio: number;
  scenarios: GrowthScenario[];
  explanation: string[];
}

/**
 * Replicas needed for demand growth scenarios (+25/+50/+100%): `R(g) = ceil(n × u_peak × s × (1 + g) × (1 + H))` +
 * spares, within bounds — sized on the peak (p95 of window maxima), with headroom applied to the peak and the
 * seasonal peak index applied to averages. The runbook's script (`current × 150%`, scaled by growth) is computed
 * side by side, with where and why it is wrong.
 *
 * @example
 * ```ts
 * planGrowth({ currentReplicas: 10, utilization: { peak: 0.6 }, headroom: 0.5 }).scenarios.map((s) => s.replicas); // [9, 12, 14, 18]
 * ```
 */
export function planGrowth(options: GrowthPlanOptions): GrowthPlan {
  const {
    currentReplicas: n,
    headroom = 0.5,
    seasonalPeakRatio = 1,
    spareReplicas = 0,
    minReplicas = 1,
    maxReplicas = Number.POSITIVE_INFINITY,
    peakPercentile = 0.95,
  } = options;
  if (!Number.isInteger(n) || n < 1)
    throw new CapacityError('ARGUMENT_INVALID', `currentReplicas: expected an integer ≥ 1, got ${n}`);
  if (!(headroom >= 0)) throw new CapacityError('ARGUMENT_INVALID', `headroom: expected ≥ 0, got ${headroom}`);
  let peak: number;
  let meanUtilization: number | undefined;
  const explanation: string[] = [];
  if (options.demand) {
    const { peak: demandPeak, perReplicaCapacity } = options.demand;
    if (!(perReplicaCapacity > 0) || !(demandPeak >= 0))
      throw new CapacityError('ARGUMENT_INVALID', 'demand: expected peak ≥ 0 and perReplicaCapacity > 0');
    peak = demandPeak / (n * perReplicaCapacity);
    explanation.push(
      `peak demand ${demandPeak} over ${n} replicas of ${perReplicaCapacity} each: ${(peak * 100).toFixed(1)}% utilization at peak`,
    );
  } else if (options.utilization === undefined) {
    throw new CapacityError('ARGUMENT_INVALID', 'planGrowth needs utilization (samples or a peak) or demand');
  } else if (Array.isArray(options.utilization)) {
    const samples = options.utilization as readonly number[];
    if (samples.length === 0) throw new CapacityError('INSUFFICIENT_DATA', 'utilization: no samples');
    meanUtilization = samples.reduce((sum, value) => sum + value, 0) / samples.length;
    const size = options.windowSize ?? 1;
    const maxima: number[] = [];
    for (let start = 0; start < samples.length; start += size)
      maxima.push(Math.max(...samples.slice(start, start + size)));
    peak = quantile(maxima, peakPercentile);
    explanation.push(
      `peak utilization ${(peak * 100).toFixed(1)}% = p${Math.round(peakPercentile * 100)} of ${maxima.length} ${size > 1 ? `window maxima (${size} samples each)` : 'samples'}; mean ${(meanUtilization * 100).toFixed(1)}%`,
    );
  } else {
    const given = options.utilization as { peak: number; mean?: number };
    peak = given.peak;
    meanUtilization = given.mean;
  }
  if (!(peak >= 0)) throw new CapacityError('ARGUMENT_INVALID', `utilization peak: expected ≥ 0, got ${peak}`);
  if (seasonalPeakRatio !== 1)
    explanation.push(`seasonal peak ×${seasonalPeakRatio} (busiest slot of the season against the average)`);
  const scenarios = (options.growth ?? [0, 0.25, 0.5, 1]).map((entry): GrowthScenario => {
    const { growth, label } =
      typeof entry === 'number'
        ? { growth: entry, label: entry === 0 ? 'today' : `+${Math.round(entry * 100)}%` }
        : entry;
    const peakDemand = n * peak * seasonalPeakRatio * (1 + growth);
    let replicas = Math.ceil(peakDemand * (1 + headroom) - 1e-9) + spareReplicas;
    let bounded: GrowthScenario['bounded'];
    if (replicas < minReplicas) {
      replicas = minReplicas;
      bounded = 'min';
    } else if (replicas > maxReplicas) {
      replicas = maxReplicas;
      bounded = 'max';
    }
    const naiveReplicas = Math.ceil(n * (1 + growth) * (1 + headroom) - 1e-9);
    return {
      growth,
      label,
      peakDemand,
      replicas,
      peakUtilization: replicas > 0 ? peakDemand / replicas : Number.POSITIVE_INFINITY,
      naiveReplicas,
      naiveDifference: naiveReplicas - replicas,
      ...(bounded ? { bounded } : {}),
    };
  });
  const first = scenarios[0];
  if (first && first.naiveDifference !== 0) {
    explanation.push(
      first.naiveDifference > 0
        ? `the runbook script (current × ${(1 + headroom).toFixed(2)}) gives ${first.naiveReplicas} for ${first.label}: it ignores that replicas already run at ${(peak * 100).toFixed(0)}% at peak, so it adds headroom on top of headroom (${first.naiveDifference} replicas too many)`
        : `the runbook script (current × ${(1 + headroom).toFixed(2)}) gives ${first.naiveReplicas} for ${first.label}: at a ${(peak * seasonalPeakRatio * 100).toFixed(0)}% peak that leaves less than the ${Math.round(headroom * 100)}% headroom (${-first.naiveDifference} replicas short)`,
    );
  }
  return {
    currentReplicas: n,
    peakUtilization: peak,
    meanUtilization,
    headroom,
    seasonalPeakRatio,
    scenarios,
    explanation,
  };
}
