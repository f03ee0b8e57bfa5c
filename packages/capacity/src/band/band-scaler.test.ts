import { createFunctionSignal, createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createBandScaler, type BandDecision, type BandSignalRule } from './band-scaler.js';

const MINUTE = 60_000;
// The runbook's CPU rule: up above 75% for 15 minutes, down below 30% for 30 minutes.
const cpuRule: BandSignalRule = {
  name: 'cpu',
  scaleUpAbove: 0.75,
  scaleUpFor: '15m',
  scaleDownBelow: 0.3,
  scaleDownFor: '30m',
};

function feed(
  scaler: ReturnType<typeof createBandScaler>,
  clock: ReturnType<typeof createManualClock>,
  replicas: number,
  values: Record<string, number | undefined>,
  minutes: number,
): BandDecision[] {
  const decisions: BandDecision[] = [];
  for (let minute = 0; minute < minutes; minute++) {
    decisions.push(scaler.observe(replicas, values));
    clock.advance(MINUTE);
  }
  return decisions;
}

describe('createBandScaler', () => {
  it('scales up only after the value has stayed above the threshold for the whole duration, sized to the band middle', () => {
    const clock = createManualClock(0);
    const scaler = createBandScaler({ maxReplicas: 20, signals: [cpuRule], clock });
    const waiting = feed(scaler, clock, 4, { cpu: 0.82 }, 15);
    expect(waiting.every((decision) => decision.direction === 'hold' && decision.reasons.includes('Pending'))).toBe(
      true,
    );
    const decision = scaler.observe(4, { cpu: 0.82 }); // 15 minutes after the first high sample
    expect(decision.direction).toBe('up');
    // target = (75% + 30%) / 2 = 52.5%: ceil(4 × 0.82 / 0.525) = 7
    expect(decision.desiredReplicas).toBe(7);
    expect(decision.reasons).toContain('ScaleUpSustained');
  });

  it('one sample back inside the band restarts the timer (Prometheus for: semantics)', () => {
    const clock = createManualClock(0);
    const scaler = createBandScaler({ maxReplicas: 20, signals: [cpuRule], clock });
    feed(scaler, clock, 4, { cpu: 0.9 }, 10);
    feed(scaler, clock, 4, { cpu: 0.7 }, 1);
    const after = feed(scaler, clock, 4, { cpu: 0.9 }, 15);
    expect(after.every((decision) => decision.direction === 'hold')).toBe(true);
    expect(scaler.observe(4, { cpu: 0.9 }).direction).toBe('up');
  });

  it('scales down only when every signal has been below its band, and never on a missing signal', () => {
    const clock = createManualClock(0);
    const latency: BandSignalRule = {
      name: 'p95_ms',
      kind: 'absolute',
      scaleUpAbove: 600,
      scaleUpFor: '10m',
      scaleDownBelow: 200,
      scaleDownFor: '30m',
    };
    const scaler = createBandScaler({ maxReplicas: 20, signals: [cpuRule, latency], clock });
    // CPU low, latency in band: no scale-down.
    expect(
      feed(scaler, clock, 10, { cpu: 0.2, p95_ms: 300 }, 40).every((decision) => decision.direction === 'hold'),
    ).toBe(true);
    // Both low for 30 minutes, but latency goes missing at the last sample: hold.
    feed(scaler, clock, 10, { cpu: 0.2, p95_ms: 150 }, 30);
    const partial = scaler.observe(10, { cpu: 0.2, p95_ms: undefined });
    expect(partial.direction).toBe('hold');
    expect(partial.reasons).toContain('SignalMissing');
    // The missing sample did not reset the latency condition's timer, so the next full sample decides.
    clock.advance(MINUTE);
    const decision = scaler.observe(10, { cpu: 0.2, p95_ms: 150 });
    expect(decision.direction).toBe('down');
    expect(decision.desiredReplicas).toBe(4); // ceil(10 × 0.2 / 0.525)
    expect(decision.explanation.join('\n')).toContain('cpu projected 0.5');
  });

  it('any signal above its band scales up (the largest need wins); an absolute signal steps', () => {
    const clock = createManualClock(0);
    const latency: BandSignalRule = {
      name: 'p95_ms',
      kind: 'absolute',
      scaleUpAbove: 600,
      scaleUpFor: '10m',
      scaleDownBelow: 200,
      scaleDownFor: '30m',
    };
    const scaler = createBandScaler({ maxReplicas: 20, signals: [cpuRule, latency], step: 2, clock });
    feed(scaler, clock, 5, { cpu: 0.5, p95_ms: 900 }, 10);
    const decision = scaler.observe(5, { cpu: 0.5, p95_ms: 900 });
    expect(decision.desiredReplicas).toBe(7);
    expect(decision.explanation[0]).toContain('p95_ms = 900 above 600 for 10m');
  });

  it('explains the ceil() trap: below the band, but ceil(n × u / target) = n keeps every replica (kubernetes#95762)', () => {
    const clock = createManualClock(0);
    const memory: BandSignalRule = {
      name: 'memory',
      scaleUpAbove: 0.8,
      scaleUpFor: '10m',
      scaleDownBelow: 0.4,
      scaleDownFor: '30m',
      target: 0.5,
    };
    const scaler = createBandScaler({ maxReplicas: 10, signals: [memory], clock });
    feed(scaler, clock, 2, { memory: 0.35 }, 30);
    const decision = scaler.observe(2, { memory: 0.35 });
    expect(decision.direction).toBe('hold');
    expect(decision.reasons).toEqual(['ScaleDownSustained', 'CeilBlocksScaleDown']);
    const text = decision.explanation.join('\n');
    expect(text).toContain('ceil(2 × 0.35 / 0.5) = 2');
    expect(text).toContain('the rest at 0.7');
    expect(text).toContain('memory < target × (n − 1) / n = 0.25');
  });

  it('the no-flip guard shortens a step that would push the rest above the scale-up threshold', () => {
    const clock = createManualClock(0);
    const scaler = createBandScaler({ maxReplicas: 10, signals: [cpuRule], scaleDownMode: 'step', step: 2, clock });
    feed(scaler, clock, 3, { cpu: 0.29 }, 30);
    const decision = scaler.observe(3, { cpu: 0.29 });
    // 3 → 1 would put CPU at 0.87 > 0.75: hold at ceil(3 × 0.29 / 0.75) = 2.
    expect(decision.desiredReplicas).toBe(2);
    expect(decision.reasons).toContain('NoFlipGuard');
  });

  it('after a move the conditions start over, so the next move needs a full duration again; bounds apply', () => {
    const clock = createManualClock(0);
    const scaler = createBandScaler({ maxReplicas: 6, signals: [cpuRule], clock });
    feed(scaler, clock, 4, { cpu: 0.95 }, 15);
    const first = scaler.observe(4, { cpu: 0.95 });
    expect(first.desiredReplicas).toBe(6);
    expect(first.reasons).toContain('TooManyReplicas');
    clock.advance(MINUTE);
    expect(scaler.observe(6, { cpu: 0.9 }).direction).toBe('hold');
  });

  it('evaluate() reads the signals; a failing read counts as missing', async () => {
    const clock = createManualClock(0);
    let cpu = 0.2;
    let broken = false;
    const scaler = createBandScaler({
      maxReplicas: 10,
      clock,
      signals: [
        {
          ...cpuRule,
          scaleDownFor: '2m',
          signal: createFunctionSignal({ name: 'cpu', read: () => (broken ? Number.NaN : cpu) }),
        },
      ],
    });
    await scaler.evaluate(8);
    clock.advance(2 * MINUTE);
    broken = true;
    expect((await scaler.evaluate(8)).reasons).toContain('SignalMissing');
    broken = false;
    cpu = 0.25;
    const decision = await scaler.evaluate(8);
    expect(decision.desiredReplicas).toBe(4); // ceil(8 × 0.25 / 0.525)
  });

  it('rejects a band whose lower edge is not below the upper edge', () => {
    expect(() => createBandScaler({ maxReplicas: 3, signals: [{ ...cpuRule, scaleDownBelow: 0.8 }] })).toThrow(
      /scaleDownBelow/,
    );
  });
});
