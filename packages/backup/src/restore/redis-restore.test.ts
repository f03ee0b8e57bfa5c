import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '@ops/core';
import { tempDir, type TempDir } from '@ops/testkit';
import { withRdbServer } from './redis-restore.js';

let directory: TempDir;
let silentServer: string;
beforeEach(async () => {
  directory = await tempDir('backup-redis-restore');
  // Stands in for a redis-server that starts but never opens its socket (it ignores its arguments).
  silentServer = join(directory.path, 'silent-redis-server');
  await writeFile(silentServer, '#!/bin/sh\nexec sleep 30\n');
  await chmod(silentServer, 0o755);
});
afterEach(async () => {
  await directory.dispose();
});

/** Lets real I/O run until the wait loop sleeps on `clock`; fails when it never does. */
async function untilSleeping(clock: ManualClock): Promise<void> {
  for (let turn = 0; turn < 1000 && clock.pendingTimers() === 0; turn++)
    await new Promise((resolve) => setTimeout(resolve, 1));
  expect(clock.pendingTimers(), 'the wait for redis-server sleeps on the injected clock').toBeGreaterThan(0);
}

describe('the private redis-server of RDB restores', () => {
  it('is given up on after 60 s of the injected clock', async () => {
    const clock = createManualClock();
    const outcome = withRdbServer(
      { rdbPath: join(directory.path, 'dump.rdb'), directory: directory.path, redisServerPath: silentServer, clock },
      async () => 'connected',
    ).catch((error: unknown) => error);
    for (let elapsedMs = 0; elapsedMs <= 60_000; elapsedMs += 20_000) {
      await untilSleeping(clock);
      clock.advance(20_000);
    }
    expect(await outcome).toMatchObject({
      code: 'RESTORE_FAILED',
      message: 'redis-server did not start within 60000 ms to load the RDB',
    });
  });

  it('stops waiting when the signal aborts', async () => {
    const clock = createManualClock();
    const controller = new AbortController();
    const outcome = withRdbServer(
      {
        rdbPath: join(directory.path, 'dump.rdb'),
        directory: directory.path,
        redisServerPath: silentServer,
        clock,
        signal: controller.signal,
      },
      async () => 'connected',
    ).catch((error: unknown) => error);
    await untilSleeping(clock);
    controller.abort(new Error('restore cancelled'));
    expect(await outcome).toMatchObject({ message: 'restore cancelled' });
  });
});
