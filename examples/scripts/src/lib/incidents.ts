// The incident store the scripts read and write: @ops/incident's PostgreSQL store, opened by URL.
import { systemClock, type Clock } from '@ops/core';
import { createIncidentManager, createPostgresIncidentStore, type IncidentManager } from '@ops/incident';
import pg from 'pg';

/** An incident manager on the PostgreSQL store at `url`, with no timer loop (a script runs once). */
export interface ScriptIncidents {
  manager: IncidentManager;
  close(): Promise<void>;
}

/** Opens the store (migrating it on first use, as the services do) and a manager that does not tick on its own. */
export function openIncidents(url: string, options: { clock?: Clock } = {}): ScriptIncidents {
  const { clock = systemClock } = options;
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => undefined); // an idle client dropped by the server; the next query reports it
  const manager = createIncidentManager({ store: createPostgresIncidentStore({ pool }), clock, autoStart: false });
  return {
    manager,
    close: async () => {
      await manager.close();
      await pool.end();
    },
  };
}
