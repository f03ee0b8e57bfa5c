import { OpsError } from '../errors/ops-error.js';
import { createEmitter, type EventSource } from '../events/emitter.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { systemClock, type Clock } from '../time/clock.js';
import { parseOptionalDuration, type Duration } from '../time/duration.js';

/** State of a {@link CircuitBreaker}. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Events of a {@link CircuitBreaker}. */
export interface CircuitBreakerEvents {
  'circuit.opened': { at: number; name: string; failures: number; lastError: string };
  'circuit.half-opened': { at: number; name: string };
  'circuit.closed': { at: number; name: string };
}

/** Options of {@link createCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Name in events, logs and the `CIRCUIT_OPEN` error, e.g. the target's host. */
  name: string;
  /** Consecutive failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before one trial call is let through. Default `'30s'`. */
  halfOpenAfter?: Duration;
  /** Trial calls admitted at once while half-open; all must succeed to close. Default 1. */
  halfOpenCalls?: number;
  /** Whether an error counts as a failure (e.g. not a 4xx). Default: every error. */
  isFailure?: (error: unknown) => boolean;
  /** Source of time. Default {@link systemClock}. */
  clock?: Clock;
  /** Where throwing event listeners are logged. Default silent. */
  logger?: Logger;
}

/** A small circuit breaker: closed → open after N consecutive failures → half-open after a pause → closed. */
export interface CircuitBreaker extends EventSource<CircuitBreakerEvents> {
  /** Current state (an open circuit whose pause has passed reads as `half-open`). */
  readonly state: CircuitState;
  /** Consecutive failures counted while closed. */
  readonly failures: number;
  /**
   * Runs `operation` unless the circuit is open; then rejects at once with an `OpsError` code `CIRCUIT_OPEN`
   * (retryable, with `retryAfterMs` until the next trial) without calling it.
   */
  execute<T>(operation: () => Promise<T>): Promise<T>;
  /** Opens the circuit by hand until {@link CircuitBreaker.reset}. */
  isolate(): void;
  /** Closes the circuit and forgets failures. */
  reset(): void;
}

/**
 * Creates a {@link CircuitBreaker} (opossum/cockatiel semantics: consecutive-failure threshold, fixed pause, a
 * failing trial reopens).
 *
 * @example
 * ```ts
 * const breaker = createCircuitBreaker({ name: 'hooks.slack.com', failureThreshold: 5, halfOpenAfter: '1m' });
 * await breaker.execute(() => postToSlack(message));
 * ```
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const {
    name,
    failureThreshold = 5,
    halfOpenCalls = 1,
    isFailure = () => true,
    clock = systemClock,
    logger = silentLogger,
  } = options;
  const halfOpenAfterMs = parseOptionalDuration(options.halfOpenAfter, 'halfOpenAfter') ?? 30_000;
  if (!(Number.isInteger(failureThreshold) && failureThreshold >= 1)) {
    throw new OpsError(
      'ARGUMENT_INVALID',
      `circuit breaker "${name}": failureThreshold must be an integer >= 1, got ${failureThreshold}`,
    );
  }
  if (!(Number.isInteger(halfOpenCalls) && halfOpenCalls >= 1)) {
    throw new OpsError(
      'ARGUMENT_INVALID',
      `circuit breaker "${name}": halfOpenCalls must be an integer >= 1, got ${halfOpenCalls}`,
    );
  }
  const events = createEmitter<CircuitBreakerEvents>({ logger, source: 'circuit-breaker' });
  let state: 'closed' | 'open' | 'half-open' | 'isolated' = 'closed';
  let failures = 0;
  let openedAt = 0;
  let trials = 0;
  let trialSuccesses = 0;

  const open = (error: unknown) => {
    state = 'open';
    openedAt = clock.monotonic();
    trials = 0;
    trialSuccesses = 0;
    events.emit('circuit.opened', {
      at: clock.now(),
      name,
      failures,
      lastError: error instanceof Error ? error.message : String(error),
    });
  };
  const close = () => {
    const wasClosed = state === 'closed';
    state = 'closed';
    failures = 0;
    if (!wasClosed) events.emit('circuit.closed', { at: clock.now(), name });
  };
  const currentState = (): CircuitState => {
    if (state === 'isolated') return 'open';
    if (state === 'open' && clock.monotonic() - openedAt >= halfOpenAfterMs) return 'half-open';
    return state;
  };
  const refuse = (retryAfterMs: number) =>
    new OpsError('CIRCUIT_OPEN', `circuit "${name}" is open after ${failures} consecutive failures; not calling it`, {
      isRetryable: true,
      retryAfterMs,
    });

  return {
    get state() {
      return currentState();
    },
    get failures() {
      return failures;
    },
    on: events.on,
    async execute(operation) {
      const now = currentState();
      if (state === 'isolated') throw refuse(halfOpenAfterMs);
      if (now === 'open') throw refuse(Math.max(0, openedAt + halfOpenAfterMs - clock.monotonic()));
      if (now === 'half-open') {
        if (state === 'open') {
          state = 'half-open';
          events.emit('circuit.half-opened', { at: clock.now(), name });
        }
        if (trials >= halfOpenCalls) throw refuse(halfOpenAfterMs);
        trials++;
      }
      const trial = now === 'half-open';
      try {
        const result = await operation();
        if (trial) {
          if (state === 'half-open' && ++trialSuccesses >= halfOpenCalls) close();
        } else if (state === 'closed') failures = 0;
        return result;
      } catch (error) {
        if (!isFailure(error)) {
          if (trial && state === 'half-open') trials--;
          throw error;
        }
        if (trial) {
          if (state === 'half-open') open(error);
        } else if (state === 'closed' && ++failures >= failureThreshold) open(error);
        throw error;
      }
    },
    isolate() {
      state = 'isolated';
    },
    reset() {
      trials = 0;
      trialSuccesses = 0;
      close();
    },
  };
}
