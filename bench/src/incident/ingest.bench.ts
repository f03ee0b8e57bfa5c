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
  description: `@ops/incident: ${WEBHOOKS.toLocaleString('en')} Alertmanager webhooks (one firing alert each, ${KEYS} dedup keys each firing 4 times) through createAlertmanagerReceiver (in-process request: JSON parse, validation) into the PostgreSQL store — dedup, alert row, timeline and outbox row in one transaction — by default committed before the 200, and in inbox mode queued durably before the 202 and applied in batches (measured until the last is applied) — against a bare loop of INSERT … ON CONFLICT DO UPDATE of the same alerts over the same pg pool (${POOL_SIZE} connections); ${CONCURRENCY} concurrent senders each; ${ROUNDS} rounds in rotating order, a fresh schema / table each round; local PostgreSQL on loopback.`,
  async run(): Promise<BenchRow[]> {
    const database = await createPostgresDatabase({ prefix: 'bench_incident' });
    const pool = new pg.Pool({ connectionString: database.connectionString, max: POOL_SIZE, idleTimeoutMillis: 0 });
    const databaseName = new URL(database.connectionString).pathname.slice(1);
    pool.on('error', () => undefined);
    const ours: number[] = [];
    const bare: number[] = [];
    const inboxEndToEnd: number[] = [];
    const inboxAccepted: number[] = [];
    const roundTrips: number[] = [];
    const cpu = {
      ours: { node: [] as number[], postgres: [] as number[] },
      inbox: { node: [] as number[], postgres: [] as number[] },
      bare: { node: [] as number[], postgres: [] as number[] },
    };
    try {
      const messages = Array.from({ length: WEBHOOKS }, (_, index) =>
        JSON.stringify(alertmanagerMessage(`{}:{alertname="HighErrorRate",key="${index % KEYS}"}`, 1)),
      );
      const runOurs = async (mode: 'commit' | 'inbox' = 'commit') => {
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
          inbox: mode === 'inbox',
        });
        const receiver = createAlertmanagerReceiver(incidents);
        const expected = mode === 'inbox' ? 202 : 200;
        let acceptedAt = 0;
        queries = 0;
        const started = performance.now();
        const used = await cpuPerUnit(
          WEBHOOKS,
          async () => {
            await runConcurrently(WEBHOOKS, CONCURRENCY, async (index) => {
              const response = await post(receiver, '/webhooks/alertmanager', messages[index]!);
              if (response.status !== expected)
                throw new Error(`receiver answered ${response.status}: ${String(response.body)}`);
            });
            acceptedAt = performance.now();
            // Inbox mode: until every queued event is applied (the applier runs since the first enqueue).
            if (mode === 'inbox') while ((await store.inboxSize!()) > 0) await incidents.drainInbox();
          },
          databaseName,
        );
        const seconds = (performance.now() - started) / 1000;
        const side = mode === 'inbox' ? cpu.inbox : cpu.ours;
        side.node.push(used.node);
        side.postgres.push(used.postgres);
        const open = await incidents.list({ open: true, limit: 10_000 });
        if (open.length !== KEYS) throw new Error(`expected ${KEYS} incidents, found ${open.length}`);
        const counted = open.reduce((sum, incident) => sum + incident.occurrences, 0);
        if (counted !== WEBHOOKS) throw new Error(`expected ${WEBHOOKS} occurrences, counted ${counted}`);
        await incidents.close();
        await pool.query(`DROP SCHEMA ${schema} CASCADE`);
        if (mode === 'inbox') {
          inboxEndToEnd.push(WEBHOOKS / seconds);
          inboxAccepted.push(WEBHOOKS / ((acceptedAt - started) / 1000));
          return;
        }
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
      await runOurs('inbox');
      await runBare();
      for (const list of [ours, roundTrips, bare, inboxEndToEnd, inboxAccepted]) list.length = 0;
      for (const side of [cpu.ours, cpu.inbox, cpu.bare]) {
        side.node.length = 0;
        side.postgres.length = 0;
      }
      // The three in a rotating order, so none always runs first.
      const order = [() => runOurs(), () => runOurs('inbox'), runBare];
      for (let round = 0; round < ROUNDS; round++) {
        for (let step = 0; step < order.length; step++) await order[(round + step) % order.length]!();
      }
    } finally {
      await pool.end();
      await database.dispose();
    }
    const perAlert = stats(roundTrips);
    const cpuRow = (
      metric: string,
      side: 'node' | 'postgres',
      notes: string,
      mode: 'ours' | 'inbox' = 'ours',
    ): BenchRow =>
      compareRow({
        group: 'Alertmanager ingest into PostgreSQL',
        metric,
        unit: 'µs',
        ours: stats(cpu[mode][side]),
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
      compareRow(
        {
          group: 'Alertmanager ingest into PostgreSQL',
          metric: 'inbox mode, end to end: alerts/s (queued durably before the 202, applied in batches of 500)',
          unit: 'alerts/s',
          ours: stats(inboxEndToEnd),
          peer: { name: 'bare INSERT … ON CONFLICT DO UPDATE loop', ...stats(bare) },
          higherIsBetter: true,
          target: '≥ 0.5× bare upsert loop',
          notes: 'first webhook sent to the last event applied (dedup, alert, timeline, outbox committed)',
        },
        { atLeast: 0.5 },
      ),
      compareRow({
        group: 'Alertmanager ingest into PostgreSQL',
        metric: 'inbox mode, accepted: alerts/s (in the inbox, committed, before the 202)',
        unit: 'alerts/s',
        ours: stats(inboxAccepted),
        peer: { name: 'bare INSERT … ON CONFLICT DO UPDATE loop', ...stats(bare) },
        higherIsBetter: true,
        notes: 'the applier runs meanwhile',
      }),
      cpuRow(
        'bench process CPU per alert',
        'node',
        'receiver, manager and pg client (user + system, process.cpuUsage)',
      ),
      cpuRow('PostgreSQL server CPU per alert', 'postgres', 'the backends of the bench database, from /proc'),
      cpuRow('inbox mode: bench process CPU per alert', 'node', 'queueing and applying', 'inbox'),
      cpuRow('inbox mode: PostgreSQL server CPU per alert', 'postgres', 'the backends of the bench database', 'inbox'),
    ];
  },
};

export default suite;
