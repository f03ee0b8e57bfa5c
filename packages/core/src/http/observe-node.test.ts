import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../time/clock.js';
import { observeFetchRequests } from './observe-fetch.js';
import { observeNodeRequests } from './observe-node.js';
import type { RequestObservation } from './observe-request.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(listener: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(listener as never);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('observeNodeRequests', () => {
  it('reports method, route, status and duration once per request', async () => {
    const clock = createManualClock();
    const seen: RequestObservation[] = [];
    const url = await listen(
      observeNodeRequests(
        (incoming, response) => {
          clock.advance(25);
          response.statusCode = incoming.url?.startsWith('/fail') ? 503 : 200;
          response.end('ok');
        },
        {
          observer: (observation) => seen.push(observation),
          clock,
          route: ({ path }) => path.replace(/\/\d+$/, '/:id'),
        },
      ),
    );
    await (await request(`${url}/users/42?x=1`)).body.text();
    await (await request(`${url}/fail`, { method: 'POST' })).body.text();
    expect(seen).toEqual([
      { method: 'GET', route: '/users/:id', path: '/users/42', statusCode: 200, durationMs: 25, aborted: false },
      { method: 'POST', route: '/fail', path: '/fail', statusCode: 503, durationMs: 25, aborted: false },
    ]);
  });

  it('reports a request whose client went away as aborted, and survives a throwing observer', async () => {
    const seen: RequestObservation[] = [];
    let respond: (() => void) | undefined;
    // Through a closure: after `respond = undefined` below, TypeScript would narrow a direct call to never.
    const callRespond = () => respond?.();
    const url = await listen(
      observeNodeRequests(
        (_incoming, response) => {
          respond = () => response.end('late');
        },
        {
          observer: (observation) => {
            seen.push(observation);
            throw new Error('observer bug');
          },
        },
      ),
    );
    const controller = new AbortController();
    const pending = request(`${url}/slow`, { signal: controller.signal }).catch(() => undefined);
    for (let attempt = 0; attempt < 200 && !respond; attempt++) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await pending;
    for (let attempt = 0; attempt < 200 && seen.length === 0; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    callRespond();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.aborted).toBe(true);
    // The server still answers after the observer threw.
    respond = undefined;
    const next = request(`${url}/after`);
    for (let attempt = 0; attempt < 200 && !respond; attempt++) await new Promise((resolve) => setTimeout(resolve, 5));
    callRespond();
    expect((await next).statusCode).toBe(200);
  });
});

describe('observeFetchRequests', () => {
  it('reports responses and thrown errors (as 500) and rethrows', async () => {
    const clock = createManualClock();
    const seen: RequestObservation[] = [];
    const handler = observeFetchRequests(
      async (incoming) => {
        clock.advance(7);
        if (incoming.url.endsWith('/boom')) throw new Error('boom');
        return new Response('hi', { status: 201 });
      },
      { observer: (observation) => seen.push(observation), clock },
    );
    expect((await handler(new Request('http://127.0.0.1/items?page=2'))).status).toBe(201);
    await expect(handler(new Request('http://127.0.0.1/boom', { method: 'DELETE' }))).rejects.toThrow('boom');
    expect(seen.map(({ error: _error, ...rest }) => rest)).toEqual([
      { method: 'GET', route: '/items', path: '/items', statusCode: 201, durationMs: 7, aborted: false },
      { method: 'DELETE', route: '/boom', path: '/boom', statusCode: 500, durationMs: 7, aborted: false },
    ]);
    expect((seen[1]?.error as Error).message).toBe('boom');
  });
});
