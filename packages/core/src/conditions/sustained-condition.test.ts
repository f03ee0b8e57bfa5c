import { describe, expect, it } from 'vitest';
import { createManualClock } from '../time/clock.js';
import { createSustainedCondition, type SustainedTransition } from './sustained-condition.js';

const START = Date.UTC(2026, 0, 1);

/** Feeds `samples` (one every `everyMs`) and returns the state after each. */
function drive(
  options: { for: string | number; keepFiringFor?: string | number },
  samples: boolean[],
  everyMs = 60_000,
) {
  const clock = createManualClock(START);
  const condition = createSustainedCondition({ ...options, clock, name: 'test' });
  const states: string[] = [];
  for (const [index, active] of samples.entries()) {
    if (index > 0) clock.advance(everyMs);
    condition.update(active);
    states.push(condition.state);
  }
  return states;
}

describe('createSustainedCondition', () => {
  it('stays pending until the condition has held for `for`, then fires (Prometheus `for`)', () => {
    // evaluated every minute with for: 3m → pending at t0, t1, t2, firing at t3
    expect(drive({ for: '3m' }, [true, true, true, true, true])).toEqual([
      'pending',
      'pending',
      'pending',
      'firing',
      'firing',
    ]);
  });

  it('fires on the first true sample when `for` is 0', () => {
    expect(drive({ for: 0 }, [false, true, false, false])).toEqual(['inactive', 'firing', 'resolved', 'inactive']);
  });

  it('drops back to inactive when the condition clears while pending, and starts the timer over', () => {
    expect(drive({ for: '2m' }, [true, true, false, true, true, true])).toEqual([
      'pending',
      'pending',
      'inactive',
      'pending',
      'pending',
      'firing',
    ]);
  });

  it('resolves on the first false sample after firing, then becomes inactive', () => {
    expect(drive({ for: '1m' }, [true, true, false, false])).toEqual(['pending', 'firing', 'resolved', 'inactive']);
  });

  it('goes from resolved straight to pending when the condition returns', () => {
    expect(drive({ for: '1m' }, [true, true, false, true, true])).toEqual([
      'pending',
      'firing',
      'resolved',
      'pending',
      'firing',
    ]);
  });

  it('keeps firing for keepFiringFor after the condition clears (Prometheus `keep_firing_for`)', () => {
    // cleared at t2; keep_firing_for 2m → still firing at t2, t3; resolved at t4 (2m after the first false sample)
    expect(drive({ for: '1m', keepFiringFor: '2m' }, [true, true, false, false, false, false])).toEqual([
      'pending',
      'firing',
      'firing',
      'firing',
      'resolved',
      'inactive',
    ]);
  });

  it('restarts the keepFiringFor countdown when the condition comes back while kept firing', () => {
    expect(drive({ for: 0, keepFiringFor: '2m' }, [true, false, true, false, false, false])).toEqual([
      'firing',
      'firing',
      'firing',
      'firing',
      'firing',
      'resolved',
    ]);
  });

  it('emits transitions with name, time and value, and tracks activeSince / firingSince', () => {
    const clock = createManualClock(START);
    const condition = createSustainedCondition({ for: '30s', keepFiringFor: '10s', clock, name: 'high_cpu' });
    const seen: SustainedTransition[] = [];
    const unsubscribe = condition.on((transition) => seen.push(transition));
    expect(condition.update(true, 0.9)).toEqual({
      name: 'high_cpu',
      from: 'inactive',
      to: 'pending',
      at: START,
      value: 0.9,
    });
    expect(condition.activeSince).toBe(START);
    clock.advance(29_999);
    expect(condition.update(true, 0.91)).toBeUndefined();
    clock.advance(1);
    expect(condition.update(true, 0.95)).toMatchObject({ from: 'pending', to: 'firing', at: START + 30_000 });
    expect(condition.firingSince).toBe(START + 30_000);
    clock.advance(5_000);
    expect(condition.update(false, 0.5)).toBeUndefined();
    expect(condition.keepFiringSince).toBe(START + 35_000);
    expect(condition.activeSince).toBeUndefined();
    clock.advance(10_000);
    expect(condition.update(false)).toEqual({ name: 'high_cpu', from: 'firing', to: 'resolved', at: START + 45_000 });
    expect(condition.firingSince).toBeUndefined();
    expect(seen.map((transition) => transition.to)).toEqual(['pending', 'firing', 'resolved']);
    unsubscribe();
    condition.update(false);
    expect(condition.state).toBe('inactive');
    expect(seen).toHaveLength(3);
  });

  it('evaluates only at samples: time passing without a sample changes nothing', () => {
    const clock = createManualClock(START);
    const condition = createSustainedCondition({ for: '1m', clock });
    condition.update(true);
    clock.advance(3_600_000);
    expect(condition.state).toBe('pending');
    condition.update(true);
    expect(condition.state).toBe('firing');
  });

  it('reset() returns to inactive silently', () => {
    const clock = createManualClock(START);
    const condition = createSustainedCondition({ for: 0, clock });
    let transitions = 0;
    condition.on(() => transitions++);
    condition.update(true);
    condition.reset();
    expect(condition.state).toBe('inactive');
    expect(condition.firingSince).toBeUndefined();
    expect(transitions).toBe(1);
  });

  it('rejects bad durations naming the option', () => {
    expect(() => createSustainedCondition({ for: '5x' })).toThrow(/for: invalid duration "5x"/);
    expect(() => createSustainedCondition({ for: '1m', keepFiringFor: -1 })).toThrow(/keepFiringFor: invalid duration/);
  });
});
