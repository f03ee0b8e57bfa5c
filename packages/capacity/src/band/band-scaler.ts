import {
  createEmitter,
  createSustainedCondition,
  parseDuration,
  safeErrorMessage,
  silentLogger,
  systemClock,
  type Clock,
  type Duration,
  type EventSource,
  type Logger,
  type Signal,
  type SustainedCondition,
  type SustainedState,
} from '@ops/core';
import { CapacityError } from '../errors.js';

/**
 * One signal of a band rule, in the runbooks' form: "scale up above 75% for 15 minutes, scale down below 30% for
 * 30 minutes".
 */
export interface BandSignalRule {
  /** Name used in decisions, e.g. `'cpu'`, `'p95_latency'`. */
  name: string;
  /** Scale up when the value stays above this for `scaleUpFor`. */
  scaleUpAbove: number;
  /** How long the value must stay above `scaleUpAbove`, e.g. `'15m'`. */
  scaleUpFor: Duration;
  /** Scale down when the value stays below this for `scaleDownFor`. */
  scaleDownBelow: number;
  /** How long the value must stay below `scaleDownBelow`, e.g. `'30m'`. */
  scaleDownFor: Duration;
  /**
   * How the value responds to the replica count:
   * - `'per-replica'` (default): utilization or per-instance load (CPU ratio, memory ratio, rps per instance) — it
   *   scales with 1/replicas, so the replica count that brings it to `target` is `ceil(n × value / target)`;
   * - `'absolute'`: latency, queue age… — not proportional; moves one `step` at a time.
   */
  kind?: 'per-replica' | 'absolute';
  /** Value to size for inside the band (per-replica signals). Default the middle of the band. */
  target?: number;
  /** Where `evaluate()` reads the value. */
  signal?: Signal;
}

/** Why a band decision came out as it did. */
export type BandReason =
  /** A scale-up condition has held for its duration. */
  | 'ScaleUpSustained'
  /** Every signal's scale-down condition has held for its duration. */
  | 'ScaleDownSustained'
  /** A signal is outside its band but not yet for long enough. */
  | 'Pending'
  /** Every signal is inside its band. */
  | 'WithinBand'
  /**
   * The scale-down conditions hold but `ceil(n × value / target)` is still `n`: removing one replica would push the
   * remaining ones above target (kubernetes#95762). The explanation gives the value needed: `target × (n − 1) / n`.
   */
  | 'CeilBlocksScaleDown'
  /** A scale-down was reduced so the projected value stays below the scale-up threshold (no flip-flop). */
  | 'NoFlipGuard'
  /** A signal has no value: no scale-down on partial data. */
  | 'SignalMissing'
  /** The move was capped by `maxStep`. */
  | 'StepLimited'
  | 'TooManyReplicas'
  | 'TooFewReplicas';

/** A signal's part in a decision. */
export interface BandSignalStatus {
  name: string;
  value: number | undefined;
  up: SustainedState;
  down: SustainedState;
  /** Replicas this signal asks for (per-replica signals), before bounds and guards. */
  proposedReplicas?: number;
}

/** The result of one {@link BandScaler.observe}. */
export interface BandDecision {
  at: number;
  currentReplicas: number;
  desiredReplicas: number;
  direction: 'up' | 'down' | 'hold';
  reasons: BandReason[];
  signals: BandSignalStatus[];
  explanation: string[];
}

/** Options of {@link createBandScaler}. */
export interface BandScalerOptions {
  signals: readonly BandSignalRule[];
  /** Default 1. */
  minReplicas?: number;
  maxReplicas: number;
  /** Replicas added or removed per move for `absolute` signals. Default 1. */
  step?: number;
  /**
   * How a scale-down is sized: `'size-to-target'` (default) brings per-replica signals to their `target`
   * (`ceil(n × value / target)`, the HPA formula); `'step'` removes `step` replicas at a time. Either way the no-flip
   * guard keeps every projected per-replica value at or below its scale-up threshold.
   */
  scaleDownMode?: 'size-to-target' | 'step';
  /** Largest move per decision, in replicas. Default unlimited. */
  maxStep?: { up?: number; down?: number };
  clock?: Clock;
  logger?: Logger;
}

/** Events of a {@link BandScaler}. */
export interface BandScalerEvents {
  'decision.made': { at: number; decision: BandDecision };
  'scale.recommended': { at: number; from: number; to: number; reasons: BandReason[] };
}

/** A scaler in the runbooks' form, on core's sustained conditions. */
export interface BandScaler extends EventSource<BandScalerEvents> {
  /**
   * Feeds one sample per signal (missing or non-finite values count as missing) at the clock's now and decides.
   * After a move, that direction's conditions start over: the new replica count must be judged afresh.
   */
  observe(currentReplicas: number, values: Readonly<Record<string, number | undefined>>): BandDecision;
  /** Reads every rule's `signal` (a failed read is a missing value) and calls `observe`. */
  evaluate(currentReplicas: number, abortSignal?: AbortSignal): Promise<BandDecision>;
}

interface RuleState {
  rule: BandSignalRule;
  kind: 'per-replica' | 'absolute';
  target: number;
  up: SustainedCondition;
  down: SustainedCondition;
}

/**
 * Creates a band scaler: per signal, an "above X for D1" and a "below Y for D2" sustained condition (core's
 * `createSustainedCondition`, Prometheus `for:` semantics — one sample back inside the band restarts the timer).
 * Any firing scale-up condition scales up to the largest per-signal need; a scale-down needs every signal's
 * scale-down condition firing and every value present. Per-replica signals size with `ceil(n × value / target)`;
 * the scale-down is reduced so no signal's projected value `value × n / n'` reaches its scale-up threshold, and a
 * scale-down the `ceil()` rounds away is reported as `CeilBlocksScaleDown` with the value that would allow it.
 *
 * @example
 * ```ts
 * const scaler = createBandScaler({
 *   maxReplicas: 20,
 *   signals: [{ name: 'cpu', scaleUpAbove: 0.75, scaleUpFor: '15m', scaleDownBelow: 0.3, scaleDownFor: '30m' }],
 * });
 * const decision = scaler.observe(4, { cpu: 0.82 }); // call every sample interval
 * ```
 */
export function createBandScaler(options: BandScalerOptions): BandScaler {
  const {
    minReplicas = 1,
    maxReplicas,
    step = 1,
    scaleDownMode = 'size-to-target',
    clock = systemClock,
    logger = silentLogger,
  } = options;
  if (options.signals.length === 0)
    throw new CapacityError('ARGUMENT_INVALID', 'signals: expected at least one band rule');
  if (
    !Number.isInteger(minReplicas) ||
    minReplicas < 0 ||
    !Number.isInteger(maxReplicas) ||
    maxReplicas < Math.max(1, minReplicas)
  ) {
    throw new CapacityError(
      'ARGUMENT_INVALID',
      `minReplicas/maxReplicas: expected integers with 0 ≤ min ≤ max and max ≥ 1, got ${minReplicas}/${maxReplicas}`,
    );
  }
  const events = createEmitter<BandScalerEvents>({ logger, source: 'band-scaler' });
  const states: RuleState[] = options.signals.map((rule, index) => {
    if (!(rule.scaleDownBelow < rule.scaleUpAbove)) {
      throw new CapacityError(
        'ARGUMENT_INVALID',
        `signals[${index}] (${rule.name}): scaleDownBelow (${rule.scaleDownBelow}) must be below scaleUpAbove (${rule.scaleUpAbove})`,
      );
    }
    const target = rule.target ?? (rule.scaleUpAbove + rule.scaleDownBelow) / 2;
    if (!(target > 0 && target > rule.scaleDownBelow && target < rule.scaleUpAbove)) {
      throw new CapacityError(
        'ARGUMENT_INVALID',
        `signals[${index}] (${rule.name}): target must lie inside the band (${rule.scaleDownBelow}, ${rule.scaleUpAbove}) and be > 0`,
      );
    }
    return {
      rule,
      kind: rule.kind ?? 'per-replica',
      target,
      up: createSustainedCondition({ for: rule.scaleUpFor, clock, name: `${rule.name}>${rule.scaleUpAbove}`, logger }),
      down: createSustainedCondition({
        for: rule.scaleDownFor,
        clock,
        name: `${rule.name}<${rule.scaleDownBelow}`,
        logger,
      }),
    };
  });
  // Validate durations once, at the boundary.
  for (const state of states) {
    parseDuration(state.rule.scaleUpFor, `${state.rule.name}.scaleUpFor`);
    parseDuration(state.rule.scaleDownFor, `${state.rule.name}.scaleDownFor`);
  }

  const observe = (current: number, values: Readonly<Record<string, number | undefined>>): BandDecision => {
    const at = clock.now();
    if (!Number.isInteger(current) || current < 0)
      throw new CapacityError('ARGUMENT_INVALID', `currentReplicas: expected an integer ≥ 0, got ${current}`);
    const explanation: string[] = [];
    const reasons = new Set<BandReason>();
    const statuses: BandSignalStatus[] = [];
    let upNeed: number | undefined;
    let missing = false;
    let allDown = true;
    let anyPending = false;
    for (const state of states) {
      const raw = values[state.rule.name];
      const value = typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;
      if (value === undefined) {
        missing = true;
        allDown = false;
        reasons.add('SignalMissing');
        explanation.push(`${state.rule.name}: no value — scale-down is off until it is back`);
        statuses.push({ name: state.rule.name, value, up: state.up.state, down: state.down.state });
        continue;
      }
      state.up.update(value > state.rule.scaleUpAbove, value);
      state.down.update(value < state.rule.scaleDownBelow, value);
      const status: BandSignalStatus = { name: state.rule.name, value, up: state.up.state, down: state.down.state };
      if (state.kind === 'per-replica' && current > 0)
        status.proposedReplicas = Math.ceil((current * value) / state.target - 1e-9);
      statuses.push(status);
      if (state.up.state === 'firing') {
        const need =
          state.kind === 'per-replica' && current > 0
            ? Math.max(current + 1, status.proposedReplicas as number)
            : current + step;
        explanation.push(
          `${state.rule.name} = ${format(value)} above ${format(state.rule.scaleUpAbove)} for ${forText(state.up, at)}: needs ${need} replicas`,
        );
        upNeed = Math.max(upNeed ?? 0, need);
      } else if (state.up.state === 'pending' || state.down.state === 'pending') {
        anyPending = true;
        const condition = state.up.state === 'pending' ? state.up : state.down;
        explanation.push(
          `${state.rule.name} = ${format(value)} outside its band for ${forText(condition, at)} of ${humanMs(condition.forMs)}: waiting`,
        );
      }
      if (state.down.state !== 'firing') allDown = false;
    }

    let desired = current;
    if (upNeed !== undefined) {
      reasons.add('ScaleUpSustained');
      desired = upNeed;
      const limit = options.maxStep?.up;
      if (limit !== undefined && desired - current > limit) {
        desired = current + limit;
        reasons.add('StepLimited');
        explanation.push(`maxStep.up ${limit}: ${upNeed} → ${desired}`);
      }
    } else if (allDown && !missing && current > 0) {
      reasons.add('ScaleDownSustained');
      desired = scaleDownTarget(current, statuses, explanation, reasons);
      const limit = options.maxStep?.down;
      if (limit !== undefined && current - desired > limit) {
        explanation.push(`maxStep.down ${limit}: ${desired} → ${current - limit}`);
        desired = current - limit;
        reasons.add('StepLimited');
      }
    } else if (anyPending) {
      reasons.add('Pending');
    } else if (!missing) {
      reasons.add('WithinBand');
    }
    if (desired > maxReplicas) {
      desired = maxReplicas;
      reasons.add('TooManyReplicas');
      explanation.push(`capped at maxReplicas ${maxReplicas}`);
    } else if (desired < minReplicas) {
      desired = minReplicas;
      reasons.add('TooFewReplicas');
      explanation.push(`raised to minReplicas ${minReplicas}`);
    }
    const direction = desired > current ? 'up' : desired < current ? 'down' : 'hold';
    // After a move the conditions of that direction start over: the new count is judged on its own samples.
    if (direction !== 'hold') for (const state of states) (direction === 'up' ? state.up : state.down).reset();
    explanation.push(
      direction === 'hold' ? `keep ${current} replicas` : `scale ${direction} from ${current} to ${desired}`,
    );
    const decision: BandDecision = {
      at,
      currentReplicas: current,
      desiredReplicas: desired,
      direction,
      reasons: [...reasons],
      signals: statuses,
      explanation,
    };
    events.emit('decision.made', { at, decision });
    if (direction !== 'hold')
      events.emit('scale.recommended', { at, from: current, to: desired, reasons: decision.reasons });
    return decision;

    function scaleDownTarget(
      n: number,
      signalStatuses: BandSignalStatus[],
      lines: string[],
      why: Set<BandReason>,
    ): number {
      const perReplica = states
        .map((state, index) => ({ state, value: signalStatuses[index]?.value as number }))
        .filter((entry) => entry.state.kind === 'per-replica');
      let target: number;
      if (scaleDownMode === 'step' || perReplica.length === 0) {
        target = n - step;
      } else {
        target = 1;
        for (const { state, value } of perReplica) {
          const proposal = Math.max(1, Math.ceil((n * value) / state.target - 1e-9));
          target = Math.max(target, proposal);
          if (proposal >= n) {
            why.add('CeilBlocksScaleDown');
            const needed = (state.target * (n - 1)) / n;
            lines.push(
              `${state.rule.name} = ${format(value)} has been below ${format(state.rule.scaleDownBelow)} for ${humanMs(state.down.forMs)}, but ceil(${n} × ${format(value)} / ${format(state.target)}) = ${proposal}: ` +
                `removing one replica would put the rest at ${format((value * n) / (n - 1))}, above the target ${format(state.target)}. ` +
                `Scale-down needs ${state.rule.name} < target × (n − 1) / n = ${format(needed)} (kubernetes#95762).`,
            );
          }
        }
      }
      if (target >= n) return n;
      // No-flip guard: the projected value on fewer replicas must not reach any scale-up threshold.
      for (const { state, value } of perReplica) {
        const floor = Math.ceil((n * value) / state.rule.scaleUpAbove - 1e-9);
        if (target < floor) {
          why.add('NoFlipGuard');
          lines.push(
            `${state.rule.name}: ${target} replicas would put it at ${format((value * n) / target)}, above its scale-up threshold ${format(state.rule.scaleUpAbove)}; holding at ${floor}`,
          );
          target = floor;
        }
      }
      if (target >= n) return n;
      const projected = perReplica
        .map(({ state, value }) => `${state.rule.name} projected ${format((value * n) / target)}`)
        .join(', ');
      lines.push(`every signal below its band: ${n} → ${target}${projected ? ` (${projected})` : ''}`);
      return target;
    }
  };

  return {
    on: events.on,
    observe,
    async evaluate(currentReplicas, abortSignal) {
      const values: Record<string, number | undefined> = {};
      for (const state of states) {
        if (!state.rule.signal) continue;
        try {
          values[state.rule.name] = await state.rule.signal.read(abortSignal);
        } catch (error) {
          logger.warn(
            { signal: state.rule.signal.name, error: safeErrorMessage(error) },
            'band scaler: signal read failed; treated as missing',
          );
          values[state.rule.name] = undefined;
        }
      }
      return observe(currentReplicas, values);
    },
  };
}

function format(value: number): string {
  return Number.isInteger(value)
    ? String(value)
    : value < 10
      ? value.toFixed(3).replace(/0+$/, '').replace(/\.$/, '')
      : value.toFixed(1);
}

function humanMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

function forText(condition: SustainedCondition, at: number): string {
  return condition.activeSince === undefined ? '0s' : humanMs(at - condition.activeSince);
}
