import { readFileSync } from 'node:fs';
import { createPostgresDatabase, createRedisNamespace } from '@ops/testkit';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startService } from '../examples/basic-service.js';
import { createHealth } from './registry/health.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('lists every public member of the Health object', () => {
    const paragraph = /The `Health` object:([\s\S]*?)\n\n/.exec(readme)?.[1] ?? '';
    const health = createHealth({ shutdown: { signals: [] } });
    const members = new Set([...Object.keys(health), ...Object.getOwnPropertyNames(Object.getPrototypeOf(health))]);
    members.delete('constructor');
    health.close();
    const missing = [...members].filter((member) => !new RegExp(`\`${member}[\`(]`).test(paragraph));
    expect(missing).toEqual([]);
  });

  it('includes examples/basic-service.ts verbatim', () => {
    const example = readFileSync(new URL('../examples/basic-service.ts', import.meta.url), 'utf8');
    const match = /<!-- example: examples\/basic-service\.ts -->\s*```ts\n([\s\S]*?)```/.exec(readme);
    expect(match, 'README must include the example under <!-- example: examples/basic-service.ts -->').not.toBeNull();
    expect(match?.[1]).toBe(example);
  });

  it('the example service runs against real PostgreSQL and Redis, answers its endpoints and shuts down', async () => {
    const database = await createPostgresDatabase();
    const namespace = await createRedisNamespace();
    const exits: number[] = [];
    try {
      const service = await startService({ databaseUrl: database.connectionString, redisUrl: namespace.url, port: 0, exit: (code) => exits.push(code) });
      const ready = await request(`${service.url}/health/ready`);
      expect(ready.statusCode).toBe(200);
      expect(await ready.body.json()).toEqual({ status: 'pass', serviceId: 'orders-api', version: '1', releaseId: '1.4.2' });
      const verbose = await request(`${service.url}/health?verbose`, { headers: { authorization: 'Bearer change-me' } });
      const document = (await verbose.body.json()) as { checks: Record<string, unknown> };
      expect(Object.keys(document.checks).sort()).toEqual(['cache:responseTime', 'db:responseTime', 'memory:utilization']);
      const metrics = await request(`${service.url}/metrics`);
      expect(await metrics.body.text()).toContain('ops_health_check_status{check="db",status="pass"} 1');
      const app = await request(`${service.url}/orders`);
      expect(await app.body.text()).toBe('orders\n');
      service.health.close();
      await service.health.shutdown('test').catch(() => undefined);
    } finally {
      await namespace.dispose();
      await database.dispose();
    }
  });
});
