import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@ops/core';
import { allowBearerToken, createHealth, memoryProbe, postgresProbe, redisProbe } from '@ops/health';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Registry } from 'prom-client';

// Configuration and secrets come from the environment, with no default: a default token is one everybody knows.
function requireEnv(name: string, what: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: export ${what}`);
  return value;
}
const databaseUrl = requireEnv('DATABASE_URL', 'the PostgreSQL connection string, e.g. postgres://app@127.0.0.1:5432/app');
const redisUrl = requireEnv('REDIS_URL', 'the Redis URL, e.g. redis://127.0.0.1:6379');
const healthToken = requireEnv('HEALTH_TOKEN', 'the bearer token that may read check details, e.g. HEALTH_TOKEN=$(openssl rand -hex 32)');

// connectionTimeoutMillis bounds the application's own waits; the probes never queue more than one request
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 5_000 });
const redis = new Redis(redisUrl);
const metrics = new Registry();

const health = createHealth({
  registry: metrics,
  showDetails: allowBearerToken(healthToken),
  service: { serviceId: 'orders-api', version: '1', releaseId: '1.4.2' },
  shutdown: { drainDelay: '5s' },
});
health.register({ name: 'db', check: postgresProbe({ pool, deep: { connectionsWarnRatio: 0.8 } }), mode: { every: '5s' } });
health.register({ name: 'cache', check: redisProbe({ redis }), critical: false, mode: { every: '5s' } });
health.register({ name: 'memory', check: memoryProbe({ maxRssBytes: 1.5 * 2 ** 30 }), tags: ['live', 'ready'] });

const app = toNodeHandler(health.handler, {
  fallback: (request, response) => {
    if (request.url === '/metrics') {
      void metrics.metrics().then((text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end('orders\n');
  },
});
const server = createServer(app);
health.attachServer(server);
health.onShutdown('redis', () => redis.quit());
health.onShutdown('postgres pool', () => pool.end());

await new Promise<void>((resolve) => server.listen(Number(process.env['PORT'] ?? 8080), '127.0.0.1', resolve));
health.markReady();

// Try it: ask the endpoints once, then shut down as on SIGTERM. A real service stops here and keeps serving.
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const ready = await fetch(`${url}/health/ready`);
console.log(`GET /health/ready → ${ready.status} ${await ready.text()}`);
const verbose = await fetch(`${url}/health?verbose`, { headers: { authorization: `Bearer ${healthToken}` } });
const { checks } = (await verbose.json()) as { checks: Record<string, unknown> };
console.log(`GET /health?verbose → checks ${Object.keys(checks).sort().join(', ')}`);
const exposition = await (await fetch(`${url}/metrics`)).text();
console.log(`GET /metrics → ${exposition.split('\n').find((line) => line.startsWith('ops_health_check_status{check="db",status="pass"}'))}`);
console.log(`GET /orders → ${(await (await fetch(`${url}/orders`)).text()).trim()}`);
await health.shutdown('quick start finished'); // readiness fails, the server drains, the hooks run, then exit(0)
