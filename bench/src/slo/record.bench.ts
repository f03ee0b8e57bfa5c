import { createSloTracker } from '@ops/slo';
import { Counter, Histogram, Registry } from 'prom-client';
import { compareRow, opsPerSecond, stats, type BenchRow, type BenchSuite } from '../harness.js';

const ROUNDS = 5;

const suite: BenchSuite = {
  name: 'slo-record',
  description:
    'SloRecorder.record() of @ops/slo (availability and latency SLIs, 30-day window, system clock, no labels) against prom-client 15.1.3 Histogram.observe() (default buckets, no labels) and Counter.inc(), measured in the same process in alternating batches of 200,000 calls.',
  async run(): Promise<BenchRow[]> {
    const registry = new Registry();
    const histogram = new Histogram({ name: 'bench_latency_seconds', help: 'bench', registers: [registry] });
    const counter = new Counter({ name: 'bench_events_total', help: 'bench', registers: [registry] });
    const tracker = createSloTracker({
      slos: [
        { service: 'bench', name: 'availability', objective: 0.999, sli: { type: 'availability' } },
        { service: 'bench', name: 'latency', objective: 0.99, sli: { type: 'latency', threshold: '200ms' } },
      ],
    });
    const availability = tracker.get('availability');
    const latency = tracker.get('latency');
    const events = [{ good: true }, { good: true }, { good: false }, { good: true }];
    const latencies = [{ latencyMs: 12 }, { latencyMs: 250 }, { latencyMs: 80 }, { latencyMs: 3 }];
    const values = [0.012, 0.25, 0.08, 0.003];
    const record: number[] = [];
    const recordLatency: number[] = [];
    const observe: number[] = [];
    const inc: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      record.push(
        ...opsPerSecond((index) => availability.record(events[index & 3] as { good: boolean }), { samples: 3 }),
      );
      recordLatency.push(
        ...opsPerSecond((index) => latency.record(latencies[index & 3] as { latencyMs: number }), { samples: 3 }),
      );
      observe.push(...opsPerSecond((index) => histogram.observe(values[index & 3] as number), { samples: 3 }));
      inc.push(...opsPerSecond(() => counter.inc(), { samples: 3 }));
    }
    const group = 'SLO record() vs prom-client';
    return [
      compareRow(
        {
          group,
          metric: 'record({ good }) ops/s',
          unit: 'ops/s',
          ours: stats(record),
          peer: { ...stats(observe), name: 'Histogram.observe()' },
          higherIsBetter: true,
          target: '≥ 2× observe() ops/s (cost ≤ 0.5×)',
        },
        { atLeast: 2 },
      ),
      compareRow(
        {
          group,
          metric: 'record({ latencyMs }) ops/s',
          unit: 'ops/s',
          ours: stats(recordLatency),
          peer: { ...stats(observe), name: 'Histogram.observe()' },
          higherIsBetter: true,
          target: '≥ 2× observe() ops/s (cost ≤ 0.5×)',
        },
        { atLeast: 2 },
      ),
      compareRow({
        group,
        metric: 'record({ good }) vs Counter.inc() ops/s',
        unit: 'ops/s',
        ours: stats(record),
        peer: { ...stats(inc), name: 'Counter.inc()' },
        higherIsBetter: true,
      }),
    ];
  },
};

export default suite;
