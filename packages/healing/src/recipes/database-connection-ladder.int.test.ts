import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlags } from '../actions/flags.js';
import { createPgPoolHolder } from '../actions/reset-pg-pool.js';
import { createHealer } from '../engine/healer.js';
import type { HealerEvents } from '../engine/healer-events.js';
import { databaseConnectionLadder } from './database-connection-ladder.js';

let database: PostgresDatabase;
const created: pg.Pool[] = [];
beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'healing_ladder' });
}, 120_000);
afterAll(async () => {
  await Promise.all(created.map((pool) => pool.end().catch(() => undefined)));
  await database?.dispose();
});

/** A pool holder whose every pool (the first and each one a reset creates) is ended after the tests. */
function newPoolHolder() {
  return createPgPoolHolder(() => {
    const pool = new pg.Pool({ connectionString: database.connectionString, max: 2 });
    pool.on('error', () => undefined);
    created.push(pool);
    return pool;
  });
}

describe('databaseConnectionLadder against PostgreSQL', () => {
  it(
    '> 5 connection failures in 1 minute → the pool is reset (a query in flight finishes) and verified with SELECT 1',
    { timeout: 180_000 },
    async () => {
      const pools = newPoolHolder();
      const flags = createFlags({ initial: { 'read-only': false } });
      const ladder = databaseConnectionLadder({ pools, flags, drainDeadline: '20s' });
      const healer = createHealer({ rules: [ladder], every: '200ms', autoStart: false });
      const closed: HealerEvents['episode.closed'][] = [];
      const steps: HealerEvents['step.completed'][] = [];
      healer.on('episode.closed', (event) => void closed.push(event));
      healer.on('step.completed', (event) => void steps.push(event));
      const first = pools.pool;
      const inFlight = first.query<{ done: string }>("SELECT pg_sleep(1), 'done' AS done");
      try {
        for (let failure = 0; failure < 5; failure++) ladder.recordFailure();
        healer.start();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(steps).toEqual([]); // 5 is not more than 5
        ladder.recordFailure();
        for (let wait = 0; wait < 300 && closed.length === 0; wait++)
          await new Promise((resolve) => setTimeout(resolve, 100));
        expect(steps).toEqual([expect.objectContaining({ kind: 'reset-pg-pool', result: 'ok' })]);
        expect(closed).toEqual([expect.objectContaining({ outcome: 'healed', rule: 'database-connections' })]);
        expect(pools.pool).not.toBe(first);
        await expect(inFlight).resolves.toMatchObject({ rows: [{ done: 'done' }] });
        expect(flags.get('read-only')).toBe(false);
      } finally {
        await healer.stop();
      }
    },
  );

  it(
    'a database the fleet shares (targets: ["notes-db"]): recordFailure() feeds that target and its episode heals',
    { timeout: 180_000 },
    async () => {
      const pools = newPoolHolder();
      const ladder = databaseConnectionLadder({ pools, flags: createFlags(), targets: ['notes-db'], cooldown: '5m' });
      const healer = createHealer({ rules: [ladder], every: '200ms', autoStart: false });
      const closed: HealerEvents['episode.closed'][] = [];
      healer.on('episode.closed', (event) => void closed.push(event));
      const first = pools.pool;
      try {
        for (let failure = 0; failure < 6; failure++) ladder.recordFailure();
        healer.start();
        for (let wait = 0; wait < 300 && closed.length === 0; wait++)
          await new Promise((resolve) => setTimeout(resolve, 100));
        expect(closed).toEqual([expect.objectContaining({ outcome: 'healed', target: 'notes-db' })]);
        expect(pools.pool).not.toBe(first);
      } finally {
        await healer.stop();
      }
    },
  );
});
