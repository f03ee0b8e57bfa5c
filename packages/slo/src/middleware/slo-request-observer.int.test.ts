import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import {
  createManualClock,
  observeExpressRequests,
  observeFastifyRequests,
  observeFetchRequests,
  observeNodeRequests,
} from '@ops/core';
import express from 'express';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createSloTracker } from '../engine/slo-tracker.js';
import { createSloRequestObserver } from './slo-request-observer.js';

function setup() {
  const clock = createManualClock(Date.UTC(2026, 5, 1));
  const tracker = createSloTracker({
    clock,
    slos: [
      { service: 'api', name: 'availability', objective: 0.99, sli: { type: 'availability' }, groupBy: ['route'] },
      { service: 'api', name: 'latency', objective: 0.95, sli: { type: 'latency', threshold: '100ms' } },
    ],
  });
  const observer = createSloRequestObserver({ tracker, availability: 'availability', latency: 'latency' });
  return { clock, tracker, observer };
}

async function hit(base: string, paths: string[]): Promise<void> {
  for (const path of paths) await (await fetch(`${base}${path}`)).text();
}

describe('createSloRequestObserver with real servers', () => {
  it('node:http: 5xx are bad, 4xx good, slow requests miss the latency SLO', async () => {
    const { clock, tracker, observer } = setup();
    const server = createServer(
      observeNodeRequests(
        (request, response) => {
          if (request.url === '/slow') clock.advance(150);
          response.statusCode = request.url === '/error' ? 502 : request.url === '/missing' ? 404 : 200;
          response.end();
        },
        { observer, clock, route: ({ path }) => path },
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await hit(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, ['/ok', '/error', '/missing', '/slow']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(tracker.status('availability').events).toEqual({ good: 3, bad: 1, total: 4 });
    expect(tracker.status('availability', { labels: { route: '/error' } }).events.bad).toBe(1);
    // /error is bad for latency too (a failed request is not a fast success); /slow took 150ms > 100ms.
    expect(tracker.status('latency').events).toEqual({ good: 2, bad: 2, total: 4 });
  });

  it('Express: labels events with the route template', async () => {
    const { tracker, observer } = setup();
    const app = express();
    app.use(observeExpressRequests({ observer }));
    app.get('/users/:id', (request, response) => {
      response.status(request.params.id === '0' ? 500 : 200).send('x');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      await hit(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, [
        '/users/1',
        '/users/2',
        '/users/0',
        '/nope',
      ]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(tracker.labelSets('availability')).toEqual([{ route: '/users/:id' }, { route: '/nope' }]);
    expect(tracker.status('availability', { labels: { route: '/users/:id' } }).events).toEqual({
      good: 2,
      bad: 1,
      total: 3,
    });
  });

  it('Fastify: labels events with the route template', async () => {
    const { tracker, observer } = setup();
    const app = Fastify();
    await app.register(observeFastifyRequests({ observer }));
    app.get('/items/:id', async (request, reply) =>
      reply.code((request.params as { id: string }).id === 'x' ? 503 : 200).send({ ok: true }),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await hit(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, ['/items/1', '/items/x']);
    } finally {
      await app.close();
    }
    expect(tracker.labelSets('availability')).toEqual([{ route: '/items/:id' }]);
    expect(tracker.status('availability').events).toEqual({ good: 1, bad: 1, total: 2 });
  });

  it('fetch handler: a thrown error counts as bad', async () => {
    const { tracker, observer } = setup();
    const handler = observeFetchRequests(
      async (request) => {
        if (request.url.endsWith('/throw')) throw new Error('handler failed');
        return new Response('ok');
      },
      { observer },
    );
    await handler(new Request('http://127.0.0.1/a'));
    await expect(handler(new Request('http://127.0.0.1/throw'))).rejects.toThrow('handler failed');
    expect(tracker.status('availability').events).toEqual({ good: 1, bad: 1, total: 2 });
  });
});
