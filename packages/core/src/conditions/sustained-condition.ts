import { OpsError } from '../errors/ops-error.js';
import { createEmitter } from '../events/emitter.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { systemClock, type Clock } from '../time/clock.js';
import { parseDuration, parseOptionalDuration, type Duration } from '../time/duration.js';

/**
 * State of a {@link SustainedCondition}, as a Prometheus alert:
 * - `inactive` — the condition is false;
 * - `pending` — the condition is true but has not yet been true for `for`;
 * - `firing` — the condition has been true for `for` (or is within `keepFiringFor` after it cleared);
 * - `resolved` — it was firing and has just stopped; the next false sample makes it `inactive`.
 */
export type SustainedState = 'inactive' | 'pending' | 'firing' | 'resolved';

/** A change of state, emitted to listeners and returned by {@link SustainedCondition.update}. */
export interface SustainedTransition {
  /** The condition's name, when it has one. */
  name?: string;
  from: SustainedState;
  to: SustainedState;
  /** Epoch milliseconds of the sample that caused the change. */
  at: number;
  /** The sampled value, when the caller passed one. */
  value?: number;
}

/** Options of {@link createSustainedCondition}. */
export interface SustainedConditionOptions {
  /** How long the condition must hold before firing (Prometheus `for`). `0` fires on the first true sample. */
  for: Duration;
  /** How long to keep firing after the condition clears (Prometheus `keep_firing_for`). Default 0. */
  keepFiringFor?: Duration;
  /** Source of time. Defaults to {@link systemClock}. */
  clock?: Clock;
  /** Name carried in transitions and logs, e.g. `'high_cpu'`. */
  name?: string;
  /** Where a throwing listener is logged (error). Default silent. */
  logger?: Logger;
}

/**
 * Events of a {@link SustainedCondition}: every change, and the two most listened-to ones on their own.
 */
export interface SustainedConditionEvents {
  /** Any change of state. */
  'condition.changed': SustainedTransition;
  /** The condition started firing (`to === 'firing'`). */
  'condition.fired': SustainedTransition;
  /** The condition stopped firing (`to === 'resolved'`). */
  'condition.resolved': SustainedTransition;
}

/** A condition that must hold for a while before it fires: "CPU > 85% for 10m". */
export interface SustainedCondition {
  /** The name given in the options. */
  readonly name: string | undefined;
  /** Current state. */
  readonly state: SustainedState;
  /** Since when (epoch ms) the condition has been continuously true; `undefined` while it is false. */
  readonly activeSince: number | undefined;
  /** Since when (epoch ms) the condition has been firing; `undefined` unless `state === 'firing'`. */
  readonly firingSince: number | undefined;
  /** When the condition cleared while firing (epoch ms) — the start of `keepFiringFor`; otherwise `undefined`. */
  readonly keepFiringSince: number | undefined;
  /** The `for` duration in milliseconds. */
  readonly forMs: number;
  /** The `keepFiringFor` duration in milliseconds. */
  readonly keepFiringForMs: number;
  /**
   * Evaluates one sample taken now: `active` is whether the condition holds. Returns the transition it caused,
   * if any (listeners are called first).
   */
  update(active: boolean, value?: number): SustainedTransition | undefined;
  /**
   * Subscribes to an event (`'condition.changed'`, `'condition.fired'`, `'condition.resolved'`); returns the
   * function that unsubscribes. A throwing listener is logged and isolated.
   */
  on<Name extends keyof SustainedConditionEvents>(
    name: Name,
    listener: (transition: SustainedConditionEvents[Name]) => void,
  ): () => void;
  /** @deprecated Use `on('condition.changed', listener)`. */
  on(listener: (transition: SustainedTransition) => void): () => void;
  /** Back to `inactive` without emitting a transition (e.g. after the rule was reconfigured). */
  reset(): void;
}

/**
 * Creates a {@link SustainedCondition} with the semantics of a Prometheus alerting rule's `for` and
 * `keep_firing_for`, evaluated at each {@link SustainedCondition.update} with the clock's time:
 *
 * - a true sample while `inactive`/`resolved` starts the `pending` state (or `firing` at once when `for` is 0);
 * - `pending` becomes `firing` at the first true sample at least `for` after the condition became true;
 *   a false sample while `pending` returns to `inactive` (the timer starts over);
 * - a false sample while `firing` resolves it, unless `keepFiringFor` is set: then it keeps firing until a false
 *   sample at least `keepFiringFor` after the first false one (a true sample in between cancels the countdown);
 * - `resolved` lasts until the next sample: false → `inactive`, true → `pending` (or `firing`).
 *
 * Listeners are called before `update` returns; one that throws is logged and isolated.
 *
 * @example
 * ```ts
 * const highCpu = createSustainedCondition({ for: '10m', keepFiringFor: '5m', name: 'high_cpu' });
 * highCpu.on('condition.fired', (transition) => page(transition));
 * createPeriodicTask({ name: 'cpu', every: '15s', run: () => void highCpu.update(cpuRatio() > 0.85, cpuRatio()) }).start();
 * ```
 */
export function createSustainedCondition(options: SustainedConditionOptions): SustainedCondition {
  const { clock = systemClock, name, logger = silentLogger } = options;
  const forMs = parseDuration(options.for, 'for');
  const keepFiringForMs = parseOptionalDuration(options.keepFiringFor, 'keepFiringFor') ?? 0;
  const events = createEmitter<SustainedConditionEvents>({
    logger,
    source: name === undefined ? 'condition' : `condition ${name}`,
  });
  let state: SustainedState = 'inactive';
  let activeSince: number | undefined;
  let firingSince: number | undefined;
  let keepFiringSince: number | undefined;

  const move = (to: SustainedState, at: number, value: number | undefined): SustainedTransition | undefined => {
    if (to === state) return undefined;
    const transition: SustainedTransition = {
      ...(name === undefined ? {} : { name }),
      from: state,
      to,
      at,
      ...(value === undefined ? {} : { value }),
    };
    state = to;
    events.emit('condition.changed', transition);
    if (to === 'firing') events.emit('condition.fired', transition);
    else if (to === 'resolved') events.emit('condition.resolved', transition);
    return transition;
  };

  return {
    name,
    forMs,
    keepFiringForMs,
    get state() {
      return state;
    },
    get activeSince() {
      return activeSince;
    },
    get firingSince() {
      return firingSince;
    },
    get keepFiringSince() {
      return keepFiringSince;
    },
    update(active, value) {
      if (typeof active !== 'boolean')
        throw new OpsError('ARGUMENT_INVALID', `update(active): expected a boolean, got ${typeof active}`);
      const at = clock.now();
      if (active) {
        keepFiringSince = undefined;
        if (state === 'firing') {
          activeSince ??= at; // true again during keepFiringFor
          return undefined;
        }
        if (state === 'pending') {
          if (at - (activeSince as number) >= forMs) {
            firingSince = at;
            return move('firing', at, value);
          }
          return undefined;
        }
        // inactive or resolved: the condition has just become true
        activeSince = at;
        if (forMs === 0) {
          firingSince = at;
          return move('firing', at, value);
        }
        return move('pending', at, value);
      }
      activeSince = undefined;
      if (state === 'firing') {
        if (keepFiringForMs > 0) {
          keepFiringSince ??= at;
          if (at - keepFiringSince < keepFiringForMs) return undefined;
        }
        keepFiringSince = undefined;
        firingSince = undefined;
        return move('resolved', at, value);
      }
      return move('inactive', at, value);
    },
    on(
      nameOrListener: keyof SustainedConditionEvents | ((transition: SustainedTransition) => void),
      listener?: (transition: SustainedTransition) => void,
    ) {
      if (typeof nameOrListener === 'function') return events.on('condition.changed', nameOrListener);
      if (!listener)
        throw new OpsError('ARGUMENT_INVALID', `on("${nameOrListener}", listener): listener must be a function`);
      return events.on(nameOrListener, listener);
    },
    reset() {
      state = 'inactive';
      activeSince = undefined;
      firingSince = undefined;
      keepFiringSince = undefined;
    },
  };
}
