import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@ops/core';
import { startThrowawayPostgres, tempDir, type TempDir, type ThrowawayPostgres } from '@ops/testkit';
import { backupCli } from '../cli/cli.js';
import { runBackup } from '../jobs/run-backup.js';
import { restorePostgres } from '../restore/postgres-restore.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { createPostgresSource } from './postgres-source.js';

// A server that really asks for the password (scram-sha-256 for every role but the superuser): the nameless passfile
// (fd 3) must authenticate pg_dump, its parallel workers, and pg_restore.

const ROLE = 'ops_secret';
const PASSWORD = "s3cr:et\\with 'quotes'";
let server: ThrowawayPostgres;

async function admin(text: string, database = 'postgres'): Promise<void> {
  const client = new pg.Client({ connectionString: server.connectionString.replace(/\/postgres$/, `/${database}`) });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  server = await startThrowawayPostgres();
  await writeFile(
    join(server.dataDir, 'pg_hba.conf'),
    'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
  );
  await admin('SELECT pg_reload_conf()');
  await admin(`CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
  await admin(`CREATE DATABASE app OWNER ${ROLE}`);
  const client = new pg.Client({
    host: '127.0.0.1',
    port: server.port,
    user: ROLE,
    password: PASSWORD,
    database: 'app',
  });
  await client.connect();
  await client.query(
    `CREATE TABLE one (id int); CREATE TABLE two (id int); INSERT INTO one SELECT generate_series(1, 1000); INSERT INTO two SELECT generate_series(1, 500);`,
  );
  await client.end();
});

afterAll(async () => {
  await server?.dispose();
});

const as = (password: string) => ({ host: '127.0.0.1', port: server.port, user: ROLE, password });

describe('a server that asks for the password', () => {
  it('pg_dump with parallel workers and pg_restore authenticate through the passfile on fd 3', async () => {
    const storage = createMemoryStorage();
    const refused = await runBackup({
      job: 'app',
      storage,
      sources: [createPostgresSource({ ...as('wrong'), database: 'app' })],
      lock: false,
    });
    expect(refused.state).toBe('failed');
    expect(refused.error).toContain('password authentication failed');

    const manifest = await runBackup({
      job: 'app',
      storage,
      sources: [createPostgresSource({ ...as(PASSWORD), database: 'app', format: 'directory', parallelJobs: 2 })],
      lock: false,
    });
    expect(manifest.state, manifest.error).toBe('completed');
    expect(JSON.stringify(manifest)).not.toContain('s3cr');

    await restorePostgres({
      storage,
      backup: manifest,
      target: { ...as(PASSWORD), database: 'app_restored' },
      create: true,
      parallelJobs: 2,
    });
    const client = new pg.Client({ ...as(PASSWORD), database: 'app_restored' });
    await client.connect();
    expect(
      (await client.query('SELECT (SELECT count(*) FROM one)::int AS one, (SELECT count(*) FROM two)::int AS two'))
        .rows[0],
    ).toEqual({ one: 1000, two: 500 });
    await client.end();
  });
});

describe('ops-backup restore --to-database: the target credentials come from the environment or a file', () => {
  let directory: TempDir;
  let config: string;
  beforeAll(async () => {
    directory = await tempDir('backup-target-credentials');
    config = join(directory.path, 'ops-backup.yaml');
    await writeFile(
      config,
      `storage: { type: local, directory: ${join(directory.path, 'store')} }\njobs:\n  - name: app\n    sources: [{ type: postgres, host: 127.0.0.1, port: ${server.port}, user: ${ROLE}, database: app, password: "\${SOURCE_PASSWORD:-}" }]\n`,
    );
    await writeFile(join(directory.path, 'password.txt'), `${PASSWORD}\n`, { mode: 0o600 });
    await writeFile(join(directory.path, 'readable.txt'), `${PASSWORD}\n`, { mode: 0o644 });
    const run = cli({ SOURCE_PASSWORD: PASSWORD });
    expect(await runCli(backupCli, ['run', '--config', config], run.io), run.stderr).toBe(0);
  });
  afterAll(async () => {
    await directory?.dispose();
  });

  function cli(env: Record<string, string>) {
    const output = { stdout: '', stderr: '' };
    return {
      io: {
        stdout: { write: (chunk: string) => (output.stdout += chunk) },
        stderr: { write: (chunk: string) => (output.stderr += chunk) },
        env,
      },
      get stdout() {
        return output.stdout;
      },
      get stderr() {
        return output.stderr;
      },
    };
  }
  const url = () => `postgresql://${ROLE}@127.0.0.1:${server.port}/postgres`;
  const restore = (database: string, flags: string[], env: Record<string, string> = {}) => {
    const io = cli(env);
    return runCli(
      backupCli,
      ['restore', 'latest', '--job', 'app', '--to-database', database, '--create', '--config', config, ...flags],
      io.io,
    ).then((code) => ({ code, stderr: io.stderr }));
  };
  async function rows(database: string): Promise<number> {
    const client = new pg.Client({ ...as(PASSWORD), database });
    await client.connect();
    try {
      return (await client.query<{ count: number }>('SELECT count(*)::int AS count FROM one')).rows[0]?.count ?? 0;
    } finally {
      await client.end();
    }
  }

  it('--target-password-env NAME', async () => {
    expect(
      await restore('from_env', ['--target-url', url(), '--target-password-env', 'TARGET_PASSWORD'], {
        TARGET_PASSWORD: PASSWORD,
      }),
    ).toMatchObject({ code: 0 });
    expect(await rows('from_env')).toBe(1000);
  });

  it('--target-password-file FILE (mode 0600; a file others can read is refused)', async () => {
    expect(
      await restore('from_file', [
        '--target-url',
        url(),
        '--target-password-file',
        join(directory.path, 'password.txt'),
      ]),
    ).toMatchObject({ code: 0 });
    expect(await rows('from_file')).toBe(1000);
    const readable = await restore('from_readable', [
      '--target-url',
      url(),
      '--target-password-file',
      join(directory.path, 'readable.txt'),
    ]);
    expect(readable.code).toBe(2);
    expect(readable.stderr).toContain('chmod 600');
  });

  it('--target-url-env NAME, a URL with its credentials', async () => {
    const withPassword = `postgresql://${ROLE}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}/postgres`;
    expect(
      await restore('from_url_env', ['--target-url-env', 'TARGET_URL'], { TARGET_URL: withPassword }),
    ).toMatchObject({ code: 0 });
    expect(await rows('from_url_env')).toBe(1000);
  });

  it('PGPASSWORD of the environment, as libpq tools take it', async () => {
    const fromPgPassword = await restore('from_pgpassword', ['--target-url', url()], { PGPASSWORD: PASSWORD });
    expect(fromPgPassword.code, fromPgPassword.stderr).toBe(0);
    expect(await rows('from_pgpassword')).toBe(1000);
  });

  it('without a password the server refuses (exit 1); a password on the command line works but is warned about', async () => {
    const refused = await restore('no_password', ['--target-url', url()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('password');
    const inline = await restore('inline', [
      '--target-url',
      `postgresql://${ROLE}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}/postgres`,
    ]);
    expect(inline.code, inline.stderr).toBe(0);
    expect(inline.stderr).toContain('--target-password-env');
    expect(inline.stderr).not.toContain('s3cr');
    const both = await restore('both', ['--target-url', url(), '--target-url-env', 'TARGET_URL'], {
      TARGET_URL: url(),
    });
    expect(both.code).toBe(2);
  });
});
