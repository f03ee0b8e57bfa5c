import { startHttpServer, type TestHttpServer } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpsError } from '../errors/ops-error.js';
import { createPrometheusClient, type PrometheusClient } from '../prometheus/prometheus-client.js';
import { createPrometheusQuerySignal } from './prometheus-signal.js';

// A loopback server answering each PromQL text with a canned Prometheus body (the live server is in the
// Prometheus client's *.int.test.ts).
const answers: Record<string, unknown> = {
  one: { resultType: 'vector', result: [{ metric: {}, value: [1, '0.75'] }] },
  two: {
    resultType: 'vector',
    result: [
      { metric: { a: '1' }, value: [1, '2'] },
      { metric: { a: '2' }, value: [1, '3'] },
    ],
  },
  none: { resultType: 'vector', result: [] },
  nan: { resultType: 'vector', result: [{ metric: {}, value: [1, 'NaN'] }] },
  scalar: { resultType: 'scalar', result: [1, '42'] },
  text: { resultType: 'string', result: [1, 'hello'] },
};

let server: TestHttpServer;
let client: PrometheusClient;
beforeAll(async () => {
  server = await startHttpServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    const query = new URLSearchParams(body).get('query') ?? '';
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'success', data: answers[query] }));
  });
  client = createPrometheusClient({ url: server.url, timeout: '5s' });
});
afterAll(() => server.close());

describe('createPrometheusQuerySignal', () => {
  it('reads one vector sample or a scalar', async () => {
    expect(await createPrometheusQuerySignal({ client, query: 'one' }).read()).toBe(0.75);
    expect(await createPrometheusQuerySignal({ client, query: 'scalar', unit: 'ratio' }).read()).toBe(42);
  });

  it('requires a single series unless told how to aggregate', async () => {
    await expect(createPrometheusQuerySignal({ client, query: 'two' }).read()).rejects.toThrow(
      /2 series match but aggregate is 'single'/,
    );
    expect(await createPrometheusQuerySignal({ client, query: 'two', aggregate: 'sum' }).read()).toBe(5);
    expect(await createPrometheusQuerySignal({ client, query: 'two', aggregate: 'avg' }).read()).toBe(2.5);
  });

  it('treats no data, NaN and non-numeric results as unavailable, not zero', async () => {
    for (const query of ['none', 'nan', 'text']) {
      const read = createPrometheusQuerySignal({ client, query, name: 'error_ratio' }).read();
      await expect(read).rejects.toSatisfy((error: unknown) => OpsError.hasCode(error, 'SIGNAL_UNAVAILABLE'));
    }
  });
});
