import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startRecordingTarget, type RecordingTarget } from '../../testing/recording-target.js';

const worker = fileURLToPath(new URL('./escalation-worker.fixture.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('../../..', import.meta.url));

let database: PostgresDatabase;
let target: RecordingTarget;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'incident_crash' });
});
afterAll(() => database?.dispose());
beforeEach(async () => {
  target = await startRecordingTarget();
});
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await target.close();
});

function startReplica(schema: string, mode: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', worker, database.connectionString, schema, target.url, mode],
    { cwd: packageDir },
  );
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

async function query<Row extends Record<string, unknown>>(sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: database.connectionString });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.each([
  ['after claiming the escalation timer', 'trigger-then-die-after-timer-claim', 'crash_timer'],
  ['after claiming the page, before sending it', 'trigger-then-die-before-send', 'crash_send'],
])('a replica killed %s', (_name, mode, schema) => {
  it('leaves the page to the replicas that restart: it goes out exactly once', async () => {
    const victim = startReplica(schema, mode);
    const death = await victim.exited;
    expect(death.signal, death.stderr).toBe('SIGKILL');
    expect(target.requests).toHaveLength(0);
    const claimedBy = await query<{ claimed_by: string | null }>(
      mode === 'trigger-then-die-after-timer-claim'
        ? `SELECT claimed_by FROM ${schema}.timers WHERE kind = 'escalation'`
        : `SELECT claimed_by FROM ${schema}.notification_outbox WHERE status = 'pending'`,
    );
    expect(claimedBy).toEqual([{ claimed_by: `replica-${victim.child.pid}` }]); // the dead replica still holds the claim

    // Two replicas come up; once the dead one's claim lapses, one of them takes the work. The other must not repeat it.
    const replicas = [startReplica(schema, 'run'), startReplica(schema, 'run')];
    await vi.waitFor(() => expect(target.requests.length).toBeGreaterThanOrEqual(1), {
      timeout: 60_000,
      interval: 100,
    });
    await new Promise((resolve) => setTimeout(resolve, 2500)); // several more ticks and lease periods on both replicas
    for (const replica of replicas) replica.child.stdin.end();
    const exits = await Promise.all(replicas.map((replica) => replica.exited));
    for (const exit of exits) expect(exit.code, exit.stderr).toBe(0);

    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]!.json).toMatchObject({
      type: 'incident.escalated',
      data: { incident: { dedupKey: 'crash-test', severity: 'P0' }, level: 0 },
    });
    const outbox = await query<{ status: string; target: string }>(
      `SELECT status, target FROM ${schema}.notification_outbox`,
    );
    expect(outbox).toEqual([{ status: 'delivered', target: 'pager' }]);
    const escalated = await query<{ count: string }>(
      `SELECT count(*) AS count FROM ${schema}.timeline_events WHERE kind = 'escalated'`,
    );
    expect(Number(escalated[0]!.count)).toBe(1);
  }, 60_000);
});
