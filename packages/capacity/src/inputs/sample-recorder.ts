import {
  createPeriodicTask,
  createRollingWindow,
  parseDuration,
  safeErrorMessage,
  silentLogger,
  systemClock,
  type Clock,
  type Duration,
  type Logger,
  type PeriodicTask,
  type RollingWindow,
  type Signal,
} from '@ops/core';
import { CapacityError } from '../errors.js';
import type { Series } from './series.js';

/** Options of {@link createSampleRecorder}. */
export interface SampleRecorderOptions {
  /** Signals sampled by `sample()` and the periodic task (CPU, RSS, event-loop utilization, a prom-client metric…). */
  signals?: readonly Signal[];
  /** History kept per signal. Default `'7d'`. */
  window?: Duration;
  /** Resolution of the kept history (one mean per bucket). Default `'5m'`. */
  bucket?: Duration;
  clock?: Clock;
  logger?: Logger;
}

/** In-process capacity samples in core rolling windows: what a service can forecast about itself without Prometheus. */
export interface SampleRecorder {
  /** Records one value of `name` (created on first use) at `atMs` (default now). */
  record(name: string, value: number, atMs?: number): void;
  /** Reads every signal once; a failing read is logged and skipped. */
  sample(signal?: AbortSignal): Promise<void>;
  /** Per-bucket means (buckets without samples are left out), oldest first. */
  series(name: string): Series;
  /** Per-bucket maxima (for peak sizing). */
  peaks(name: string): Series;
  names(): string[];
  /** Samples every `every` on core's periodic task. */
  start(every: Duration): void;
  stop(): Promise<void>;
}

/**
 * Keeps a history of capacity samples in memory: one core `RollingWindow` per signal (count, sum, min, max per
 * bucket, O(1) per sample, fixed memory), sampled from core `Signal`s on a periodic task or fed with `record()`.
 * `series()` turns it into a regular series for forecasts, exhaustion and growth plans.
 *
 * @example
 * ```ts
 * const recorder = createSampleRecorder({ signals: [createEventLoopUtilizationSignal()], window: '7d', bucket: '5m' });
 * recorder.start('15s');
 * const forecast = multiSeasonalForecaster({ periods: [288] }).fit(recorder.series('event_loop_utilization').values);
 * ```
 */
export function createSampleRecorder(options: SampleRecorderOptions = {}): SampleRecorder {
  const { signals = [], clock = systemClock, logger = silentLogger } = options;
  const windowMs = parseDuration(options.window ?? '7d', 'window');
  const bucketMs = parseDuration(options.bucket ?? '5m', 'bucket');
  const windows = new Map<string, RollingWindow>();
  let task: PeriodicTask | undefined;
  const windowOf = (name: string) => {
    let window = windows.get(name);
    if (!window) windows.set(name, (window = createRollingWindow({ window: windowMs, bucket: bucketMs, clock })));
    return window;
  };
  const read = (name: string, pick: 'mean' | 'max'): Series => {
    const window = windows.get(name);
    if (!window)
      throw new CapacityError(
        'ARGUMENT_INVALID',
        `no samples named ${JSON.stringify(name)} (known: ${[...windows.keys()].join(', ') || 'none'})`,
      );
    const now = clock.now();
    const series: Series = { name, timestamps: [], values: [] };
    const newestStart = Math.floor(now / bucketMs) * bucketMs;
    for (let bucket = window.bucketCount - 1; bucket >= 0; bucket--) {
      const start = newestStart - bucket * bucketMs;
      const snapshot = window.query(bucketMs, start);
      if (snapshot.count === 0) continue;
      series.timestamps.push(start);
      series.values.push(
        pick === 'mean' ? snapshot.sum / snapshot.count : (snapshot.max ?? snapshot.sum / snapshot.count),
      );
    }
    return series;
  };
  const recorder: SampleRecorder = {
    record(name, value, atMs) {
      if (!Number.isFinite(value)) return;
      windowOf(name).record(value, atMs === undefined ? {} : { at: atMs });
    },
    async sample(abortSignal) {
      for (const signal of signals) {
        try {
          recorder.record(signal.name, await signal.read(abortSignal));
        } catch (error) {
          logger.warn(
            { signal: signal.name, error: safeErrorMessage(error) },
            'capacity: signal read failed; sample skipped',
          );
        }
      }
    },
    series: (name) => read(name, 'mean'),
    peaks: (name) => read(name, 'max'),
    names: () => [...windows.keys()],
    start(every) {
      task ??= createPeriodicTask({
        name: 'capacity-samples',
        every,
        clock,
        logger,
        run: (signal) => recorder.sample(signal),
      });
      task.start();
    },
    async stop() {
      await task?.stop();
    },
  };
  return recorder;
}
