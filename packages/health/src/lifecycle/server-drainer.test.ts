import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@ops/core';
import { createManualClock, createRecordingLogger } from '@ops/core/testing';
import { Client, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { createHealth } from '../registry/health.js';

async function eventually(condition: () => boolean | Promise<boolean>, attempts = 300): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition not met within the bounded wait');
}

async function setup(options: { inFlightTimeout?: string } = {}) {
  const clock = createManualClock();
  const exits: number[] = [];
  const logger = createRecordingLogger();
  const health = createHealth({
    clock,
    logger,
    startReady: true,
    shutdown: {
      signals: [],
      exit: (code) => exits.push(code),
      drainDelay: '5s',
      inFlightTimeout: options.inFlightTimeout ?? '10s',
      forceExitAfter: '60s',
    },
  });
  health.register({ name: 'memory', tags: ['live'], check: async () => ({ status: 'pass' }) });
  let releaseSlow: (() => void) | undefined;
  let slowStarted = false;
  const app = (request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/slow') {
      slowStarted = true;
      releaseSlow = () => response.end('slow done');
      return;
    }
    response.end('app');
  };
  const server = createServer(toNodeHandler(health.handler, { fallback: app }));
  health.attachServer(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const order: string[] = [];
  health.onShutdown('http clients', () => order.push('first'));
  health.onShutdown('database pool', () => order.push('second'));
  return {
    clock,
    exits,
    logger,
    health,
    server,
    base,
    order,
    release: () => releaseSlow?.(),
    slowStarted: () => slowStarted,
  };
}

describe('graceful shutdown of a real node:http server', () => {
  it('fails readiness at once, keeps liveness, drains keep-alive clients, waits for in-flight work, runs hooks in order, exits 0', async () => {
    const { clock, exits, health, server, base, order, release, slowStarted } = await setup();
    const keepAlive = new Client(base, { keepAliveTimeout: 60_000 });
    const warm = await keepAlive.request({ path: '/health/live', method: 'GET' });
    expect(warm.statusCode).toBe(200);
    await warm.body.dump();

    const slow = request(`${base}/slow`);
    await eventually(slowStarted);
    const done = health.shutdown('test');

    const ready = await request(`${base}/health/ready`);
    expect(ready.statusCode).toBe(503);
    expect(ready.headers['connection']).toBe('close');
    expect(await ready.body.json()).toEqual({ status: 'fail', output: 'shutting down' });
    const live = await request(`${base}/health/live`);
    expect(live.statusCode).toBe(200);
    await live.body.dump();

    await clock.advanceAsync(5_000);
    await eventually(() => !server.listening);
    await expect(request(`${base}/health/live`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(order).toEqual([]);

    release();
    const slowResponse = await slow;
    expect(slowResponse.statusCode).toBe(200);
    expect(slowResponse.headers['connection']).toBe('close');
    expect(await slowResponse.body.text()).toBe('slow done');
    expect(await done).toBe(0);
    expect(order).toEqual(['first', 'second']);
    expect(exits).toEqual([0]);
    // the idle keep-alive socket was closed too: nothing holds the server open
    await eventually(
      () => new Promise<boolean>((resolve) => server.getConnections((_error, count) => resolve(count === 0))),
    );
    await keepAlive.close();
  });

  it('cuts connections still busy after the in-flight limit, then runs hooks', async () => {
    const { clock, exits, health, base, order, slowStarted, logger } = await setup({ inFlightTimeout: '2s' });
    const slow = request(`${base}/slow`).catch((error: unknown) => error);
    await eventually(slowStarted);
    const done = health.shutdown();
    await clock.advanceAsync(5_000);
    await clock.advanceAsync(2_000);
    expect(await slow).toBeInstanceOf(Error);
    expect(await done).toBe(0);
    expect(order).toEqual(['first', 'second']);
    expect(exits).toEqual([0]);
    expect(logger.records.some((record) => record.message?.includes('connections cut'))).toBe(true);
  });

  it('standalone port: health.listen serves the endpoints and is drained too', async () => {
    const clock = createManualClock();
    const exits: number[] = [];
    const health = createHealth({
      clock,
      startReady: true,
      shutdown: { signals: [], exit: (code) => exits.push(code), drainDelay: '1s' },
    });
    const probeServer = await health.listen({ port: 0, host: '127.0.0.1' });
    const response = await request(`${probeServer.url}/health/ready`);
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    const done = health.shutdown();
    await clock.advanceAsync(1_000);
    expect(await done).toBe(0);
    expect(probeServer.server.listening).toBe(false);
  });

  it('standalone port: without a host it binds every interface (kubelet reaches it), and close() ends keep-alives', async () => {
    const health = createHealth({ startReady: true, shutdown: { signals: [], exit: () => undefined } });
    const probeServer = await health.listen();
    try {
      expect(['::', '0.0.0.0']).toContain((probeServer.server.address() as AddressInfo).address);
      const client = new Client(`http://127.0.0.1:${probeServer.port}`, { keepAliveTimeout: 60_000 });
      const response = await client.request({ method: 'GET', path: '/health/live' });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
      await probeServer.close();
      expect(probeServer.server.listening).toBe(false);
      await client.close();
    } finally {
      health.close();
      await probeServer.close();
    }
  });

  it('standalone port: health.close() closes the server health.listen() started (a process that only closes can exit)', async () => {
    const health = createHealth({ startReady: true, shutdown: { signals: [], exit: () => undefined } });
    const probeServer = await health.listen({ port: 0, host: '127.0.0.1' });
    const client = new Client(probeServer.url, { keepAliveTimeout: 60_000 });
    try {
      const response = await client.request({ method: 'GET', path: '/health/live' });
      await response.body.dump();
      const closed = once(probeServer.server, 'close');
      health.close();
      await closed; // every socket, the idle keep-alive one included, is gone
      expect(probeServer.server.listening).toBe(false);
      await expect(health.listen({ port: 0, host: '127.0.0.1' })).rejects.toThrow('health is closed');
    } finally {
      await client.close();
      await probeServer.close();
    }
  });
});
