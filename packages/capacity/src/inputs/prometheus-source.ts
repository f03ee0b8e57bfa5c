import { parseDuration, type Duration, type PrometheusClient } from '@ops/core';
import { CapacityError } from '../errors.js';
import type { Series } from './series.js';

/** Options of {@link queryRangeSeries}. */
export interface QueryRangeSeriesOptions {
  /** Epoch ms (or Date). */
  start: number | Date;
  end: number | Date;
  /** Resolution, e.g. `'5m'`. */
  step: Duration;
  /** Split the range so no request asks for more points per series than this (Prometheus refuses > 11,000). Default 10,000. */
  maxPointsPerRequest?: number;
  signal?: AbortSignal;
}

/**
 * Runs a PromQL range query through core's Prometheus client and returns one {@link Series} per label set, named by
 * its labels (`{service="api"}`). Long ranges are split into requests of at most `maxPointsPerRequest` points and
 * joined; NaN samples are dropped. A failed request is a `SOURCE_FAILED` `CapacityError` with the client's error as
 * `cause` (and its `isRetryable`).
 *
 * @example
 * ```ts
 * const prometheus = createPrometheusClient({ url: 'http://127.0.0.1:9090', timeout: '30s' });
 * const [cpu] = await queryRangeSeries(prometheus, RUNBOOK_QUERIES.cpuUtilization('job="api"'), { start: Date.now() - 30 * 86_400_000, end: Date.now(), step: '5m' });
 * ```
 */
export async function queryRangeSeries(
  client: PrometheusClient,
  query: string,
  options: QueryRangeSeriesOptions,
): Promise<Series[]> {
  const startMs = options.start instanceof Date ? options.start.getTime() : options.start;
  const endMs = options.end instanceof Date ? options.end.getTime() : options.end;
  const stepMs = parseDuration(options.step, 'step');
  const { maxPointsPerRequest = 10_000 } = options;
  if (!(endMs > startMs))
    throw new CapacityError(
      'ARGUMENT_INVALID',
      `end must be after start (${new Date(startMs).toISOString()} … ${new Date(endMs).toISOString()})`,
    );
  const byLabels = new Map<string, Series>();
  const chunkMs = stepMs * (maxPointsPerRequest - 1);
  for (let chunkStart = startMs; chunkStart <= endMs; chunkStart += chunkMs + stepMs) {
    const chunkEnd = Math.min(endMs, chunkStart + chunkMs);
    let result;
    try {
      result = await client.queryRange(query, {
        start: chunkStart,
        end: chunkEnd,
        step: stepMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      const retryable =
        typeof error === 'object' && error !== null && (error as { isRetryable?: unknown }).isRetryable === true;
      throw new CapacityError(
        'SOURCE_FAILED',
        `Prometheus query_range failed for ${query}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, isRetryable: retryable },
      );
    }
    for (const item of result.series) {
      const name = labelsText(item.metric);
      let series = byLabels.get(name);
      if (!series) byLabels.set(name, (series = { name, timestamps: [], values: [] }));
      for (const sample of item.samples) {
        if (!Number.isFinite(sample.value)) continue;
        const last = series.timestamps[series.timestamps.length - 1];
        if (last !== undefined && sample.timeMs <= last) continue;
        series.timestamps.push(sample.timeMs);
        series.values.push(sample.value);
      }
    }
    if (chunkEnd >= endMs) break;
  }
  return [...byLabels.values()];
}

function labelsText(metric: Record<string, string>): string {
  const entries = Object.entries(metric).sort(([a], [b]) => a.localeCompare(b));
  return `{${entries.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(',')}}`;
}

/**
 * The runbooks' capacity queries, parameterised by a label selector (`'job="api"'`). Each returns PromQL for one
 * value per instant: CPU as a ratio of requests, memory as a ratio of limits, request rate, p95 latency in ms,
 * filesystem use, PostgreSQL database size.
 */
export const RUNBOOK_QUERIES = {
  /** Average CPU use over requested CPU (the HPA's utilization). */
  cpuUtilization: (selector: string) =>
    `sum(rate(container_cpu_usage_seconds_total{${selector}}[5m])) / sum(kube_pod_container_resource_requests{resource="cpu",${selector}})`,
  /** Working set over memory limits. */
  memoryUtilization: (selector: string) =>
    `sum(container_memory_working_set_bytes{${selector}}) / sum(kube_pod_container_resource_limits{resource="memory",${selector}})`,
  /** Requests per second. */
  requestRate: (selector: string) => `sum(rate(http_requests_total{${selector}}[5m]))`,
  /** Requests per second per instance (for "requests up > 80 rps"). */
  requestRatePerInstance: (selector: string) =>
    `sum(rate(http_requests_total{${selector}}[5m])) / count(up{${selector}} == 1)`,
  /** P95 latency in milliseconds. */
  p95LatencyMs: (selector: string) =>
    `1000 * histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${selector}}[5m])))`,
  /** Used ratio of a filesystem (node exporter). */
  filesystemUsedRatio: (selector: string) =>
    `1 - node_filesystem_avail_bytes{${selector}} / node_filesystem_size_bytes{${selector}}`,
  /** PostgreSQL database size in bytes (postgres_exporter). */
  postgresDatabaseBytes: (selector: string) => `sum(pg_database_size_bytes{${selector}})`,
} as const;
