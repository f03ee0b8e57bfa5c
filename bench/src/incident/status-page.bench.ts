import { createManualClock, listen } from '@ops/core';
import { createIncidentManager, createStatusPage } from '@ops/incident';
import { compareRow, stats, type BenchRow, type BenchSuite } from '../harness.js';
import { load } from '../health/support.js';

const COMPONENTS = 50;
const PAST_INCIDENTS = 1000;
const CONNECTIONS = 20;
const DURATION_SECONDS = Number(process.env.OPS_BENCH_INCIDENT_PAGE_SECONDS ?? 5);
const ROUNDS = Number(process.env.OPS_BENCH_INCIDENT_PAGE_ROUNDS ?? 3);
const DAY = 86_400_000;

/** 1,000 incidents over the last 89 days on 50 components (each resolved after 40 minutes), 3 still open. */
async function seed() {
  const now = Date.now();
  const clock = createManualClock(now - 89 * DAY);
  const incidents = createIncidentManager({ clock, autoStart: false });
  const step = Math.floor((88 * DAY) / PAST_INCIDENTS);
  for (let index = 0; index < PAST_INCIDENTS; index++) {
    const { incident } = await incidents.trigger({
      service: `service-${index % COMPONENTS}`,
      title: `Elevated errors on service-${index % COMPONENTS}`,
      severity: (['P0', 'P1', 'P2', 'P3'] as const)[index % 4]!,
    });
    await incidents.postUpdate(incident!.id, { body: 'We are investigating elevated error rates.' });
    clock.advance(40 * 60_000);
    await incidents.resolve(incident!.id, { reason: 'user', by: 'bench', note: 'rolled back' });
    clock.advance(step - 40 * 60_000);
  }
  for (let index = 0; index < 3; index++)
    await incidents.trigger({ service: `service-${index}`, title: 'Ongoing degradation', severity: 'P2' });
  return incidents;
}

const suite: BenchSuite = {
  name: 'incident-status-page',
  description: `@ops/incident createStatusPage GET /status/api/v2/summary.json with ${COMPONENTS} components and ${PAST_INCIDENTS.toLocaleString('en')} past incidents (in-memory store) — with the default 10 s page cache, and rebuilt on every request (cacheTtl 0) — against a constant handler answering the same bytes, all through core's listen() in the bench process; autocannon ${CONNECTIONS} connections × ${DURATION_SECONDS} s, ${ROUNDS} rounds in rotating order on 127.0.0.1.`,
  async run(): Promise<BenchRow[]> {
    const incidents = await seed();
    const components = Array.from({ length: COMPONENTS }, (_, index) => ({
      id: `service-${index}`,
      name: `Service ${index}`,
    }));
    const page = { name: 'Bench', url: 'https://status.bench.example' };
    const cached = createStatusPage(incidents, { page, components });
    const uncached = createStatusPage(incidents, { page, components, cacheTtl: 0 });
    const sample = await cached.handler({
      method: 'GET',
      path: '/status/api/v2/summary.json',
      query: new URLSearchParams(),
      headers: {},
    });
    if (!sample || sample.status !== 200) throw new Error('summary.json did not answer 200');
    const bytes = typeof sample.body === 'string' ? Buffer.byteLength(sample.body) : sample.body.length;
    const servers = {
      cached: await listen(cached.handler),
      uncached: await listen(uncached.handler),
      constant: await listen(async () => ({ ...sample })),
    };
    const modes = ['cached', 'uncached', 'constant'] as const;
    const rps: Record<(typeof modes)[number], number[]> = { cached: [], uncached: [], constant: [] };
    let failures = 0;
    try {
      for (const mode of modes)
        await load(`${servers[mode].url}/status/api/v2/summary.json`, { connections: CONNECTIONS, durationSeconds: 1 });
      for (let round = 0; round < ROUNDS; round++) {
        for (let offset = 0; offset < modes.length; offset++) {
          const mode = modes[(round + offset) % modes.length]!;
          const result = await load(`${servers[mode].url}/status/api/v2/summary.json`, {
            connections: CONNECTIONS,
            durationSeconds: DURATION_SECONDS,
          });
          failures += result.non2xx + result.errors + result.timeouts;
          rps[mode].push(result.requestsPerSecond);
        }
      }
    } finally {
      for (const server of Object.values(servers)) await server.close();
      await incidents.close();
    }
    if (failures > 0) throw new Error(`${failures} failed requests`);
    const peer = { name: 'constant handler (same bytes)', ...stats(rps.constant) };
    const group = `Status page summary.json (${COMPONENTS} components, ${PAST_INCIDENTS.toLocaleString('en')} past incidents)`;
    return [
      compareRow({
        group,
        metric: 'requests/s, default 10 s cache',
        unit: 'req/s',
        ours: stats(rps.cached),
        peer,
        higherIsBetter: true,
        notes: `${Math.round(bytes / 1024)} KiB per response`,
      }),
      compareRow({
        group,
        metric: 'requests/s, rebuilt per request (cacheTtl 0)',
        unit: 'req/s',
        ours: stats(rps.uncached),
        peer,
        higherIsBetter: true,
        notes: 'reads the store and renders every time',
      }),
    ];
  },
};

export default suite;
