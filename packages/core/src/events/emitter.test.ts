import { describe, expect, it } from 'vitest';
import { createRecordingLogger } from '../testing/recording-logger.js';
import { createEmitter } from './emitter.js';

interface TestEvents {
  'job.started': { at: number; id: string };
  'job.failed': { at: number; id: string; error: string };
}

describe('createEmitter', () => {
  it('delivers typed payloads in subscription order and unsubscribes', () => {
    const events = createEmitter<TestEvents>();
    const seen: string[] = [];
    const offFirst = events.on('job.started', (event) => void seen.push(`first:${event.id}@${event.at}`));
    events.on('job.started', (event) => void seen.push(`second:${event.id}`));
    events.on('job.failed', (event) => void seen.push(`failed:${event.error}`));
    events.emit('job.started', { at: 1, id: 'a' });
    offFirst();
    offFirst();
    events.emit('job.started', { at: 2, id: 'b' });
    expect(seen).toEqual(['first:a@1', 'second:a', 'second:b']);
    expect(events.has('job.failed')).toBe(true);
    events.clear();
    expect(events.has('job.failed')).toBe(false);
  });

  it('subscribing the same function twice gives two subscriptions, each removable', () => {
    const events = createEmitter<TestEvents>();
    let calls = 0;
    const listener = () => void calls++;
    const offA = events.on('job.started', listener);
    events.on('job.started', listener);
    events.emit('job.started', { at: 0, id: 'x' });
    offA();
    events.emit('job.started', { at: 0, id: 'x' });
    expect(calls).toBe(3);
  });

  it('isolates a throwing or rejecting listener: logged with the event name, redacted, others still run', async () => {
    const logger = createRecordingLogger();
    const events = createEmitter<TestEvents>({ logger, source: 'queue' });
    const seen: string[] = [];
    events.on('job.failed', () => {
      throw new Error('listener broke for postgres://app:hunter2@db/app');
    });
    events.on('job.failed', async () => {
      throw new Error('async listener broke');
    });
    events.on('job.failed', (event) => void seen.push(event.id));
    expect(() => events.emit('job.failed', { at: 0, id: 'j1', error: 'x' })).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['j1']);
    expect(logger.records.map((record) => [record.level, record.fields.event, record.message])).toEqual([
      ['error', 'job.failed', 'queue event listener threw'],
      ['error', 'job.failed', 'queue event listener threw'],
    ]);
    expect(logger.text()).not.toContain('hunter2');
    expect(logger.text()).toContain('async listener broke');
  });

  it('a throwing logger does not turn a listener error into an engine error', () => {
    const logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: () => {
        throw new Error('logger broke');
      },
    };
    const events = createEmitter<TestEvents>({ logger });
    const seen: string[] = [];
    events.on('job.started', () => {
      throw new Error('listener broke');
    });
    events.on('job.started', (event) => void seen.push(event.id));
    expect(() => events.emit('job.started', { at: 0, id: 'a' })).not.toThrow();
    expect(seen).toEqual(['a']);
  });

  it('a listener that unsubscribes another during emit does not disturb the current round', () => {
    const events = createEmitter<TestEvents>();
    const seen: string[] = [];
    let offSecond = () => {};
    events.on('job.started', () => {
      seen.push('first');
      offSecond();
    });
    offSecond = events.on('job.started', () => void seen.push('second'));
    events.emit('job.started', { at: 0, id: 'a' });
    events.emit('job.started', { at: 0, id: 'b' });
    expect(seen).toEqual(['first', 'second', 'first']);
  });
});
