import {
  createPeriodicTask,
  OpsError,
  parseDuration,
  redact,
  safeErrorMessage,
  withDeadline,
  type Check,
  type CheckResult,
  type CheckStatus,
  type Clock,
  type Logger,
  type PeriodicTask,
} from '@ops/core';
import { CHECK_STATUSES } from './aggregate.js';
import { parseCheckMode, type ParsedCheckMode } from './check-registration.js';
import type { CapturedResult, CheckRegistration, CheckTag, ComponentType, Probe } from './types.js';

/** A status change of one check, as passed to event listeners. */
export interface CheckTransition {
  /** Epoch milliseconds of the change: when the run that changed the status finished (`result.time`). */
  at: number;
  name: string;
  /** Whether the check is critical (a failure fails its endpoint rather than degrading it). */
  critical: boolean;
  /** Previous effective status; `undefined` for the first result. */
  from: CheckStatus | undefined;
  to: CheckStatus;
  result: CapturedResult;
}

/** What a {@link CheckRunner} gets from its registry. */
export interface RunnerDependencies {
  clock: Clock;
  /** Where the poller logs. */
  logger: Logger;
  /** Deadline of a run when the registration sets none. */
  defaultTimeoutMs: number;
  /** Mode when the registration sets none. */
  defaultMode: ParsedCheckMode;
  /** Secrets of the whole registry, removed from every result. */
  secrets: readonly string[];
  /** Called after every run with the status before it (metrics count runs; events want changes only). */
  onResult: (runner: CheckRunner, result: CapturedResult, previous: CheckStatus | undefined) => void;
}

const STATUSES = new Set<string>(CHECK_STATUSES);

function isProbe(check: Check | Probe): check is Probe {
  return typeof (check as Partial<Probe>).kind === 'string';
}

/**
 * Runs one registered check: deadline, redaction at capture, hysteresis, TTL cache with single-flight, or a
 * background poller (core's periodic task: one run every `every`, never overlapping, overrun ticks skipped).
 */
export class CheckRunner {
  readonly name: string;
  readonly critical: boolean;
  readonly tags: readonly CheckTag[];
  readonly timeoutMs: number;
  readonly componentType: ComponentType;
  readonly componentId: string | undefined;
  readonly measurement: string;
  readonly mode: ParsedCheckMode;
  readonly #check: Check;
  readonly #dependencies: RunnerDependencies;
  readonly #secrets: readonly string[];
  readonly #failAfter: number;
  readonly #failAfterMs: number | undefined;
  readonly #recoverAfter: number;
  #last: CapturedResult | undefined;
  #inFlight: Promise<CapturedResult> | undefined;
  /** The check's own promise while it has not settled, even past its deadline (a check may ignore its signal). */
  #attempt: Promise<unknown> | undefined;
  #attemptStartedAt = 0;
  #consecutiveFailures = 0;
  #consecutivePasses = 0;
  #failingSince: number | undefined;
  readonly #poller: PeriodicTask | undefined;
  #stopped = false;
  #runs = 0;

  constructor(registration: CheckRegistration, dependencies: RunnerDependencies) {
    const probe = isProbe(registration.check) ? registration.check : undefined;
    this.name = registration.name;
    this.critical = registration.critical ?? true;
    this.tags = [...(registration.tags ?? ['ready'])];
    this.timeoutMs =
      registration.timeout === undefined ? dependencies.defaultTimeoutMs : parseDuration(registration.timeout);
    this.componentType = registration.componentType ?? probe?.componentType ?? 'component';
    this.measurement = registration.measurement ?? probe?.measurement ?? 'status';
    this.mode = registration.mode === undefined ? dependencies.defaultMode : parseCheckMode(registration.mode);
    this.#check = registration.check;
    this.#dependencies = dependencies;
    this.#secrets = [...dependencies.secrets, ...(probe?.secrets ?? []), ...(registration.secrets ?? [])];
    this.componentId =
      registration.componentId === undefined ? undefined : redact(registration.componentId, { secrets: this.#secrets });
    this.#failAfter = registration.failAfter ?? 1;
    this.#failAfterMs =
      registration.failAfterDuration === undefined ? undefined : parseDuration(registration.failAfterDuration);
    this.#recoverAfter = registration.recoverAfter ?? 1;
    // The poll joins a run already in flight (single flight with `run()`), so a hung dependency is never piled up:
    // the task waits for that run (bounded by the check's deadline) and skips the ticks it overran.
    this.#poller =
      'every' in this.mode
        ? createPeriodicTask({
            name: `health-check:${this.name}`,
            every: this.mode.every,
            runOnStart: true,
            clock: dependencies.clock,
            logger: dependencies.logger,
            run: () => this.run(),
          })
        : undefined;
  }

  /** The last captured result, if any. */
  get last(): CapturedResult | undefined {
    return this.#last;
  }

  /** How many times the check itself has been called (runs skipped while an attempt is pending do not count). */
  get runs(): number {
    return this.#runs;
  }

  /** Starts the background poller (polled mode only); the first run starts now. */
  start(): void {
    if (this.#stopped) return;
    this.#poller?.start();
  }

  /** Stops polling. In-flight runs finish on their own deadline (the check's signal is not aborted). */
  stop(): void {
    this.#stopped = true;
    // Resolves once a run in flight has ended; nothing waits for it, the run settles on its own deadline.
    void this.#poller?.stop();
  }

  /** The cached result when it can be used without waiting (polled, or fresh within the TTL), else `undefined`. */
  peek(): CapturedResult | undefined {
    const last = this.#last;
    if (!last) return undefined;
    if ('every' in this.mode) return last;
    return this.#dependencies.clock.now() - last.time < this.mode.ttl ? last : undefined;
  }

  /**
   * The result a handler should use now: in polled mode the last result (waiting only for the very first run);
   * in TTL mode a fresh-enough cached result, the in-flight run, or a new run.
   */
  async current(): Promise<{ result: CapturedResult; cached: boolean }> {
    const last = this.#last;
    if ('every' in this.mode) {
      if (last) return { result: last, cached: true };
      // Starting the poller starts the first run; `run()` joins it (or runs once when stopped).
      this.start();
      return { result: await this.run(), cached: false };
    }
    if (last && this.#dependencies.clock.now() - last.time < this.mode.ttl) return { result: last, cached: true };
    if (this.#inFlight) return { result: await this.#inFlight, cached: true };
    return { result: await this.run(), cached: false };
  }

  /** Runs the check now (joining a run already in flight). Never rejects. */
  run(): Promise<CapturedResult> {
    if (this.#inFlight) return this.#inFlight;
    const inFlight = this.#execute().finally(() => {
      if (this.#inFlight === inFlight) this.#inFlight = undefined;
    });
    this.#inFlight = inFlight;
    return inFlight;
  }

  async #execute(): Promise<CapturedResult> {
    const { clock } = this.#dependencies;
    const started = clock.monotonic();
    let raw: CheckResult;
    let timedOut = false;
    if (this.#attempt) {
      // At most one outstanding attempt per check: the previous one outlived its deadline and has not settled, so
      // another would only pile up behind it (a pool waiter, a queued command). Report it instead of retrying.
      timedOut = true;
      const pendingForMs = Math.max(0, Math.round(clock.monotonic() - this.#attemptStartedAt));
      raw = {
        status: 'fail',
        output: `timed out, still pending: the previous attempt (started ${pendingForMs}ms ago) has not settled; no new attempt started`,
      };
    } else {
      this.#runs++;
      try {
        const result = await withDeadline((signal) => this.#startAttempt(signal), {
          timeoutMs: this.timeoutMs,
          clock,
          label: `check "${this.name}"`,
        });
        raw = this.#sanitize(result);
      } catch (error) {
        timedOut = OpsError.hasCode(error, 'CHECK_TIMEOUT');
        raw = {
          status: 'fail',
          output: timedOut
            ? `timed out after ${this.timeoutMs}ms`
            : safeErrorMessage(error, { secrets: this.#secrets }),
        };
      }
    }
    const durationMs = Math.max(0, clock.monotonic() - started);
    const time = clock.now();
    const previous = this.#last?.status;
    const status = this.#applyHysteresis(raw.status, time, previous);
    const captured: CapturedResult = { ...raw, status, rawStatus: raw.status, time, durationMs, timedOut };
    if (status !== raw.status && raw.status === 'fail')
      captured.output = `${raw.output ?? 'failing'} (tolerated: ${this.#consecutiveFailures} consecutive failure(s))`;
    if (status === 'fail' && raw.status !== 'fail')
      captured.output = `recovering: ${this.#consecutivePasses}/${this.#recoverAfter} consecutive passes`;
    this.#last = captured;
    try {
      this.#dependencies.onResult(this, captured, previous);
    } catch {
      // Metrics, logs and listeners are isolated already; whatever still throws must not reject the run (the
      // poller would turn it into an unhandled rejection).
    }
    return captured;
  }

  /** Calls the check and remembers its promise until it settles, whatever the deadline does meanwhile. */
  #startAttempt(signal: AbortSignal): Promise<CheckResult> {
    const attempt = Promise.resolve().then(() => this.#check(signal));
    this.#attempt = attempt;
    this.#attemptStartedAt = this.#dependencies.clock.monotonic();
    const settled = () => {
      if (this.#attempt === attempt) this.#attempt = undefined;
    };
    attempt.then(settled, settled);
    return attempt;
  }

  /** Keeps only well-formed fields and redacts them: what a probe returns is never trusted to be clean. */
  #sanitize(result: unknown): CheckResult {
    if (typeof result !== 'object' || result === null || !STATUSES.has(String((result as CheckResult).status))) {
      return {
        status: 'fail',
        output: 'check returned an invalid result (expected { status: "pass" | "warn" | "fail" })',
      };
    }
    const input = result as CheckResult;
    const options = { secrets: this.#secrets };
    const clean: CheckResult = { status: input.status };
    if (typeof input.output === 'string') clean.output = redact(input.output, options).slice(0, 1024);
    if (input.observed !== undefined && ['number', 'string', 'boolean'].includes(typeof input.observed)) {
      clean.observed = typeof input.observed === 'string' ? redact(input.observed, options) : input.observed;
    }
    if (typeof input.observedUnit === 'string') clean.observedUnit = input.observedUnit;
    if (input.details && typeof input.details === 'object') clean.details = redact(input.details, options);
    return clean;
  }

  #applyHysteresis(raw: CheckStatus, time: number, previous: CheckStatus | undefined): CheckStatus {
    if (raw === 'fail') {
      this.#consecutivePasses = 0;
      this.#consecutiveFailures++;
      this.#failingSince ??= time;
      if (previous === 'fail') return 'fail';
      const enoughFailures = this.#consecutiveFailures >= this.#failAfter;
      const longEnough = this.#failAfterMs === undefined || time - this.#failingSince >= this.#failAfterMs;
      return enoughFailures && longEnough ? 'fail' : 'warn';
    }
    this.#consecutiveFailures = 0;
    this.#failingSince = undefined;
    this.#consecutivePasses++;
    if (previous === 'fail' && this.#consecutivePasses < this.#recoverAfter) return 'fail';
    return raw;
  }
}
