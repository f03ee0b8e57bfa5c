// A replica for the scale-out test: ingests the same alerts as its siblings into one PostgreSQL schema, in its own
// shuffled order, several at a time, and prints what it did as JSON. Run as
// `node --import tsx <this> URL SCHEMA SEED [inbox]` (inbox: queue, then help apply until the inbox is empty).
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { createIncidentManager, type AlertEvent } from '../../lifecycle/incident-manager.js';
import { createPostgresIncidentStore } from './postgres-incident-store.js';
import { scaleOutAlerts } from './scale-out-alerts.js';

const [connectionString, schema, seedText, mode] = process.argv.slice(2) as [string, string, string, string?];
const pool = new pg.Pool({ connectionString, max: 8 });
const store = createPostgresIncidentStore({ pool, schema });
const inbox = mode === 'inbox';
const incidents = createIncidentManager({ store, autoStart: false, inbox });

let seed = Number(seedText);
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};
const events: AlertEvent[] = scaleOutAlerts();
for (let index = events.length - 1; index > 0; index--) {
  const other = Math.floor(random() * (index + 1));
  [events[index], events[other]] = [events[other]!, events[index]!];
}

// Wait for the parent's go, so the replicas really run at the same time.
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.destroy();
const started = performance.now();
const actions: Record<string, number> = {};
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < events.length) {
      const event = events[next++]!;
      const result = await incidents.ingest(event);
      actions[result.action] = (actions[result.action] ?? 0) + 1;
    }
  }),
);
let applied = 0;
// What is still queued is applied by whichever replica holds the inbox; stay until it is empty.
while (inbox && (await store.inboxSize!()) > 0) {
  applied += await incidents.drainInbox();
  await delay(20);
}
process.stdout.write(`${JSON.stringify({ actions, applied, ms: performance.now() - started })}\n`);
await incidents.close();
await pool.end();
