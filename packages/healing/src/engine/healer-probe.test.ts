import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createHealer } from './healer.js';
import { healerProbe } from './healer-probe.js';

describe('healerProbe', () => {
  it('passes while the loop ticks, fails when it stops or stalls', async () => {
    const clock = createManualClock();
    const healer = createHealer({ clock, every: '10s', rules: [] });
    const probe = healerProbe({ healer, clock });
    const signal = new AbortController().signal;
    await clock.advanceAsync(10_000);
    expect((await probe(signal)).status).toBe('pass');
    const stalled = healerProbe({ healer: { heartbeat: { ...healer.heartbeat } }, clock });
    await clock.advanceAsync(60_000);
    expect((await probe(signal)).status).toBe('pass');
    expect((await stalled(signal)).status).toBe('fail');
    await healer.stop();
    expect(await probe(signal)).toEqual({ status: 'fail', output: 'the healer is not running' });
  });
});
