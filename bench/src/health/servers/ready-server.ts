// A server for the /health/ready throughput benchmark: `ours` (10 polled checks incl. real PostgreSQL and Redis)
// or `bare` (a constant body). Sends { port } to the parent when listening; exits on SIGTERM.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@ops/core';
import { createHealth, diskProbe, eventLoopProbe, functionProbe, memoryProbe, postgresProbe, redisProbe } from '@ops/health';
import { Redis } from 'ioredis';
import pg from 'pg';

const mode = process.env['BENCH_MODE'];
let listener: Parameters<typeof createServer>[1];
let cleanup = async () => undefined as unknown;

if (mode === 'bare') {
  const body = '{"status":"pass"}';
  listener = (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/health+json', 'cache-control': 'no-store', 'content-length': body.length });
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
  for (let index = 1; index <= 5; index++) health.register({ name: `feature-${index}`, check: functionProbe(() => true) });
  await health.ready();
  listener = toNodeHandler(health.handler);
  cleanup = async () => {
    health.close();
    loop.close();
    await pool.end();
    redis.disconnect();
  };
}

const server = createServer(listener);
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void cleanup().finally(() => process.exit(0));
});
