import type { IncomingMessage, ServerResponse } from 'node:http';
import { startHttpServer, type TestHttpServer } from '@ops/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { OpsError } from '../errors/ops-error.js';
import { createManualClock } from '../time/clock.js';
import { createPrometheusClient } from './prometheus-client.js';
import { PrometheusError } from './prometheus-error.js';

// A real loopback HTTP server that answers like Prometheus would, for the shapes a live server rarely produces
// (warnings, NaN/Inf values, broken bodies, non-JSON 502s). The live server is exercised in *.int.test.ts.
const servers: TestHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

async function serve(answer: (seen: Seen, response: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = await startHttpServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    const entry = { method: request.method, url: request.url, headers: request.headers, body };
    seen.push(entry);
    answer(entry, response);
  });
  servers.push(server);
  return { server, seen };
}

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

async function caught(promise: Promise<unknown>): Promise<PrometheusError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PrometheusError);
    return error as PrometheusError;
  }
  throw new Error('expected the promise to reject');
}

describe('createPrometheusClient', () => {
  it('posts an instant query with time and parses vector samples, including NaN and ±Inf', async () => {
    const { server, seen } = await serve((_seen, response) =>
      json(response, 200, {
        status: 'success',
        warnings: ['partial data'],
        data: {
          resultType: 'vector',
          result: [
            { metric: { job: 'api' }, value: [1767225600.5, '0.25'] },
            { metric: { job: 'db' }, value: [1767225600.5, 'NaN'] },
            { metric: { job: 'x' }, value: [1767225600.5, '+Inf'] },
            { metric: { job: 'y' }, value: [1767225600.5, '-Inf'] },
          ],
        },
      }),
    );
    const client = createPrometheusClient({
      url: `${server.url}/prom/`,
      timeout: '5s',
      headers: { 'x-scope-orgid': 'tenant-1' },
    });
    const result = await client.query('up{job="api"}', { time: new Date(Date.UTC(2026, 0, 1)) });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/prom/api/v1/query' });
    expect(seen[0]?.headers['x-scope-orgid']).toBe('tenant-1');
    expect(Object.fromEntries(new URLSearchParams(seen[0]?.body))).toEqual({
      query: 'up{job="api"}',
      time: '1767225600.000',
    });
    expect(result).toEqual({
      resultType: 'vector',
      warnings: ['partial data'],
      series: [
        { metric: { job: 'api' }, sample: { timeMs: 1767225600500, value: 0.25 } },
        { metric: { job: 'db' }, sample: { timeMs: 1767225600500, value: Number.NaN } },
        { metric: { job: 'x' }, sample: { timeMs: 1767225600500, value: Infinity } },
        { metric: { job: 'y' }, sample: { timeMs: 1767225600500, value: -Infinity } },
      ],
    });
  });

  it('sends range queries with start, end and step in seconds', async () => {
    const { server, seen } = await serve((_seen, response) =>
      json(response, 200, {
        status: 'success',
        data: {
          resultType: 'matrix',
          result: [
            {
              metric: {},
              values: [
                [10, '1'],
                [70, '2'],
              ],
            },
          ],
        },
      }),
    );
    const client = createPrometheusClient({ url: server.url, timeout: 5_000 });
    const result = await client.queryRange('vector(1)', { start: 10_000, end: 70_000, step: '1m' });
    expect(Object.fromEntries(new URLSearchParams(seen[0]?.body))).toEqual({
      query: 'vector(1)',
      start: '10.000',
      end: '70.000',
      step: '60',
    });
    expect(result.series[0]?.samples).toEqual([
      { timeMs: 10_000, value: 1 },
      { timeMs: 70_000, value: 2 },
    ]);
  });

  it('turns credentials in the URL into a Basic header and never shows them in errors', async () => {
    const { server, seen } = await serve((_seen, response) => response.writeHead(502).end('bad gateway'));
    const client = createPrometheusClient({
      url: server.url.replace('http://', 'http://reader:s3cretpass@'),
      timeout: '5s',
    });
    const error = await caught(client.query('up'));
    expect(seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from('reader:s3cretpass').toString('base64')}`);
    expect(error.code).toBe('PROMETHEUS_REQUEST_FAILED');
    expect(error.status).toBe(502);
    expect(error.isRetryable).toBe(true);
    expect(error.message).toContain('HTTP 502');
    expect(error.message).not.toContain('s3cretpass');
    expect(error.url).toBe(`${server.url}/api/v1/query`);
  });

  it('reports a body that is not the documented shape with the path that is wrong', async () => {
    const { server } = await serve((_seen, response) =>
      json(response, 200, {
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: { job: 'a' }, value: [1, 'one'] }] },
      }),
    );
    const client = createPrometheusClient({ url: server.url, timeout: '5s' });
    const error = await caught(client.query('up'));
    expect(error.code).toBe('PROMETHEUS_RESPONSE_INVALID');
    expect(error.path).toBe('data.result[0].value[1]');
    expect(error.message).toContain('data.result[0].value[1]: expected a number as a string');
  });

  it('reports a 200 answer that is not JSON as an invalid response', async () => {
    const { server } = await serve((_seen, response) =>
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'),
    );
    const error = await caught(createPrometheusClient({ url: server.url, timeout: '5s' }).query('up'));
    expect(error.code).toBe('PROMETHEUS_RESPONSE_INVALID');
  });

  it('maps status "error" bodies to PROMETHEUS_QUERY_FAILED with errorType', async () => {
    const { server } = await serve((_seen, response) =>
      json(response, 503, { status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' }),
    );
    const error = await caught(createPrometheusClient({ url: server.url, timeout: '5s' }).query('up'));
    expect(error.code).toBe('PROMETHEUS_QUERY_FAILED');
    expect(error.errorType).toBe('timeout');
    expect(error.status).toBe(503);
    expect(error.isRetryable).toBe(true);
  });

  it('aborts a request the server never answers when the deadline passes (manual clock)', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const { server } = await serve(() => arrived()); // never responds
    const clock = createManualClock();
    const client = createPrometheusClient({ url: server.url, timeout: '2s', clock });
    const pending = caught(client.query('up'));
    await requestArrived;
    await clock.advanceAsync(2_000);
    const error = await pending;
    expect(error.code).toBe('PROMETHEUS_REQUEST_FAILED');
    expect(error.message).toContain('no answer within 2000ms');
    expect(OpsError.isInstance(error.cause)).toBe(true);
  });

  it('honours the caller abort signal', async () => {
    const { server } = await serve(() => undefined);
    const controller = new AbortController();
    const pending = caught(
      createPrometheusClient({ url: server.url, timeout: '30s' }).query('up', { signal: controller.signal }),
    );
    controller.abort(new Error('caller gave up'));
    const error = await pending;
    expect(error.code).toBe('PROMETHEUS_REQUEST_FAILED');
    expect(error.message).toContain('caller gave up');
  });

  it('rejects bad options and arguments before sending anything', async () => {
    expect(() => createPrometheusClient({ url: 'not a url', timeout: '1s' })).toThrow(/url: not a valid URL/);
    expect(() => createPrometheusClient({ url: 'ftp://host', timeout: '1s' })).toThrow(/expected http: or https:/);
    expect(() => createPrometheusClient({ url: 'http://127.0.0.1:1', timeout: 'soon' })).toThrow(
      /timeout: invalid duration/,
    );
    const client = createPrometheusClient({ url: 'http://127.0.0.1:1', timeout: '1s' });
    await expect(client.query('  ')).rejects.toThrow(/non-empty PromQL/);
    await expect(client.queryRange('up', { start: 0, end: 1, step: 0 })).rejects.toThrow(
      /step: must be greater than 0/,
    );
    await expect(client.query('up', { time: Number.NaN })).rejects.toThrow(/time: expected epoch milliseconds/);
  });

  it('ready() is true on 200, false on 503', async () => {
    let status = 503;
    const { server, seen } = await serve((_seen, response) => response.writeHead(status).end('x'));
    const client = createPrometheusClient({ url: server.url, timeout: '5s' });
    expect(await client.ready()).toBe(false);
    status = 200;
    expect(await client.ready()).toBe(true);
    expect(seen.map((entry) => `${entry.method} ${entry.url}`)).toEqual(['GET /-/ready', 'GET /-/ready']);
  });
});
