import { safeErrorMessage, type Logger } from '@ops/core';
import type { CheckTransition } from './check-runner.js';

/** Events a {@link Health} emits. */
export interface HealthEvents {
  /** A check's effective status became `fail`. */
  'check.failed': CheckTransition;
  /** A check's effective status became `warn`. */
  'check.warned': CheckTransition;
  /** A check went from `warn`/`fail` back to `pass`. */
  'check.recovered': CheckTransition;
  /** Any status change of a check (including the first result). */
  'check.changed': CheckTransition;
  /** All startup checks and tasks passed once. */
  'startup.completed': { time: number };
  /** Graceful shutdown began; readiness now fails. */
  'shutdown.started': { reason: string; time: number };
  /** Graceful shutdown finished; `exit` is called next. */
  'shutdown.completed': { exitCode: number; time: number };
}

type Listener = (payload: never) => void;

/**
 * Listeners of {@link HealthEvents} and the only place they are emitted from: the registry calls the named methods
 * below, so swapping the listener bookkeeping for a shared emitter touches this file alone. A throwing listener is
 * logged and isolated.
 */
export class HealthEventEmitter {
  readonly #listeners = new Map<keyof HealthEvents, Set<Listener>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof HealthEvents>(event: E, listener: (payload: HealthEvents[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  /** `check.changed`, then `check.failed`, `check.warned` or (from `warn`/`fail` to `pass`) `check.recovered`. */
  checkTransitioned(transition: CheckTransition): void {
    this.#emit('check.changed', transition);
    if (transition.to === 'fail') this.#emit('check.failed', transition);
    else if (transition.to === 'warn') this.#emit('check.warned', transition);
    else if (transition.from !== undefined) this.#emit('check.recovered', transition);
  }

  /** `startup.completed`. */
  startupCompleted(time: number): void {
    this.#emit('startup.completed', { time });
  }

  /** `shutdown.started`. */
  shutdownStarted(reason: string, time: number): void {
    this.#emit('shutdown.started', { reason, time });
  }

  /** `shutdown.completed`. */
  shutdownCompleted(exitCode: number, time: number): void {
    this.#emit('shutdown.completed', { exitCode, time });
  }

  #emit<E extends keyof HealthEvents>(event: E, payload: HealthEvents[E]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as (value: HealthEvents[E]) => void)(payload);
      } catch (error) {
        this.#logger.error({ event, error: safeErrorMessage(error) }, 'health event listener threw');
      }
    }
  }
}
