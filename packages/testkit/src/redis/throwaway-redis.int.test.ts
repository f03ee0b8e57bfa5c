import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

import { isProcessAlive } from '../process/process-utilities.js';
import { startThrowawayRedis } from './throwaway-redis.js';

describe('startThrowawayRedis', () => {
  it('runs a redis-server of its own that can be paused, resumed, stopped and started', async () => {
    const redis = await startThrowawayRedis();
    const client = new Redis(redis.url, { commandTimeout: 300, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      expect(await client.info('server')).toMatch(/tcp_port:(\d+)/);
      expect((await client.info('server')).match(/tcp_port:(\d+)/)?.[1]).toBe(String(redis.port));

      redis.pause();
      await expect(client.ping()).rejects.toThrow(/timed out/i);
      redis.resume();
      expect(await client.ping()).toBe('PONG');

      const firstPid = redis.pid;
      await redis.stop();
      expect(isProcessAlive(firstPid)).toBe(false);
      expect(redis.pid).toBe(0);

      await redis.start();
      expect(isProcessAlive(redis.pid)).toBe(true);
      const fresh = new Redis(redis.url);
      expect(await fresh.ping()).toBe('PONG');
      fresh.disconnect();
    } finally {
      client.disconnect();
    }
  });

  it('resumes a paused server so it shuts down cleanly, and removes its directory on dispose', async () => {
    const redis = await startThrowawayRedis();
    const pid = redis.pid;
    redis.pause();
    await redis.stop();
    expect(isProcessAlive(pid)).toBe(false);
    // Only a running (resumed) server handles SIGTERM itself; a stopped one would need SIGKILL and log nothing.
    expect(await readFile(redis.logFile, 'utf8')).toMatch(/ready to exit, bye bye/);
    await redis.dispose();
    expect(existsSync(redis.logFile)).toBe(false);
  });
});
