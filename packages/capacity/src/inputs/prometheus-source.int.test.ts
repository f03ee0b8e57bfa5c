import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createPrometheusClient } from '@ops/core';
import { promtoolPath, startPrometheus, type TestPrometheus } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityError } from '../errors.js';
import { multiSeasonalForecaster } from '../forecast/multi-seasonal.js';
import { syntheticSeries } from '../testing/synthetic-series.js';
import { queryRangeSeries } from './prometheus-source.js';

const execFileAsync = promisify(execFile);
const HOUR = 3_600_000;
const STEP_MS = 5 * 60_000;

// Twelve days of 5-minute samples ending two hours ago (inside Prometheus' default 15-day retention), written as
// OpenMetrics and backfilled with `promtool tsdb create-blocks-from openmetrics` into the running server's data
// directory.
const end = Math.floor((Date.now() - 2 * HOUR) / STEP_MS) * STEP_MS;
const points = 12 * 288;
const start = end - (points - 1) * STEP_MS;
const traffic = syntheticSeries({
  length: points,
  stepMs: STEP_MS,
  startMs: start,
  level: 200,
  trendPerDay: 3,
  seed: 8,
});

let prometheus: TestPrometheus;

beforeAll(async () => {
  prometheus = await startPrometheus();
  const lines = [
    '# HELP capacity_requests_per_second Synthetic request rate.',
    '# TYPE capacity_requests_per_second gauge',
  ];
  traffic.values.forEach((value, index) => {
    const seconds = (traffic.timestamps[index] as number) / 1000;
    lines.push(`capacity_requests_per_second{service="api"} ${value.toFixed(4)} ${seconds}`);
    lines.push(`capacity_requests_per_second{service="worker"} ${(value / 4).toFixed(4)} ${seconds}`);
  });
  lines.push('# EOF', '');
  const file = join(prometheus.dir, 'backfill.om');
  await writeFile(file, lines.join('\n'));
  await execFileAsync(promtoolPath(), [
    'tsdb',
    'create-blocks-from',
    'openmetrics',
    file,
    join(prometheus.dir, 'data'),
  ]);
  // Prometheus loads new blocks on its next reload cycle (every minute).
  const client = createPrometheusClient({ url: prometheus.url, timeout: '10s' });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const result = await client.query('count_over_time(capacity_requests_per_second{service="api"}[13d])', {
      time: end + 1000,
    });
    if (result.resultType === 'vector' && (result.series[0]?.sample.value ?? 0) >= points) break;
    if (Date.now() > deadline) throw new Error('Prometheus did not load the backfilled blocks within 90 s');
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}, 120_000);

afterAll(() => prometheus?.stop());

describe('queryRangeSeries against a real Prometheus with backfilled data', () => {
  it('reads every point of every label set, split over several requests, and the runbook forecast runs on it', async () => {
    const client = createPrometheusClient({ url: prometheus.url, timeout: '10s' });
    const series = await queryRangeSeries(client, 'capacity_requests_per_second', {
      start,
      end,
      step: '5m',
      maxPointsPerRequest: 2000,
    });
    expect(series.map((item) => item.name).sort()).toEqual([
      '{__name__="capacity_requests_per_second",service="api"}',
      '{__name__="capacity_requests_per_second",service="worker"}',
    ]);
    const api = series.find((item) => item.name?.includes('"api"'))!;
    expect(api.values).toHaveLength(points);
    expect(api.timestamps[0]).toBe(start);
    expect(api.values[100]).toBeCloseTo(traffic.values[100]!, 3);
    const forecast = multiSeasonalForecaster({ periods: [288] })
      .fit(api.values, { startMs: start, stepMs: STEP_MS })
      .forecast(288);
    expect(forecast).toHaveLength(288);
    expect(Math.max(...forecast)).toBeGreaterThan(Math.max(...api.values.slice(-288)) * 0.9);
  });

  it("a bad query is a SOURCE_FAILED error carrying Prometheus' message", async () => {
    const client = createPrometheusClient({ url: prometheus.url, timeout: '10s' });
    const failing = queryRangeSeries(client, 'sum(rate(', { start, end, step: '5m' });
    await expect(failing).rejects.toSatisfy(
      (error: unknown) =>
        CapacityError.hasCode(error, 'SOURCE_FAILED') && /parse error|bad_data/i.test((error as Error).message),
    );
  });
});
