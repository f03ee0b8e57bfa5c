import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../errors/config-error.js';
import { OpsError } from '../errors/ops-error.js';
import { durationSchema, formatDuration, humanizeDuration, parseDuration, parseOptionalDuration } from './duration.js';

function durationError(run: () => unknown): OpsError {
  try {
    run();
  } catch (error) {
    expect(OpsError.hasCode(error, 'DURATION_INVALID')).toBe(true);
    return error as OpsError;
  }
  throw new Error('expected DURATION_INVALID');
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['4w', 2_419_200_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['1.5s', 1_500],
    ['0.5ms', 1],
    [' 10s ', 10_000],
    ['0s', 0],
  ])('parses %j as %i ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it('passes milliseconds through, rounded', () => {
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(1.4)).toBe(1);
  });

  it.each([
    ['5x', /invalid duration "5x": unexpected "5x"/],
    ['', /invalid duration "": empty string/],
    ['   ', /empty string/],
    ['-5s', /must not be negative/],
    ['30', /missing unit/],
    ['s', /unexpected "s"/],
    ['5m3', /unexpected "3"/],
    ['1h 30m', /unexpected " 30m"/],
    ['5M', /unexpected "5M"/],
    [`${'9'.repeat(400)}w`, /too large/],
  ])('rejects %j with an error naming the value', (text, message) => {
    expect(durationError(() => parseDuration(text)).message).toMatch(message);
  });

  it.each([
    ['5 mins', '5m'],
    ['30 seconds', '30s'],
    ['2hrs', '2h'],
    ['1h 30m', '1h30m'],
    ['1.5 days', '1.5d'],
    ['250 millis', '250ms'],
  ])('suggests the duration a user meant: %j → %j', (text, meant) => {
    expect(durationError(() => parseDuration(text, '--timeout')).message).toContain(`(did you mean "${meant}"?)`);
  });

  it('never suggests a guess for an ambiguous or unknown unit (5M could be months)', () => {
    expect(durationError(() => parseDuration('5M')).message).not.toContain('did you mean');
    expect(durationError(() => parseDuration('5 parsecs')).message).not.toContain('did you mean');
  });

  it.each([
    [-1, /must not be negative/],
    [Number.NaN, /must be a finite number/],
    [Infinity, /must be a finite number/],
    [2 ** 60, /too large/],
  ])('rejects the number %d', (value, message) => {
    expect(durationError(() => parseDuration(value)).message).toMatch(message);
  });

  it('rejects values that are neither string nor number', () => {
    expect(durationError(() => parseDuration(null as unknown as string)).message).toMatch(/invalid duration null/);
    expect(durationError(() => parseDuration({} as unknown as string)).message).toMatch(
      /expected a number of milliseconds/,
    );
  });

  it('prefixes the option name', () => {
    expect(durationError(() => parseDuration('5x', 'timeout')).message).toMatch(/^timeout: invalid duration "5x"/);
    expect(parseOptionalDuration(undefined, 'timeout')).toBeUndefined();
    expect(parseOptionalDuration('1s', 'timeout')).toBe(1_000);
  });
});

describe('formatDuration', () => {
  it('formats the shortest exact string', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(1)).toBe('1ms');
    expect(formatDuration(604_800_000 + 86_400_000 + 1)).toBe('1w1d1ms');
    expect(() => formatDuration(-1)).toThrow(/cannot format/);
  });

  it('round-trips through parseDuration for many values', () => {
    let value = 1;
    for (let index = 0; index < 500; index++) {
      value = (value * 48271 + index) % 5_000_000_000_000;
      expect(parseDuration(formatDuration(value))).toBe(value);
    }
    for (const text of ['1w', '2d3h', '59m59s999ms', '45s']) expect(formatDuration(parseDuration(text))).toBe(text);
  });
});

describe('humanizeDuration', () => {
  it('keeps two significant units', () => {
    expect(humanizeDuration(5_400_000)).toBe('1h 30m');
    expect(humanizeDuration(93_784_005)).toBe('1d 2h');
    expect(humanizeDuration(450)).toBe('450ms');
    expect(humanizeDuration(-61_000)).toBe('-1m 1s');
    expect(humanizeDuration(Infinity)).toBe('∞');
  });
});

describe('durationSchema', () => {
  it('turns strings and numbers into milliseconds and names the path of a bad value', () => {
    const schema = z.object({ jobs: z.array(z.object({ timeout: durationSchema })) });
    expect(schema.parse({ jobs: [{ timeout: '30s' }, { timeout: 5 }] })).toEqual({
      jobs: [{ timeout: 30_000 }, { timeout: 5 }],
    });
    const parsed = schema.safeParse({ jobs: [{ timeout: '30s' }, { timeout: '5x' }] });
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    const error = ConfigError.fromZod(parsed.error, 'ops.yaml');
    expect(error.message).toMatch(/^invalid ops\.yaml: jobs\[1\]\.timeout: invalid duration "5x"/);
  });
});
