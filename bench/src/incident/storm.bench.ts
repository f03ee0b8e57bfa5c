import { randomBytes } from 'node:crypto';
import { createAlertmanagerReceiver, createIncidentManager, createPostgresIncidentStore } from '@ops/incident';
import { createPostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { stats, type BenchRow, type BenchSuite } from '../harness.js';
import { alertmanagerMessage, post, runConcurrently, withPeakRss } from './support.js';

const STORM = Number(process.env.OPS_BENCH_INCIDENT_STORM ?? 10_000);
const CONCURRENCY = 16;
// One round: the 10,000-webhook scenario takes minutes on a busy 2-core machine.
const ROUNDS = Number(process.env.OPS_BENCH_INCIDENT_STORM_ROUNDS ?? 1);
const MiB = 1024 * 1024;

const suite: BenchSuite = {
  name: 'incident-storm',
  description: `@ops/incident under a ${STORM.toLocaleString('en')}-alert storm into the PostgreSQL store through createAlertmanagerReceiver (in-process requests): one webhook carrying ${STORM.toLocaleString('en')} alerts (one group → one incident, every alert recorded), and ${STORM.toLocaleString('en')} single-alert webhooks (${STORM.toLocaleString('en')} incidents, ${CONCURRENCY} concurrent senders); wall time and the process's peak RSS (sampled every 20 ms) per scenario, ${ROUNDS} rounds, a fresh schema each; local PostgreSQL on loopback.`,
  async run(): Promise<BenchRow[]> {
    const database = await createPostgresDatabase({ prefix: 'bench_incident_storm' });
    const pool = new pg.Pool({ connectionString: database.connectionString, max: 10 });
    pool.on('error', () => undefined);
    const wall = { one: [] as number[], many: [] as number[] };
    const rss = { one: [] as number[], many: [] as number[] };
    const scenario = async (name: 'one' | 'many') => {
      const schema = `storm_${randomBytes(4).toString('hex')}`;
      const store = createPostgresIncidentStore({ pool, schema });
      await store.migrate();
      const incidents = createIncidentManager({ store, autoStart: false });
      const receiver = createAlertmanagerReceiver(incidents, { maxBodyBytes: 64 * MiB });
      (globalThis as { gc?: () => void }).gc?.();
      const started = performance.now();
      const { peakRss } = await withPeakRss(async () => {
        if (name === 'one') {
          const body = JSON.stringify(alertmanagerMessage('{}:{alertname="Storm"}', STORM));
          const response = await post(receiver, '/webhooks/alertmanager', body);
          if (response.status !== 200) throw new Error(`receiver answered ${response.status}`);
        } else {
          await runConcurrently(STORM, CONCURRENCY, async (index) => {
            const body = JSON.stringify(alertmanagerMessage(`{}:{alertname="Storm",pod="${index}"}`, 1));
            const response = await post(receiver, '/webhooks/alertmanager', body);
            if (response.status !== 200) throw new Error(`receiver answered ${response.status}`);
          });
        }
      });
      wall[name].push((performance.now() - started) / 1000);
      rss[name].push(peakRss / MiB);
      const expected = name === 'one' ? 1 : STORM;
      const stored = (await incidents.list({ limit: 10_000 })).length;
      if (stored !== expected) throw new Error(`${name}: expected ${expected} incidents, found ${stored}`);
      if (name === 'one') {
        const [incident] = await incidents.list();
        const alerts = await incidents.alerts(incident!.id);
        if (alerts.length !== STORM) throw new Error(`expected ${STORM} alerts, found ${alerts.length}`);
      }
      await incidents.close();
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await scenario('one');
        await scenario('many');
      }
    } finally {
      await pool.end();
      await database.dispose();
    }
    const row = (metric: string, unit: string, samples: number[], notes: string): BenchRow => ({
      group: `${STORM.toLocaleString('en')}-alert storm into PostgreSQL`,
      metric,
      unit,
      ours: stats(samples),
      higherIsBetter: false,
      notes,
    });
    return [
      row(
        'one webhook with 10,000 alerts: wall time',
        's',
        wall.one,
        `${Math.round(STORM / stats(wall.one).median)} alerts/s; one transaction`,
      ),
      row('one webhook with 10,000 alerts: peak RSS', 'MiB', rss.one, 'whole bench process'),
      row(
        '10,000 single-alert webhooks: wall time',
        's',
        wall.many,
        `${Math.round(STORM / stats(wall.many).median)} webhooks/s, ${CONCURRENCY} concurrent senders`,
      ),
      row('10,000 single-alert webhooks: peak RSS', 'MiB', rss.many, 'whole bench process'),
    ];
  },
};

export default suite;
