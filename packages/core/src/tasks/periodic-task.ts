import { OpsError } from '../errors/ops-error.js';
import { guardLogger, silentLogger, type Logger } from '../logging/logger.js';
import { safeErrorMessage } from '../redaction/redact.js';
import { systemClock, type Clock, type TimerHandle } from '../time/clock.js';
import { withDeadline } from '../time/deadline.js';
import { parseDuration, parseOptionalDuration, type Duration } from '../time/duration.js';

/** Options of {@link createPeriodicTask}. */
export interface PeriodicTaskOptions {
  /** Name in logs and errors, e.g. `'slo-evaluation'`. */
  name: string;
  /** The work of one run. It receives a signal that aborts on `stop()` and at the run's `timeout`. */
  run: (signal: AbortSignal) => unknown;
  /** Interval between the starts of two runs, e.g. `'15s'`. */
  every: Duration;
  /**
   * Adds a random delay of up to `jitterRatio × every` to each interval (as Kubernetes' `wait.Jitter`), so a
   * fleet of replicas does not run in lockstep. Default 0; must be in [0, 1].
   */
  jitterRatio?: number;
  /** Run once as soon as `start()` is called, instead of after the first interval. Default `false`. */
  runOnStart?: boolean;
  /** Deadline of one run; its signal aborts then and the run counts as failed. Default: none. */
  timeout?: Duration;
  /** Source of time and timers. Default {@link systemClock}. */
  clock?: Clock;
  /** Where failed runs are logged (warn, redacted). Default silent. */
  logger?: Logger;
  /** Called with the error of a failed run (after logging). */
  onError?: (error: unknown) => void;
  /** Random source in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
  /** Keep the process alive while the task waits for its next run. Default `false` (timers are unref'd). */
  keepAlive?: boolean;
}

/** A loop that runs one piece of work every N on a {@link Clock}, never overlapping itself. */
export interface PeriodicTask {
  /** The name given in the options. */
  readonly name: string;
  /** Whether the schedule is running (between `start()` and `stop()`). */
  readonly started: boolean;
  /** Whether a run is in progress now. */
  readonly running: boolean;
  /** Runs completed so far (successful or not). */
  readonly runs: number;
  /** Runs that threw or timed out. */
  readonly failures: number;
  /** Error of the last run, `undefined` after a successful one. */
  readonly lastError: unknown;
  /** Epoch ms at which the last run started. */
  readonly lastRunAt: number | undefined;
  /** Starts the schedule. Idempotent. */
  start(): void;
  /**
   * Runs now, outside the schedule. Single-flight: when a run is in progress, returns that run's promise instead
   * of starting another. The schedule (when started) counts the next interval from this run's start. Resolves when
   * the run ends; never rejects (a failure is recorded in `lastError`).
   */
  runNow(): Promise<void>;
  /**
   * Stops the schedule, aborts a run in progress and resolves when it has ended. Idempotent. A run that ignores
   * its signal is still waited for: give the task a `timeout` to bound that wait.
   */
  stop(): Promise<void>;
}

const STOPPED_REASON = 'periodic task stopped';

/**
 * Creates a {@link PeriodicTask}: the one "every N, never overlapping" loop behind health polling, SLO evaluation,
 * lock renewal, healing ticks and capacity sampling.
 *
 * Runs start `every` apart (plus jitter). A run that takes longer than `every` is not interrupted and nothing piles
 * up behind it: the ticks it overran are skipped and the next run starts on the next tick after it ended (as a
 * `setInterval` that skips busy ticks). Errors are logged and counted, never thrown out of the loop.
 *
 * @example
 * ```ts
 * const sampler = createPeriodicTask({ name: 'sample-cpu', every: '15s', jitterRatio: 0.1, run: async (signal) => {
 *   samples.record(await cpu.read(signal));
 * } });
 * sampler.start();
 * // on shutdown
 * await sampler.stop();
 * ```
 */
export function createPeriodicTask(options: PeriodicTaskOptions): PeriodicTask {
  const {
    name,
    run,
    jitterRatio = 0,
    runOnStart = false,
    clock = systemClock,
    logger: givenLogger = silentLogger,
    onError,
    random = Math.random,
    keepAlive = false,
  } = options;
  const logger = guardLogger(givenLogger);
  const everyMs = parseDuration(options.every, 'every');
  if (!(everyMs > 0))
    throw new OpsError('ARGUMENT_INVALID', `periodic task "${name}": every must be > 0, got ${everyMs} ms`);
  if (!(jitterRatio >= 0 && jitterRatio <= 1)) {
    throw new OpsError(
      'ARGUMENT_INVALID',
      `periodic task "${name}": jitterRatio must be in [0, 1], got ${jitterRatio}`,
    );
  }
  const timeoutMs = parseOptionalDuration(options.timeout, 'timeout');

  let started = false;
  let timer: TimerHandle | undefined;
  let inFlight: Promise<void> | undefined;
  let controller: AbortController | undefined;
  let runs = 0;
  let failures = 0;
  let lastError: unknown;
  let lastRunAt: number | undefined;

  const schedule = (fromMs: number) => {
    timer?.cancel();
    timer = undefined;
    if (!started) return;
    const delayMs = everyMs + (jitterRatio > 0 ? random() * jitterRatio * everyMs : 0);
    // Ticks missed while a run was slow are skipped, not caught up: the next run starts on the next tick.
    const overdueMs = clock.monotonic() - (fromMs + delayMs);
    const waitMs = overdueMs <= 0 ? -overdueMs : everyMs - (overdueMs % everyMs);
    timer = clock.setTimeout(() => {
      timer = undefined;
      void execute();
    }, waitMs);
    if (!keepAlive) timer.unref();
  };

  const once = async (signal: AbortSignal): Promise<void> => {
    if (timeoutMs === undefined) await run(signal);
    else
      await withDeadline((deadlineSignal) => run(deadlineSignal), {
        timeoutMs,
        clock,
        signal,
        label: `periodic task "${name}"`,
      });
  };

  const execute = (): Promise<void> => {
    if (inFlight) return inFlight;
    const startedAt = clock.monotonic();
    lastRunAt = clock.now();
    const runController = new AbortController();
    controller = runController;
    inFlight = (async () => {
      try {
        await once(runController.signal);
        lastError = undefined;
      } catch (error) {
        if (runController.signal.aborted && runController.signal.reason === STOPPED_REASON) return;
        failures++;
        lastError = error;
        logger.warn({ task: name, error: safeErrorMessage(error) }, `periodic task ${name} failed`);
        try {
          onError?.(error);
        } catch (listenerError) {
          logger.error({ task: name, error: safeErrorMessage(listenerError) }, `periodic task ${name}: onError threw`);
        }
      } finally {
        runs++;
        inFlight = undefined;
        controller = undefined;
        schedule(startedAt);
      }
    })();
    return inFlight;
  };

  return {
    name,
    get started() {
      return started;
    },
    get running() {
      return inFlight !== undefined;
    },
    get runs() {
      return runs;
    },
    get failures() {
      return failures;
    },
    get lastError() {
      return lastError;
    },
    get lastRunAt() {
      return lastRunAt;
    },
    start() {
      if (started) return;
      started = true;
      if (runOnStart) void execute();
      else schedule(clock.monotonic());
    },
    runNow: () => execute(),
    async stop() {
      started = false;
      timer?.cancel();
      timer = undefined;
      const pending = inFlight;
      controller?.abort(STOPPED_REASON);
      if (pending) await pending;
    },
  };
}
