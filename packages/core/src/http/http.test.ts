import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonResponse, textResponse } from './json-response.js';
import { toFetchHandler } from './fetch-adapter.js';
import { toNodeHandler } from './node-adapter.js';
import type { OpsHandler, OpsRequest } from './types.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(listener: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const seen: OpsRequest[] = [];
const handler: OpsHandler = async (request) => {
  seen.push(request);
  if (request.path === '/ping')
    return jsonResponse(200, { pong: true, q: request.query.get('q') }, { 'X-Custom': 'yes' });
  if (request.path === '/bytes')
    return { status: 201, headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([1, 2, 3]) };
  if (request.path === '/echo' && request.readBody)
    return textResponse(200, new TextDecoder().decode(await request.readBody(16)));
  if (request.path === '/boom') throw new Error('postgres://app:hunter2@db/app is down');
  return undefined;
};

describe('toNodeHandler', () => {
  it('answers claimed requests with status, headers and body', async () => {
    const base = await listen(toNodeHandler(handler));
    const response = await request(`${base}/ping?q=1`, { headers: { 'X-Trace': ['a', 'b'] } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['x-custom']).toBe('yes');
    expect(await response.body.json()).toEqual({ pong: true, q: '1' });
    const last = seen.at(-1) as OpsRequest;
    expect(last.method).toBe('GET');
    expect(last.headers['x-trace']).toBe('a, b');
    expect(last.remoteAddress).toMatch(/127\.0\.0\.1/);
    expect(last.signal).toBeInstanceOf(AbortSignal);
  });

  it('sends binary bodies unchanged', async () => {
    const base = await listen(toNodeHandler(handler));
    const response = await request(`${base}/bytes`);
    expect(response.statusCode).toBe(201);
    expect([...new Uint8Array(await response.body.arrayBuffer())]).toEqual([1, 2, 3]);
  });

  it('reads request bodies within a size cap', async () => {
    const base = await listen(toNodeHandler(handler));
    const small = await request(`${base}/echo`, { method: 'POST', body: 'hello' });
    expect(await small.body.text()).toBe('hello');
    const large = await request(`${base}/echo`, { method: 'POST', body: 'x'.repeat(64) });
    expect(large.statusCode).toBe(500);
    await large.body.dump();
  });

  it('answers 404 for unclaimed requests, or calls the fallback', async () => {
    const base = await listen(toNodeHandler(handler));
    const missing = await request(`${base}/other`);
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();
    const withFallback = await listen(
      toNodeHandler(handler, { fallback: (_request, response) => response.writeHead(418).end('teapot') }),
    );
    const teapot = await request(`${withFallback}/other`);
    expect(teapot.statusCode).toBe(418);
    expect(await teapot.body.text()).toBe('teapot');
  });

  it('answers a bare 500 without the error text when the handler throws', async () => {
    const errors: unknown[] = [];
    const base = await listen(toNodeHandler(handler, { onError: (error) => errors.push(error) }));
    const response = await request(`${base}/boom`);
    expect(response.statusCode).toBe(500);
    const text = await response.body.text();
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('postgres');
    expect(errors).toHaveLength(1);
  });

  it('aborts the request signal when the client goes away', async () => {
    let aborted: Promise<unknown> | undefined;
    const slow: OpsHandler = async (request) => {
      aborted = new Promise((resolve) =>
        request.signal?.addEventListener('abort', () => resolve(request.signal?.reason)),
      );
      await aborted;
      return textResponse(200, 'late');
    };
    const base = await listen(toNodeHandler(slow));
    const controller = new AbortController();
    const pending = request(`${base}/slow`, { signal: controller.signal }).catch((error: unknown) => error);
    for (let attempt = 0; attempt < 200 && !aborted; attempt++) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await pending;
    await expect(aborted).resolves.toMatchObject({ code: 'ABORTED' });
  });
});

describe('toFetchHandler', () => {
  it('answers claimed requests and resolves undefined for others', async () => {
    const handle = toFetchHandler(handler);
    const response = (await handle(new Request('http://127.0.0.1/ping?q=x', { headers: { 'x-a': '1' } }))) as Response;
    expect(response.status).toBe(200);
    expect(response.headers.get('x-custom')).toBe('yes');
    expect(await response.json()).toEqual({ pong: true, q: 'x' });
    expect((seen.at(-1) as OpsRequest).headers['x-a']).toBe('1');
    expect(await handle(new Request('http://127.0.0.1/other'))).toBeUndefined();
    const bytes = (await handle(new Request('http://127.0.0.1/bytes'))) as Response;
    expect([...new Uint8Array(await bytes.arrayBuffer())]).toEqual([1, 2, 3]);
    const echo = (await handle(new Request('http://127.0.0.1/echo', { method: 'POST', body: 'hi' }))) as Response;
    expect(await echo.text()).toBe('hi');
  });
});

describe('jsonResponse', () => {
  it('lets a caller override the content type, case-insensitively', () => {
    const response = jsonResponse(503, { status: 'fail' }, { 'Content-Type': 'application/health+json' });
    expect(response.headers).toEqual({ 'content-type': 'application/health+json' });
    expect(response.body).toBe('{"status":"fail"}');
  });
});
