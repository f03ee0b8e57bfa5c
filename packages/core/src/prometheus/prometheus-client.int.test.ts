import { startHttpServer, startPrometheus, type TestPrometheus } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusQuerySignal } from '../signals/prometheus-signal.js';
import { createPrometheusClient, type PrometheusClient } from './prometheus-client.js';
import { PrometheusError } from './prometheus-error.js';

let prometheus: TestPrometheus;
let client: PrometheusClient;

beforeAll(async () => {
  prometheus = await startPrometheus();
  client = createPrometheusClient({ url: prometheus.url, timeout: '10s' });
});
afterAll(async () => {
  await prometheus?.stop();
});

async function caught(promise: Promise<unknown>): Promise<PrometheusError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PrometheusError);
    return error as PrometheusError;
  }
  throw new Error('expected the promise to reject');
}

describe('Prometheus client against a real Prometheus', () => {
  it('is ready', async () => {
    expect(await client.ready()).toBe(true);
  });

  it('evaluates vector(1) and a scalar', async () => {
    const vector = await client.query('vector(1)');
    expect(vector).toMatchObject({ resultType: 'vector', series: [{ metric: {}, sample: { value: 1 } }] });
    const scalar = await client.query('scalar(vector(2)) * 3', { time: Date.now() });
    expect(scalar).toMatchObject({ resultType: 'scalar', sample: { value: 6 } });
    expect(await client.query('1 / 0')).toMatchObject({ resultType: 'scalar', sample: { value: Infinity } });
  });

  it('queries up{job="prometheus"} once Prometheus has scraped itself', async () => {
    // Scrape interval is 1 s; poll a bounded number of times for the first sample.
    let series: Array<{ metric: Record<string, string>; sample: { value: number } }> = [];
    for (let attempt = 0; attempt < 40 && series.length === 0; attempt++) {
      const result = await client.query('up{job="prometheus"}');
      if (result.resultType === 'vector') series = result.series;
      if (series.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(series).toHaveLength(1);
    expect(series[0]?.metric).toMatchObject({ __name__: 'up', job: 'prometheus' });
    expect(series[0]?.sample.value).toBe(1);
    expect(await createPrometheusQuerySignal({ client, query: 'up{job="prometheus"}' }).read()).toBe(1);
  });

  it('runs a range query with the requested step', async () => {
    const end = Math.floor(Date.now() / 1000) * 1000;
    const result = await client.queryRange('vector(1)', { start: end - 60_000, end, step: '15s' });
    expect(result.resultType).toBe('matrix');
    expect(result.series).toHaveLength(1);
    expect(result.series[0]?.samples.map((sample) => sample.timeMs)).toEqual([
      end - 60_000,
      end - 45_000,
      end - 30_000,
      end - 15_000,
      end,
    ]);
    expect(result.series[0]?.samples.every((sample) => sample.value === 1)).toBe(true);
  });

  it('maps invalid PromQL to PROMETHEUS_QUERY_FAILED with errorType bad_data', async () => {
    const error = await caught(client.query('sum(rate(http_requests_total[5m]'));
    expect(error.code).toBe('PROMETHEUS_QUERY_FAILED');
    expect(error.errorType).toBe('bad_data');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/Prometheus query failed \(bad_data\): .*parse error/);
  });

  it('fails with PROMETHEUS_REQUEST_FAILED on an unreachable port', async () => {
    const server = await startHttpServer((_request, response) => response.end());
    const closedUrl = server.url;
    await server.close();
    const error = await caught(createPrometheusClient({ url: closedUrl, timeout: '5s' }).query('up'));
    expect(error.code).toBe('PROMETHEUS_REQUEST_FAILED');
    expect(error.isRetryable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.url).toBe(`${closedUrl}/api/v1/query`);
  });

  it('aborts at the deadline when a server accepts the request but never answers', async () => {
    const server = await startHttpServer(() => undefined);
    try {
      const error = await caught(createPrometheusClient({ url: server.url, timeout: '300ms' }).query('up'));
      expect(error.code).toBe('PROMETHEUS_REQUEST_FAILED');
      expect(error.message).toContain('no answer within 300ms');
    } finally {
      await server.close();
    }
  });
});
