import {
  createDiskUsedRatioSignal,
  createEventLoopDelaySignal,
  createEventLoopUtilizationSignal,
  createHeapUsedRatioSignal,
  createRssSignal,
  OpsError,
  type CheckResult,
  type ClosableSignal,
  type Signal,
} from '@ops/core';
import { z } from 'zod';
import type { ComponentType, Probe } from '../registry/types.js';
import {
  failRatioSchema,
  functionSchema,
  objectWithMethods,
  parseOptions,
  ratioSchema,
} from '../validation/option-schemas.js';
import { combine, defineProbe, probeFactsShape } from './probe.js';

const thresholdOptionsSchema = z.strictObject({
  signal: objectWithMethods<Signal>(['read'], 'a core Signal ({ name, read(signal) })'),
  warnAt: z.number().optional(),
  failAt: z.number().optional(),
  kind: probeFactsShape.kind.optional(),
  componentType: probeFactsShape.componentType.optional(),
  measurement: probeFactsShape.measurement.optional(),
});
const diskOptionsSchema = z.strictObject({
  path: z.string().min(1),
  warnRatio: ratioSchema.optional(),
  failRatio: failRatioSchema.optional(),
});
const bytesSchema = z.number().min(0);
const memoryOptionsSchema = z.strictObject({
  warnRssBytes: bytesSchema.optional(),
  maxRssBytes: bytesSchema.optional(),
  warnHeapRatio: ratioSchema.optional(),
  maxHeapRatio: failRatioSchema.optional(),
  readRssBytes: functionSchema<() => number>('a function () => number').optional(),
  readHeapRatio: functionSchema<() => number>('a function () => number').optional(),
});
const eventLoopOptionsSchema = z.strictObject({
  warnDelayMs: z.number().min(0).optional(),
  failDelayMs: z.number().min(0).optional(),
  warnUtilization: ratioSchema.optional(),
});
const functionWorkSchema = z.strictObject({
  work: functionSchema<unknown>('a function (signal) => boolean | CheckResult (or a promise of one)'),
});
const functionOptionsSchema = z.strictObject({
  kind: probeFactsShape.kind.optional(),
  componentType: probeFactsShape.componentType.optional(),
  measurement: probeFactsShape.measurement.optional(),
});

/** Options of {@link thresholdProbe}. */
export interface ThresholdProbeOptions {
  /** Any core `Signal` (a number now): RSS, disk ratio, queue depth, a prom-client metric, a PromQL query. */
  signal: Signal;
  /** Warn when the value is at or above this. */
  warnAt?: number;
  /** Fail when the value is at or above this. */
  failAt?: number;
  /** `'local'` (default) for process-local signals; `'dependency'` when reading it needs a remote system. */
  kind?: 'local' | 'dependency';
  componentType?: ComponentType;
  measurement?: string;
}

/**
 * A probe over any core `Signal` with warn/fail thresholds (higher is worse). A read that throws fails the check.
 *
 * @example
 * ```ts
 * health.register({ name: 'queue', check: thresholdProbe({ signal: { name: 'depth', read: () => queue.length }, warnAt: 1_000, failAt: 10_000 }) });
 * ```
 */
export function thresholdProbe(options: ThresholdProbeOptions): Probe {
  parseOptions(thresholdOptionsSchema, options, 'thresholdProbe');
  const {
    signal: source,
    warnAt,
    failAt,
    kind = 'local',
    componentType = 'system',
    measurement = 'utilization',
  } = options;
  const run = async (abortSignal: AbortSignal): Promise<CheckResult> => {
    const value = await source.read(abortSignal);
    const rounded = Math.round(value * 1000) / 1000;
    const label = `${source.name} ${rounded}${source.unit ? ` ${source.unit}` : ''}`;
    if (failAt !== undefined && value >= failAt)
      return {
        status: 'fail',
        output: `${label} ≥ ${failAt}`,
        observed: rounded,
        ...(source.unit ? { observedUnit: source.unit } : {}),
      };
    if (warnAt !== undefined && value >= warnAt)
      return {
        status: 'warn',
        output: `${label} ≥ ${warnAt}`,
        observed: rounded,
        ...(source.unit ? { observedUnit: source.unit } : {}),
      };
    return { status: 'pass', observed: rounded, ...(source.unit ? { observedUnit: source.unit } : {}) };
  };
  return defineProbe(run, { kind, componentType, measurement });
}

/** Options of {@link diskProbe}. */
export interface DiskProbeOptions {
  /** A path on the file system to watch. */
  path: string;
  /** Warn at this used ratio (as `df`). Default 0.8. */
  warnRatio?: number;
  /** Fail at this used ratio. Default 0.9. */
  failRatio?: number;
}

/**
 * Disk probe: used ratio of the file system holding `path` (as `df`), warn/fail thresholds.
 *
 * @example
 * ```ts
 * health.register({ name: 'disk', check: diskProbe({ path: '/var/lib/app', warnRatio: 0.8, failRatio: 0.95 }), tags: ['live', 'ready'] });
 * ```
 */
export function diskProbe(options: DiskProbeOptions): Probe {
  parseOptions(diskOptionsSchema, options, 'diskProbe');
  const { path, warnRatio = 0.8, failRatio = 0.9 } = options;
  return thresholdProbe({
    signal: createDiskUsedRatioSignal({ path }),
    warnAt: warnRatio,
    failAt: failRatio,
    measurement: 'utilization',
  });
}

/** Options of {@link memoryProbe}. At least one limit should be set. */
export interface MemoryProbeOptions {
  /** Warn when RSS reaches this many bytes. */
  warnRssBytes?: number;
  /** Fail when RSS reaches this many bytes. */
  maxRssBytes?: number;
  /** Warn when V8 heap used / heap limit reaches this ratio. Default 0.85. */
  warnHeapRatio?: number;
  /** Fail when it reaches this ratio. Default 0.95. */
  maxHeapRatio?: number;
  /** Reads RSS (tests inject it). Default `process.memoryUsage.rss()`. */
  readRssBytes?: () => number;
  /** Reads the heap ratio (tests inject it). Default: V8 heap statistics. */
  readHeapRatio?: () => number;
}

/**
 * Memory probe: RSS and V8 heap-used ratio against limits. Process-local: suitable for `live`.
 *
 * @example
 * ```ts
 * health.register({ name: 'memory', check: memoryProbe({ maxRssBytes: 1.5 * 2 ** 30 }), tags: ['live', 'ready'] });
 * ```
 */
export function memoryProbe(options: MemoryProbeOptions = {}): Probe {
  parseOptions(memoryOptionsSchema, options, 'memoryProbe');
  const { warnRssBytes, maxRssBytes, warnHeapRatio = 0.85, maxHeapRatio = 0.95 } = options;
  const rss = createRssSignal(options.readRssBytes ? { readRssBytes: options.readRssBytes } : {});
  const heap = options.readHeapRatio
    ? { name: 'process_heap_used_ratio', read: options.readHeapRatio }
    : createHeapUsedRatioSignal();
  const run = async (): Promise<CheckResult> => {
    const rssBytes = await rss.read();
    const heapRatio = await heap.read();
    const mib = Math.round(rssBytes / 1048576);
    const verdict = combine([
      {
        status:
          maxRssBytes !== undefined && rssBytes >= maxRssBytes
            ? 'fail'
            : warnRssBytes !== undefined && rssBytes >= warnRssBytes
              ? 'warn'
              : 'pass',
        reason: `RSS ${mib} MiB`,
      },
      {
        status: heapRatio >= maxHeapRatio ? 'fail' : heapRatio >= warnHeapRatio ? 'warn' : 'pass',
        reason: `heap ${Math.round(heapRatio * 100)}% of limit`,
      },
    ]);
    return {
      ...verdict,
      observed: rssBytes,
      observedUnit: 'bytes',
      details: { rssBytes, heapUsedRatio: Math.round(heapRatio * 1000) / 1000 },
    };
  };
  return defineProbe(run, { kind: 'local', componentType: 'system', measurement: 'utilization' });
}

/** Options of {@link eventLoopProbe}. */
export interface EventLoopProbeOptions {
  /** Warn when the p99 delay since the previous run reaches this. Default 100 ms. */
  warnDelayMs?: number;
  /** Fail when it reaches this. Default 1000 ms. */
  failDelayMs?: number;
  /** Warn when event-loop utilization since the previous run reaches this ratio. Default: not checked. */
  warnUtilization?: number;
}

/** A probe holding a sampler: call `close()` when the service stops. */
export interface ClosableProbe extends Probe {
  close(): void;
}

/**
 * Event-loop probe: p99 delay (`monitorEventLoopDelay`, reset at each run) and optional utilization. Meant for
 * readiness and load shedding; a busy loop is not a reason to restart, so keep it off `live` unless you mean it.
 *
 * @example
 * ```ts
 * const loop = eventLoopProbe({ warnDelayMs: 200, failDelayMs: 2000 });
 * health.register({ name: 'event-loop', check: loop, mode: { every: '5s' } });
 * health.onShutdown('event-loop sampler', () => loop.close());
 * ```
 */
export function eventLoopProbe(options: EventLoopProbeOptions = {}): ClosableProbe {
  parseOptions(eventLoopOptionsSchema, options, 'eventLoopProbe');
  const { warnDelayMs = 100, failDelayMs = 1000, warnUtilization } = options;
  const delay: ClosableSignal = createEventLoopDelaySignal({ percentile: 99 });
  const utilization = createEventLoopUtilizationSignal();
  const run = async (): Promise<CheckResult> => {
    let delayMs: number;
    try {
      delayMs = await delay.read();
    } catch (error) {
      if (OpsError.hasCode(error, 'SIGNAL_UNAVAILABLE') && !String((error as Error).message).includes('closed'))
        return { status: 'pass', output: 'no sample yet', observed: 0, observedUnit: 'ms' };
      throw error;
    }
    const busy = await utilization.read();
    const rounded = Math.round(delayMs * 100) / 100;
    const verdict = combine([
      {
        status: delayMs >= failDelayMs ? 'fail' : delayMs >= warnDelayMs ? 'warn' : 'pass',
        reason: `event-loop delay p99 ${rounded} ms`,
      },
      {
        status: warnUtilization !== undefined && busy >= warnUtilization ? 'warn' : 'pass',
        reason: `event-loop utilization ${Math.round(busy * 100)}%`,
      },
    ]);
    return {
      ...verdict,
      observed: rounded,
      observedUnit: 'ms',
      details: { utilization: Math.round(busy * 1000) / 1000 },
    };
  };
  const probe = defineProbe(run, { kind: 'local', componentType: 'system', measurement: 'eventLoopDelay' });
  return Object.assign(probe, { close: () => delay.close() });
}

/** Options of {@link functionProbe}. */
export interface FunctionProbeOptions {
  /** `'dependency'` (default) when the function reaches another system, `'local'` otherwise. */
  kind?: 'local' | 'dependency';
  componentType?: ComponentType;
  measurement?: string;
}

/**
 * Any function as a probe: `true`/`false`, or a full `CheckResult`. Throwing fails the check (with a redacted
 * message). The AbortSignal is passed through.
 *
 * @example
 * ```ts
 * health.register({ name: 'llm', check: functionProbe(async (signal) => (await openai.models.list({ signal })).data.length > 0) });
 * ```
 */
export function functionProbe(
  work: (signal: AbortSignal) => Promise<boolean | CheckResult> | boolean | CheckResult,
  options: FunctionProbeOptions = {},
): Probe {
  parseOptions(functionWorkSchema, { work }, 'functionProbe');
  parseOptions(functionOptionsSchema, options, 'functionProbe');
  const { kind = 'dependency', componentType = 'component', measurement = 'status' } = options;
  const run = async (signal: AbortSignal): Promise<CheckResult> => {
    const outcome = await work(signal);
    if (typeof outcome === 'boolean')
      return outcome ? { status: 'pass' } : { status: 'fail', output: 'check returned false' };
    return outcome;
  };
  return defineProbe(run, { kind, componentType, measurement });
}
