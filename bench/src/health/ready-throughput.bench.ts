import { createPostgresDatabase, createRedisNamespace } from '@ops/testkit';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';
import { load, startChildServer } from './support.js';

const ROUNDS = 10;
const DURATION_SECONDS = 2;
const CONNECTIONS = 10;

const suite: BenchSuite = {
  name: 'health-ready-throughput',
  description:
    `GET /health/ready of @ops/health (10 checks in polled mode: real PostgreSQL SELECT 1, Redis PING, memory, event loop, disk, 5 functions; node:http + toNodeHandler) against a bare node:http handler answering a constant health+json body. Each server runs in its own child process; autocannon (${CONNECTIONS} connections, ${DURATION_SECONDS} s) in the parent, ${ROUNDS} alternating rounds on 127.0.0.1.`,
  async run(): Promise<BenchRow[]> {
    const database = await createPostgresDatabase();
    const namespace = await createRedisNamespace();
    const environment = { BENCH_PG_URL: database.connectionString, BENCH_REDIS_URL: namespace.url };
    const ours = await startChildServer('ready-server', { ...environment, BENCH_MODE: 'ours' });
    const bare = await startChildServer('ready-server', { ...environment, BENCH_MODE: 'bare' });
    const oursRps: number[] = [];
    const bareRps: number[] = [];
    const oursP99: number[] = [];
    const bareP99: number[] = [];
    let non2xx = 0;
    try {
      // warm-up of both
      await load(`${ours.url}/health/ready`, { connections: CONNECTIONS, durationSeconds: 1 });
      await load(`${bare.url}/health/ready`, { connections: CONNECTIONS, durationSeconds: 1 });
      for (let round = 0; round < ROUNDS; round++) {
        const a = await load(`${ours.url}/health/ready`, { connections: CONNECTIONS, durationSeconds: DURATION_SECONDS });
        const b = await load(`${bare.url}/health/ready`, { connections: CONNECTIONS, durationSeconds: DURATION_SECONDS });
        non2xx += a.non2xx + a.errors;
        oursRps.push(a.requestsPerSecond);
        bareRps.push(b.requestsPerSecond);
        oursP99.push(a.p99Ms);
        bareP99.push(b.p99Ms);
      }
    } finally {
      await ours.stop();
      await bare.stop();
      await namespace.dispose();
      await database.dispose();
    }
    const group = '/health/ready (10 polled checks) vs bare node:http';
    return [
      compareRow(
        { group, metric: 'throughput', unit: 'req/s', ours: stats(oursRps), peer: { ...stats(bareRps), name: 'bare node:http constant' }, higherIsBetter: true, target: '≥ 0.8× bare handler', notes: `non-2xx or errors from ours: ${non2xx}` },
        { atLeast: 0.8 },
      ),
      compareRow({ group, metric: 'p99 latency', unit: 'ms', ours: stats(oursP99), peer: { ...stats(bareP99), name: 'bare node:http constant' }, higherIsBetter: false }),
    ];
  },
};

export default suite;
