import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toFetchHandler, toNodeHandler, type CheckResult } from '@ops/core';
import { Ajv } from 'ajv';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealth, type Health } from '../registry/health.js';
import type { HealthOptions } from '../registry/health-options.js';
import { allowBearerToken, allowLoopback } from './details-access.js';
import { healthJsonSchema } from './health-json-schema.js';

const validate = new Ajv({ strict: false, allErrors: true }).compile(healthJsonSchema);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(
  options: HealthOptions,
  setup: (health: Health) => void,
): Promise<{ base: string; health: Health }> {
  const health = createHealth({ startReady: true, shutdown: { signals: [], exit: () => undefined }, ...options });
  setup(health);
  const server: Server = createServer(toNodeHandler(health.handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () => health.close(),
    () => new Promise<void>((resolve) => server.close(() => resolve())),
  );
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, health };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await request(url, { headers });
  const text = await response.body.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
  return { status: response.statusCode, headers: response.headers, body, text };
}

const sample = (health: Health) => {
  health.register({
    name: 'memory',
    tags: ['live', 'ready'],
    check: async () => ({ status: 'pass', observed: 123, observedUnit: 'MiB' }),
    componentType: 'system',
    measurement: 'utilization',
  });
  health.register({
    name: 'db',
    check: async () => ({ status: 'fail', output: 'connect ECONNREFUSED postgres://app:hunter2@127.0.0.1:1/app' }),
    componentType: 'datastore',
    measurement: 'responseTime',
    componentId: 'postgres://app:hunter2@127.0.0.1:1/app',
  });
  health.register({
    name: 'search',
    critical: false,
    check: async () => ({ status: 'warn', output: 'slow', observed: 820, observedUnit: 'ms' }),
  });
};

describe('health endpoints', () => {
  it('answers terse probes from cached results and still follows markReady, markNotReady and verbose requests', async () => {
    let runs = 0;
    const { base, health } = await serve({ startReady: false, mode: { every: '1h' } }, (health) => {
      health.register({
        name: 'polled',
        tags: ['live', 'ready'],
        check: async () => ((runs += 1), { status: 'pass' }),
      });
    });
    const notReady = await get(`${base}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toEqual({ status: 'fail', output: 'not ready' });
    expect((await get(`${base}/health/live`)).body).toEqual({ status: 'pass' });
    health.markReady();
    for (let index = 0; index < 3; index++) expect((await get(`${base}/health/ready`)).text).toBe('{"status":"pass"}');
    expect(runs).toBe(1);
    expect(Object.keys((await get(`${base}/health/ready?verbose`)).body['checks'] as object)).toEqual([
      'polled:status',
    ]);
    health.markNotReady('maintenance');
    expect((await get(`${base}/health/ready`)).body).toEqual({ status: 'fail', output: 'maintenance' });
  });

  it('serves pre-rendered terse bodies that follow status changes and carry the service fields and an exact length', async () => {
    let status: CheckResult['status'] = 'pass';
    const { base } = await serve({ service: { serviceId: 'orders-ü', version: '2' }, mode: { ttl: 0 } }, (health) => {
      health.register({ name: 'flag', check: async () => ({ status }) });
    });
    const first = await get(`${base}/health/ready`);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: 'pass', version: '2', serviceId: 'orders-ü' });
    expect(first.headers['content-length']).toBe(String(Buffer.byteLength(first.text, 'utf8')));
    status = 'fail';
    const second = await get(`${base}/health/ready`);
    expect(second.status).toBe(503);
    expect(second.body).toEqual({ status: 'fail', version: '2', serviceId: 'orders-ü' });
    expect(second.headers['content-length']).toBe(String(Buffer.byteLength(second.text, 'utf8')));
    status = 'pass';
    expect((await get(`${base}/health/live`)).body).toEqual({ status: 'pass', version: '2', serviceId: 'orders-ü' });
    expect((await get(`${base}/health/ready`)).body).toEqual({ status: 'pass', version: '2', serviceId: 'orders-ü' });
  });

  it('are terse by default: status only, no-store, health+json, 503 on fail', async () => {
    const { base } = await serve({}, sample);
    const ready = await get(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers['content-type']).toBe('application/health+json');
    expect(ready.headers['cache-control']).toBe('no-store');
    expect(ready.body).toEqual({ status: 'fail' });
    const live = await get(`${base}/health/live`);
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'pass' });
  });

  it('?verbose lists components by status only unless the details predicate allows more', async () => {
    const { base } = await serve(
      { service: { serviceId: 'api', version: '1', releaseId: '1.4.2', description: 'the API' } },
      sample,
    );
    const verbose = await get(`${base}/health/ready?verbose`);
    expect(verbose.body).toEqual({
      status: 'fail',
      serviceId: 'api',
      version: '1',
      releaseId: '1.4.2',
      description: 'the API',
      checks: {
        'memory:utilization': [{ status: 'pass', componentType: 'system' }],
        'db:responseTime': [{ status: 'fail', componentType: 'datastore' }],
        'search:status': [{ status: 'warn', componentType: 'component' }],
      },
    });
    expect(verbose.text).not.toContain('ECONNREFUSED');
  });

  it('shows details (redacted) to callers the predicate allows, on ?verbose and drill-down', async () => {
    const { base } = await serve({ showDetails: allowBearerToken('letmein') }, sample);
    const denied = await get(`${base}/health/db`, { authorization: 'Bearer wrong' });
    expect(denied.body).toEqual({
      status: 'fail',
      checks: { 'db:responseTime': [{ status: 'fail', componentType: 'datastore' }] },
    });
    const allowed = await get(`${base}/health/ready?verbose=1`, { authorization: 'Bearer letmein' });
    const checks = allowed.body['checks'] as Record<string, Array<Record<string, unknown>>>;
    expect(checks['db:responseTime']?.[0]).toMatchObject({
      status: 'fail',
      componentType: 'datastore',
      componentId: 'postgres://app:[REDACTED]@127.0.0.1:1/app',
      output: 'connect ECONNREFUSED postgres://app:[REDACTED]@127.0.0.1:1/app',
      cached: expect.any(Boolean),
      critical: true,
      durationMs: expect.any(Number),
      time: expect.stringMatching(/Z$/),
    });
    expect(checks['memory:utilization']?.[0]).toMatchObject({ observedValue: 123, observedUnit: 'MiB' });
    expect(checks['memory:utilization']?.[0]).not.toHaveProperty('output');
    expect(allowed.text).not.toContain('hunter2');
    const drill = await get(`${base}/health/search`, { authorization: 'Bearer letmein' });
    expect(drill.status).toBe(200);
    expect(drill.body).toMatchObject({
      status: 'warn',
      checks: { 'search:status': [{ status: 'warn', output: 'slow', observedValue: 820 }] },
    });
  });

  it('drill-down of an unknown check is 404; other paths and methods pass through', async () => {
    const { base } = await serve({}, sample);
    const missing = await get(`${base}/health/nope`);
    expect(missing.status).toBe(404);
    expect((await get(`${base}/health/%E0%A4%A`)).status).toBe(404);
    const other = await request(`${base}/users`);
    expect(other.statusCode).toBe(404);
    expect(await other.body.text()).toBe('not found\n');
    const post = await request(`${base}/health/ready`, { method: 'POST' });
    expect(post.statusCode).toBe(404);
    await post.body.dump();
  });

  it('?exclude leaves checks out of the verdict; status codes are configurable', async () => {
    const { base } = await serve({ statusCodes: { fail: 500, warn: 299 } }, sample);
    expect((await get(`${base}/health/ready`)).status).toBe(500);
    const excluded = await get(`${base}/health/ready?exclude=db`);
    expect(excluded.status).toBe(299);
    expect(excluded.body).toEqual({ status: 'warn' });
  });

  it('reports lifecycle reasons at the top level and serves a custom base path', async () => {
    const { base, health } = await serve({ basePath: '/ops/healthz', startReady: false }, (health) =>
      health.register({ name: 'x', check: async (): Promise<CheckResult> => ({ status: 'pass' }) }),
    );
    expect((await get(`${base}/ops/healthz/ready`)).body).toEqual({ status: 'fail', output: 'not ready' });
    health.markReady();
    expect((await get(`${base}/ops/healthz`)).body).toEqual({
      status: 'pass',
      checks: { 'x:status': [{ status: 'pass', componentType: 'component' }] },
    });
  });

  it('allowLoopback admits 127.0.0.1 and ::1 only', async () => {
    const predicate = allowLoopback();
    const base = { method: 'GET', path: '/', query: new URLSearchParams(), headers: {} };
    expect(predicate({ ...base, remoteAddress: '127.0.0.1' })).toBe(true);
    expect(predicate({ ...base, remoteAddress: '::ffff:127.0.0.1' })).toBe(true);
    expect(predicate({ ...base, remoteAddress: '::1' })).toBe(true);
    expect(predicate({ ...base, remoteAddress: '10.0.0.8' })).toBe(false);
  });

  it('works through the fetch adapter and never shares response objects', async () => {
    const health = createHealth({ startReady: true, shutdown: { signals: [] } });
    let status: CheckResult['status'] = 'pass';
    health.register({ name: 'x', check: async () => ({ status }), mode: { ttl: 0 } });
    const handle = toFetchHandler(health.handler);
    const first = (await handle(new Request('http://127.0.0.1/health/ready?verbose'))) as Response;
    status = 'fail';
    const second = (await handle(new Request('http://127.0.0.1/health/ready'))) as Response;
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      status: 'pass',
      checks: { 'x:status': [{ status: 'pass', componentType: 'component' }] },
    });
    expect(second.status).toBe(503);
    expect(await second.json()).toEqual({ status: 'fail' });
    health.close();
  });
});

describe('healthJsonSchema', () => {
  it('accepts the draft example shapes and refuses broken documents', () => {
    expect(validate({ status: 'PASS' })).toBe(true);
    expect(
      validate({
        status: 'up',
        checks: {
          'cassandra:responseTime': [
            {
              componentId: 'dfd6cf2b',
              componentType: 'datastore',
              observedValue: 250,
              observedUnit: 'ms',
              status: 'pass',
              time: '2018-01-17T03:36:48Z',
            },
          ],
        },
      }),
    ).toBe(true);
    expect(validate({ status: 'pass', output: 'should be omitted' })).toBe(false);
    expect(validate({ status: 'healthy' })).toBe(false);
    expect(validate({ status: 'pass', checks: { 'a:b:c': [] } })).toBe(false);
    expect(validate({ status: 'pass', checks: { db: { status: 'pass' } } })).toBe(false);
    expect(validate({})).toBe(false);
  });
});
