import type { Emitter } from '@ops/core';
import type { CheckTransition } from './check-runner.js';

/**
 * Events a {@link Health} emits. Every payload carries `at`, the epoch milliseconds (from the health's clock) at
 * which it happened.
 */
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
  'startup.completed': {
    at: number;
    /** @deprecated Use `at` (same value). */
    time: number;
  };
  /** Graceful shutdown began; readiness now fails. */
  'shutdown.started': {
    at: number;
    reason: string;
    /** @deprecated Use `at` (same value). */
    time: number;
  };
  /** Graceful shutdown finished; `exit` is called next. */
  'shutdown.completed': {
    at: number;
    exitCode: number;
    /** @deprecated Use `at` (same value). */
    time: number;
  };
}

/** Emits `check.changed`, then `check.failed`, `check.warned` or (from `warn`/`fail` to `pass`) `check.recovered`. */
export function emitCheckTransition(events: Emitter<HealthEvents>, transition: CheckTransition): void {
  events.emit('check.changed', transition);
  if (transition.to === 'fail') events.emit('check.failed', transition);
  else if (transition.to === 'warn') events.emit('check.warned', transition);
  else if (transition.from !== undefined) events.emit('check.recovered', transition);
}
