import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresNotesRepository } from './postgres-notes-repository.js';

const REPLICAS = 8;
const ROUNDS = 5;

let databases: PostgresDatabase[] = [];
let pools: pg.Pool[] = [];

afterEach(async () => {
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  await Promise.all(databases.map((database) => database.dispose()));
  pools = [];
  databases = [];
});

describe('createPostgresNotesRepository init', () => {
  it('lets replicas initialise one empty database at the same time (no 23505 on the catalog)', async () => {
    // Each round: a fresh empty database and REPLICAS repositories on their own pools calling init() at once, as
    // replicas starting together do. Without a lock, CREATE TABLE IF NOT EXISTS races on pg_type and one loses.
    for (let round = 0; round < ROUNDS; round++) {
      const database = await createPostgresDatabase();
      databases.push(database);
      const repositories = Array.from({ length: REPLICAS }, () => {
        const pool = new pg.Pool({ connectionString: database.connectionString, max: 1 });
        pools.push(pool);
        return createPostgresNotesRepository({ pool });
      });
      const outcomes = await Promise.allSettled(repositories.map((repository) => repository.init()));
      const failures = outcomes.flatMap((outcome) =>
        outcome.status === 'rejected' ? [String((outcome.reason as Error).message)] : [],
      );
      expect(failures, `round ${round + 1}`).toEqual([]);
      const created = await repositories[0]!.create({ title: 'after a concurrent init', body: '' });
      expect((await repositories[REPLICAS - 1]!.get(created.id))?.title).toBe('after a concurrent init');
    }
  });
});
