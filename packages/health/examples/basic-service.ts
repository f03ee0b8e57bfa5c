import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@ops/core';
import { createHealth, allowBearerToken, memoryProbe, postgresProbe, redisProbe } from '@ops/health';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Registry } from 'prom-client';

export async function startService(options: { databaseUrl: string; redisUrl: string; port?: number; exit?: (code: number) => void }) {
  // connectionTimeoutMillis bounds the application's own waits; the probes never queue more than one request
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10, connectionTimeoutMillis: 5_000 });
  const redis = new Redis(options.redisUrl);
  const metrics = new Registry();

  const health = createHealth({
    registry: metrics,
    showDetails: allowBearerToken(process.env['HEALTH_TOKEN'] ?? 'change-me'),
    service: { serviceId: 'orders-api', version: '1', releaseId: '1.4.2' },
    shutdown: { drainDelay: '5s', exit: options.exit ?? ((code) => process.exit(code)) },
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

  await new Promise<void>((resolve) => server.listen(options.port ?? 8080, '127.0.0.1', resolve));
  health.markReady();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, health };
}
