import { CapacityError } from '../errors.js';

/** Options of {@link createDecayingHistogram}: exponential buckets, as the VPA recommender's. */
export interface DecayingHistogramOptions {
  /** Upper end of the range (e.g. 1,000 cores, 1e12 bytes). */
  maxValue: number;
  /** Width of the first bucket (0.01 cores, 1e7 bytes). */
  firstBucketSize: number;
  /** Each bucket this much wider than the previous. Default 1.05. */
  ratio?: number;
  /** Weight halves every `halfLifeMs`. Default 24 h. */
  halfLifeMs?: number;
  /** Weights below this count as empty. Default 1e-4 (VPA's epsilon). */
  epsilon?: number;
}

/** A histogram whose samples lose half their weight every half-life (VPA `util/decaying_histogram.go`). */
export interface DecayingHistogram {
  addSample(value: number, weight: number, atMs: number): void;
  /** Removes a sample added earlier with the same value, weight and time (a replaced interval peak). */
  subtractSample(value: number, weight: number, atMs: number): void;
  /** The end of the bucket where the cumulative weight reaches `p` × total (the last bucket: its start). */
  percentile(p: number): number;
  isEmpty(): boolean;
  /** Total (decayed, rescaled) weight. */
  readonly totalWeight: number;
  /** Bucket start of a bucket index (for tests and reports). */
  bucketStart(bucket: number): number;
  readonly bucketCount: number;
}

/** Shift the reference time once weights would exceed 2^100 (VPA `maxDecayExponent`). */
const MAX_DECAY_EXPONENT = 100;

/**
 * Creates a VPA-style decaying histogram: exponential buckets (bucket i starts at
 * `first × (ratio^i − 1) / (ratio − 1)`), each sample weighted by `weight × 2^((t − ref) / halfLife)` — newer
 * samples count more — with the reference shifted (and all weights rescaled) before the exponent overflows.
 */
export function createDecayingHistogram(options: DecayingHistogramOptions): DecayingHistogram {
  const { maxValue, firstBucketSize, ratio = 1.05, halfLifeMs = 86_400_000, epsilon = 1e-4 } = options;
  if (!(maxValue > 0 && firstBucketSize > 0 && ratio > 1 && halfLifeMs > 0)) {
    throw new CapacityError(
      'ARGUMENT_INVALID',
      'histogram: maxValue, firstBucketSize and halfLifeMs must be > 0 and ratio > 1',
    );
  }
  const bucketCount = Math.ceil(Math.log((maxValue * (ratio - 1)) / firstBucketSize + 1) / Math.log(ratio)) + 1;
  const weights = new Float64Array(bucketCount);
  let total = 0;
  let referenceMs: number | undefined;
  const bucketStart = (bucket: number) => (firstBucketSize * (Math.pow(ratio, bucket) - 1)) / (ratio - 1);
  const findBucket = (value: number) => {
    if (value < firstBucketSize) return 0;
    const bucket = Math.floor(Math.log((value * (ratio - 1)) / firstBucketSize + 1) / Math.log(ratio));
    return Math.min(bucketCount - 1, Math.max(0, bucket));
  };
  const decayFactor = (atMs: number) => {
    if (referenceMs === undefined) referenceMs = atMs;
    let exponent = (atMs - referenceMs) / halfLifeMs;
    if (exponent > MAX_DECAY_EXPONENT) {
      // Move the reference to this sample's time (rounded down to whole half-lives) and rescale what is stored.
      const shift = Math.floor(exponent) * halfLifeMs;
      const scale = Math.pow(2, -shift / halfLifeMs);
      for (let bucket = 0; bucket < bucketCount; bucket++) weights[bucket] = (weights[bucket] as number) * scale;
      total *= scale;
      referenceMs += shift;
      exponent = (atMs - referenceMs) / halfLifeMs;
    }
    return Math.pow(2, exponent);
  };
  return {
    bucketCount,
    bucketStart,
    get totalWeight() {
      return total;
    },
    addSample(value, weight, atMs) {
      if (!(weight >= 0) || !Number.isFinite(value))
        throw new CapacityError(
          'ARGUMENT_INVALID',
          `sample: expected a finite value and weight ≥ 0, got ${value}, ${weight}`,
        );
      const decayed = weight * decayFactor(atMs);
      const bucket = findBucket(value);
      weights[bucket] = (weights[bucket] as number) + decayed;
      total += decayed;
    },
    subtractSample(value, weight, atMs) {
      const factor = decayFactor(atMs);
      const bucket = findBucket(value);
      const remaining = (weights[bucket] as number) - weight * factor;
      // What is left below epsilon (in this time's scale) counts as empty, as in the VPA's histogram.
      const kept = remaining / factor < epsilon ? 0 : remaining;
      total = Math.max(0, total - ((weights[bucket] as number) - kept));
      weights[bucket] = kept;
    },
    percentile(p) {
      if (total <= 0) return 0;
      const threshold = p * total;
      let partial = 0;
      let bucket = 0;
      let last = bucketCount - 1;
      while (last > 0 && (weights[last] as number) === 0) last--;
      for (; bucket < last; bucket++) {
        partial += weights[bucket] as number;
        if (partial >= threshold) break;
      }
      return bucket < bucketCount - 1 ? bucketStart(bucket + 1) : bucketStart(bucket);
    },
    isEmpty: () => total <= 0,
  };
}
