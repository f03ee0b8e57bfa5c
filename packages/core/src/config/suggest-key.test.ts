import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseWithSchema } from '../errors/config-error.js';
import { suggestKey } from './suggest-key.js';

describe('suggestKey', () => {
  it('finds the closest key for typos, transpositions and wrong case', () => {
    const known = ['timeout', 'mode', 'basePath', 'showDetails', 'statusCodes', 'statusOrder', 'startReady', 'secrets'];
    expect(suggestKey('timout', known)).toBe('timeout');
    expect(suggestKey('tiemout', known)).toBe('timeout');
    expect(suggestKey('showdetails', known)).toBe('showDetails');
    expect(suggestKey('basepath', known)).toBe('basePath');
    expect(suggestKey('secret', known)).toBe('secrets');
    expect(suggestKey('statusOrdr', known)).toBe('statusOrder');
  });

  it('suggests a key the unknown one abbreviates or extends (a missing unit suffix, a cut-off name)', () => {
    expect(suggestKey('replica', ['redis', 'replication'])).toBe('replication');
    expect(suggestKey('maxRss', ['maxRssBytes', 'warnRssBytes'])).toBe('maxRssBytes');
    expect(suggestKey('warnDelay', ['warnDelayMs', 'failDelayMs'])).toBe('warnDelayMs');
    expect(suggestKey('timeoutMs', ['timeout', 'mode'])).toBe('timeout');
    expect(suggestKey('ti', ['timeout'])).toBeUndefined();
  });

  it('suggests nothing when no key is close enough', () => {
    expect(suggestKey('zzz', ['timeout', 'mode'])).toBeUndefined();
    expect(suggestKey('registry', ['timeout', 'mode'])).toBeUndefined();
    expect(suggestKey('x', [])).toBeUndefined();
  });
});

describe('ConfigError: did you mean', () => {
  it('suggests the closest known key for an unknown one, at any depth', () => {
    const schema = z.strictObject({
      timeout: z.string().optional(),
      showDetails: z.boolean().optional(),
      shutdown: z
        .strictObject({ drainDelay: z.string().optional(), signals: z.array(z.string()).optional() })
        .optional(),
      endpoints: z.array(z.strictObject({ name: z.string(), url: z.string() })).optional(),
    });
    const parsed = schema.safeParse({
      timout: '1s',
      showdetails: true,
      shutdown: { drainDelya: '5s' },
      endpoints: [{ nmae: 'api', url: 'x', name: 'a' }],
      zzz: 1,
    });
    if (parsed.success) throw new Error('expected failure');
    const messages = ConfigError.fromZod(parsed.error, 'options', [], schema).issues.map(
      (issue) => `${issue.path}: ${issue.message}`,
    );
    expect(messages).toEqual(
      expect.arrayContaining([
        ': unknown key(s) "timout" (did you mean "timeout"?), "showdetails" (did you mean "showDetails"?), "zzz"',
        'shutdown: unknown key(s) "drainDelya" (did you mean "drainDelay"?)',
        'endpoints[0]: unknown key(s) "nmae" (did you mean "name"?)',
      ]),
    );
  });

  it('parseWithSchema names the option and suggests the key in the message', () => {
    expect(() =>
      parseWithSchema(z.strictObject({ timeout: z.number().optional() }), { timout: 5 }, 'health options'),
    ).toThrow('invalid health options: unknown key(s) "timout" (did you mean "timeout"?)');
  });
});
