// A server for the /health/ready throughput benchmark: `ours` (10 polled checks incl. real PostgreSQL and Redis),
// `adapter` (the same checks, toNodeHandler around a constant handler), `checks-bare` (the same checks, the bare
// listener) or `bare` (a constant body, no checks). Sends { port } to the parent when listening, answers 'usage' with { cpuMicros, requests }; exits on SIGTERM.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@ops/core';
import {
  createHealth,
  diskProbe,
  eventLoopProbe,
  functionProbe,
  memoryProbe,
  postgresProbe,
  redisProbe,
} from '@ops/health';
import { Redis } from 'ioredis';
import pg from 'pg';

const mode = process.env['BENCH_MODE'];
let listener: Parameters<typeof createServer>[1];
let cleanup = async () => undefined as unknown;

if (mode === 'bare') {
  const body = '{"status":"pass"}';
  listener = (_request, response) => {
    response.writeHead(200, {
      'content-type': 'application/health+json',
      'cache-control': 'no-store',
      'content-length': body.length,
    });
    response.end(body);
  };
} else {
  const pool = new pg.Pool({ connectionString: process.env['BENCH_PG_URL'], max: 2 });
  const redis = new Redis(process.env['BENCH_REDIS_URL'] as string, { commandTimeout: 1_000 });
  const health = createHealth({ startReady: true, mode: { every: '1s' }, shutdown: { signals: [] } });
  const loop = eventLoopProbe();
  health.register({ name: 'db', check: postgresProbe({ pool }) });
  health.register({ name: 'cache', check: redisProbe({ redis }) });
  health.register({ name: 'memory', check: memoryProbe(), tags: ['live', 'ready'] });
  health.register({ name: 'event-loop', check: loop });
  health.register({ name: 'disk', check: diskProbe({ path: '/' }) });
  for (let index = 1; index <= 5; index++)
    health.register({ name: `feature-${index}`, check: functionProbe(() => true) });
  await health.ready();
  listener = toNodeHandler(health.handler);
  if (mode === 'checks-bare') {
    // Same process and background checks as `ours`, answered by the bare listener: the cost of the polling alone.
    const body = '{"status":"pass"}';
    listener = (_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/health+json',
        'cache-control': 'no-store',
        'content-length': body.length,
      });
      response.end(body);
    };
  }
  if (mode === 'adapter') {
    // Same process and background checks as `ours`, but toNodeHandler around a constant handler: separates the
    // cost of @ops/core's node adapter (plus the background polling) from the health handler's.
    const constant = {
      status: 200,
      headers: { 'content-type': 'application/health+json', 'cache-control': 'no-store' },
      body: '{"status":"pass"}',
    };
    listener = toNodeHandler(async () => constant);
  }
  cleanup = async () => {
    health.close();
    loop.close();
    await pool.end();
    redis.disconnect();
  };
}

let requests = 0;
const counted: Parameters<typeof createServer>[1] = (request, response) => {
  requests++;
  listener?.(request, response);
};
const server = createServer(counted);
// `usage` over IPC: CPU time of this process so far and the requests it received (the parent takes deltas).
process.on('message', (message) => {
  if (message === 'usage') {
    const cpu = process.cpuUsage();
    process.send?.({ cpuMicros: cpu.user + cpu.system, requests });
  }
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void cleanup().finally(() => process.exit(0));
});
