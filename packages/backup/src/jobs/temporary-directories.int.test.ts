import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, tempDir, type PostgresDatabase, type TempDir } from '@ops/testkit';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { restorePostgres } from '../restore/postgres-restore.js';
import { createFilesSource } from '../sources/files-source.js';
import { createPostgresSource } from '../sources/postgres-source.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import { runBackup } from './run-backup.js';

// No secret outlives a kill -9: the passfile has no name while pg_dump runs, and the temp directories of a killed
// run or restore (a decrypted dump) are removed by the next run or restore.

const binPath = join(resolve(fileURLToPath(import.meta.url), '../../..'), 'dist', 'cli', 'bin.js');
let database: PostgresDatabase;
let directory: TempDir;

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'backup_tmp' });
  directory = await tempDir('backup-tmp');
  const client = new pg.Client({ connectionString: database.connectionString });
  await client.connect();
  await client.query(
    `CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, 'private note ' || g FROM generate_series(1, 500) g;`,
  );
  await client.end();
});

afterAll(async () => {
  await database?.dispose();
  await directory?.dispose();
});

/** Paths under `root` (never following links) of files whose bytes contain `needle`. */
async function filesContaining(root: string, needle: string | Buffer): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const path = join(root, name);
    const facts = await lstat(path).catch(() => undefined);
    if (facts?.isDirectory()) found.push(...(await filesContaining(path, needle)));
    else if (facts?.isFile() && (await readFile(path).catch(() => Buffer.alloc(0))).includes(needle)) found.push(path);
  }
  return found;
}

async function script(name: string, body: string): Promise<string> {
  const path = join(directory.path, name);
  await writeFile(path, `#!/bin/sh\n${body}`);
  await chmod(path, 0o755);
  return path;
}

/** Starts the built CLI in its own process group; resolves once `marker` exists. */
async function startCli(args: string[], env: NodeJS.ProcessEnv, marker: string): Promise<{ kill(): Promise<void> }> {
  if (!existsSync(binPath))
    throw new Error(`build the package first (pnpm --filter @ops/backup build): ${binPath} is missing`);
  const child = spawn(process.execPath, [binPath, ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  for (let attempt = 0; attempt < 400 && !existsSync(marker); attempt++)
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  expect(existsSync(marker), `the child never got there: ${stderr}`).toBe(true);
  return {
    async kill() {
      process.kill(-(child.pid as number), 'SIGKILL'); // the CLI and its pg_dump / pg_restore: the group we started
      await exited;
    },
  };
}

describe('kill -9 leaves no secret behind', () => {
  it('the passfile has no name while pg_dump runs, and the killed run leaves nothing the next run does not remove', async () => {
    const temporary = join(directory.path, 'tmp-run');
    await mkdir(temporary);
    const secret = `pw-${randomBytes(12).toString('hex')}`;
    const marker = join(directory.path, 'pg_dump-started');
    // pg_dump stand-in: reports what it was given, then hangs until killed.
    const hanging = await script(
      'pg_dump_hang',
      `if [ "$1" = "--version" ]; then exec pg_dump --version; fi\n{ echo "$PGPASSFILE"; wc -c < "$PGPASSFILE"; } > ${marker}.tmp && mv ${marker}.tmp ${marker}\nexec sleep 60\n`,
    );
    const config = join(directory.path, 'run.yaml');
    await writeFile(
      config,
      `storage: { type: local, directory: ${join(directory.path, 'store-run')} }\njobs:\n  - name: pg-secret\n    sources:\n      - { type: postgres, host: ${database.host}, port: ${database.port}, user: ${database.user}, database: ${database.database}, password: "\${OPS_TEST_SECRET}", pgDumpPath: ${hanging} }\n`,
    );
    const cli = await startCli(['run', '--config', config], { TMPDIR: temporary, OPS_TEST_SECRET: secret }, marker);
    try {
      const [passfile, size] = (await readFile(marker, 'utf8')).trim().split('\n');
      expect(Number(size), 'pg_dump could read its passfile').toBe(`*:*:*:*:${secret}\n`.length);
      expect(passfile).toBe('/dev/fd/3');
      expect(await filesContaining(temporary, secret), 'a file holds the password while pg_dump runs').toEqual([]);
    } finally {
      await cli.kill();
    }
    expect(await filesContaining(temporary, secret), 'a file holds the password after kill -9').toEqual([]);

    const root = join(directory.path, 'next-run');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'a.txt'), 'a');
    const next = await runBackup({
      job: 'next',
      storage: createLocalStorage({ directory: join(directory.path, 'store-next') }),
      sources: [createFilesSource({ directory: root })],
      temporaryDirectory: temporary,
    });
    expect(next.state, next.error).toBe('completed');
    expect(await readdir(temporary), 'the next run removes what the killed run left').toEqual([]);
  });

  /** Backs up `notes` encrypted, then starts `ops-backup restore` into a new database with a pg_restore that hangs. */
  async function killedRestore(name: string, extraArgs: string[]) {
    const temporary = join(directory.path, `tmp-${name}`);
    await mkdir(temporary);
    const store = join(directory.path, `store-${name}`);
    const key = generateAgeIdentity();
    const manifest = await runBackup({
      job: 'pg',
      storage: createLocalStorage({ directory: store }),
      sources: [
        createPostgresSource({
          host: database.host,
          port: database.port,
          user: database.user,
          database: database.database,
        }),
      ],
      compression: { algorithm: 'none' },
      encryption: { recipients: [key.recipient] },
    });
    expect(manifest.state, manifest.error).toBe('completed');
    await writeFile(join(directory.path, `key-${name}.txt`), `${key.identity}\n`, { mode: 0o600 });
    const config = join(directory.path, `restore-${name}.yaml`);
    await writeFile(
      config,
      `storage: { type: local, directory: ${store} }\ndecryption: { identityFile: ${join(directory.path, `key-${name}.txt`)} }\njobs:\n  - name: pg\n    sources: [{ type: postgres, host: ${database.host}, port: ${database.port}, user: ${database.user}, database: ${database.database} }]\n`,
    );
    // pg_restore stand-in on PATH: the restore is killed while pg_restore runs (reading nothing). It answers the
    // version check that runs before the artifact is read as a current pg_restore would.
    const fakeBin = join(directory.path, `fake-bin-${name}`);
    await mkdir(fakeBin);
    const marker = join(directory.path, `pg_restore-started-${name}`);
    await writeFile(
      join(fakeBin, 'pg_restore'),
      `#!/bin/sh\nif [ "$1" = "--version" ]; then echo 'pg_restore (PostgreSQL) 99.0'; exit 0; fi\ntouch ${marker}\nexec sleep 60\n`,
      { mode: 0o755 },
    );
    const killedTarget = `${database.database}_killed_${name.replace(/-/g, '_')}`;
    const cli = await startCli(
      ['restore', 'latest', '--job', 'pg', '--to-database', killedTarget, '--create', ...extraArgs, '--config', config],
      { TMPDIR: temporary, PATH: `${fakeBin}:${process.env.PATH ?? ''}` },
      marker,
    );
    await cli.kill();
    return { temporary, store, key, manifest, killedTarget };
  }

  async function dropDatabases(names: string[]): Promise<void> {
    const admin = new pg.Client({ connectionString: database.adminConnectionString });
    await admin.connect();
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }

  it('the decrypted dump of a killed restore (loadFrom local-copy) is removed by the next restore', async () => {
    const { temporary, store, key, manifest, killedTarget } = await killedRestore('copy', [
      '--load-from',
      'local-copy',
    ]);
    expect(
      await filesContaining(temporary, 'private note 42'),
      'kill -9 cannot be intercepted: the plain dump is left',
    ).not.toEqual([]);

    const nextTarget = `${database.database}_next`;
    try {
      await restorePostgres({
        storage: createLocalStorage({ directory: store }),
        backup: manifest,
        decryption: { identities: [key.identity] },
        target: { host: database.host, port: database.port, user: database.user, database: nextTarget },
        create: true,
        temporaryDirectory: temporary,
        loadFrom: 'local-copy',
      });
      expect(await readdir(temporary), 'the next restore removes what the killed restore left').toEqual([]);
    } finally {
      await dropDatabases([killedTarget, nextTarget]);
    }
  });

  it('a restore streamed from a local storage (the default) writes nothing decrypted to disk: kill -9 leaves none', async () => {
    const { temporary, store, killedTarget } = await killedRestore('stream', []);
    try {
      expect(await filesContaining(temporary, 'private note 42')).toEqual([]);
      expect(await filesContaining(store, 'private note 42'), 'the store holds only ciphertext').toEqual([]);
    } finally {
      await dropDatabases([killedTarget]);
    }
  });
});
