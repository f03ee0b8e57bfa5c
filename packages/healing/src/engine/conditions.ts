import {
  createRollingWindow,
  parseDuration,
  systemClock,
  type Check,
  type CheckStatus,
  type Clock,
  type Duration,
  type RollingWindow,
  type Signal,
} from '@ops/core';
import { HealingError } from '../errors.js';

/** One evaluation of a condition for one target. */
export interface ConditionSample {
  /** Whether the condition holds now. */
  active: boolean;
  /** The observed value, when there is one. */
  value?: number;
  /** Trigger values recorded in the audit trail (threshold, baseline, …). */
  values?: Record<string, unknown>;
}

/**
 * A condition a rule evaluates per target on every tick. Throwing (or returning `undefined`) means the data is
 * missing: missing data counts as not-true, so it never opens an episode and never passes a verify.
 */
export interface HealingCondition {
  /** Kind, for status and audit: `'threshold'`, `'count'`, `'baseline-ratio'`, `'check'`, `'function'`. */
  readonly kind: string;
  /** One line for humans: `memory_ratio > 0.85`. */
  readonly description: string;
  /** Evaluates the condition for `target` now. */
  sample(target: string, signal: AbortSignal): Promise<ConditionSample | undefined>;
}

/** A signal shared by every target, or one per target. */
export type TargetSignal = Signal | ((target: string) => Signal);

const signalFor = (source: TargetSignal, target: string): Signal =>
  typeof source === 'function' ? source(target) : source;

async function readValue(source: TargetSignal, target: string, signal: AbortSignal): Promise<number | undefined> {
  const value = await signalFor(source, target).read(signal);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Options of {@link thresholdCondition}. */
export interface ThresholdConditionOptions {
  /** What is read; a function gives each target its own signal. */
  signal: TargetSignal;
  /** Holds when the value is strictly above this. */
  above?: number;
  /** Holds when the value is strictly below this. */
  below?: number;
}

/**
 * A threshold: "memory ratio > 0.85", "disk available < 5%". Pair it with a rule's `for` for "for 10 minutes".
 *
 * @example
 * ```ts
 * const when = thresholdCondition({ signal: createHeapUsedRatioSignal(), above: 0.85 });
 * ```
 */
export function thresholdCondition(options: ThresholdConditionOptions): HealingCondition {
  const { signal, above, below } = options;
  if (above === undefined && below === undefined)
    throw new HealingError('ARGUMENT_INVALID', 'thresholdCondition: give `above` or `below`');
  const name = typeof signal === 'function' ? 'signal' : signal.name;
  const parts = [above === undefined ? '' : `${name} > ${above}`, below === undefined ? '' : `${name} < ${below}`];
  return {
    kind: 'threshold',
    description: parts.filter(Boolean).join(' or '),
    async sample(target, abortSignal) {
      const value = await readValue(signal, target, abortSignal);
      if (value === undefined) return undefined;
      const active = (above !== undefined && value > above) || (below !== undefined && value < below);
      return {
        active,
        value,
        values: { value, ...(above === undefined ? {} : { above }), ...(below === undefined ? {} : { below }) },
      };
    },
  };
}

/** Options of {@link countCondition}. */
export interface CountConditionOptions {
  /** The counting window: `'1m'` for "in 1 minute". */
  window: Duration;
  /** Holds when more than this many events were recorded in the window. */
  above: number;
  /** Bucket width of the rolling window. Default window / 12. */
  bucket?: Duration;
  /** Source of time. Default system clock. */
  clock?: Clock;
}

/** A {@link HealingCondition} fed by the application: record each event (a failed connection) per target. */
export interface CountCondition extends HealingCondition {
  /** Records `count` events (default 1) for `target` (default `'process'`) now. */
  record(target?: string, count?: number): void;
  /** Events counted in the window for `target`. */
  count(target?: string): number;
}

/**
 * Counts events in a rolling window: "database connection failures > 5 in 1 minute". Backed by core's rolling
 * window (O(1) record).
 *
 * @example
 * ```ts
 * const connectionFailures = countCondition({ window: '1m', above: 5 });
 * pool.on('error', () => connectionFailures.record());
 * ```
 */
export function countCondition(options: CountConditionOptions): CountCondition {
  const { above, clock = systemClock } = options;
  const windowMs = parseDuration(options.window, 'window');
  const bucketMs =
    options.bucket === undefined ? Math.max(1, Math.floor(windowMs / 12)) : parseDuration(options.bucket);
  if (windowMs % bucketMs !== 0)
    throw new HealingError('ARGUMENT_INVALID', `countCondition: window (${windowMs} ms) must be a multiple of bucket`);
  const windows = new Map<string, RollingWindow>();
  const windowOf = (target: string) => {
    let window = windows.get(target);
    if (!window) windows.set(target, (window = createRollingWindow({ window: windowMs, bucket: bucketMs, clock })));
    return window;
  };
  const count = (target = 'process') => windows.get(target)?.query().count ?? 0;
  return {
    kind: 'count',
    description: `events > ${above} in ${windowMs} ms`,
    record(target = 'process', events = 1) {
      windowOf(target).add({ count: events });
    },
    count,
    async sample(target) {
      const value = count(target);
      return { active: value > above, value, values: { count: value, above, windowMs } };
    },
  };
}

/** Options of {@link baselineRatioCondition}. */
export interface BaselineRatioConditionOptions {
  /** What is read (p95 latency, error rate, …). */
  signal: TargetSignal;
  /** Holds when value > ratio × baseline (e.g. 2 for "2× baseline"). */
  ratio: number;
  /** How much history the baseline learns from. Default `'1h'`. */
  baselineWindow?: Duration;
  /** Bucket width of the baseline window. Default baselineWindow / 60. */
  bucket?: Duration;
  /** Samples needed before the baseline counts; until then the condition is missing data. Default 10. */
  minSamples?: number;
  /** Source of time. Default system clock. */
  clock?: Clock;
}

/**
 * Compares a value with a baseline learned from its own rolling mean: "p95 > 2× baseline". Values taken while the
 * condition holds are kept out of the baseline, so an anomaly does not teach itself to be normal. Until
 * `minSamples` values were learned there is no baseline: missing data, not true.
 *
 * @example
 * ```ts
 * const slow = baselineRatioCondition({ signal: p95Signal, ratio: 2, baselineWindow: '1h' });
 * ```
 */
export function baselineRatioCondition(options: BaselineRatioConditionOptions): HealingCondition {
  const { signal, ratio, minSamples = 10, clock = systemClock } = options;
  if (!(ratio > 0)) throw new HealingError('ARGUMENT_INVALID', `baselineRatioCondition: ratio must be > 0`);
  const windowMs = parseDuration(options.baselineWindow ?? '1h', 'baselineWindow');
  const bucketMs =
    options.bucket === undefined ? Math.max(1, Math.floor(windowMs / 60)) : parseDuration(options.bucket);
  if (windowMs % bucketMs !== 0)
    throw new HealingError('ARGUMENT_INVALID', 'baselineRatioCondition: baselineWindow must be a multiple of bucket');
  const baselines = new Map<string, RollingWindow>();
  return {
    kind: 'baseline-ratio',
    description: `${typeof signal === 'function' ? 'signal' : signal.name} > ${ratio}× baseline`,
    async sample(target, abortSignal) {
      const value = await readValue(signal, target, abortSignal);
      if (value === undefined) return undefined;
      let window = baselines.get(target);
      if (!window) baselines.set(target, (window = createRollingWindow({ window: windowMs, bucket: bucketMs, clock })));
      const learned = window.query();
      const baseline = learned.count > 0 ? learned.sum / learned.count : undefined;
      const ready = baseline !== undefined && learned.count >= minSamples;
      const active = ready && value > ratio * baseline;
      if (!active) window.record(value);
      if (!ready) return undefined;
      return { active, value, values: { value, baseline, ratio, learnedSamples: learned.count } };
    },
  };
}

/** Options of {@link checkCondition}. */
export interface CheckConditionOptions {
  /** The check, shared or per target. */
  check: Check | ((target: string) => Check);
  /** Statuses that make the condition hold. Default `['fail']`. */
  on?: readonly CheckStatus[];
}

/**
 * Holds while a health check reports `fail` (or the statuses in `on`): "3+ critical probes failing" is a check
 * over the probes, a container's HEALTHCHECK is a check over its state.
 *
 * @example
 * ```ts
 * const when = checkCondition({ check: postgresProbe({ pool }) });
 * ```
 */
export function checkCondition(options: CheckConditionOptions): HealingCondition {
  const { check, on = ['fail'] } = options;
  return {
    kind: 'check',
    description: `check status in [${on.join(', ')}]`,
    async sample(target, abortSignal) {
      const result = await resolveCheck(check, target)(abortSignal);
      return {
        active: on.includes(result.status),
        values: {
          status: result.status,
          ...(result.output === undefined ? {} : { output: result.output }),
          ...(result.observed === undefined ? {} : { observed: result.observed }),
        },
      };
    },
  };
}

const TARGET_FACTORY = Symbol.for('@ops/healing.targetCheck');

function isTargetFactory(value: unknown): boolean {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[TARGET_FACTORY] === true;
}

/**
 * Marks a function as "target → Check" for {@link checkCondition} and ladder verifies (a plain `Check` takes an
 * AbortSignal, so the two shapes are told apart by this mark).
 *
 * @example
 * ```ts
 * const when = checkCondition({ check: perTargetCheck((name) => containerHealthCheck(name)) });
 * ```
 */
export function perTargetCheck(factory: (target: string) => Check): (target: string) => Check {
  const marked = (target: string) => factory(target);
  Object.defineProperty(marked, TARGET_FACTORY, { value: true });
  return marked;
}

/** Resolves a check option that may be per target. */
export function resolveCheck(check: Check | ((target: string) => Check), target: string): Check {
  return isTargetFactory(check) ? (check as (target: string) => Check)(target) : (check as Check);
}

/**
 * Any function as a condition: returns whether it holds (or a {@link ConditionSample}); throwing or `undefined`
 * means missing data.
 *
 * @example
 * ```ts
 * const when = functionCondition((target) => queue.depth(target) > 1000, 'queue depth > 1000');
 * ```
 */
export function functionCondition(
  predicate: (
    target: string,
    signal: AbortSignal,
  ) => boolean | ConditionSample | undefined | Promise<boolean | ConditionSample | undefined>,
  description = 'function',
): HealingCondition {
  return {
    kind: 'function',
    description,
    async sample(target, signal) {
      const result = await predicate(target, signal);
      if (result === undefined) return undefined;
      return typeof result === 'boolean' ? { active: result } : result;
    },
  };
}
