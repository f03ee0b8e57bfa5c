import { randomBytes } from 'node:crypto';
import {
  createAlertmanagerReceiver,
  createIncidentManager,
  createPostgresIncidentStore,
  type Notifier,
  type PgPoolLike,
} from '@ops/incident';
import { createPostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';
import { alertmanagerMessage, cpuPerUnit, post, runConcurrently } from './support.js';

const WEBHOOKS = Number(process.env.OPS_BENCH_INCIDENT_WEBHOOKS ?? 2000);
const KEYS = WEBHOOKS / 4; // each key fires 4 times: one new incident, three deduplicated repeats
const CONCURRENCY = Number(process.env.OPS_BENCH_INCIDENT_CONCURRENCY ?? 8);
const POOL_SIZE = 10;
const ROUNDS = Number(process.env.OPS_BENCH_INCIDENT_ROUNDS ?? 3);

// A notifier the outbox queues for (never delivered here: the loop is off), so every change writes an outbox row.
const queued: Notifier = { kind: 'bench', send: async () => undefined };

const BARE_TABLE = `CREATE TABLE IF NOT EXISTS bare_alerts (
  service text NOT NULL, dedup_key text NOT NULL, title text NOT NULL, labels jsonb NOT NULL,
  occurrences integer NOT NULL DEFAULT 1, first_seen_at timestamptz NOT NULL, last_seen_at timestamptz NOT NULL,
  PRIMARY KEY (service, dedup_key))`;
const BARE_UPSERT = `INSERT INTO bare_alerts (service, dedup_key, title, labels, first_seen_at, last_seen_at)
  VALUES ($1, $2, $3, $4, now(), now())
  ON CONFLICT (service, dedup_key) DO UPDATE SET occurrences = bare_alerts.occurrences + 1, last_seen_at = now()`;

const suite: BenchSuite = {
  name: 'incident-ingest',
  description: `@ops/incident: ${WEBHOOKS.toLocaleString('en')} Alertmanager webhooks (one firing alert each, ${KEYS} dedup keys each firing 4 times) through createAlertmanagerReceiver (in-process request: JSON parse, validation) into the PostgreSQL store — dedup, alert row, timeline and outbox row in one transaction — against a bare loop of INSERT … ON CONFLICT DO UPDATE of the same alerts over the same pg pool (${POOL_SIZE} connections); ${CONCURRENCY} concurrent senders each; ${ROUNDS} rounds alternating, a fresh schema / table each round; local PostgreSQL on loopback.`,
  async run(): Promise<BenchRow[]> {
    const database = await createPostgresDatabase({ prefix: 'bench_incident' });
    const pool = new pg.Pool({ connectionString: database.connectionString, max: POOL_SIZE, idleTimeoutMillis: 0 });
    const databaseName = new URL(database.connectionString).pathname.slice(1);
    pool.on('error', () => undefined);
    const ours: number[] = [];
    const bare: number[] = [];
    const roundTrips: number[] = [];
    const cpu = {
      ours: { node: [] as number[], postgres: [] as number[] },
      bare: { node: [] as number[], postgres: [] as number[] },
    };
    try {
      const messages = Array.from({ length: WEBHOOKS }, (_, index) =>
        JSON.stringify(alertmanagerMessage(`{}:{alertname="HighErrorRate",key="${index % KEYS}"}`, 1)),
      );
      const runOurs = async () => {
        const schema = `bench_${randomBytes(4).toString('hex')}`;
        // Round trips: the store runs on a pool wrapper that counts every query (BEGIN and COMMIT included).
        let queries = 0;
        const counting: PgPoolLike = {
          query: (text, values) => {
            queries++;
            return pool.query(text, values) as never;
          },
          connect: async () => {
            const client = await pool.connect();
            return {
              query: (text: string, values?: unknown[]) => {
                queries++;
                return client.query(text, values) as never;
              },
              release: (error?: Error | boolean) => client.release(error),
            };
          },
        };
        const store = createPostgresIncidentStore({ pool: counting, schema });
        await store.migrate();
        const incidents = createIncidentManager({
          store,
          autoStart: false,
          notifiers: { hook: queued },
          routes: [{ notify: ['hook'], events: ['incident.triggered'] }],
        });
        const receiver = createAlertmanagerReceiver(incidents);
        queries = 0;
        const started = performance.now();
        const used = await cpuPerUnit(
          WEBHOOKS,
          () =>
            runConcurrently(WEBHOOKS, CONCURRENCY, async (index) => {
              const response = await post(receiver, '/webhooks/alertmanager', messages[index]!);
              if (response.status !== 200)
                throw new Error(`receiver answered ${response.status}: ${String(response.body)}`);
            }),
          databaseName,
        );
        const seconds = (performance.now() - started) / 1000;
        cpu.ours.node.push(used.node);
        cpu.ours.postgres.push(used.postgres);
        const open = await incidents.list({ open: true, limit: 10_000 });
        if (open.length !== KEYS) throw new Error(`expected ${KEYS} incidents, found ${open.length}`);
        await incidents.close();
        await pool.query(`DROP SCHEMA ${schema} CASCADE`);
        ours.push(WEBHOOKS / seconds);
        roundTrips.push(queries / WEBHOOKS);
      };
      const runBare = async () => {
        await pool.query('DROP TABLE IF EXISTS bare_alerts');
        await pool.query(BARE_TABLE);
        const started = performance.now();
        const used = await cpuPerUnit(
          WEBHOOKS,
          () =>
            runConcurrently(WEBHOOKS, CONCURRENCY, async (index) => {
              const key = index % KEYS;
              await pool.query(BARE_UPSERT, [
                'checkout',
                `am:{}:{alertname="HighErrorRate",key="${key}"}`,
                'Error ratio above 5%',
                JSON.stringify({ alertname: 'HighErrorRate', service: 'checkout', severity: 'warning' }),
              ]);
            }),
          databaseName,
        );
        bare.push(WEBHOOKS / ((performance.now() - started) / 1000));
        cpu.bare.node.push(used.node);
        cpu.bare.postgres.push(used.postgres);
      };
      await runOurs(); // warm-up (JIT, migrations path, connections)
      ours.length = 0;
      roundTrips.length = 0;
      await runBare();
      bare.length = 0;
      for (const side of [cpu.ours, cpu.bare]) {
        side.node.length = 0;
        side.postgres.length = 0;
      }
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          await runOurs();
          await runBare();
        } else {
          await runBare();
          await runOurs();
        }
      }
    } finally {
      await pool.end();
      await database.dispose();
    }
    const perAlert = stats(roundTrips);
    const cpuRow = (metric: string, side: 'node' | 'postgres', notes: string): BenchRow =>
      compareRow({
        group: 'Alertmanager ingest into PostgreSQL',
        metric,
        unit: 'µs',
        ours: stats(cpu.ours[side]),
        peer: { name: 'bare INSERT … ON CONFLICT DO UPDATE loop', ...stats(cpu.bare[side]) },
        higherIsBetter: false,
        notes,
      });
    return [
      compareRow(
        {
          group: 'Alertmanager ingest into PostgreSQL',
          metric: 'alerts/s (dedup, alert, timeline, outbox; committed before the 200)',
          unit: 'alerts/s',
          ours: stats(ours),
          peer: { name: 'bare INSERT … ON CONFLICT DO UPDATE loop', ...stats(bare) },
          higherIsBetter: true,
          target: '≥ 0.5× bare upsert loop',
          notes: `${perAlert.median.toFixed(1)} queries per webhook (BEGIN/COMMIT included)`,
        },
        { atLeast: 0.5 },
      ),
      cpuRow(
        'bench process CPU per alert',
        'node',
        'receiver, manager and pg client (user + system, process.cpuUsage)',
      ),
      cpuRow('PostgreSQL server CPU per alert', 'postgres', 'the backends of the bench database, from /proc'),
    ];
  },
};

export default suite;
