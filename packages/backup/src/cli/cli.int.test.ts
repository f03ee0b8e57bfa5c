import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@ops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, tempDir, type PostgresDatabase, type TempDir } from '@ops/testkit';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { backupCli } from './cli.js';

const binPath = join(resolve(fileURLToPath(import.meta.url), '../../..'), 'dist', 'cli', 'bin.js');

let database: PostgresDatabase;
let directory: TempDir;
let configPath: string;
const identity = generateAgeIdentity();

function capture(env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: (chunk: string) => (stderr += chunk) },
      env: { ...env, OPS_BACKUP_CONFIG: configPath },
    },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'backup_cli' });
  directory = await tempDir('backup-cli');
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: database.connectionString });
  await client.connect();
  await client.query(
    `CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 1000) g;`,
  );
  await client.end();
  await mkdir(join(directory.path, 'etc'));
  await writeFile(join(directory.path, 'etc', 'app.conf'), 'answer = 42\n');
  await writeFile(join(directory.path, 'key.txt'), `# test key\n${identity.identity}\n`, { mode: 0o600 });
  configPath = join(directory.path, 'ops-backup.yaml');
  await writeFile(
    configPath,
    `storage:
  type: local
  directory: ${join(directory.path, 'store')}
decryption:
  identityFile: ${join(directory.path, 'key.txt')}
scratch:
  postgres:
    connectionString: ${database.adminConnectionString}
jobs:
  - name: pg-main
    sources:
      - type: postgres
        name: main
        connectionString: \${DATABASE_URL}
    compression: { algorithm: gzip, level: 1 }
    encryption: { recipients: [${identity.recipient}] }
    retention: { keepLast: 1 }
  - name: config
    sources:
      - type: files
        directory: ${join(directory.path, 'etc')}
    compression: { algorithm: none }
    retention: { keepLast: 5 }
`,
  );
});

afterAll(async () => {
  await database?.dispose();
  await directory?.dispose();
});

describe('ops-backup CLI', () => {
  it('run → list → show → verify → restore → prune', async () => {
    const env = { DATABASE_URL: database.connectionString };
    const run = capture(env);
    expect(await runCli(backupCli, ['run', '--json'], run.io), run.stderr).toBe(0);
    const ran = JSON.parse(run.stdout) as { ok: boolean; backups: { id: string; job: string; state: string }[] };
    expect(ran.ok).toBe(true);
    expect(ran.backups.map((backup) => [backup.job, backup.state])).toEqual([
      ['pg-main', 'completed'],
      ['config', 'completed'],
    ]);
    const second = capture(env);
    expect(await runCli(backupCli, ['run', 'pg-main'], second.io)).toBe(0);
    expect(second.stdout).toMatch(/^pg-main: completed \d{8}T\d{6}Z-[0-9a-f]{8} \(/);

    const list = capture(env);
    expect(await runCli(backupCli, ['list'], list.io)).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+JOB\s+STATE\s+STARTED\s+SIZE\s+VERIFIED$/);
    expect(list.stdout.match(/completed/g)).toHaveLength(3);

    const pgId = ran.backups[0]?.id as string;
    const show = capture(env);
    expect(await runCli(backupCli, ['show', pgId], show.io)).toBe(0);
    expect(show.stdout).toContain(`age → ${identity.recipient}`);
    // What the source recorded: the tables in the database and those the dump holds.
    expect(show.stdout).toMatch(
      /^ {4}tool="pg_dump \(PostgreSQL\) \d+.*format=custom .*tableCount=\d+ dumpedTables=\d+/m,
    );

    const verify = capture(env);
    expect(
      await runCli(backupCli, ['verify', pgId, '--level', 'test-restore', '--json'], verify.io),
      verify.stderr,
    ).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, level: 'test-restore' });

    const restore = capture(env);
    const target = `${database.database}_cli`;
    expect(
      await runCli(
        backupCli,
        ['restore', 'latest', '--job', 'pg-main', '--to-database', target, '--create', '--parallel-jobs', '2'],
        restore.io,
      ),
      restore.stderr,
    ).toBe(0);
    const pg = await import('pg');
    const client = new pg.default.Client({
      connectionString: database.connectionString.replace(/\/[^/?]+(\?|$)/, `/${target}$1`),
    });
    await client.connect();
    expect((await client.query('SELECT count(*)::int AS n FROM notes')).rows[0]).toEqual({ n: 1000 });
    await client.end();
    const admin = new pg.default.Client({ connectionString: database.adminConnectionString });
    await admin.connect();
    await admin.query(`DROP DATABASE "${target}" WITH (FORCE)`);
    await admin.end();

    const files = capture(env);
    const staging = join(directory.path, 'staging');
    expect(
      await runCli(backupCli, ['restore', 'latest', '--job', 'config', '--to-directory', staging], files.io),
      files.stderr,
    ).toBe(0);
    expect(await readFile(join(staging, 'app.conf'), 'utf8')).toBe('answer = 42\n');

    const dry = capture(env);
    expect(await runCli(backupCli, ['prune', 'pg-main'], dry.io)).toBe(0);
    expect(dry.stdout).toContain('dry run');
    expect(dry.stdout).toMatch(/would remove\s+\S+\s+completed/);
    expect(dry.stdout).toMatch(/keep\s+\S+\s+completed/);
    const confirm = capture(env);
    expect(await runCli(backupCli, ['prune', 'pg-main', '--confirm', '--json'], confirm.io)).toBe(0);
    expect((JSON.parse(confirm.stdout) as { jobs: { removed: string[] }[] }).jobs[0]?.removed).toEqual([pgId]);
  });

  it('run --metrics-file writes RPO metrics for the textfile collector', async () => {
    const metricsPath = join(directory.path, 'ops_backup.prom');
    const run = capture({ DATABASE_URL: database.connectionString });
    expect(await runCli(backupCli, ['run', 'config', '--metrics-file', metricsPath], run.io), run.stderr).toBe(0);
    const text = await readFile(metricsPath, 'utf8');
    expect(text).toMatch(/^ops_backup_last_verified_success_timestamp_seconds\{job="config"\} \d+(\.\d+)?$/m);
    expect(text).toContain('ops_backup_runs_total{job="config",state="completed"} 1');
  });

  it('exit 2 with the path named for a bad config; exit 1 when verification fails or is inconclusive', async () => {
    const badPath = join(directory.path, 'bad.yaml');
    await writeFile(
      badPath,
      'storage: { type: local, directory: /tmp/x }\njobs:\n  - name: a\n    sources: [{ type: postgres, format: tar }]\n',
    );
    const bad = capture();
    expect(await runCli(backupCli, ['list', '--config', badPath], bad.io)).toBe(2);
    expect(bad.stderr).toContain('jobs[0].sources[0].format');

    const missingEnv = capture();
    expect(await runCli(backupCli, ['run', 'pg-main'], missingEnv.io)).toBe(2);
    expect(missingEnv.stderr).toContain('DATABASE_URL');

    const unknownJob = capture({ DATABASE_URL: database.connectionString });
    expect(await runCli(backupCli, ['run', 'nope'], unknownJob.io)).toBe(2);

    const noKey = capture({ DATABASE_URL: database.connectionString });
    const emptyKeyPath = join(directory.path, 'other-key.txt');
    await writeFile(emptyKeyPath, `${generateAgeIdentity().identity}\n`);
    expect(
      await runCli(
        backupCli,
        ['verify', 'latest', '--job', 'pg-main', '--level', 'full-read', '--identity-file', emptyKeyPath],
        noKey.io,
      ),
    ).toBe(1);
    // The backup is intact and the key does not fit: inconclusive, not recorded against the backup.
    expect(noKey.stdout).toMatch(/^SKIP .*not verified: .*no identity matches/m);
    expect(noKey.stdout).toContain('INCONCLUSIVE (not recorded');
  });

  it('--pg-bin-dir names the pg_restore that verify and restore run, checked before anything is read', async () => {
    const env = { DATABASE_URL: database.connectionString };
    const run = capture(env);
    expect(await runCli(backupCli, ['run', 'pg-main'], run.io), run.stderr).toBe(0);
    const missing = join(directory.path, 'no-such-bin');

    const verify = capture(env);
    const level = ['--level', 'full-read'];
    expect(
      await runCli(backupCli, ['verify', 'latest', '--job', 'pg-main', ...level, '--pg-bin-dir', missing], verify.io),
    ).toBe(1);
    expect(verify.stdout).toMatch(/^SKIP .*not verified: .*cannot run \S*no-such-bin\/pg_restore --version/m);
    expect(verify.stdout).toContain('INCONCLUSIVE');

    const target = `${database.database}_bin_dir`;
    const restore = capture(env);
    const into = ['--to-database', target, '--create'];
    expect(
      await runCli(backupCli, ['restore', 'latest', '--job', 'pg-main', ...into, '--pg-bin-dir', missing], restore.io),
    ).toBe(1);
    expect(restore.stderr).toMatch(/RESTORE_FAILED.*cannot run \S*no-such-bin\/pg_restore --version/);

    // The directory pg_restore is in here works.
    const onPath = execFileSync('sh', ['-c', 'command -v pg_restore'], { encoding: 'utf8' }).trim();
    const found = capture(env);
    expect(
      await runCli(
        backupCli,
        ['verify', 'latest', '--job', 'pg-main', ...level, '--pg-bin-dir', dirname(onPath), '--json'],
        found.io,
      ),
      found.stderr,
    ).toBe(0);
    expect(JSON.parse(found.stdout)).toMatchObject({ ok: true, level: 'full-read' });
  });

  it('a files restore with a wrong key exits 1 with the message (it exited 13, silently, leaving the staging directory)', async () => {
    if (!existsSync(binPath))
      throw new Error(`build the package first (pnpm --filter @ops/backup build): ${binPath} is missing`);
    const secretConfig = join(directory.path, 'secret.yaml');
    await writeFile(
      secretConfig,
      `storage: { type: local, directory: ${join(directory.path, 'secret-store')} }\njobs:\n  - name: secret-files\n    sources: [{ type: files, directory: ${join(directory.path, 'etc')} }]\n    encryption: { recipients: [${identity.recipient}] }\n`,
    );
    const run = capture();
    expect(await runCli(backupCli, ['run', '--config', secretConfig], run.io), run.stderr).toBe(0);
    const wrongKey = join(directory.path, 'wrong-key.txt');
    await writeFile(wrongKey, `${generateAgeIdentity().identity}\n`, { mode: 0o600 });
    const staging = join(directory.path, 'secret-staging');
    const child = spawn(
      process.execPath,
      [
        binPath,
        'restore',
        'latest',
        '--job',
        'secret-files',
        '--to-directory',
        staging,
        '--identity-file',
        wrongKey,
        '--config',
        secretConfig,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/^ops-backup restore: .*BACKUP_DECRYPT_FAILED.*no identity matches/m);
    await expect(lstat(staging)).rejects.toThrow();
  });
});
