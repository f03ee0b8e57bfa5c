// The maintenance window against a real PostgreSQL incident store, a real verified backup, a stakeholder webhook and
// a probe target: while the task runs, the status page shows the maintenance and a P0 of the service is not paged;
// afterwards the window is closed — also when the task fails — and paging works again.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFilesSource, createLocalStorage, runBackup, verifyBackup } from '@ops/backup';
import { listen, type ListeningServer } from '@ops/core';
import {
  createIncidentManager,
  createPostgresIncidentStore,
  createStatusPage,
  verifyStandardWebhook,
  type IncidentManager,
} from '@ops/incident';
import { createPostgresDatabase, startHttpServer, type PostgresDatabase, type TestHttpServer } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runScript } from './lib/script.js';
import { maintenanceWindow, type MaintenanceNotice } from './maintenance-window.js';
import { captureIo, PACKAGE_DIRECTORY } from './testing/run.js';

let work: string;
let database: PostgresDatabase;
let pool: pg.Pool;
let manager: IncidentManager;
let statusServer: ListeningServer;
let webhook: TestHttpServer;
let target: TestHttpServer;
let targetHealthy = true;
const notices: MaintenanceNotice[] = [];
const signed: boolean[] = [];
const SIGNING_SECRET = 'whsec_c2lnbmluZy1zZWNyZXQtZm9yLXRoZS10ZXN0';
const paged: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ops-maintenance-'));
  database = await createPostgresDatabase({ prefix: 'maint' });
  pool = new pg.Pool({ connectionString: database.connectionString, max: 4 });
  // The service's side: the same store, a pager, and the public status page.
  manager = createIncidentManager({
    store: createPostgresIncidentStore({ pool }),
    autoStart: false,
    notifiers: { oncall: { kind: 'pager', send: async (payload) => void paged.push(payload.incident.id) } },
    escalationPolicies: [{ id: 'default', levels: [{ startAfter: 0, targets: ['oncall'] }] }],
  });
  const statusPage = createStatusPage(manager, {
    page: { name: 'Notes', url: 'https://status.notes.example' },
    components: [{ id: 'api', name: 'Notes API' }],
    cacheTtl: 0,
  });
  statusServer = await listen(statusPage.handler, { port: 0, host: '127.0.0.1' });
  webhook = await startHttpServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    signed.push(
      verifyStandardWebhook({
        headers: request.headers as Record<string, string | undefined>,
        body,
        secret: SIGNING_SECRET,
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
    );
    notices.push(JSON.parse(body) as MaintenanceNotice);
    response.writeHead(204).end();
  });
  target = await startHttpServer((_request, response) => {
    response.writeHead(targetHealthy ? 200 : 503, { 'content-type': 'application/json' }).end('{}');
  });
  // A verified backup of the job the pre-check looks at.
  const source = join(work, 'data');
  await mkdir(source);
  await writeFile(join(source, 'notes.json'), JSON.stringify([{ id: 1, title: 'hello' }]));
  const storage = createLocalStorage({ directory: join(work, 'backups') });
  const outcome = await runBackup({ job: 'notes-db', storage, sources: [createFilesSource({ directory: source })] });
  const verified = await verifyBackup({ storage, backup: outcome, job: 'notes-db', level: 'full-read' });
  expect(verified.ok).toBe(true);
});

afterAll(async () => {
  await statusServer?.close();
  await webhook?.close();
  await target?.close();
  await manager?.close();
  await pool?.end();
  await database?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  notices.length = 0;
  signed.length = 0;
  paged.length = 0;
  targetHealthy = true;
});

function args(extra: string[] = []): string[] {
  return [
    '--incidents-db',
    database.connectionString,
    '--title',
    'PostgreSQL minor upgrade',
    '--service',
    'notes',
    '--component',
    'api',
    '--duration',
    '30m',
    '--by',
    'dba',
    '--backup-dir',
    join(work, 'backups'),
    '--notify-webhook',
    `${webhook.url}/stakeholders`,
    '--probe',
    `ready=${target.url}/health/ready`,
    '--probe-attempts',
    '2',
    '--probe-interval',
    '50ms',
    ...extra,
  ];
}

/** A task that says it started, then waits (bounded) for the test to let it finish with `exitCode`. */
function gatedTask(
  name: string,
  exitCode: number,
): { command: string[]; started: string; release: () => Promise<void> } {
  const started = join(work, `${name}.started`);
  const go = join(work, `${name}.go`);
  return {
    command: [
      'bash',
      '-c',
      `echo "task running in $OPS_MAINTENANCE_ID"; touch "${started}"; for i in $(seq 600); do [ -f "${go}" ] && exit ${exitCode}; sleep 0.05; done; exit 99`,
    ],
    started,
    release: () => writeFile(go, ''),
  };
}

async function waitForFile(path: string): Promise<void> {
  for (let attempt = 0; attempt < 600 && !existsSync(path); attempt++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  expect(existsSync(path), `${path} never appeared`).toBe(true);
}

describe('maintenance-window', () => {
  it('opens the window (status page shows it, paging for the service held back), runs the task, probes, closes it', async () => {
    const task = gatedTask('ok', 0);
    const io = captureIo({ NOTIFY_SECRET: SIGNING_SECRET });
    const running = runScript(
      maintenanceWindow,
      [...args(['--notify-secret-env', 'NOTIFY_SECRET']), '--', ...task.command],
      io.io,
    );
    await waitForFile(task.started);

    // While the task runs: the status page shows the maintenance and the component under maintenance…
    const active = (await (
      await fetch(`${statusServer.url}/status/api/v2/scheduled-maintenances/active.json`)
    ).json()) as {
      scheduled_maintenances: Array<{ name: string; status: string }>;
    };
    expect(active.scheduled_maintenances).toEqual([
      expect.objectContaining({ name: 'PostgreSQL minor upgrade', status: 'in_progress' }),
    ]);
    const components = (await (await fetch(`${statusServer.url}/status/api/v2/components.json`)).json()) as {
      components: Array<{ id: string; status: string }>;
    };
    expect(components.components.find((component) => component.id === 'api')?.status).toBe('under_maintenance');
    // …and a P0 of the service is stored but not paged.
    const { incident } = await manager.trigger({
      service: 'notes',
      dedupKey: 'during',
      title: 'Notes 5xx',
      severity: 'P0',
    });
    await manager.runDueTimers();
    await manager.deliverNotifications();
    expect(paged).toEqual([]);
    expect((await manager.timeline(incident!.id)).map((event) => event.kind)).toContain('silenced');
    expect(notices.map((notice) => notice.event)).toEqual(['maintenance.started']);

    await task.release();
    const code = await running;
    expect(code).toBe(0);
    const out = io.stdout();
    expect(out).toMatch(/pre-check backup notes-db\s+PASS\s+verified \(full-read\)/);
    expect(out).toMatch(/window opened\s+PASS\s+\S+ until .*paging silenced for notes, status page api/);
    expect(out).toMatch(/task\s+PASS\s+bash -c .* exited 0/);
    expect(out).toMatch(/post-check ready\s+PASS/);
    expect(out).toMatch(/window closed\s+PASS/);
    expect(out).toMatch(/task running in \S+/); // the task's own output, with the window id in its environment
    expect(notices.map((notice) => notice.event)).toEqual(['maintenance.started', 'maintenance.completed']);
    expect(notices[0]?.text).toContain('Maintenance started: PostgreSQL minor upgrade. Affected: notes, api.');
    expect(signed).toEqual([true, true]); // Standard Webhooks signatures the receiver verifies
    expect(io.stdout()).not.toContain(SIGNING_SECRET);

    // Closed: the status page no longer shows it, and a new P0 pages at once.
    const after = (await (
      await fetch(`${statusServer.url}/status/api/v2/scheduled-maintenances/active.json`)
    ).json()) as {
      scheduled_maintenances: unknown[];
    };
    expect(after.scheduled_maintenances).toEqual([]);
    const { incident: later } = await manager.trigger({
      service: 'notes',
      dedupKey: 'after',
      title: 'Notes 5xx again',
      severity: 'P0',
    });
    await manager.runDueTimers();
    await manager.deliverNotifications();
    expect(paged).toContain(later!.id);
    await manager.resolve(incident!.id, { reason: 'user', by: 'test', note: 'maintenance over' });
    await manager.resolve(later!.id, { reason: 'user', by: 'test', note: 'test over' });
  });

  it('exits 1 and still closes the window when the task fails; a failing probe is reported too', async () => {
    targetHealthy = false;
    const io = captureIo({});
    const code = await runScript(
      maintenanceWindow,
      [...args(['--json']), '--', 'bash', '-c', 'echo migrating >&2; exit 7'],
      io.io,
    );
    expect(code).toBe(1);
    const report = JSON.parse(io.stdout()) as {
      maintenanceId: string;
      rows: Array<{ check: string; status: string; detail: string }>;
    };
    const row = (check: string) => report.rows.find((entry) => entry.check === check);
    expect(row('task')).toMatchObject({ status: 'fail' });
    expect(row('task')?.detail).toMatch(/exited 7/);
    expect(row('post-check ready')).toMatchObject({ status: 'fail' });
    expect(row('window closed')).toMatchObject({ status: 'pass' });
    expect(io.stderr()).toContain('migrating');
    const windows = await manager.maintenance({ from: 0, to: Number.MAX_SAFE_INTEGER / 2 });
    expect(windows.filter((occurrence) => occurrence.window.cancelledAt === undefined)).toEqual([]);
    expect(notices.map((notice) => notice.event)).toEqual(['maintenance.started', 'maintenance.failed']);
  });

  it('closes the window when the script itself is stopped with SIGTERM mid-task (node --import tsx)', async () => {
    const task = gatedTask('interrupted', 0);
    // `node --import tsx` is one process, so the signal reaches the script itself (the tsx CLI relays signals to its
    // child over IPC and force-kills it when the relay is slow, as on a loaded machine).
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/maintenance-window.ts', ...args(), '--', ...task.command],
      {
        cwd: PACKAGE_DIRECTORY,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      await waitForFile(task.started);
      child.kill('SIGTERM');
      expect(await exited).toBe(1);
    } finally {
      child.kill('SIGKILL');
      await task.release(); // the gated task ends too, whatever happened
    }
    expect(stdout).toMatch(/task\s+FAIL\s+.* stopped: this script got SIGTERM/);
    expect(stdout).toMatch(/window closed\s+PASS/);
    const windows = await manager.maintenance({ from: 0, to: Number.MAX_SAFE_INTEGER / 2 });
    expect(windows.filter((occurrence) => occurrence.window.cancelledAt === undefined)).toEqual([]);
    expect(notices.map((notice) => notice.event)).toEqual(['maintenance.started', 'maintenance.failed']);
  });

  it('refuses to start (exit 1, no window, task not run) when the backup is older than --backup-max-age', async () => {
    const before = (await manager.maintenance({ from: 0, to: Number.MAX_SAFE_INTEGER / 2 })).length;
    const marker = join(work, 'never-ran');
    const io = captureIo({});
    const code = await runScript(
      maintenanceWindow,
      [...args(['--backup-max-age', '1ms']), '--', 'touch', marker],
      io.io,
    );
    expect(code).toBe(1);
    expect(io.stdout()).toMatch(/pre-check backup notes-db\s+FAIL\s+newest good backup of notes-db is .* old/);
    expect(io.stdout()).toMatch(/task\s+FAIL\s+not run: a pre-check failed/);
    expect(existsSync(marker)).toBe(false);
    expect((await manager.maintenance({ from: 0, to: Number.MAX_SAFE_INTEGER / 2 })).length).toBe(before);
    expect(notices).toEqual([]);
  });

  it('exits 2 naming what is missing', async () => {
    const noTask = captureIo({});
    expect(await runScript(maintenanceWindow, args(), noTask.io)).toBe(2);
    expect(noTask.stderr()).toContain('no task: put the command after --');
    const noStore = captureIo({});
    expect(await runScript(maintenanceWindow, ['--title', 'x', '--service', 's', '--', 'true'], noStore.io)).toBe(2);
    expect(noStore.stderr()).toContain('--incidents-db (or INCIDENTS_DATABASE_URL) is required');
    const noScope = captureIo({ INCIDENTS_DATABASE_URL: database.connectionString });
    expect(await runScript(maintenanceWindow, ['--title', 'x', '--', 'true'], noScope.io)).toBe(2);
    expect(noScope.stderr()).toContain('give --service');
  });
});
