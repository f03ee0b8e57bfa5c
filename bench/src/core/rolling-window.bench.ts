import { createRollingWindow } from '@ops/core';
import { Counter, Histogram, Registry } from 'prom-client';
import { compareRow, interleavedOpsPerSecond, stats, type BenchRow, type BenchSuite } from '../harness.js';

const suite: BenchSuite = {
  name: 'core-rolling-window',
  description:
    'RollingWindow.record() (count, sum, min/max, good/bad into a 5m window of 10s buckets, system clock) against prom-client Counter.inc() and Histogram.observe() (default buckets), interleaved round by round in one process.',
  async run(): Promise<BenchRow[]> {
    const registry = new Registry();
    const counter = new Counter({ name: 'bench_requests_total', help: 'bench', registers: [registry] });
    const histogram = new Histogram({ name: 'bench_latency_seconds', help: 'bench', registers: [registry] });
    const window = createRollingWindow({ window: '5m', bucket: '10s' });
    // Values spread over the histogram's default buckets (5 ms … 10 s) so observe() walks a realistic distance.
    const values = Float64Array.from({ length: 1024 }, (_, index) => ((index * 7919) % 1000) / 100);

    let clockSink = 0;
    const samples = interleavedOpsPerSecond(
      {
        record: (index) => window.record(values[index & 1023] as number, { good: (index & 15) !== 0 }),
        counterInc: () => counter.inc(),
        histogramObserve: (index) => histogram.observe(values[index & 1023] as number),
        clockRead: () => void (clockSink += Date.now()),
      },
      { batchSize: 200_000, samples: 15, warmupRounds: 3 },
    );
    // Keep the results observable so no candidate's work can be optimised away.
    const sink = window.query().count + (await counter.get()).values.length + (await histogram.get()).values.length;
    if (!(sink > 0) || !(clockSink > 0)) throw new Error('benchmark produced no data');

    const ours = stats(samples.record);
    const queryWindow = createRollingWindow({ window: '30d', bucket: '1h' });
    for (let hour = 0; hour < 720; hour++)
      queryWindow.add({ count: 100, good: 99, bad: 1 }, Date.now() - hour * 3_600_000);
    let total = 0;
    const querySamples = interleavedOpsPerSecond(
      { query: () => void (total += queryWindow.query().count) },
      { batchSize: 5_000, samples: 15, warmupRounds: 3 },
    );
    if (!(total > 0)) throw new Error('query benchmark produced no data');

    return [
      compareRow({
        group: 'RollingWindow.record vs prom-client',
        metric: 'record() vs Counter.inc()',
        unit: 'ops/s',
        ours,
        peer: { name: 'prom-client Counter.inc()', ...stats(samples.counterInc) },
        higherIsBetter: true,
        notes: 'record() also keeps sum, min/max and good/bad per 10 s bucket; inc() adds to one number',
      }),
      compareRow({
        group: 'RollingWindow.record vs prom-client',
        metric: 'record() vs Histogram.observe()',
        unit: 'ops/s',
        ours,
        peer: { name: 'prom-client Histogram.observe()', ...stats(samples.histogramObserve) },
        higherIsBetter: true,
        notes:
          'observe() with the 11 default buckets; record() answers windowed queries that a cumulative histogram cannot',
      }),
      {
        group: 'RollingWindow.record vs prom-client',
        metric: 'Date.now() alone (context)',
        unit: 'ops/s',
        ours: stats(samples.clockRead),
        higherIsBetter: true,
        notes:
          'every record() reads the clock once (systemClock → Date.now()); on a VM with a slow clock source this dominates record()',
      },
      {
        group: 'RollingWindow.query',
        metric: 'query() over 30d of 1h buckets (720 buckets)',
        unit: 'ops/s',
        ours: stats(querySamples.query),
        higherIsBetter: true,
        notes: 'O(buckets) scan; no peer (prom-client has no windowed query)',
      },
    ];
  },
};

export default suite;
