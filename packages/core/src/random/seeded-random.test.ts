import { describe, expect, it } from 'vitest';
import { seededRandom } from './seeded-random.js';

describe('seededRandom', () => {
  it('repeats its sequence for a seed, differs between seeds, and stays in [0, 1)', () => {
    const first = seededRandom(7);
    const again = seededRandom(7);
    const other = seededRandom(8);
    const a = Array.from({ length: 1_000 }, () => first());
    expect(Array.from({ length: 1_000 }, () => again())).toEqual(a);
    expect(Array.from({ length: 1_000 }, () => other())).not.toEqual(a);
    expect(a.every((value) => value >= 0 && value < 1)).toBe(true);
    const mean = a.reduce((sum, value) => sum + value, 0) / a.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});
