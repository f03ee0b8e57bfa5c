// The morning check against the real reference backend (health, /metrics with the SLO gauges, a verified backup) and
// a real PostgreSQL incident store.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabase, type PostgresDatabase } from '@ops/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from '../../reference-backend/src/backend.js';
import { createShiftableClock } from '../../reference-backend/src/shiftable-clock.js';
import { openIncidents } from './lib/incidents.js';
import { runScript } from './lib/script.js';
import { morningCheck } from './morning-check.js';
import { captureIo } from './testing/run.js';

let work: string;
let backend: ReferenceBackend;
let database: PostgresDatabase;
const clock = createShiftableClock();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ops-morning-check-'));
  database = await createPostgresDatabase({ prefix: 'morning' });
  backend = await startReferenceBackend({
    clock,
    config: { port: 0, backupDirectory: join(work, 'backups'), drainDelay: 0 },
    sloEvaluateEvery: false,
    signals: [],
    exit: () => undefined,
  });
  expect((await backend.backupNow()).ok).toBe(true);
  // Some traffic, so the SLO gauges have events.
  for (let index = 0; index < 5; index++) await (await fetch(`${backend.url}/notes`)).text();
});

afterAll(async () => {
  await backend?.shutdown('test finished');
  await database?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

function baseArgs(): string[] {
  return [
    '--backup-dir',
    join(work, 'backups'),
    '--backup-job',
    'notes',
    '--incidents-db',
    database.connectionString,
    '--disk',
    work,
    // The shared test machine's disk and memory are not what this test is about.
    '--disk-fail',
    '1',
    '--disk-warn',
    '1',
    '--memory-fail',
    '1',
    '--memory-warn',
    '1',
  ];
}

describe('morning-check', () => {
  it('prints one table and exits 0 while the service, its SLOs and its backup are fine', async () => {
    const io = captureIo({ SERVICE_URL: backend.url });
    const code = await runScriptWith(baseArgs(), io);
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    const out = io.stdout();
    expect(out).toMatch(/^CHECK\s+STATUS\s+DETAIL/);
    expect(out).toMatch(/endpoint live\s+PASS/);
    expect(out).toMatch(/endpoint ready\s+PASS/);
    expect(out).toMatch(/slo notes\/api-availability\s+PASS\s+objective 99\.\d+%, SLI 100\.000%, budget left 100\.0%/);
    expect(out).toMatch(/backup notes\s+PASS\s+verified \(full-read\)/);
    expect(out).toMatch(/incidents\s+PASS\s+no open incidents/);
    expect(out).toMatch(/memory\s+PASS/);
    expect(out).toMatch(/PASS: \d+ pass, 0 warn, 0 fail/);
  });

  it('exits 1 and names each problem: readiness failing, an open P1 incident, a backup older than the RPO', async () => {
    const incidents = openIncidents(database.connectionString);
    const { incident } = await incidents.manager.trigger({
      service: 'notes',
      title: 'Notes store unreachable',
      severity: 'P1',
    });
    await incidents.close();
    backend.faults.set({ storeUnavailable: true });
    clock.skip(2_000); // past the readiness checks' result cache
    try {
      const io = captureIo({ SERVICE_URL: backend.url });
      const code = await runScriptWith([...baseArgs(), '--backup-max-age', '1ms', '--json'], io);
      expect(code).toBe(1);
      const report = JSON.parse(io.stdout()) as {
        ok: boolean;
        rows: Array<{ check: string; status: string; detail: string }>;
      };
      expect(report.ok).toBe(false);
      const row = (check: string) => report.rows.find((entry) => entry.check === check);
      expect(row('endpoint ready')).toMatchObject({ status: 'fail' });
      expect(row('endpoint live')).toMatchObject({ status: 'pass' });
      expect(row(`incident ${incident?.id}`)).toMatchObject({ status: 'fail' });
      expect(row(`incident ${incident?.id}`)?.detail).toContain('P1 triggered notes: Notes store unreachable');
      expect(row('backup notes')).toMatchObject({ status: 'fail' });
      expect(row('backup notes')?.detail).toMatch(/old \(max 1ms\)/);
    } finally {
      backend.faults.clear();
    }
  });

  it('fails the backup row for a backup directory that does not exist, without creating it', async () => {
    const missing = join(work, 'no-such-backups');
    const io = captureIo({});
    expect(await runScriptWith(['--backup-dir', missing, '--backup-job', 'notes', '--json'], io)).toBe(1);
    const rows = (JSON.parse(io.stdout()) as { rows: Array<{ check: string; status: string; detail: string }> }).rows;
    expect(rows.find((row) => row.check === 'backup notes')).toMatchObject({
      status: 'fail',
      detail: `backup directory ${missing} does not exist`,
    });
    expect(existsSync(missing)).toBe(false);
  });

  it('exits 2 naming the flag or variable when there is nothing to check or a value is wrong', async () => {
    const nothing = captureIo({});
    expect(await runScriptWith([], nothing)).toBe(2);
    expect(nothing.stderr()).toMatch(/morning-check: nothing to check: give --endpoint name=url .* SERVICE_URL/);
    const badLevel = captureIo({ SERVICE_URL: backend.url });
    expect(await runScriptWith(['--backup-verification', 'eyeballed'], badLevel)).toBe(2);
    expect(badLevel.stderr()).toContain('--backup-verification: expected checksum, full-read or test-restore');
    const badUrl = captureIo({});
    expect(await runScriptWith(['--incidents-db', 'postgresql://ops:hunter2secret@[bad'], badUrl)).toBe(2);
    expect(badUrl.stderr()).toContain('--incidents-db: not a URL');
    expect(badUrl.stderr()).not.toContain('hunter2secret');
  });

  it('documents its flags and exit codes in --help', async () => {
    const io = captureIo({});
    expect(await runScriptWith(['--help'], io)).toBe(0);
    expect(io.stdout()).toContain('Usage: morning-check [options]');
    expect(io.stdout()).toContain('--incidents-db <url>');
    expect(io.stdout()).toContain('1  a check failed');
  });
});

function runScriptWith(args: string[], io: ReturnType<typeof captureIo>): Promise<number> {
  return runScript(morningCheck, args, io.io);
}
