/**
 * A small, fast, seeded pseudo-random generator (mulberry32) returning numbers in `[0, 1)`. The same seed gives the
 * same sequence, so bootstrap resampling and randomized tests are reproducible. Not for anything secret.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * const sample = Math.floor(random() * values.length);
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}
