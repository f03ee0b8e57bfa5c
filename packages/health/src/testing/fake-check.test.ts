import { describe, expect, it } from 'vitest';
import { createHealth } from '../registry/health.js';
import { createFakeCheck, createManualClock } from './index.js';

describe('createFakeCheck', () => {
  it('lets a test drive a check through pass, fail, throw and hang', async () => {
    const clock = createManualClock();
    const health = createHealth({ clock, startReady: true, shutdown: { signals: [] }, mode: { ttl: 0 } });
    const database = createFakeCheck({ dependency: true });
    health.register({ name: 'db', check: database.check, timeout: '1s' });
    expect((await health.ready()).status).toBe('pass');
    database.fail('connection refused');
    expect(await health.ready()).toMatchObject({ status: 'fail', checks: [{ output: 'connection refused' }] });
    database.throwing(42);
    expect((await health.ready()).checks[0]?.output).toBe('non-Error thrown: 42');
    database.hang();
    const pending = health.ready();
    await clock.advanceAsync(1_000);
    expect((await pending).checks[0]).toMatchObject({ timedOut: true });
    expect(database.aborted).toBe(1);
    database.set('warn', { observed: 3 });
    expect((await health.ready()).status).toBe('warn');
    expect(database.calls).toBe(5);
    expect(() => health.register({ name: 'db-live', check: database.check, tags: ['live'] })).toThrow(/live/);
    health.close();
  });
});
