import { describe, expect, it } from 'vitest';
import { createSustainedMonitor } from '../conditions/sustained-monitor.js';
import { createManualClock } from '../time/clock.js';
import { createManualSignal } from './manual-signal.js';

describe('createManualSignal', () => {
  it('drives a monitor from a test: set values, fail reads, count reads', async () => {
    const clock = createManualClock();
    const cpu = createManualSignal({ name: 'cpu', unit: 'ratio' });
    await expect(Promise.resolve().then(() => cpu.read())).rejects.toThrow('cpu: no value set');
    cpu.set(0.95);
    const monitor = createSustainedMonitor({
      signal: cpu,
      when: (value) => value > 0.85,
      for: '30s',
      every: '15s',
      clock,
    });
    monitor.start();
    await clock.advanceAsync(45_000);
    expect(monitor.state).toBe('firing');
    cpu.fail();
    await clock.advanceAsync(15_000);
    expect(monitor.state).toBe('firing');
    expect(monitor.sampleErrors).toBe(1);
    cpu.set(0.1);
    await clock.advanceAsync(15_000);
    expect(monitor.state).toBe('resolved');
    expect(cpu.reads).toBe(6);
    await monitor.stop();
  });
});
