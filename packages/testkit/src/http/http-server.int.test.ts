import { request } from 'undici';
import { describe, expect, it } from 'vitest';

import { startHttpServer } from './http-server.js';

describe('startHttpServer', () => {
  it('serves real HTTP on a loopback ephemeral port', async () => {
    const server = await startHttpServer((incoming, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ method: incoming.method, path: incoming.url }));
    });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      expect(server.port).toBeGreaterThan(0);
      const response = await request(`${server.url}/health?verbose=1`);
      expect(response.statusCode).toBe(200);
      expect(await response.body.json()).toEqual({ method: 'GET', path: '/health?verbose=1' });
    } finally {
      await server.close();
    }
    await expect(request(server.url)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('turns a failing async handler into a 500 instead of crashing the test process', async () => {
    const server = await startHttpServer(async () => {
      throw new Error('handler exploded');
    });
    try {
      const response = await request(server.url);
      expect(response.statusCode).toBe(500);
      expect(await response.body.text()).toContain('handler exploded');
    } finally {
      await server.close();
    }
  });

  it('closes even while a client keeps a connection open', async () => {
    const server = await startHttpServer((_incoming, response) => {
      response.writeHead(200);
      response.write('partial');
      // Never ends the response.
    });
    const pending = request(server.url).then((response) => response.body.text());
    await new Promise((resolve) => server.server.once('request', resolve));
    await server.close();
    await expect(pending).rejects.toThrow();
  });
});
