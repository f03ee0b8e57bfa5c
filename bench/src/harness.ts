/**
 * The contract every benchmark suite in bench/src/<suite>/*.bench.ts follows. The runner (src/run.ts) imports each
 * suite's default export, runs it, writes bench/results/<suite>.json and regenerates bench/RESULTS.md from all
 * result files, so suites of different packages never write the same file.
 */

/** Summary statistics of repeated samples of one measurement. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  /** How many samples the figures summarise. */
  samples: number;
}

/** One measured row: ours, and (when there is one) the peer measured side by side in the same run. */
export interface BenchRow {
  /** Table the row belongs to, e.g. `'RollingWindow.record vs prom-client'`. */
  group: string;
  /** What was measured, e.g. `'record() ops/s'`. */
  metric: string;
  /** Unit of the figures, e.g. `'ops/s'`, `'req/s'`, `'ms'`, `'MiB'`, `'queries'`. */
  unit: string;
  ours: Stats;
  peer?: Stats & { name: string };
  /** Whether a larger figure is better (throughput) or worse (latency, memory). */
  higherIsBetter: boolean;
  /** ours/peer (as measured), when a peer exists. */
  ratio?: number;
  /** The target from the issue, in words, e.g. `'≥ 0.8× bare handler'`. */
  target?: string;
  /** Whether the target is met, when there is one. */
  met?: boolean;
  notes?: string;
}

/** A benchmark suite: the default export of a `*.bench.ts` file. */
export interface BenchSuite {
  /** Stable id, used as the results file name, e.g. `'core-rolling-window'`. */
  name: string;
  /** One sentence: what is compared with what, and how. */
  description: string;
  run(): Promise<BenchRow[]>;
}

/** Computes {@link Stats} of a list of samples. */
export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('stats() needs at least one sample');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, samples: sorted.length };
}

/** Makes a row comparing ours with a peer, computing the ratio and whether `targetRatio` is met. */
export function compareRow(
  row: Omit<BenchRow, 'ratio' | 'met'>,
  targetRatio?: { atLeast?: number; atMost?: number },
): BenchRow {
  const ratio = row.peer && row.peer.median !== 0 ? row.ours.median / row.peer.median : undefined;
  let met: boolean | undefined;
  if (ratio !== undefined && targetRatio) {
    met =
      (targetRatio.atLeast === undefined || ratio >= targetRatio.atLeast) &&
      (targetRatio.atMost === undefined || ratio <= targetRatio.atMost);
  }
  return { ...row, ...(ratio === undefined ? {} : { ratio }), ...(met === undefined ? {} : { met }) };
}

/**
 * Measures the throughput of a synchronous operation: runs `operation` in batches of `batchSize` for `samples`
 * rounds (after `warmupRounds`), returning operations per second per round. Alternate calls of two
 * candidates (ours, peer) in the same process so both see the same machine state.
 */
export function opsPerSecond(
  operation: (index: number) => void,
  options: { batchSize?: number; samples?: number; warmupRounds?: number } = {},
): number[] {
  const { batchSize = 200_000, samples = 15, warmupRounds = 3 } = options;
  const out: number[] = [];
  for (let round = 0; round < warmupRounds + samples; round++) {
    const start = process.hrtime.bigint();
    for (let index = 0; index < batchSize; index++) operation(index);
    const elapsedNs = Number(process.hrtime.bigint() - start);
    if (round >= warmupRounds) out.push(batchSize / (elapsedNs / 1e9));
  }
  return out;
}

/**
 * Measures several synchronous candidates side by side: each round runs one batch of every candidate, rotating
 * the order every round so none always runs first (warm caches, GC debt). Returns ops/s samples per candidate.
 *
 * @example
 * ```ts
 * const samples = interleavedOpsPerSecond({ ours: (i) => window.record(i), peer: () => counter.inc() });
 * ```
 */
export function interleavedOpsPerSecond<Name extends string>(
  candidates: Record<Name, (index: number) => void>,
  options: { batchSize?: number; samples?: number; warmupRounds?: number } = {},
): Record<Name, number[]> {
  const { batchSize = 200_000, samples = 15, warmupRounds = 3 } = options;
  const names = Object.keys(candidates) as Name[];
  const out = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  for (let round = 0; round < warmupRounds + samples; round++) {
    for (let offset = 0; offset < names.length; offset++) {
      const name = names[(round + offset) % names.length] as Name;
      const operation = candidates[name];
      const start = process.hrtime.bigint();
      for (let index = 0; index < batchSize; index++) operation(index);
      const elapsedNs = Number(process.hrtime.bigint() - start);
      if (round >= warmupRounds) out[name].push(batchSize / (elapsedNs / 1e9));
    }
  }
  return out;
}
