import type { IncomingHttpHeaders } from 'node:http';
import { startHttpServer, type TestHttpServer } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealingError } from '../errors.js';
import { actionContext } from './action-context.fixture.js';
import { callWebhook } from './call-webhook.js';

let server: TestHttpServer;
const received: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  server = await startHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      if (request.url?.startsWith('/slow')) return void setTimeout(() => response.end('late'), 5_000);
      if (request.url?.startsWith('/fail')) {
        response.statusCode = 503;
        return void response.end('maintenance, token=abc123');
      }
      response.end('ok');
    });
  });
});
afterAll(async () => {
  await server?.close();
});

describe('callWebhook against a local HTTP server', () => {
  it('posts the episode as JSON with the headers, and audits no secret', async () => {
    const action = callWebhook({
      url: `${server.url.replace('http://', 'http://deploy:hunter2@')}/hooks/rollback?token=qwerty`,
      headers: { authorization: 'Bearer top-secret' },
    });
    const outcome = await action.run(actionContext({ target: 'api', trigger: { errorRate: 0.07 } }));
    const request = received.at(-1);
    expect(request?.method).toBe('POST');
    expect(request?.headers['authorization']).toBe('Bearer top-secret');
    expect(JSON.parse(request?.body ?? '{}')).toEqual({
      rule: 'test-rule',
      target: 'api',
      episodeId: 'episode-1',
      trigger: { errorRate: 0.07 },
    });
    expect(outcome?.data).toMatchObject({ method: 'POST', status: 200 });
    const audited = JSON.stringify({ action, outcome });
    for (const secret of ['hunter2', 'top-secret', 'qwerty']) expect(audited).not.toContain(secret);
    expect(outcome?.detail).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/hooks\/rollback → 200/);
  });

  it('fails on a non-2xx answer and on its timeout', async () => {
    const failing = callWebhook({ url: `${server.url}/fail`, method: 'PUT', body: 'rollback' });
    const error = await failing.run(actionContext()).catch((thrown: unknown) => thrown);
    expect(HealingError.hasCode(error, 'ACTION_FAILED')).toBe(true);
    expect((error as Error).message).toContain('answered 503');
    expect(received.at(-1)).toMatchObject({ method: 'PUT', body: 'rollback' });

    const slow = callWebhook({ url: `${server.url}/slow`, timeout: '200ms' });
    const timeout = await slow.run(actionContext()).catch((thrown: unknown) => thrown);
    expect(HealingError.hasCode(timeout, 'ACTION_TIMEOUT')).toBe(true);
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => callWebhook({ url: 'ftp://example.test/x' })).toThrow(/http\(s\)/);
    expect(() => callWebhook({ url: 'not a url' })).toThrow(/absolute/);
  });
});
