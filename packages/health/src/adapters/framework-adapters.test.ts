import type { AddressInfo } from 'node:net';
import { jsonResponse, toExpressMiddleware, toFastifyPlugin, type OpsHandler } from '@ops/core';
import express from 'express';
import Fastify from 'fastify';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';

const handler: OpsHandler = async (opsRequest) => {
  if (opsRequest.path === '/health') return jsonResponse(200, { status: 'pass' }, { 'content-type': 'application/health+json', 'cache-control': 'no-store' });
  if (opsRequest.path === '/health/boom') throw new Error('boom');
  return undefined;
};

describe('toExpressMiddleware with express 5', () => {
  it('answers claimed paths, passes others on with next(), routes errors to the error handler', async () => {
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
      const health = await request(`${base}/health`);
      expect(health.statusCode).toBe(200);
      expect(health.headers['content-type']).toBe('application/health+json');
      expect(health.headers['cache-control']).toBe('no-store');
      expect(await health.body.json()).toEqual({ status: 'pass' });
      const mounted = await request(`${base}/mounted/health`);
      expect(mounted.statusCode).toBe(200);
      await mounted.body.dump();
      const app2 = await request(`${base}/app`);
      expect(await app2.body.json()).toEqual({ app: true });
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

describe('toFastifyPlugin with fastify 5', () => {
  it('answers claimed paths and leaves routes and 404s to fastify', async () => {
    const app = Fastify();
    await app.register(toFastifyPlugin(handler));
    app.get('/app', async () => ({ app: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const health = await request(`${base}/health?verbose`);
      expect(health.statusCode).toBe(200);
      expect(health.headers['content-type']).toBe('application/health+json');
      expect(await health.body.json()).toEqual({ status: 'pass' });
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
