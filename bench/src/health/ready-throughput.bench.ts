import { createPostgresDatabase, createRedisNamespace } from '@ops/testkit';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';
import { load, startChildServer, type ChildServer } from './support.js';

const ROUNDS = 8;
const DURATION_SECONDS = 3;
const CONNECTIONS = 10;
const IDLE_SECONDS = 3;

type Mode = 'ours' | 'adapter' | 'checks-bare' | 'bare';

/**
 * CPU time (µs) the server used per second while nobody called it (the background polling of its checks), after a
 * one-second settle so the tail of the previous load is not counted.
 */
async function idleCpuPerSecond(server: ChildServer): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = await server.usage();
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
  const after = await server.usage();
  return (after.cpuMicros - before.cpuMicros) / IDLE_SECONDS;
}

const suite: BenchSuite = {
  name: 'health-ready-throughput',
  description: `GET /health/ready of @ops/health (10 checks in polled mode every 1 s: real PostgreSQL SELECT 1, Redis PING, memory, event loop, disk, 5 functions; node:http + toNodeHandler) against a bare node:http handler answering the same constant health+json bytes, and, to split the gap, against the same server with toNodeHandler around a constant handler ('adapter') and with the bare listener ('checks-bare'). Each server runs in its own child process; autocannon (${CONNECTIONS} connections, ${DURATION_SECONDS} s) in the parent, ${ROUNDS} rounds in rotating order on 127.0.0.1; server CPU from process.cpuUsage() of each child around each run.`,
  async run(): Promise<BenchRow[]> {
    const database = await createPostgresDatabase();
    const namespace = await createRedisNamespace();
    const environment = { BENCH_PG_URL: database.connectionString, BENCH_REDIS_URL: namespace.url };
    const servers: Record<Mode, ChildServer> = {
      ours: await startChildServer('ready-server', { ...environment, BENCH_MODE: 'ours' }),
      adapter: await startChildServer('ready-server', { ...environment, BENCH_MODE: 'adapter' }),
      'checks-bare': await startChildServer('ready-server', { ...environment, BENCH_MODE: 'checks-bare' }),
      bare: await startChildServer('ready-server', { ...environment, BENCH_MODE: 'bare' }),
    };
    const modes: Mode[] = ['ours', 'adapter', 'checks-bare', 'bare'];
    const rps: Record<Mode, number[]> = { ours: [], adapter: [], 'checks-bare': [], bare: [] };
    const p99: Record<Mode, number[]> = { ours: [], adapter: [], 'checks-bare': [], bare: [] };
    const cpu: Record<Mode, number[]> = { ours: [], adapter: [], 'checks-bare': [], bare: [] };
    const idle: Record<Mode, number[]> = { ours: [], adapter: [], 'checks-bare': [], bare: [] };
    let non2xx = 0;
    try {
      for (const mode of modes)
        await load(`${servers[mode].url}/health/ready`, { connections: CONNECTIONS, durationSeconds: 1 });
      for (const mode of modes) idle[mode].push(await idleCpuPerSecond(servers[mode]));
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate which goes first, so drift in machine load hits every server alike.
        for (let offset = 0; offset < modes.length; offset++) {
          const mode = modes[(round + offset) % modes.length] as Mode;
          const server = servers[mode];
          const before = await server.usage();
          const result = await load(`${server.url}/health/ready`, {
            connections: CONNECTIONS,
            durationSeconds: DURATION_SECONDS,
          });
          const after = await server.usage();
          if (mode === 'ours' || mode === 'adapter') non2xx += result.non2xx + result.errors;
          rps[mode].push(result.requestsPerSecond);
          p99[mode].push(result.p99Ms);
          cpu[mode].push((after.cpuMicros - before.cpuMicros) / Math.max(1, after.requests - before.requests));
        }
      }
      for (const mode of modes) idle[mode].push(await idleCpuPerSecond(servers[mode]));
    } finally {
      for (const mode of modes) await servers[mode].stop();
      await namespace.dispose();
      await database.dispose();
    }
    const group = '/health/ready (10 polled checks) vs bare node:http';
    const bare = { name: 'bare node:http constant' };
    const cpuNotes =
      'process.cpuUsage() of the server child around each run ÷ requests it received; steadier than req/s on a shared 2-core machine';
    return [
      compareRow(
        {
          group,
          metric: 'throughput',
          unit: 'req/s',
          ours: stats(rps.ours),
          peer: { ...stats(rps.bare), ...bare },
          higherIsBetter: true,
          target: '≥ 0.8× bare handler',
          notes: `non-2xx or errors from ours/adapter: ${non2xx}`,
        },
        { atLeast: 0.8 },
      ),
      compareRow(
        {
          group,
          metric: 'server CPU time per request',
          unit: 'µs',
          ours: stats(cpu.ours),
          peer: { ...stats(cpu.bare), ...bare },
          higherIsBetter: false,
          target: '≤ 1.25× (≡ ≥ 0.8× throughput when CPU-bound)',
          notes: cpuNotes,
        },
        { atMost: 1.25 },
      ),
      compareRow({
        group,
        metric: 'server CPU per request: toNodeHandler around a constant handler, same background checks',
        unit: 'µs',
        ours: stats(cpu.adapter),
        peer: { ...stats(cpu.bare), ...bare },
        higherIsBetter: false,
        notes:
          "'adapter' server: what the gap is without the health handler (node adapter of @ops/core + background polling)",
      }),
      compareRow({
        group,
        metric: 'server CPU per request: bare listener, same background checks',
        unit: 'µs',
        ours: stats(cpu['checks-bare']),
        peer: { ...stats(cpu.bare), ...bare },
        higherIsBetter: false,
        notes: "'checks-bare' server: the background polling's share of the gap",
      }),
      compareRow({
        group,
        metric: 'adapter-server throughput',
        unit: 'req/s',
        ours: stats(rps.adapter),
        peer: { ...stats(rps.bare), ...bare },
        higherIsBetter: true,
      }),
      compareRow({
        group,
        metric: 'idle server CPU (background polling)',
        unit: 'µs/s',
        ours: stats(idle.ours),
        peer: { ...stats(idle.bare), ...bare },
        higherIsBetter: false,
        notes: `CPU over ${IDLE_SECONDS} s without requests (1 s after the warm-up and after the last round)`,
      }),
      compareRow({
        group,
        metric: 'p99 latency',
        unit: 'ms',
        ours: stats(p99.ours),
        peer: { ...stats(p99.bare), ...bare },
        higherIsBetter: false,
      }),
    ];
  },
};

export default suite;
