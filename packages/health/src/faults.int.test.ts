import { toNodeHandler } from '@ops/core';
import { createRecordingLogger } from '@ops/core/testing';
import { startHttpServer } from '@ops/testkit';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { createHealth } from './registry/health.js';

describe('faults through a real HTTP endpoint', () => {
  it('a probe that never settles and one that throws a non-Error: every request is answered, with a readable reason', async () => {
    const logger = createRecordingLogger();
    const health = createHealth({
      logger,
      startReady: true,
      shutdown: { signals: [] },
      showDetails: () => true,
      mode: { ttl: '100ms' },
    });
    health.register({ name: 'stuck', check: () => new Promise(() => undefined), timeout: '200ms' });
    health.register({
      name: 'weird',
      check: () => Promise.reject(Object.assign(Object.create(null), { reason: 'token=abc123456789 expired' })),
    });
    health.register({ name: 'plain', check: () => Promise.reject('a bare string') });
    const server = await startHttpServer(toNodeHandler(health.handler));
    try {
      for (let round = 0; round < 5; round++) {
        const response = await request(`${server.url}/health/ready?verbose`);
        expect(response.statusCode).toBe(503);
        const document = (await response.body.json()) as {
          checks: Record<string, Array<{ status: string; output?: string }>>;
        };
        // The first attempt times out; it never settles, so later rounds report it instead of starting another.
        expect(document.checks['stuck:status']?.[0]).toMatchObject({
          status: 'fail',
          output: round === 0 ? 'timed out after 200ms' : expect.stringMatching(/^timed out, still pending: /),
        });
        expect(document.checks['weird:status']?.[0]?.output).toMatch(/^non-Error thrown: .*\[REDACTED\]/);
        expect(document.checks['plain:status']?.[0]?.output).toBe('a bare string');
        await new Promise((resolve) => setTimeout(resolve, 120));
      }
      const live = await request(`${server.url}/health/live`);
      expect(live.statusCode).toBe(200);
      await live.body.dump();
      expect(logger.text()).not.toContain('abc123456789');
    } finally {
      health.close();
      await server.close();
    }
  });
});
