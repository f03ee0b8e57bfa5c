import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { observeNodeExchange } from '@ops/core';
import { createSloRequestObserver, createSloTracker } from '@ops/slo';
import autocannon from 'autocannon';
import { compareRow, opsPerSecond, stats, type BenchRow, type BenchSuite } from '../harness.js';

/** CPU cost (µs) of observing one exchange in-process: observeNodeExchange + createSloRequestObserver, two SLOs. */
function observerCostMicros(): number[] {
  const tracker = createSloTracker({
    slos: [
      { service: 'bench', name: 'availability', objective: 0.999, sli: { type: 'availability' }, groupBy: ['route'] },
      { service: 'bench', name: 'latency', objective: 0.99, sli: { type: 'latency', threshold: '100ms' } },
    ],
  });
  const observer = createSloRequestObserver({ tracker, availability: 'availability', latency: 'latency' });
  const options = { observer, route: () => '/' };
  const request = { method: 'GET', url: '/' } as IncomingMessage;
  const withObserver = opsPerSecond(
    () => {
      const response = Object.assign(new EventEmitter(), {
        statusCode: 200,
        writableFinished: true,
      }) as unknown as ServerResponse;
      observeNodeExchange(request, response, options);
      response.emit('close');
    },
    { batchSize: 100_000, samples: 9 },
  );
  // The same loop without the observer, to subtract the cost of the stand-in response object.
  const without = opsPerSecond(
    () => {
      const response = Object.assign(new EventEmitter(), { statusCode: 200, writableFinished: true });
      response.on('close', () => undefined);
      response.emit('close');
    },
    { batchSize: 100_000, samples: 9 },
  );
  return withObserver.map((rate, index) => 1e6 / rate - 1e6 / (without[index] as number));
}

const ROUNDS = 10;
const DURATION_SECONDS = 3;
const CONNECTIONS = 10;

interface Server {
  url: string;
  usage(): Promise<{ cpuMicros: number; requests: number }>;
  stop(): Promise<void>;
}

async function startServer(mode: 'bare' | 'observed'): Promise<Server> {
  const file = fileURLToPath(new URL('./servers/hello-server.ts', import.meta.url));
  const child = fork(file, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_MODE: mode },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('hello-server did not start within 30 s')), 30_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve((message as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`hello-server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    usage: () =>
      new Promise((resolve) => {
        child.once('message', (message) => resolve(message as { cpuMicros: number; requests: number }));
        child.send('usage');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function load(url: string, durationSeconds: number): Promise<{ rps: number; p99: number; errors: number }> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: durationSeconds });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

const suite: BenchSuite = {
  name: 'slo-middleware',
  description: `Hello-world node:http server with and without observeNodeRequests + createSloRequestObserver (availability SLO grouped by route and a latency SLO), each in its own child process; autocannon ${CONNECTIONS} connections × ${DURATION_SECONDS} s, ${ROUNDS} alternating rounds on 127.0.0.1.`,
  async run(): Promise<BenchRow[]> {
    const observed = await startServer('observed');
    const bare = await startServer('bare');
    const observedRps: number[] = [];
    const bareRps: number[] = [];
    const observedP99: number[] = [];
    const bareP99: number[] = [];
    const observedCpu: number[] = [];
    const bareCpu: number[] = [];
    let errors = 0;
    try {
      await load(observed.url, 1);
      await load(bare.url, 1);
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which goes first, so drift in machine load hits both sides.
        const order = round % 2 === 0 ? ([observed, bare] as const) : ([bare, observed] as const);
        for (const server of order) {
          const before = await server.usage();
          const result = await load(server.url, DURATION_SECONDS);
          const after = await server.usage();
          (server === observed ? observedCpu : bareCpu).push(
            (after.cpuMicros - before.cpuMicros) / Math.max(1, after.requests - before.requests),
          );
          errors += result.errors;
          (server === observed ? observedRps : bareRps).push(result.rps);
          (server === observed ? observedP99 : bareP99).push(result.p99);
        }
      }
    } finally {
      await observed.stop();
      await bare.stop();
    }
    const group = 'SLO middleware overhead (hello world, node:http)';
    const observerMicros = observerCostMicros();
    const bareCpuMedian = stats(bareCpu).median;
    const implied = observerMicros.map((micros) => bareCpuMedian / (bareCpuMedian + micros));
    return [
      {
        group,
        metric: 'observer CPU per request (in-process)',
        unit: 'µs',
        ours: stats(observerMicros),
        higherIsBetter: false,
        notes:
          'observeNodeExchange + createSloRequestObserver (availability by route + latency) on a stand-in response, stand-in cost subtracted',
      },
      {
        group,
        metric: 'implied throughput ratio (bare CPU / (bare CPU + observer CPU))',
        unit: '×',
        ours: stats(implied),
        higherIsBetter: true,
        target: '≥ 0.95',
        met: stats(implied).median >= 0.95,
        notes: 'derived from the two CPU figures; steadier than req/s on a shared 2-core machine',
      },
      compareRow(
        {
          group,
          metric: 'throughput with / without',
          unit: 'req/s',
          ours: stats(observedRps),
          peer: { ...stats(bareRps), name: 'same server without middleware' },
          higherIsBetter: true,
          target: '≥ 0.95× without',
          notes: `errors or non-2xx: ${errors}`,
        },
        { atLeast: 0.95 },
      ),
      compareRow(
        {
          group,
          metric: 'server CPU time per request',
          unit: 'µs',
          ours: stats(observedCpu),
          peer: { ...stats(bareCpu), name: 'same server without middleware' },
          higherIsBetter: false,
          target: '≤ 1.053× (≡ ≥ 0.95× throughput when CPU-bound)',
          notes: 'process.cpuUsage() of the server child around each run; steadier than req/s on a shared machine',
        },
        { atMost: 1 / 0.95 },
      ),
      compareRow({
        group,
        metric: 'p99 latency',
        unit: 'ms',
        ours: stats(observedP99),
        peer: { ...stats(bareP99), name: 'same server without middleware' },
        higherIsBetter: false,
      }),
    ];
  },
};

export default suite;
