import { existsSync } from 'node:fs';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { isProcessAlive } from '../process/process-utilities.js';
import { startThrowawayPostgres } from './throwaway-postgres.js';

async function version(connectionString: string): Promise<string> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const result = await client.query<{ version: string }>('SELECT version() AS version');
    return result.rows[0]?.version ?? '';
  } finally {
    await client.end();
  }
}

describe('startThrowawayPostgres', () => {
  it('runs a cluster of its own that can be stopped and started again on the same port', async () => {
    const postgres = await startThrowawayPostgres();
    try {
      expect(postgres.connectionString).toBe(`postgresql://postgres@127.0.0.1:${postgres.port}/postgres`);
      expect(await version(postgres.connectionString)).toMatch(/^PostgreSQL \d+/);
      const firstPid = postgres.pid;
      expect(isProcessAlive(firstPid)).toBe(true);

      await postgres.stop();
      expect(postgres.pid).toBe(0);
      expect(isProcessAlive(firstPid)).toBe(false);
      await expect(version(postgres.connectionString)).rejects.toThrow(/ECONNREFUSED/);

      await postgres.start();
      expect(isProcessAlive(postgres.pid)).toBe(true);
      expect(await version(postgres.connectionString)).toMatch(/^PostgreSQL \d+/);
    } finally {
      const pid = postgres.pid;
      await postgres.dispose();
      expect(isProcessAlive(pid)).toBe(false);
      expect(existsSync(postgres.dataDir)).toBe(false);
    }
  });
});
