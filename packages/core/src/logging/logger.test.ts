import { describe, expect, it } from 'vitest';
import { compareStatus, worstStatus } from '../checks/check.js';
import { createRecordingLogger } from '../testing/recording-logger.js';
import { createConsoleLogger, silentLogger } from './logger.js';

describe('createConsoleLogger', () => {
  it('writes pino-shaped JSON lines at or above the level, with base fields', () => {
    const lines: string[] = [];
    const logger = createConsoleLogger({
      level: 'warn',
      stream: { write: (chunk: string) => lines.push(chunk) },
      base: { service: 'api' },
    });
    logger.info({ ignored: true }, 'below the level');
    logger.warn({ attempt: 2 }, 'retrying');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    logger.error({ error: new Error('boom'), big: 10n, circular });
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 40, service: 'api', attempt: 2, msg: 'retrying' });
    expect(JSON.parse(lines[1] as string)).toMatchObject({
      level: 50,
      error: { type: 'Error', message: 'boom' },
      big: '10',
      circular: { self: '[Circular]' },
    });
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
  });

  it('keeps its own level, time and msg when fields use those names', () => {
    const lines: string[] = [];
    const logger = createConsoleLogger({ stream: { write: (chunk: string) => lines.push(chunk) } });
    logger.info({ level: 'full-read', time: 'yesterday', msg: 'field' }, 'verification passed');
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line['level']).toBe(30);
    expect(typeof line['time']).toBe('number');
    expect(line['msg']).toBe('verification passed');
  });

  it('silentLogger accepts every call', () => {
    expect(() => silentLogger.error({ a: 1 }, 'x')).not.toThrow();
  });
});

describe('createRecordingLogger', () => {
  it('keeps records and serialises errors for assertions', () => {
    const logger = createRecordingLogger();
    logger.debug({ step: 1 });
    logger.error({ error: new Error('bad') }, 'failed');
    expect(logger.records.map((record) => [record.level, record.message])).toEqual([
      ['debug', undefined],
      ['error', 'failed'],
    ]);
    expect(logger.text()).toContain('"message":"bad"');
  });
});

describe('check statuses', () => {
  it('orders pass < warn < fail', () => {
    expect(worstStatus('pass', 'warn')).toBe('warn');
    expect(worstStatus('fail', 'warn')).toBe('fail');
    expect(worstStatus('pass', 'pass')).toBe('pass');
    expect(['fail', 'pass', 'warn'].sort((a, b) => compareStatus(a as 'pass', b as 'pass'))).toEqual([
      'pass',
      'warn',
      'fail',
    ]);
  });
});
