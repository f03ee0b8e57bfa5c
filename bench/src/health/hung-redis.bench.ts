import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@ops/core';
import { createHealth, redisProbe } from '@ops/health';
import { startThrowawayRedis } from '@ops/testkit';
import { createTerminus } from '@godaddy/terminus';
import { Redis } from 'ioredis';
import { stats, type BenchRow, type BenchSuite } from '../harness.js';
import { load, type LoadResult } from './support.js';

const DEADLINE_MS = 250;
const DURATION_SECONDS = 10;
const CONNECTIONS = 10;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const suite: BenchSuite = {
  name: 'health-hung-redis',
  description: `p99 latency of GET /health/ready while the Redis server is frozen with SIGSTOP (a throwaway redis-server; the app's ioredis client has no commandTimeout), autocannon ${CONNECTIONS} connections for ${DURATION_SECONDS} s on 127.0.0.1. @ops/health: redisProbe with a ${DEADLINE_MS} ms deadline, on demand (TTL 1 s, single flight) and polled (every 1 s). Peer: @godaddy/terminus with the same PING as its health check (it has no per-check deadline; autocannon gives up after 2 s).`,
  async run(): Promise<BenchRow[]> {
    const redisServer = await startThrowawayRedis();
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    const results: Record<string, LoadResult> = {};
    try {
      await redis.ping();
      for (const mode of ['on-demand', 'polled'] as const) {
        const health = createHealth({ startReady: true, shutdown: { signals: [] } });
        health.register({
          name: 'cache',
          check: redisProbe({ redis }),
          timeout: DEADLINE_MS,
          mode: mode === 'polled' ? { every: '1s' } : { ttl: '1s' },
        });
        await health.ready();
        const server = createServer(toNodeHandler(health.handler));
        const url = `${await listen(server)}/health/ready`;
        redisServer.pause();
        try {
          results[mode] = await load(url, {
            connections: CONNECTIONS,
            durationSeconds: DURATION_SECONDS,
            timeoutSeconds: 2,
          });
        } finally {
          redisServer.resume();
          health.close();
          await close(server);
        }
      }
      const server = createServer((_request, response) => response.end('app'));
      createTerminus(server, {
        healthChecks: { '/health/ready': async () => void (await redis.ping()) },
        signals: [],
        useExit0: true,
      });
      const url = `${await listen(server)}/health/ready`;
      redisServer.pause();
      try {
        results['terminus'] = await load(url, {
          connections: CONNECTIONS,
          durationSeconds: DURATION_SECONDS,
          timeoutSeconds: 2,
        });
      } finally {
        redisServer.resume();
        await close(server);
      }
    } finally {
      redis.disconnect();
      await redisServer.dispose();
    }
    const describe = (result: LoadResult | undefined) =>
      result
        ? `${result.requests} answered (${result.non2xx} non-2xx), ${result.timeouts} timed out, p50 ${result.p50Ms} ms, max ${result.maxMs} ms`
        : 'not measured';
    const rows: BenchRow[] = [];
    for (const mode of ['on-demand', 'polled'] as const) {
      const ours = results[mode] as LoadResult;
      const terminus = results['terminus'] as LoadResult;
      rows.push({
        group: `/health/ready with Redis frozen (SIGSTOP), deadline ${DEADLINE_MS} ms`,
        metric: `p99 latency, ${mode}`,
        unit: 'ms',
        ours: stats([ours.p99Ms]),
        // terminus answers nothing while Redis is frozen: every request hits the 2 s client timeout.
        peer: {
          ...stats([terminus.requests === 0 ? 2_000 : terminus.p99Ms]),
          name: '@godaddy/terminus 4.12.1 (no deadline; client timeout 2 s)',
        },
        higherIsBetter: false,
        target: `p99 ≤ deadline (${DEADLINE_MS} ms) + 50 ms`,
        met: ours.p99Ms <= DEADLINE_MS + 50 && ours.timeouts === 0,
        notes: `ours: ${describe(ours)}; terminus: ${describe(terminus)}`,
      });
    }
    return rows;
  },
};

export default suite;
