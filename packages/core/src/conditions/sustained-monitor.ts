import { safeErrorMessage } from '../redaction/redact.js';
import { guardLogger, silentLogger, type Logger } from '../logging/logger.js';
import type { Signal } from '../signals/signal.js';
import { createPeriodicTask } from '../tasks/periodic-task.js';
import { systemClock, type Clock } from '../time/clock.js';
import { withDeadline } from '../time/deadline.js';
import { parseDuration, parseOptionalDuration, type Duration } from '../time/duration.js';
import {
  createSustainedCondition,
  type SustainedCondition,
  type SustainedConditionEvents,
  type SustainedState,
  type SustainedTransition,
} from './sustained-condition.js';

const STOPPED = new Error('monitor stopped');

/** Options of {@link createSustainedMonitor}. */
export interface SustainedMonitorOptions {
  /** What is sampled. */
  signal: Signal;
  /** Whether a sampled value means the condition holds, e.g. `(ratio) => ratio > 0.85`. */
  when: (value: number) => boolean;
  /** How long the condition must hold before firing (Prometheus `for`). */
  for: Duration;
  /** How long to keep firing after the condition clears (Prometheus `keep_firing_for`). Default 0. */
  keepFiringFor?: Duration;
  /** Sampling interval, e.g. `'15s'`. */
  every: Duration;
  /** Deadline of one read; a read that takes longer is aborted and counts as a sample error. Default `every`. */
  readTimeout?: Duration;
  /** Name of the condition in transitions and logs. Defaults to the signal's name. */
  name?: string;
  /** Source of time and timers. Defaults to {@link systemClock}. */
  clock?: Clock;
  /** Where sample errors are logged (warn). Defaults to silent. */
  logger?: Logger;
}

/** The outcome of one sample taken by a {@link SustainedMonitor}. */
export type SampleOutcome =
  | { ok: true; value: number; active: boolean; transition: SustainedTransition | undefined }
  | { ok: false; error: Error };

/** A {@link SustainedCondition} fed by sampling a {@link Signal} on an interval. */
export interface SustainedMonitor {
  /** The condition the samples feed; subscribe with `monitor.condition.on(...)` or {@link SustainedMonitor.on}. */
  readonly condition: SustainedCondition;
  /** Shortcut for `condition.state`. */
  readonly state: SustainedState;
  /** Number of reads that failed (threw, timed out, or returned a non-finite number). */
  readonly sampleErrors: number;
  /** Last successfully read value. */
  readonly lastValue: number | undefined;
  /** Subscribes to the condition's events (see {@link SustainedCondition.on}); returns the unsubscribe. */
  on<Name extends keyof SustainedConditionEvents>(
    name: Name,
    listener: (transition: SustainedConditionEvents[Name]) => void,
  ): () => void;
  /** @deprecated Use `on('condition.changed', listener)`. */
  on(listener: (transition: SustainedTransition) => void): () => void;
  /** Starts sampling every `every` (the first sample after one interval). Idempotent. */
  start(): void;
  /** Stops sampling and aborts a read in flight; resolves when the read has ended. Idempotent. */
  stop(): Promise<void>;
  /** Takes one sample now, outside the schedule (also usable without `start()`). */
  sample(): Promise<SampleOutcome>;
}

/**
 * Samples `signal` every `every`, feeds `when(value)` to a sustained condition, and emits its transitions.
 * A failing read is a sample error: logged at warn (message redacted), counted, and the condition is left as it
 * was — a flapping exporter neither fires nor resolves an alert. Sampling runs on a periodic task, so reads never
 * overlap and a slow read delays the next instead of piling up.
 *
 * @example
 * ```ts
 * const monitor = createSustainedMonitor({
 *   signal: createProcessCpuSignal(), when: (ratio) => ratio > 0.85, for: '10m', every: '15s', name: 'high_cpu',
 * });
 * monitor.on('condition.changed', (transition) => logger.warn({ transition }, 'cpu condition changed'));
 * monitor.start();
 * ```
 */
export function createSustainedMonitor(options: SustainedMonitorOptions): SustainedMonitor {
  const { signal, when, clock = systemClock, name = signal.name } = options;
  const logger = guardLogger(options.logger ?? silentLogger);
  const everyMs = parseDuration(options.every, 'every');
  const readTimeoutMs = parseOptionalDuration(options.readTimeout, 'readTimeout') ?? everyMs;
  const condition = createSustainedCondition({
    for: options.for,
    ...(options.keepFiringFor === undefined ? {} : { keepFiringFor: options.keepFiringFor }),
    clock,
    name,
    logger,
  });
  let inFlight: AbortController | undefined;
  let sampleErrors = 0;
  let lastValue: number | undefined;

  const sample = async (): Promise<SampleOutcome> => {
    const controller = new AbortController();
    inFlight = controller;
    try {
      const value = await withDeadline(
        async (deadlineSignal) => {
          const onAbort = () => controller.abort(deadlineSignal.reason);
          deadlineSignal.addEventListener('abort', onAbort, { once: true });
          return await signal.read(controller.signal);
        },
        { timeoutMs: readTimeoutMs, clock, signal: controller.signal, label: `signal "${signal.name}" read` },
      );
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new Error(`signal "${signal.name}" returned a non-finite value: ${String(value)}`);
      lastValue = value;
      const active = when(value);
      const transition = condition.update(active, value);
      return { ok: true, value, active, transition };
    } catch (thrown) {
      if (controller.signal.aborted && controller.signal.reason === STOPPED) return { ok: false, error: STOPPED };
      sampleErrors++;
      const error = thrown instanceof Error ? thrown : new Error(safeErrorMessage(thrown));
      logger.warn(
        { condition: name, signal: signal.name, error: safeErrorMessage(thrown) },
        'signal read failed; condition unchanged',
      );
      return { ok: false, error };
    } finally {
      if (inFlight === controller) inFlight = undefined;
    }
  };

  const task = createPeriodicTask({
    name: `sustained-monitor:${name}`,
    every: everyMs,
    clock,
    logger,
    run: () => sample(),
  });

  return {
    condition,
    get state() {
      return condition.state;
    },
    get sampleErrors() {
      return sampleErrors;
    },
    get lastValue() {
      return lastValue;
    },
    on: ((nameOrListener: never, listener?: never) =>
      condition.on(nameOrListener, listener as never)) as SustainedMonitor['on'],
    start: () => task.start(),
    stop() {
      inFlight?.abort(STOPPED);
      return task.stop();
    },
    sample,
  };
}
