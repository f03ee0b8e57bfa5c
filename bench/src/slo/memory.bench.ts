import { createSloTracker, type SloTracker } from '@ops/slo';
import { stats, type BenchRow, type BenchSuite } from '../harness.js';

const SLOS_PER_SAMPLE = 200;
const SAMPLES = 5;

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (the bench script does)');
  for (let index = 0; index < 3; index++) gc();
}

const suite: BenchSuite = {
  name: 'slo-memory',
  description: `Heap per SLO (one label set, 30-day rolling window, after events in both rings) of @ops/slo: process.memoryUsage() heapUsed + arrayBuffers after gc, before and after creating ${SLOS_PER_SAMPLE} SLOs, divided by ${SLOS_PER_SAMPLE}; ${SAMPLES} samples. Also 30-day calendar month SLOs.`,
  async run(): Promise<BenchRow[]> {
    // Every sample's trackers stay alive until the end: freed array buffers are swept concurrently after a GC, so
    // freeing the previous sample's trackers would hide this sample's allocation.
    const keep: SloTracker[][] = [];
    const measure = (window: '30d' | { calendar: 'month'; timeZone: string }) => {
      const perSlo: number[] = [];
      for (let sample = 0; sample < SAMPLES; sample++) {
        collectGarbage();
        const before = process.memoryUsage();
        const trackers: SloTracker[] = [];
        for (let index = 0; index < SLOS_PER_SAMPLE; index++) {
          const tracker = createSloTracker({
            slos: [{ service: 'bench', name: `slo-${index}`, objective: 0.999, sli: { type: 'availability' }, window }],
          });
          const recorder = tracker.get(`slo-${index}`);
          recorder.record({ good: true });
          recorder.record({ good: false, atMs: Date.now() - 10 * 86_400_000 });
          trackers.push(tracker);
        }
        collectGarbage();
        const after = process.memoryUsage();
        const bytes = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
        perSlo.push(bytes / SLOS_PER_SAMPLE / 1024);
        keep.push(trackers);
      }
      return perSlo;
    };
    const rolling = measure('30d');
    const calendar = measure({ calendar: 'month', timeZone: 'Europe/Berlin' });
    if (keep.length !== 2 * SAMPLES) throw new Error('unreachable');
    const group = 'SLO memory per label set';
    return [
      {
        group,
        metric: '30d rolling window',
        unit: 'KiB',
        ours: stats(rolling),
        higherIsBetter: false,
        notes: 'bucket arrays: 16 B × (4,320 minute + 2,881 quarter-hour buckets) = 112.5 KiB',
      },
      {
        group,
        metric: 'calendar month',
        unit: 'KiB',
        ours: stats(calendar),
        higherIsBetter: false,
        notes: 'bucket arrays: 16 B × (4,320 + 2,981) = 114.1 KiB',
      },
    ];
  },
};

export default suite;
