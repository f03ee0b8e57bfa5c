// Issue 17: three replicas of the backend (src/server.ts processes) on one PostgreSQL database and one Redis
// database, behind the same shared fault. One problem gives exactly one incident (its occurrences counted), one page
// per escalation level and one healing action per target and ladder step — and a replica SIGKILLed in the middle of
// the episode (the one that delivered the first page) changes none of that: the other two carry on.
import { join } from 'node:path';
import {
  createPostgresDatabase,
  createRedisNamespace,
  tempDir,
  type PostgresDatabase,
  type RedisNamespace,
  type TempDir,
} from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clearFaults,
  getFaults,
  getIncident,
  healingActions,
  healingEpisodes,
  openIncidents,
  setFaults,
  type HealingAction,
} from './harness/admin-api.js';
import { startBackendProcess, type BackendProcess } from './harness/backend-process.js';
import { addCounts, sendTraffic, type StatusCounts } from './harness/http.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from './harness/webhook-receiver.js';
import { waitUntil } from './harness/wait.js';

const REPLICAS = ['replica-a', 'replica-b', 'replica-c'] as const;
/** L2 after 4.5 s, L3 after 13.5 s, L4 after 27 s, the repeat 9 s after that (README: ESCALATION_SCALE). */
const ESCALATION_SCALE = '0.015';
/** The healing audit stream in Redis (README: healing store and audit stream with REDIS_URL). */
const AUDIT_STREAM = 'ops:reference-backend:healing:audit';

let directory: TempDir;
let database: PostgresDatabase;
let redis: RedisNamespace;
let receiver: WebhookReceiver;
const replicas: BackendProcess[] = [];

beforeAll(async () => {
  [directory, database, redis, receiver] = await Promise.all([
    tempDir('reference-backend-replicas'),
    createPostgresDatabase({ prefix: 'replicas' }),
    createRedisNamespace(),
    startWebhookReceiver(),
  ]);
  const environment = (instanceId: string): Record<string, string> => ({
    ADMIN_ENABLED: 'true',
    INSTANCE_ID: instanceId,
    ALERT_SOURCE: 'in-process',
    DATABASE_URL: database.connectionString,
    REDIS_URL: redis.url,
    SLO_EVALUATE_EVERY: '1s',
    HEAL_EVERY: '1s',
    HEAL_SETTLE: '1s',
    ESCALATION_SCALE,
    INCIDENT_TICK_EVERY: '250ms',
    NOTIFY_WEBHOOK_URL: receiver.url,
    BACKUP_DIR: join(directory.path, `backups-${instanceId}`),
  });
  // All three start at once on the empty database, as a deployment's replicas do (the notes table and the incident
  // schema are each created under an advisory lock).
  replicas.push(
    ...(await Promise.all(
      REPLICAS.map((id) => startBackendProcess({ environment: environment(id), logDirectory: directory.path })),
    )),
  );
}, 150_000); // three processes (tsx) starting in parallel on a loaded 2-core machine

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
  await receiver?.close();
  await Promise.all([database?.dispose(), redis?.dispose()]);
  await directory?.dispose();
});

interface Page {
  /** `webhook-id`: one message, the same on each retry. */
  id: string;
  role: string;
  instance: string;
  type: string;
  /** 0-based level of the escalation policy (0 is L1, the automation; 1 is L2, the first human). */
  level: number | undefined;
  loop: number | undefined;
  incidentId: string | undefined;
  /** When the event happened (the body's `timestamp`), epoch ms. */
  at: number;
}

function pagesOf(received: readonly ReceivedWebhook[]): Page[] {
  return received.map((hit) => {
    const body = hit.body as {
      type?: string;
      timestamp?: string;
      data?: { incident?: { id?: string }; level?: number; loop?: number };
    };
    return {
      id: hit.id,
      role: String(hit.headers['x-notes-oncall-role'] ?? ''),
      instance: String(hit.headers['x-notes-instance'] ?? ''),
      type: body.type ?? '',
      level: body.data?.level,
      loop: body.data?.loop,
      incidentId: body.data?.incident?.id,
      at: Date.parse(body.timestamp ?? ''),
    };
  });
}

/** Escalation pages of one incident by `level/loop`, each with the distinct message ids that arrived. */
function escalationsByLevel(received: readonly ReceivedWebhook[], incidentId: string): Record<string, string[]> {
  const levels: Record<string, string[]> = {};
  for (const page of pagesOf(received)) {
    if (page.incidentId !== incidentId || page.type !== 'incident.escalated') continue;
    const key = `L${(page.level ?? -2) + 1}/loop${page.loop ?? 0}`;
    levels[key] = [...new Set([...(levels[key] ?? []), page.id])];
  }
  return levels;
}

/** Waits until every running replica has the shared faults in force (they poll Redis every ~250 ms). */
async function everyReplicaSees(faults: Record<string, unknown>): Promise<void> {
  await waitUntil(
    `every replica to see ${JSON.stringify(faults)}`,
    async (seen) => {
      const views = await Promise.all(
        replicas.filter((replica) => replica.isRunning()).map((replica) => getFaults(replica.url)),
      );
      seen(views);
      return views.every((view) => Object.entries(faults).every(([name, value]) => view[name] === value))
        ? true
        : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

/** Open incidents by dedup key (the problem), sorted; each key must hold one incident. */
async function openProblems(url: string): Promise<Map<string, string[]>> {
  const problems = new Map<string, string[]>();
  for (const incident of await openIncidents(url))
    problems.set(incident.dedupKey, [...(problems.get(incident.dedupKey) ?? []), incident.id]);
  return new Map([...problems].sort(([a], [b]) => a.localeCompare(b)));
}

/** Actions that share rule, target and ladder step (there must be none). */
function duplicateActions(actions: readonly HealingAction[]): HealingAction[][] {
  const byStep = new Map<string, HealingAction[]>();
  for (const action of actions) {
    const key = JSON.stringify([action.rule, action.target, action.step]);
    byStep.set(key, [...(byStep.get(key) ?? []), action]);
  }
  return [...byStep.values()].filter((group) => group.length > 1);
}

describe('three replicas on one PostgreSQL and Redis, one shared fault', () => {
  it(
    'one incident, one page per escalation level, one healing action per target and step — also after a replica is SIGKILLed mid-episode',
    { timeout: 150_000 },
    async () => {
      const running = () => replicas.filter((replica) => replica.isRunning());
      const urls = () => running().map((replica) => replica.url);
      expect(await sendTraffic(urls(), { count: 30 })).toEqual({ 200: 30 });
      // Healthy traffic pages nobody. (A cold replica's first requests can be slow enough for a latency ticket-tier
      // burn, a P2 ticket — its own problem, not a page; the assertions below are per problem.)
      for (const replica of replicas) {
        expect((await openIncidents(replica.url)).filter((incident) => incident.urgency === 'high')).toEqual([]);
      }

      // One replica sets the fault for the fleet (Redis); every replica's store fails, each alerts in-process.
      await setFaults(replicas[0]!.url, { storeUnavailable: true, shared: true });
      await everyReplicaSees({ storeUnavailable: true });
      const failing: StatusCounts = {};
      const opened = await waitUntil(
        'one P0 incident, its occurrences counted from all three replicas',
        async (seen) => {
          addCounts(failing, await sendTraffic(urls(), { count: 15 }));
          const open = await openIncidents(replicas[1]!.url);
          seen(open);
          const degraded = open.find((incident) => incident.dedupKey === 'notes:degraded');
          return (degraded?.occurrences ?? 0) >= REPLICAS.length ? degraded : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      expect(Object.keys(failing)).toEqual(['503']);
      expect(opened).toMatchObject({ severity: 'P0', service: 'notes', dedupKey: 'notes:degraded' });
      // One open incident per problem, the same whichever replica is asked.
      const problems = await openProblems(replicas[0]!.url);
      expect(problems.get('notes:degraded')).toEqual([opened.id]);
      for (const replica of replicas) expect(await openProblems(replica.url)).toEqual(problems);

      // L2 pages the platform engineer once; the replica that delivered it is killed without a chance to clean up.
      const firstPage = await waitUntil(
        'the L2 page (platform engineer)',
        (seen) => {
          const pages = pagesOf(receiver.received);
          seen(pages);
          return pages.find((page) => page.type === 'incident.escalated' && page.level === 1);
        },
        { timeoutMs: 30_000 },
      );
      expect(firstPage).toMatchObject({ role: 'platform-engineer', incidentId: opened.id });
      const victim = replicas.find((replica) => replica.instanceId === firstPage.instance);
      expect(victim, `the page came from ${firstPage.instance}`).toBeDefined();
      expect((await victim!.kill('SIGKILL')).signal).toBe('SIGKILL');
      const survivors = running();
      expect(survivors.map((replica) => replica.instanceId).sort()).toEqual(
        REPLICAS.filter((id) => id !== victim!.instanceId),
      );

      // The survivors carry on: L3 pages the senior engineer, once.
      await waitUntil(
        'the L3 page (senior engineer) after the kill',
        async (seen) => {
          addCounts(failing, await sendTraffic(urls(), { count: 6 }));
          const levels = escalationsByLevel(receiver.received, opened.id);
          seen(levels);
          return levels['L3/loop0'] === undefined ? undefined : true;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const thirdPage = pagesOf(receiver.received).find(
        (page) => page.type === 'incident.escalated' && page.level === 2,
      );
      expect(thirdPage).toMatchObject({ role: 'senior-engineer' });
      expect(thirdPage?.instance).not.toBe(victim!.instanceId);
      expect((await openProblems(survivors[0]!.url)).get('notes:degraded')).toEqual([opened.id]);

      // Then the database comes back, but the pool's connections are dead (fleet-wide): the store still fails, now with
      // connection errors. The database-connections ladder (target notes-db, shared by the fleet) must act once for
      // the fleet — reset the pool, which clears the poisoning — and its healed episode mitigates the incident, which
      // stops the paging.
      await setFaults(survivors[0]!.url, { storeUnavailable: false, poisonedConnections: true, shared: true });
      await everyReplicaSees({ storeUnavailable: false, poisonedConnections: true });
      const mitigated = await waitUntil(
        'healing to reset the pool once and mitigate the incident',
        async (seen) => {
          addCounts(failing, await sendTraffic(urls(), { count: 6 }));
          const incident = await getIncident(survivors[1]!.url, opened.id);
          const actions = await healingActions(survivors[1]!.url);
          seen({ status: incident.status, actions });
          return incident.status === 'mitigated' ? { incident, actions } : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      expect(mitigated.incident.mitigatedAt).not.toBeNull();

      // Healing: one action per (rule, target, step), taken by a survivor, the same in every view of the audit store.
      const actions = await healingActions(survivors[0]!.url);
      expect(actions.filter((action) => action.rule === 'database-connections')).toEqual([
        expect.objectContaining({ target: 'notes-db', step: 1, action: expect.any(String), outcome: 'ok', run: 1 }),
      ]);
      expect(duplicateActions(actions)).toEqual([]);
      expect(
        (await healingEpisodes(survivors[0]!.url)).filter((episode) => episode.rule === 'database-connections'),
      ).toEqual([expect.objectContaining({ target: 'notes-db', kind: 'episode.closed', outcome: 'healed' })]);
      expect(survivors.map((replica) => replica.instanceId)).toContain(actions[0]?.instance);
      expect(await healingActions(survivors[1]!.url)).toEqual(actions);
      const stream = (await redis.client().xrange(AUDIT_STREAM, '-', '+')).map(
        ([, fields]) => JSON.parse(fields[fields.indexOf('record') + 1] as string) as { kind: string },
      );
      expect(stream.filter((record) => record.kind === 'step.completed')).toHaveLength(actions.length);

      // Pages: every escalation level that fired paged once (one message id), whichever replica sent it; none after
      // the mitigation. Nothing paged for another incident.
      const levels = escalationsByLevel(receiver.received, opened.id);
      expect(Object.keys(levels)).toEqual(expect.arrayContaining(['L2/loop0', 'L3/loop0']));
      for (const [level, ids] of Object.entries(levels))
        expect({ level, pages: ids.length }).toEqual({ level, pages: 1 });
      const pages = pagesOf(receiver.received);
      const mitigatedAt = mitigated.incident.mitigatedAt as number;
      expect(pages.filter((page) => page.type === 'incident.escalated' && page.at > mitigatedAt)).toEqual([]);
      expect(pages.filter((page) => page.type === 'incident.escalated' && page.incidentId !== opened.id)).toEqual([]);

      // Still one open incident per problem, the same one, with at least the occurrences it had.
      const finalProblems = await openProblems(survivors[1]!.url);
      expect(finalProblems.get('notes:degraded')).toEqual([opened.id]);
      for (const [problem, ids] of finalProblems) expect({ problem, ids: ids.length }).toEqual({ problem, ids: 1 });
      const final = await getIncident(survivors[1]!.url, opened.id);
      expect(final.occurrences).toBeGreaterThanOrEqual(opened.occurrences);

      await clearFaults(survivors[0]!.url, '?shared=true');
    },
  );
});
