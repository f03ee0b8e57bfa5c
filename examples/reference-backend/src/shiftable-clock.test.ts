import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createShiftableClock } from './shiftable-clock.js';

describe('createShiftableClock', () => {
  it('moves now() and monotonic() forward for good while timers keep the base clock schedule', () => {
    const base = createManualClock(Date.UTC(2026, 0, 1));
    const clock = createShiftableClock(base);
    let fired = 0;
    clock.setTimeout(() => fired++, 1_000);
    const before = { now: clock.now(), monotonic: clock.monotonic() };
    clock.skip(600_000);
    expect(clock.now() - before.now).toBe(600_000);
    expect(clock.monotonic() - before.monotonic).toBe(600_000);
    expect(clock.skippedMs).toBe(600_000);
    expect(fired).toBe(0); // skipping is not time passing for timers
    base.advance(1_000);
    expect(fired).toBe(1);
    expect(clock.now()).toBe(Date.UTC(2026, 0, 1) + 601_000);
  });

  it('refuses to go backwards', () => {
    const clock = createShiftableClock();
    expect(() => clock.skip(-1)).toThrow(RangeError);
    expect(() => clock.skip(Number.NaN)).toThrow(RangeError);
  });
});
