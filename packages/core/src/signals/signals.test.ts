import { tmpdir } from 'node:os';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { OpsError } from '../errors/ops-error.js';
import { createManualClock } from '../time/clock.js';
import { createDiskUsedRatioSignal } from './disk-signal.js';
import { createFunctionSignal } from './function-signal.js';
import {
  createEventLoopDelaySignal,
  createEventLoopUtilizationSignal,
  createHeapUsedRatioSignal,
  createProcessCpuSignal,
  createRssSignal,
} from './process-signals.js';
import { createPromClientSignal } from './prom-client-signal.js';

async function unavailable(read: () => unknown): Promise<OpsError> {
  try {
    await read();
  } catch (error) {
    expect(OpsError.hasCode(error, 'SIGNAL_UNAVAILABLE')).toBe(true);
    return error as OpsError;
  }
  throw new Error('expected SIGNAL_UNAVAILABLE');
}

function busyFor(iterations: number): number {
  let total = 0;
  for (let index = 0; index < iterations; index++) total += Math.sqrt(index);
  return total;
}

describe('process signals', () => {
  it('CPU ratio is the CPU time delta over the wall time delta, divided by cores', () => {
    const clock = createManualClock();
    let cpu = { user: 0, system: 0 };
    const signal = createProcessCpuSignal({ clock, cpuUsage: () => cpu, cores: 2 });
    clock.advance(1_000);
    cpu = { user: 600_000, system: 200_000 }; // 800 ms of CPU in 1 s on 2 cores → 0.4
    expect(signal.read()).toBeCloseTo(0.4, 10);
    clock.advance(2_000);
    cpu = { user: 700_000, system: 300_000 }; // 200 ms more in 2 s → 0.05
    expect(signal.read()).toBeCloseTo(0.05, 10);
    expect(signal).toMatchObject({ name: 'process_cpu_ratio', unit: 'ratio' });
  });

  it('CPU ratio refuses to divide by zero wall time and rejects a bad core count', async () => {
    const clock = createManualClock();
    const signal = createProcessCpuSignal({ clock, cpuUsage: () => ({ user: 1, system: 1 }) });
    await unavailable(() => signal.read());
    expect(() => createProcessCpuSignal({ cores: 0 })).toThrow(/cores: must be a positive number/);
  });

  it('CPU ratio on the real process is positive after busy work', () => {
    const signal = createProcessCpuSignal();
    const start = performance.now();
    let sink = 0;
    // bounded busy loop: at most 200 rounds
    for (let round = 0; round < 200 && performance.now() - start < 50; round++) sink += busyFor(20_000);
    expect(sink).toBeGreaterThan(0);
    const value = signal.read() as number;
    expect(value).toBeGreaterThan(0);
    expect(Number.isFinite(value)).toBe(true);
  });

  it('RSS and heap ratio read the live process', () => {
    const rss = createRssSignal().read() as number;
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(createRssSignal({ readRssBytes: () => 42 }).read()).toBe(42);
    const heap = createHeapUsedRatioSignal().read() as number;
    expect(heap).toBeGreaterThan(0);
    expect(heap).toBeLessThan(1);
  });

  it('event-loop delay reports a percentile in ms for each read window, and fails cleanly when closed', async () => {
    const signal = createEventLoopDelaySignal({ percentile: 99, resolutionMs: 1 });
    expect(signal.name).toBe('event_loop_delay_p99_ms');
    // Block the loop for ~30 ms between timer ticks so the histogram sees a large delay.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const blockedUntil = performance.now() + 30;
    while (performance.now() < blockedUntil) busyFor(1_000);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const blocked = signal.read() as number;
    expect(blocked).toBeGreaterThanOrEqual(20);
    signal.close();
    await unavailable(() => signal.read());
    expect(() => createEventLoopDelaySignal({ percentile: 0 })).toThrow(/percentile: must be in \(0, 100\]/);
  });

  it('event-loop utilization is a ratio between 0 and 1', async () => {
    const signal = createEventLoopUtilizationSignal();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const value = signal.read() as number;
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThanOrEqual(1);
  });
});

describe('createDiskUsedRatioSignal', () => {
  it('reads the used ratio of the temp directory file system', async () => {
    const value = await createDiskUsedRatioSignal({ path: tmpdir() }).read();
    expect(value).toBeGreaterThan(0);
    expect(value).toBeLessThanOrEqual(1);
  });

  it('throws SIGNAL_UNAVAILABLE naming the path when it does not exist', async () => {
    const error = await unavailable(() => createDiskUsedRatioSignal({ path: '/no/such/dir/anywhere' }).read());
    expect(error.message).toContain('/no/such/dir/anywhere: ENOENT');
  });
});

describe('createFunctionSignal', () => {
  it('passes the abort signal through and rejects non-numbers', async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const signal = createFunctionSignal({
      name: 'queue_depth',
      unit: 'jobs',
      read: (abortSignal) => ((seen = abortSignal), 7),
    });
    expect(await signal.read(controller.signal)).toBe(7);
    expect(seen).toBe(controller.signal);
    expect(signal.unit).toBe('jobs');
    await unavailable(() => createFunctionSignal({ name: 'bad', read: () => Number.NaN }).read());
    await unavailable(() => createFunctionSignal({ name: 'bad', read: () => '3' as unknown as number }).read());
  });
});

describe('createPromClientSignal', () => {
  it('reads a counter by name, filtered by labels and summed', async () => {
    const registry = new Registry();
    const requests = new Counter({
      name: 'http_requests_total',
      help: 'requests',
      labelNames: ['route', 'code'],
      registers: [registry],
    });
    requests.inc({ route: '/api', code: '200' }, 5);
    requests.inc({ route: '/api', code: '500' }, 2);
    requests.inc({ route: '/health', code: '200' }, 9);
    expect(await createPromClientSignal({ registry, metric: 'http_requests_total' }).read()).toBe(16);
    expect(
      await createPromClientSignal({ registry, metric: 'http_requests_total', labels: { route: '/api' } }).read(),
    ).toBe(7);
    expect(
      await createPromClientSignal({ registry, metric: 'http_requests_total', labels: { code: 500 } }).read(),
    ).toBe(2);
    expect(await createPromClientSignal({ registry, metric: 'http_requests_total', aggregate: 'max' }).read()).toBe(9);
    const ambiguous = await unavailable(() =>
      createPromClientSignal({ registry, metric: 'http_requests_total', aggregate: 'single' }).read(),
    );
    expect(ambiguous.message).toContain("3 series match but aggregate is 'single'");
    const none = await unavailable(() =>
      createPromClientSignal({ registry, metric: 'http_requests_total', labels: { route: '/nope' } }).read(),
    );
    expect(none.message).toContain('http_requests_total{route="/nope"}: no matching series');
  });

  it('reads gauges, histogram count/sum series and summary quantiles', async () => {
    const registry = new Registry();
    new Gauge({ name: 'queue_depth', help: 'depth', registers: [registry] }).set(12);
    const histogram = new Histogram({
      name: 'latency_seconds',
      help: 'latency',
      buckets: [0.1, 1],
      registers: [registry],
    });
    histogram.observe(0.05);
    histogram.observe(0.5);
    const summary = new Summary({
      name: 'payload_bytes',
      help: 'payload',
      percentiles: [0.5, 0.99],
      registers: [registry],
    });
    for (let index = 1; index <= 100; index++) summary.observe(index);
    expect(await createPromClientSignal({ registry, metric: 'queue_depth' }).read()).toBe(12);
    expect(
      await createPromClientSignal({ registry, metric: 'latency_seconds', series: 'latency_seconds_count' }).read(),
    ).toBe(2);
    expect(
      await createPromClientSignal({ registry, metric: 'latency_seconds', series: 'latency_seconds_sum' }).read(),
    ).toBeCloseTo(0.55);
    expect(
      await createPromClientSignal({
        registry,
        metric: 'latency_seconds',
        series: 'latency_seconds_bucket',
        labels: { le: 0.1 },
      }).read(),
    ).toBe(1);
    const p99 = (await createPromClientSignal({
      registry,
      metric: 'payload_bytes',
      labels: { quantile: 0.99 },
    }).read()) as number;
    expect(p99).toBeGreaterThanOrEqual(98);
  });

  it('throws SIGNAL_UNAVAILABLE for a metric that is not registered', async () => {
    const error = await unavailable(() =>
      createPromClientSignal({ registry: new Registry(), metric: 'missing_total' }).read(),
    );
    expect(error.message).toContain('metric missing_total is not registered');
  });
});
