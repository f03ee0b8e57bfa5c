import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { jsonResponse } from './json-response.js';
import { composeHandlers, listen } from './listen.js';
import type { OpsHandler } from './types.js';

const get = (url: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    request(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });

describe('listen and composeHandlers', () => {
  it('serves composed handlers on loopback: first answer wins, none answering falls back to 404', async () => {
    const calls: string[] = [];
    const health: OpsHandler = async (incoming) => (
      calls.push('health'),
      incoming.path === '/health' ? jsonResponse(200, { status: 'pass' }) : undefined
    );
    const api: OpsHandler = async (incoming) => (
      calls.push('api'),
      incoming.path === '/api' ? jsonResponse(200, { ok: true }) : undefined
    );
    const server = await listen(composeHandlers(health, api));
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await get(`${server.url}/health`)).toEqual({ status: 200, body: '{"status":"pass"}' });
      expect(calls).toEqual(['health']);
      expect((await get(`${server.url}/api`)).status).toBe(200);
      expect((await get(`${server.url}/nothing`)).status).toBe(404);
    } finally {
      await server.close();
    }
    await expect(get(`${server.url}/health`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('takes a plain node listener too, and reports a port in use', async () => {
    const server = await listen((_incoming, response) => response.end('plain'));
    try {
      expect((await get(server.url)).body).toBe('plain');
      await expect(listen(async () => undefined, { port: server.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await server.close();
    }
  });
});
