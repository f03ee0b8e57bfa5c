// Two replicas in one process, on one PostgreSQL database and one Redis: a shared fault reaches both, the incident
// is one, and the pool is reset by exactly one of them, which both read back from the shared audit stream.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@ops/core';
import { createPostgresDatabase, createRedisNamespace, type PostgresDatabase, type RedisNamespace } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from './backend.js';

let database: PostgresDatabase;
let redis: RedisNamespace;
let directory: string;
const replicas: ReferenceBackend[] = [];

beforeAll(async () => {
  [database, redis] = await Promise.all([createPostgresDatabase({ prefix: 'fleet' }), createRedisNamespace()]);
  directory = await mkdtemp(join(tmpdir(), 'ops-reference-fleet-'));
  for (const instanceId of ['fleet-a', 'fleet-b']) {
    replicas.push(
      await startReferenceBackend({
        config: {
          port: 0,
          adminEnabled: true,
          instanceId,
          databaseUrl: database.connectionString,
          redisUrl: redis.url,
          backupDirectory: join(directory, `backups-${instanceId}`),
          drainDelay: 0,
          healEvery: '100ms',
        },
        sloEvaluateEvery: false,
        healerAutoStart: false,
        signals: [],
        exit: () => undefined,
      }),
    );
  }
});

afterAll(async () => {
  for (const replica of replicas) await replica.shutdown('test finished');
  await Promise.all([database?.dispose(), redis?.dispose()]);
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function json(url: string, init: RequestInit = {}): Promise<any> {
  const response = await fetch(url, init);
  return JSON.parse(await response.text());
}

async function eventually<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = systemClock.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (systemClock.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await systemClock.sleep(50);
  }
}

describe('two replicas on one PostgreSQL and Redis', () => {
  it('shares the fault, opens one incident and resets the pool exactly once for the fleet', async () => {
    const [a, b] = replicas as [ReferenceBackend, ReferenceBackend];
    expect((await fetch(`${a.url}/notes`, { method: 'POST', body: '{"title":"fleet"}' })).status).toBe(201);

    const set = await json(`${a.url}/admin/faults`, {
      method: 'PUT',
      body: JSON.stringify({ poisonedConnections: true, shared: true }),
    });
    expect(set).toMatchObject({
      poisonedConnections: true,
      sharedStore: 'redis',
      local: { poisonedConnections: false },
    });
    await eventually('replica b to see the shared fault', async () =>
      (await json(`${b.url}/admin/faults`)).poisonedConnections === true ? true : undefined,
    );
    for (const replica of replicas)
      for (let attempt = 0; attempt < 6; attempt++) expect((await fetch(`${replica.url}/notes`)).status).toBe(503);

    // Both replicas see the store fail: one incident, its occurrences counted from both.
    await Promise.all(replicas.map((replica) => replica.evaluateAlerts()));
    const incident = await eventually('one notes:degraded incident with both replicas in it', async () => {
      const open = (await json(`${b.url}/admin/incidents?open=true`)).incidents as Array<Record<string, unknown>>;
      const degraded = open.filter((entry) => entry.dedupKey === 'notes:degraded');
      return degraded.length === 1 && Number(degraded[0]!.occurrences) >= 2 ? degraded[0] : undefined;
    });
    expect(incident).toMatchObject({ severity: 'P0', service: 'notes' });

    // Both healers evaluate at once; the Redis lock lets one of them act on notes-db.
    await Promise.all(replicas.map((replica) => replica.healing.healer.tick()));
    await Promise.all(replicas.map((replica) => replica.healing.healer.idle()));
    const actions = await eventually('the pool reset in the shared audit', async () => {
      const read = (await json(`${a.url}/admin/healing`)).actions as Array<Record<string, unknown>>;
      return read.length > 0 ? read : undefined;
    });
    expect(actions).toEqual([
      expect.objectContaining({ rule: 'database-connections', target: 'notes-db', step: 1, outcome: 'ok' }),
    ]);
    expect(['fleet-a', 'fleet-b']).toContain(actions[0]!.instance);
    expect((await json(`${b.url}/admin/healing`)).actions).toEqual(actions);

    await eventually('the fault to be cleared for the fleet', async () =>
      (await json(`${b.url}/admin/faults`)).poisonedConnections === false ? true : undefined,
    );
    for (const replica of replicas) expect((await fetch(`${replica.url}/notes`)).status).toBe(200);
    const mitigated = await eventually('healing to mitigate the incident', async () => {
      const current = (await json(`${a.url}/admin/incidents/${String(incident.id)}`)).incident as Record<
        string,
        unknown
      >;
      return current.status === 'mitigated' ? current : undefined;
    });
    expect(mitigated.mitigatedAt).not.toBeNull();

    const cleared = await json(`${a.url}/admin/faults?shared=true`, { method: 'DELETE' });
    expect(cleared).toMatchObject({ shared: null, poisonedConnections: false });
  });
});
