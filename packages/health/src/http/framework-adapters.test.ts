import type { AddressInfo } from 'node:net';
import {
  observeFastifyRequests,
  toExpressMiddleware,
  toFastifyPlugin,
  type OpsHandler,
  type RequestObservation,
} from '@ops/core';
import express from 'express';
import Fastify from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealth, type Health } from '../registry/health.js';

// The health endpoints mounted with core's framework adapters, as the README tells users to do.
let health: Health | undefined;

function healthWithFailingPath(): OpsHandler {
  health = createHealth({ startReady: true, shutdown: { signals: [], exit: () => undefined } });
  health.register({ name: 'db', check: async () => ({ status: 'pass' }) });
  const { handler } = health;
  // A handler that throws shows where the adapters route errors (the health handler itself answers them).
  return async (opsRequest) =>
    opsRequest.path === '/health/boom' ? Promise.reject(new Error('boom')) : handler(opsRequest);
}

afterEach(() => {
  health?.close();
  health = undefined;
});

describe('health endpoints behind toExpressMiddleware with express 5', () => {
  it('answers the health paths, passes others on with next(), routes errors to the error handler', async () => {
    const handler = healthWithFailingPath();
    const app = express();
    app.use(toExpressMiddleware(handler));
    app.use('/mounted', toExpressMiddleware(handler));
    app.get('/app', (_request, response) => {
      response.json({ app: true });
    });
    app.use((error: Error, _request: express.Request, response: express.Response, _next: express.NextFunction) => {
      response.status(599).send(`handled ${error.message}`);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ready = await request(`${base}/health/ready`);
      expect(ready.statusCode).toBe(200);
      expect(ready.headers['content-type']).toBe('application/health+json');
      expect(ready.headers['cache-control']).toBe('no-store');
      expect(await ready.body.json()).toEqual({ status: 'pass' });
      const mounted = await request(`${base}/mounted/health/db`);
      expect(mounted.statusCode).toBe(200);
      expect(await mounted.body.json()).toMatchObject({ status: 'pass' });
      const route = await request(`${base}/app`);
      expect(await route.body.json()).toEqual({ app: true });
      const boom = await request(`${base}/health/boom`);
      expect(boom.statusCode).toBe(599);
      expect(await boom.body.text()).toBe('handled boom');
      const missing = await request(`${base}/nothing`);
      expect(missing.statusCode).toBe(404);
      await missing.body.dump();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('health endpoints behind toFastifyPlugin with fastify 5', () => {
  it('answers the health paths and leaves routes, 404s and errors to fastify', async () => {
    const app = Fastify();
    await app.register(toFastifyPlugin(healthWithFailingPath()));
    app.get('/app', async () => ({ app: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const verbose = await request(`${base}/health/ready?verbose`);
      expect(verbose.statusCode).toBe(200);
      expect(verbose.headers['content-type']).toBe('application/health+json');
      expect(await verbose.body.json()).toMatchObject({
        status: 'pass',
        checks: { 'db:status': [{ status: 'pass' }] },
      });
      const route = await request(`${base}/app`);
      expect(await route.body.json()).toEqual({ app: true });
      const missing = await request(`${base}/nothing`);
      expect(missing.statusCode).toBe(404);
      await missing.body.dump();
      const boom = await request(`${base}/health/boom`);
      expect(boom.statusCode).toBe(500);
      await boom.body.dump();
    } finally {
      await app.close();
    }
  });
});

// core's request observer (what @ops/slo records from) with a real fastify, here because fastify is a dev dependency
describe("core's observeFastifyRequests with fastify 5", () => {
  it('observes app.inject() requests as completed, with the route template (tests of a fastify app use inject)', async () => {
    const seen: RequestObservation[] = [];
    const app = Fastify();
    await app.register(observeFastifyRequests({ observer: (observation) => seen.push(observation) }));
    app.get('/users/:id', async () => ({ ok: true }));
    app.get('/broken', async () => {
      throw new Error('boom');
    });
    try {
      expect((await app.inject({ method: 'GET', url: '/users/7?expand=1' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/broken' })).statusCode).toBe(500);
      expect(seen.map(({ durationMs: _durationMs, ...rest }) => rest)).toEqual([
        { method: 'GET', route: '/users/:id', path: '/users/7', statusCode: 200, aborted: false },
        { method: 'GET', route: '/broken', path: '/broken', statusCode: 500, aborted: false },
      ]);
    } finally {
      await app.close();
    }
  });
});
