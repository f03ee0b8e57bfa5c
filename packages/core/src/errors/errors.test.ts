import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, formatPath, parseWithSchema } from './config-error.js';
import { isRetryableError, OpsError, TimeoutError, toError } from './ops-error.js';

describe('OpsError', () => {
  it('carries code, cause, retryability and the subclass name', () => {
    const cause = new Error('socket hang up');
    const error = new OpsError('STORAGE_FAILED', 'upload failed', { cause, isRetryable: true });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'OpsError',
      code: 'STORAGE_FAILED',
      message: 'upload failed',
      isRetryable: true,
      cause,
    });
    expect(new OpsError('INTERNAL', 'x').isRetryable).toBe(false);
    expect('cause' in new OpsError('INTERNAL', 'x')).toBe(false);
    const timeout = new TimeoutError('took too long', 500);
    expect(timeout).toMatchObject({ name: 'TimeoutError', code: 'CHECK_TIMEOUT', timeoutMs: 500, isRetryable: true });
    expect(new TimeoutError('aborted', 1, { code: 'ABORTED' }).code).toBe('ABORTED');
  });

  it('isInstance recognises errors from another copy of the package (same Symbol.for marker)', () => {
    // A second, independent class standing in for a duplicate install of @ops/core.
    const marker = Symbol.for('@ops/core.error');
    class OtherCopyError extends Error {
      readonly [marker] = true;
      readonly code = 'BACKUP_CORRUPT' as const;
    }
    const foreign = new OtherCopyError('checksum mismatch');
    expect(foreign instanceof OpsError).toBe(false);
    expect(OpsError.isInstance(foreign)).toBe(true);
    expect(OpsError.hasCode(foreign, 'BACKUP_CORRUPT')).toBe(true);
    expect(OpsError.hasCode(foreign, 'BACKUP_FAILED')).toBe(false);
  });

  it('isInstance is false for look-alikes and non-objects', () => {
    expect(OpsError.isInstance(new Error('x'))).toBe(false);
    expect(OpsError.isInstance({ code: 'INTERNAL', message: 'x' })).toBe(false);
    expect(OpsError.isInstance({ [Symbol('@ops/core.error')]: true })).toBe(false);
    expect(OpsError.isInstance(null)).toBe(false);
    expect(OpsError.isInstance('CONFIG_INVALID')).toBe(false);
    expect(OpsError.isInstance(new ConfigError('bad'))).toBe(true);
  });
});

describe('package error classes', () => {
  type QueueErrorCode = 'QUEUE_FULL' | 'QUEUE_CLOSED';
  class QueueError extends OpsError<QueueErrorCode | 'ARGUMENT_INVALID'> {}
  class OtherError extends OpsError<'OTHER'> {}

  it('a subclass carries its own codes and isInstance matches by class, across copies', () => {
    const error = new QueueError('QUEUE_FULL', 'queue is full', { isRetryable: true, retryAfterMs: 500 });
    expect(error).toMatchObject({ name: 'QueueError', code: 'QUEUE_FULL', isRetryable: true, retryAfterMs: 500 });
    expect(QueueError.isInstance(error)).toBe(true);
    expect(OpsError.isInstance(error)).toBe(true);
    expect(OtherError.isInstance(error)).toBe(false);
    expect(QueueError.isInstance(new OpsError('INTERNAL', 'x'))).toBe(false);
    expect(QueueError.hasCode(error, 'QUEUE_FULL')).toBe(true);
    expect(QueueError.hasCode(error, 'QUEUE_CLOSED')).toBe(false);
    // a duplicate copy of the class (another install of the package): same name, different identity
    const Copy = class QueueError extends OpsError<QueueErrorCode> {};
    expect(QueueError.isInstance(new Copy('QUEUE_CLOSED', 'closed'))).toBe(true);
  });

  it('isRetryableError reads isRetryable, and transient network codes of plain errors', () => {
    expect(isRetryableError(new OpsError('SERVICE_UNAVAILABLE', 'x', { isRetryable: true }))).toBe(true);
    expect(isRetryableError(new OpsError('ARGUMENT_INVALID', 'x'))).toBe(false);
    expect(isRetryableError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableError(Object.assign(new Error('denied'), { code: 'EACCES' }))).toBe(false);
    expect(isRetryableError('text')).toBe(false);
  });
});

describe('toError', () => {
  it('normalises thrown values without losing them', () => {
    const error = new Error('e');
    expect(toError(error)).toBe(error);
    expect(toError('text').message).toBe('text');
    const fromObject = toError({ status: 500 });
    expect(fromObject.message).toBe('non-Error value thrown: {"status":500}');
    expect(fromObject.cause).toEqual({ status: 500 });
    expect(toError(undefined).message).toBe('non-Error value thrown: undefined');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(toError(circular).message).toBe('non-Error value thrown: [object Object]');
  });
});

describe('ConfigError', () => {
  const schema = z.object({
    jobs: z.array(
      z.object({
        name: z.string().min(1),
        retention: z.object({ keepDaily: z.number().int().min(0), keepWeekly: z.number().int().max(52).optional() }),
        mode: z.enum(['full', 'incremental']).optional(),
      }),
    ),
  });

  it('names the path of each issue: jobs[1].retention.keepDaily: expected integer >= 0', () => {
    const parsed = schema.safeParse({
      jobs: [
        { name: 'a', retention: { keepDaily: 7 } },
        { name: 'b', retention: { keepDaily: -1 } },
      ],
    });
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    const error = ConfigError.fromZod(parsed.error, 'ops-backup.yaml', [], schema);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues).toEqual([{ path: 'jobs[1].retention.keepDaily', message: 'expected integer >= 0' }]);
    expect(error.message).toBe('invalid ops-backup.yaml: jobs[1].retention.keepDaily: expected integer >= 0');
    expect(error.cause).toBe(parsed.error);
    // Without the schema the limit is still described, as a number.
    expect(ConfigError.fromZod(parsed.error).issues[0]?.message).toBe('expected number >= 0');
  });

  it('finds integer fields through optional, default, record and tuple wrappers', () => {
    const nested = z.object({
      limits: z.record(z.string(), z.int().max(10)).optional(),
      pair: z.tuple([z.string(), z.number().int().min(1).default(1)]),
      count: z.int(),
    });
    const parsed = nested.safeParse({ limits: { a: 11 }, pair: ['x', 0], count: 'many' });
    if (parsed.success) throw new Error('expected failure');
    expect(
      ConfigError.fromZod(parsed.error, undefined, [], nested).issues.map((issue) => `${issue.path}: ${issue.message}`),
    ).toEqual(['limits.a: expected integer <= 10', 'pair[1]: expected integer >= 1', 'count: expected integer']);
  });

  it('reports every issue with wording for types, limits, enums and unknown keys', () => {
    const strict = z.strictObject({
      port: z.number().max(65535),
      tags: z.array(z.string()).min(1),
      level: z.enum(['a', 'b']),
      name: z.string(),
    });
    const parsed = strict.safeParse({ port: 70000, tags: [], level: 'c', name: 5, extra: true });
    if (parsed.success) throw new Error('expected failure');
    const messages = ConfigError.fromZod(parsed.error).issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'port: expected number <= 65535',
        'tags: expected at least 1 item(s)',
        'level: expected one of "a", "b"',
        'name: expected string',
        ': unknown key(s) "extra"',
      ]),
    );
  });

  it('prefixes a path for nested options and formats odd keys', () => {
    const parsed = z.object({ 'max-size': z.number() }).safeParse({ 'max-size': 'big' });
    if (parsed.success) throw new Error('expected failure');
    expect(ConfigError.fromZod(parsed.error, 'options', ['storages', 0]).issues[0]?.path).toBe('storages[0].max-size');
    expect(formatPath(['a', 'with space', 2, 'b'])).toBe('a["with space"][2].b');
    expect(formatPath([])).toBe('');
  });

  describe('says what to fix', () => {
    const slos = z.strictObject({
      slos: z.array(
        z.strictObject({
          name: z.string(),
          objective: z.union([z.number(), z.string()]),
          window: z.enum(['7d', '30d']),
        }),
      ),
      source: z.discriminatedUnion('type', [
        z.object({ type: z.literal('pg'), url: z.string() }),
        z.object({ type: z.literal('redis'), url: z.string() }),
      ]),
    });
    const lines = (error: ConfigError) => error.issues.map((issue) => `${issue.path}: ${issue.message}`);

    it('a missing field is "required", with what it expects (also from fromZod alone, as other packages call it)', () => {
      const parsed = slos.safeParse({ slos: [{ name: 'api' }], source: { type: 'pg', url: 'x' } });
      if (parsed.success) throw new Error('expected failure');
      // (an enum's zod issue does not tell a missing value from a wrong one: without the input it names the values)
      expect(lines(ConfigError.fromZod(parsed.error, 'slos.yaml'))).toEqual([
        'slos[0].objective: required (expected number or string)',
        'slos[0].window: expected one of "7d", "30d"',
      ]);
      expect(() => parseWithSchema(slos, { slos: [{}], source: { type: 'pg' } }, 'slos.yaml')).toThrow(
        'invalid slos.yaml: slos[0].name: required (expected string); slos[0].objective: required (expected number or string); slos[0].window: required (expected one of "7d", "30d"); source.url: required (expected string)',
      );
    });

    it('a value of the wrong type is not "required": the alternatives of a union are named', () => {
      expect(() =>
        parseWithSchema(slos, {
          slos: [{ name: 'api', objective: true, window: '30d' }],
          source: { type: 'pg', url: 'x' },
        }),
      ).toThrow('invalid configuration: slos[0].objective: expected number or string');
    });

    it('a missing or unknown discriminator names the allowed values', () => {
      expect(() => parseWithSchema(slos, { slos: [], source: { url: 'x' } }, 'ops.yaml')).toThrow(
        'invalid ops.yaml: source.type: required (expected one of "pg", "redis")',
      );
      expect(() => parseWithSchema(slos, { slos: [], source: { type: 'mysql', url: 'x' } }, 'ops.yaml')).toThrow(
        'invalid ops.yaml: source.type: expected one of "pg", "redis"',
      );
      const parsed = slos.safeParse({ slos: [], source: { url: 'x' } });
      if (parsed.success) throw new Error('expected failure');
      // Without the input at hand, fromZod cannot tell missing from unknown, but still names the allowed values.
      expect(lines(ConfigError.fromZod(parsed.error))).toEqual(['source.type: expected one of "pg", "redis"']);
    });
  });

  it('parseWithSchema returns parsed data or throws ConfigError', () => {
    expect(parseWithSchema(z.object({ a: z.number().default(1) }), {})).toEqual({ a: 1 });
    expect(() => parseWithSchema(z.object({ a: z.number() }), { a: 'x' }, 'options')).toThrow(
      'invalid options: a: expected number',
    );
  });
});
