// Exercises the copyable scripts in examples/scripts the way a user runs them: bash, with the @ops CLIs on PATH.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresDatabase, promtoolPath, type PostgresDatabase } from '@ops/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceBackend, type ReferenceBackend } from './backend.js';
import { createShiftableClock } from './shiftable-clock.js';

const SCRIPTS = fileURLToPath(new URL('../../scripts/', import.meta.url));
const SLO_FILE = fileURLToPath(new URL('../slos.yaml', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let work: string;
let binDirectory: string;

function run(
  command: string,
  args: readonly string[],
  environment: Record<string, string> = {},
  cwd = work,
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      {
        cwd,
        env: { ...process.env, ...environment, PATH: `${binDirectory}:${process.env.PATH ?? ''}` },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error
          ? typeof (error as { code?: unknown }).code === 'number'
            ? (error as { code: number }).code
            : -1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ops-example-scripts-'));
  // What `npm i @ops/backup @ops/slo @ops/health` puts in node_modules/.bin, built from the workspace packages.
  binDirectory = join(work, 'bin');
  const require = createRequire(import.meta.url);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(binDirectory);
  for (const [name, packageName] of [
    ['ops-backup', '@ops/backup'],
    ['ops-slo', '@ops/slo'],
    ['ops-health', '@ops/health'],
  ] as const) {
    const manifestPath = require.resolve(`${packageName}/package.json`);
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { bin: Record<string, string> };
    const target = join(dirname(manifestPath), manifest.bin[name] as string);
    await writeFile(join(binDirectory, name), `#!/bin/sh\nexec "${process.execPath}" "${target}" "$@"\n`);
    await chmod(join(binDirectory, name), 0o755);
  }
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('generate-slo-rules.sh', () => {
  it('validates the reference SLO spec and writes rules that promtool accepts', async () => {
    const output = join(work, 'slo-rules.yaml');
    const result = await run('bash', [join(SCRIPTS, 'generate-slo-rules.sh'), SLO_FILE, output]);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('2 SLO(s) valid: notes/api-availability, notes/api-latency');
    const rules = await readFile(output, 'utf8');
    expect(rules).toContain('name: ops-slo-notes-api-availability');
    expect(rules).toContain('name: ops-slo-notes-api-latency');
    expect(rules).toContain('alert: SloErrorBudgetBurn');
    const checked = await run(promtoolPath(), ['check', 'rules', output]);
    expect(checked.stdout + checked.stderr).toMatch(/SUCCESS: \d+ rules found/);
    expect(checked.code).toBe(0);
  });

  it('exits 2 with a usage message when the spec is invalid', async () => {
    const bad = join(work, 'bad-slos.yaml');
    await writeFile(
      bad,
      'service: notes\nslos:\n  - name: api\n    objective: 100%\n    sli: { type: availability }\n',
    );
    const result = await run('bash', [join(SCRIPTS, 'generate-slo-rules.sh'), bad, join(work, 'never.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/slos\[0\]\.objective/);
  });
});

describe('nightly-backup.sh', () => {
  let database: PostgresDatabase;
  beforeAll(async () => {
    database = await createPostgresDatabase();
    const client = new pg.Client({ connectionString: database.connectionString });
    await client.connect();
    await client.query(
      "CREATE TABLE notes (id serial PRIMARY KEY, title text NOT NULL); INSERT INTO notes (title) SELECT 'note ' || n FROM generate_series(1, 50) AS n",
    );
    await client.end();
  });
  afterAll(() => database?.dispose());

  it('dumps the database, verifies it by reading it back and applies retention', async () => {
    const backupDirectory = join(work, 'nightly');
    const environment = { DATABASE_URL: database.connectionString, BACKUP_DIR: backupDirectory };
    const result = await run('bash', [join(SCRIPTS, 'nightly-backup.sh')], environment);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/notes-db: completed \S+/);
    expect(result.stdout).toMatch(/full-read passed/);
    expect(result.stdout).toMatch(/nightly-backup: RPO 26h met: newest verified backup \S+ is 0\.0h old/);
    const listed = await run(
      'ops-backup',
      ['list', '--json', '--config', join(SCRIPTS, 'ops-backup.yaml')],
      environment,
    );
    expect(listed.code).toBe(0);
    const { backups } = JSON.parse(listed.stdout) as {
      backups: Array<{ state: string; verified: string | null; sources: Array<{ kind: string }> }>;
    };
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatchObject({ state: 'completed', verified: 'full-read', sources: [{ kind: 'postgres' }] });
  });

  it('fails (exit 1) when the database cannot be dumped, and says so', async () => {
    const url = new URL(database.connectionString);
    url.pathname = '/ops_database_that_does_not_exist';
    const result = await run('bash', [join(SCRIPTS, 'nightly-backup.sh')], {
      DATABASE_URL: url.toString(),
      BACKUP_DIR: join(work, 'nightly-failing'),
    });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/notes-db: failed/);
    // The RPO line says how urgent the failure is: there is no verified backup to fall back on.
    expect(result.stdout).toContain('nightly-backup: RPO 26h BREACHED: no verified backup of notes-db');
  });

  it('refuses to run without DATABASE_URL', async () => {
    const result = await run('bash', [join(SCRIPTS, 'nightly-backup.sh')], {
      DATABASE_URL: '',
      BACKUP_DIR: join(work, 'x'),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/set DATABASE_URL/);
  });
});

describe('morning-check.sh', () => {
  let backend: ReferenceBackend;
  const clock = createShiftableClock();
  beforeAll(async () => {
    backend = await startReferenceBackend({
      clock,
      config: { port: 0, backupDirectory: join(work, 'morning-backups'), drainDelay: 0 },
      sloEvaluateEvery: false,
      signals: [],
      exit: () => undefined,
    });
    // A verified backup, so the (non-critical) backup-freshness check passes and readiness is a clean PASS.
    expect((await backend.backupNow()).ok).toBe(true);
  });
  afterAll(() => backend?.shutdown('test finished'));

  it('exits 0 with a table while the service is healthy', async () => {
    const result = await run('bash', [join(SCRIPTS, 'morning-check.sh')], { SERVICE_URL: backend.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/notes-live\s+PASS/);
    expect(result.stdout).toMatch(/notes-ready\s+PASS/);
    expect(result.stdout).toContain('3/3 endpoints healthy');
  });

  it('exits 1 and names the failing endpoint when readiness fails', async () => {
    backend.faults.set({ storeUnavailable: true });
    clock.skip(2_000); // past the readiness checks' 1 s result cache
    try {
      const result = await run('bash', [join(SCRIPTS, 'morning-check.sh'), '--json'], { SERVICE_URL: backend.url });
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as {
        ok: boolean;
        results: Array<{ name: string; status: string; httpStatus?: number }>;
      };
      expect(report.ok).toBe(false);
      expect(report.results.find((entry) => entry.name === 'notes-ready')).toMatchObject({
        status: 'fail',
        httpStatus: 503,
      });
      expect(report.results.find((entry) => entry.name === 'notes-live')).toMatchObject({ status: 'pass' });
    } finally {
      backend.faults.clear();
    }
  });
});
