import { createFunctionSignal, createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createSampleRecorder } from './sample-recorder.js';

describe('createSampleRecorder', () => {
  it('samples signals on the clock into rolling windows and returns per-bucket means and peaks', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    let load = 0.2;
    let failing = false;
    const recorder = createSampleRecorder({
      clock,
      window: '1h',
      bucket: '5m',
      signals: [
        createFunctionSignal({
          name: 'cpu',
          read: () => {
            if (failing) throw new Error('boom');
            return load;
          },
        }),
      ],
    });
    recorder.start('1m');
    for (let minute = 0; minute < 30; minute++) {
      load = minute < 15 ? 0.2 : 0.6 + (minute % 5 === 0 ? 0.3 : 0);
      failing = minute === 20;
      await clock.advanceAsync(60_000);
    }
    await recorder.stop();
    const series = recorder.series('cpu');
    expect(series.values.length).toBeGreaterThanOrEqual(6);
    expect(series.values[0]).toBeCloseTo(0.2, 9);
    expect(series.values.at(-1)!).toBeGreaterThanOrEqual(0.6);
    expect(series.values.at(-2)!).toBeGreaterThan(0.6); // a 5-minute bucket with one 90% minute
    expect(Math.max(...recorder.peaks('cpu').values)).toBeCloseTo(0.9, 9);
    expect(series.timestamps[1]! - series.timestamps[0]!).toBe(300_000);
    expect(() => recorder.series('memory')).toThrow(/no samples named "memory"/);
  });
});
