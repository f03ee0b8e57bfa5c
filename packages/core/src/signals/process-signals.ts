import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { OpsError } from '../errors/ops-error.js';
import { systemClock, type Clock } from '../time/clock.js';
import type { Signal } from './signal.js';

/** Options of {@link createProcessCpuSignal}. */
export interface ProcessCpuSignalOptions {
  /**
   * Number of cores the ratio is relative to. Default 1: `1.0` means one core fully busy (the ceiling of a single
   * Node.js thread). Pass `os.availableParallelism()` to get the share of the whole machine.
   */
  cores?: number;
  /** Clock whose `monotonic()` measures wall time. Defaults to {@link systemClock}. */
  clock?: Clock;
  /** Source of CPU time (user + system microseconds). Defaults to `process.cpuUsage`. */
  cpuUsage?: () => NodeJS.CpuUsage;
  /** Signal name. Default `'process_cpu_ratio'`. */
  name?: string;
}

/**
 * Process CPU as a ratio: CPU time (user + system) used since the previous read, divided by the wall time that
 * passed and by `cores`. The first read covers the time since the signal was created.
 *
 * @example
 * ```ts
 * const cpu = createProcessCpuSignal();
 * const monitor = createSustainedMonitor({ signal: cpu, when: (ratio) => ratio > 0.85, for: '10m', every: '15s' });
 * ```
 */
export function createProcessCpuSignal(options: ProcessCpuSignalOptions = {}): Signal {
  const { cores = 1, clock = systemClock, cpuUsage = () => process.cpuUsage(), name = 'process_cpu_ratio' } = options;
  if (!(cores > 0) || !Number.isFinite(cores))
    throw new OpsError('ARGUMENT_INVALID', `cores: must be a positive number, got ${cores}`);
  let previousCpu = cpuUsage();
  let previousWall = clock.monotonic();
  return {
    name,
    unit: 'ratio',
    read() {
      const cpu = cpuUsage();
      const wall = clock.monotonic();
      const usedMs = (cpu.user - previousCpu.user + (cpu.system - previousCpu.system)) / 1000;
      const elapsedMs = wall - previousWall;
      if (elapsedMs <= 0) {
        throw new OpsError('SIGNAL_UNAVAILABLE', `${name}: no wall time has passed since the previous read`);
      }
      previousCpu = cpu;
      previousWall = wall;
      return Math.max(0, usedMs / elapsedMs / cores);
    },
  };
}

/** Resident set size of the process in bytes (`process.memoryUsage.rss()`). */
export function createRssSignal(options: { name?: string; readRssBytes?: () => number } = {}): Signal {
  const { name = 'process_rss_bytes', readRssBytes = () => process.memoryUsage.rss() } = options;
  return { name, unit: 'bytes', read: () => readRssBytes() };
}

/**
 * V8 heap used as a ratio of the heap size limit (`used_heap_size / heap_size_limit`, the limit set by
 * `--max-old-space-size`): close to 1 means the process is about to die of heap exhaustion.
 */
export function createHeapUsedRatioSignal(options: { name?: string } = {}): Signal {
  const { name = 'process_heap_used_ratio' } = options;
  return {
    name,
    unit: 'ratio',
    read() {
      const heap = getHeapStatistics();
      return heap.used_heap_size / heap.heap_size_limit;
    },
  };
}

/** Options of {@link createEventLoopDelaySignal}. */
export interface EventLoopDelaySignalOptions {
  /** Percentile of the delay distribution (0–100], e.g. 99. Default 99. Use `'max'` or `'mean'` for those. */
  percentile?: number | 'max' | 'mean';
  /** Sampling resolution of the histogram in milliseconds. Default 10 (Node's default is 10). */
  resolutionMs?: number;
  /** Signal name. Default `'event_loop_delay_p<percentile>_ms'`. */
  name?: string;
}

/** A signal holding a resource that must be released: call `close()` when done. */
export interface ClosableSignal extends Signal {
  /** Stops the underlying sampler. Reads after `close()` throw `SIGNAL_UNAVAILABLE`. */
  close(): void;
}

/**
 * Event-loop delay in milliseconds from `perf_hooks.monitorEventLoopDelay`: the chosen percentile of the delays
 * seen since the previous read (the histogram is reset at each read, so every read covers one read window).
 * A read with no sample yet (read twice within `resolutionMs`) throws `SIGNAL_UNAVAILABLE`.
 */
export function createEventLoopDelaySignal(options: EventLoopDelaySignalOptions = {}): ClosableSignal {
  const { percentile = 99, resolutionMs = 10 } = options;
  if (typeof percentile === 'number' && !(percentile > 0 && percentile <= 100)) {
    throw new OpsError('ARGUMENT_INVALID', `percentile: must be in (0, 100], got ${percentile}`);
  }
  if (!(resolutionMs >= 1) || !Number.isInteger(resolutionMs))
    throw new OpsError('ARGUMENT_INVALID', `resolutionMs: must be an integer >= 1, got ${resolutionMs}`);
  const name = options.name ?? `event_loop_delay_${typeof percentile === 'number' ? `p${percentile}` : percentile}_ms`;
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  let closed = false;
  return {
    name,
    unit: 'ms',
    read() {
      if (closed) throw new OpsError('SIGNAL_UNAVAILABLE', `${name}: the signal was closed`);
      if (histogram.count === 0)
        throw new OpsError(
          'SIGNAL_UNAVAILABLE',
          `${name}: no event-loop delay sample yet (read again after ${resolutionMs}ms)`,
        );
      const nanoseconds =
        percentile === 'max'
          ? histogram.max
          : percentile === 'mean'
            ? histogram.mean
            : histogram.percentile(percentile);
      histogram.reset();
      return nanoseconds / 1e6;
    },
    close() {
      closed = true;
      histogram.disable();
    },
  };
}

/**
 * Event-loop utilization (0–1): the share of time the loop was busy since the previous read
 * (`performance.eventLoopUtilization` deltas). The first read covers the time since the signal was created.
 */
export function createEventLoopUtilizationSignal(options: { name?: string } = {}): Signal {
  const { name = 'event_loop_utilization_ratio' } = options;
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  return {
    name,
    unit: 'ratio',
    read() {
      const current = performance.eventLoopUtilization();
      const delta = performance.eventLoopUtilization(current, previous);
      previous = current;
      return delta.utilization;
    },
  };
}
