import { spawn } from 'node:child_process';
import { chmod, readFile, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresDatabase,
  queryPostgres as query,
  tempDir,
  type PostgresDatabase,
  type TempDir,
} from '@ops/testkit';
import { findBackup, listBackups } from '../catalog/catalog.js';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { openArtifact, type ArtifactRecord } from '../pipeline/artifact-pipeline.js';
import { restorePostgres } from '../restore/postgres-restore.js';
import { createPostgresSource } from '../sources/postgres-source.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import type { BackupStorage } from '../storages/storage.js';
import { verifyBackup } from '../verify/verify-backup.js';
import { runBackup } from './run-backup.js';

let database: PostgresDatabase;
let directory: TempDir;

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'backup_pg' });
  directory = await tempDir('backup-pg');
  await query(
    database.connectionString,
    `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, note bytea);
     INSERT INTO customers SELECT g, 'customer ' || g, decode(md5(g::text), 'hex') FROM generate_series(1, 5000) g;
     CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric(10,2));
     INSERT INTO orders (customer_id, total) SELECT (g % 5000) + 1, g / 3.0 FROM generate_series(1, 20000) g;
     ANALYZE;`,
  );
});

afterAll(async () => {
  await database?.dispose();
  await directory?.dispose();
});

const connection = () => ({
  host: database.host,
  port: database.port,
  user: database.user,
  database: database.database,
});

/** The `Compression:` line of pg_restore -l for the artifact's plain bytes: what pg_dump itself did. */
async function dumpHeaderCompression(
  storage: BackupStorage,
  artifact: ArtifactRecord | undefined,
  identity: string | undefined,
): Promise<string | undefined> {
  if (!artifact) return undefined;
  const plain = await openArtifact({
    storage,
    artifact,
    ...(identity === undefined ? {} : { decryption: { identities: [identity] } }),
  });
  const listing = spawn('pg_restore', ['-l'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let text = '';
  listing.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  // pg_restore -l stops reading after the table of contents: an EPIPE on its stdin is expected.
  await pipeline(plain, listing.stdin).catch(() => undefined);
  await new Promise((resolve) => listing.once('close', resolve));
  return /Compression: (\S+)/.exec(text)?.[1];
}

describe('PostgreSQL backup → verify → restore', () => {
  it('backs up with gzip and age, lists it, verifies at every level and restores into a new database', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'store') });
    const { identity, recipient } = generateAgeIdentity();
    const manifest = await runBackup({
      job: 'pg-main',
      storage,
      sources: [createPostgresSource({ connectionString: database.connectionString, name: 'main' })],
      compression: { algorithm: 'gzip', level: 1 },
      encryption: { recipients: [recipient] },
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const source = manifest.sources[0];
    // The job's gzip 1 is done by pg_dump (-Z 1) inside the custom format, not by gzip of the stream, and the
    // manifest says exactly that.
    expect(source?.details).toMatchObject({
      format: 'custom',
      tableCount: 2,
      dumpedTables: 2,
      pointInTime: true,
      dumpCompressionLevel: 1,
    });
    expect(source?.artifacts[0]).toMatchObject({
      format: 'pg-custom',
      compression: { algorithm: 'none' },
      contentCompression: { by: 'pg_dump', algorithm: 'gzip', level: 1 },
      encryption: { scheme: 'age', recipients: [recipient], passphrase: false },
    });
    expect(await dumpHeaderCompression(storage, source?.artifacts[0], identity)).toBe('1');
    expect(manifest.storedBytes).toBeGreaterThan(1000);

    // Files are private and the manifest holds no secret.
    const artifactPath = join(directory.path, 'store', ...(source?.artifacts[0]?.key.split('/') ?? []));
    expect((await stat(artifactPath)).mode & 0o777).toBe(0o600);
    const manifestText = await readFile(join(directory.path, 'store', 'pg-main', manifest.id, 'manifest.json'), 'utf8');
    expect(manifestText).not.toContain('AGE-SECRET-KEY');

    const { backups } = await listBackups({ storage, job: 'pg-main' });
    expect(backups.map((backup) => backup.id)).toEqual([manifest.id]);

    const checksum = await verifyBackup({ storage, backup: manifest.id, level: 'checksum' });
    expect(checksum.ok, checksum.detail).toBe(true);
    const fullRead = await verifyBackup({
      storage,
      backup: manifest.id,
      level: 'full-read',
      decryption: { identities: [identity] },
    });
    expect(fullRead.ok, fullRead.detail).toBe(true);
    expect(fullRead.artifacts[0]?.detail).toContain('pg_restore read every block');
    const testRestore = await verifyBackup({
      storage,
      backup: manifest.id,
      level: 'test-restore',
      decryption: { identities: [identity] },
      scratch: { postgres: { connectionString: database.adminConnectionString } },
    });
    expect(testRestore.ok, testRestore.detail).toBe(true);
    // Other test files' test-restores may hold their own scratch databases for a moment: ours must be gone, and
    // theirs go when they finish, so wait (bounded) until none is left instead of reading one instant.
    let scratchLeft: string[] = [];
    for (let attempt = 0; attempt < 120; attempt++) {
      scratchLeft = (
        await query<{ datname: string }>(
          database.adminConnectionString,
          `SELECT datname FROM pg_database WHERE datname LIKE 'ops_verify_%'`,
        )
      ).map((row) => row.datname);
      if (scratchLeft.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(scratchLeft).toEqual([]);

    const recorded = await findBackup({ storage, id: manifest.id });
    expect(recorded.verifications.map((entry) => [entry.level, entry.ok])).toEqual([
      ['checksum', true],
      ['checksum', true],
      ['full-read', true],
      ['test-restore', true],
    ]);

    const { database: target, connectionString: targetUrl } = database.sibling('restored');
    await restorePostgres({
      storage,
      backup: recorded,
      decryption: { identities: [identity] },
      target: { ...connection(), database: target },
      create: true,
      parallelJobs: 2,
    });
    const rows = await query<{ customers: string; orders: string; sum: string }>(
      targetUrl,
      'SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM orders) AS orders, (SELECT sum(total) FROM orders) AS sum',
    );
    const original = await query<{ sum: string }>(database.connectionString, 'SELECT sum(total) AS sum FROM orders');
    expect(rows[0]).toEqual({ customers: '5000', orders: '20000', sum: original[0]?.sum });
  });

  it('compressInsideDump: false gzips the stream in the pipeline (pg_dump -Z 0), and it restores', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'pipeline-gzip') });
    const { identity, recipient } = generateAgeIdentity();
    const manifest = await runBackup({
      job: 'pg-pipeline-gzip',
      storage,
      sources: [createPostgresSource({ ...connection(), compressInsideDump: false })],
      compression: { algorithm: 'gzip', level: 6 },
      encryption: { recipients: [recipient] },
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const artifact = manifest.sources[0]?.artifacts[0];
    expect(manifest.sources[0]?.details).toMatchObject({ dumpCompressionLevel: 0 });
    expect(artifact?.compression).toEqual({ algorithm: 'gzip', level: 6 });
    expect(artifact).not.toHaveProperty('contentCompression');
    expect(await dumpHeaderCompression(storage, artifact, identity)).toBe('0');
    const report = await verifyBackup({
      storage,
      backup: manifest,
      level: 'full-read',
      decryption: { identities: [identity] },
    });
    expect(report.ok, report.detail).toBe(true);
    const { database: target, connectionString: targetUrl } = database.sibling('pipeline_gzip');
    await restorePostgres({
      storage,
      backup: manifest,
      decryption: { identities: [identity] },
      target: { ...connection(), database: target },
      create: true,
    });
    expect((await query<{ count: string }>(targetUrl, 'SELECT count(*) FROM orders'))[0]?.count).toBe('20000');
  });

  it('an explicit dumpCompressionLevel is used as given and recorded; without one and without gzip, pg_dump does not compress', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'explicit-level') });
    const explicit = await runBackup({
      job: 'pg-explicit',
      storage,
      sources: [createPostgresSource({ ...connection(), dumpCompressionLevel: 3 })],
      compression: { algorithm: 'none' },
    });
    expect(explicit.state, explicit.error).toBe('completed');
    expect(explicit.sources[0]?.details).toMatchObject({ dumpCompressionLevel: 3 });
    expect(explicit.sources[0]?.artifacts[0]).toMatchObject({
      compression: { algorithm: 'none' },
      contentCompression: { by: 'pg_dump', algorithm: 'gzip', level: 3 },
    });
    expect(await dumpHeaderCompression(storage, explicit.sources[0]?.artifacts[0], undefined)).toBe('3');
    const uncompressed = await runBackup({
      job: 'pg-explicit',
      storage,
      sources: [createPostgresSource({ ...connection() })],
      compression: { algorithm: 'none' },
    });
    expect(uncompressed.sources[0]?.details).toMatchObject({ dumpCompressionLevel: 0 });
    expect(uncompressed.sources[0]?.artifacts[0]).not.toHaveProperty('contentCompression');
    expect(await dumpHeaderCompression(storage, uncompressed.sources[0]?.artifacts[0], undefined)).toBe('0');
  });

  it('a directory dump with the default gzip job is compressed by pg_dump in its workers, and restores', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'directory-inside') });
    const manifest = await runBackup({
      job: 'pg-directory-gzip',
      storage,
      sources: [createPostgresSource({ ...connection(), format: 'directory', parallelJobs: 2 })],
      compression: { algorithm: 'gzip', level: 1 },
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const artifact = manifest.sources[0]?.artifacts[0];
    expect(artifact).toMatchObject({
      compression: { algorithm: 'none' },
      contentCompression: { by: 'pg_dump', algorithm: 'gzip', level: 1 },
    });
    expect(manifest.sources[0]?.details).toMatchObject({ dumpCompressionLevel: 1 });
    // The files inside the tar are gzip (pg_dump's `.dat.gz`), so the artifact is far smaller than the data.
    const uncompressed = await runBackup({
      job: 'pg-directory-none',
      storage,
      sources: [createPostgresSource({ ...connection(), format: 'directory', parallelJobs: 2 })],
      compression: { algorithm: 'none' },
    });
    expect(artifact!.storedBytes).toBeLessThan(uncompressed.sources[0]!.artifacts[0]!.storedBytes / 2);
    const { database: target, connectionString: targetUrl } = database.sibling('directory_gzip');
    await restorePostgres({ storage, backup: manifest, target: { ...connection(), database: target }, create: true });
    const rows = await query<{ count: string }>(targetUrl, 'SELECT count(*) FROM orders');
    expect(rows[0]?.count).toBe('20000');
  });

  it('plain and directory formats round-trip too', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'formats') });
    for (const format of ['plain', 'directory'] as const) {
      const manifest = await runBackup({
        job: `pg-${format}`,
        storage,
        sources: [
          createPostgresSource({ ...connection(), format, ...(format === 'directory' ? { parallelJobs: 2 } : {}) }),
        ],
        compression: { algorithm: 'none' },
      });
      expect(manifest.state, manifest.error).toBe('completed');
      const report = await verifyBackup({ storage, backup: manifest, level: 'full-read' });
      expect(report.ok, report.detail).toBe(true);
      const { database: target, connectionString: targetUrl } = database.sibling(format);
      await restorePostgres({ storage, backup: manifest, target: { ...connection(), database: target }, create: true });
      const rows = await query<{ count: string }>(targetUrl, 'SELECT count(*) FROM orders');
      expect(rows[0]?.count).toBe('20000');
    }
  });

  it('a dump that leaves tables out (extraArguments) records what it dumped, and its test restore passes', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'excluded') });
    for (const format of ['custom', 'directory', 'plain'] as const) {
      const manifest = await runBackup({
        job: `pg-excluded-${format}`,
        storage,
        sources: [
          createPostgresSource({
            ...connection(),
            format,
            extraArguments: ['--exclude-table=orders'],
          }),
        ],
        compression: { algorithm: 'none' },
        lock: false,
      });
      expect(manifest.state, manifest.error).toBe('completed');
      // The database has two tables, the dump holds one, and the manifest says both.
      expect(manifest.sources[0]?.details, format).toMatchObject({ tableCount: 2, dumpedTables: 1 });
      const report = await verifyBackup({
        storage,
        backup: manifest,
        level: 'test-restore',
        scratch: { postgres: { connectionString: database.adminConnectionString } },
      });
      expect(report.ok, `${format}: ${report.detail}`).toBe(true);
    }
  });

  it('a pg_dump that fails is a failed backup with no artifact, even though its pipe ended cleanly', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'failing') });
    const manifest = await runBackup({
      job: 'pg-missing',
      storage,
      sources: [createPostgresSource({ ...connection(), database: 'no_such_database_ops' })],
    });
    expect(manifest.state).toBe('failed');
    expect(manifest.error).toMatch(/no_such_database_ops|cannot connect/);
    expect(manifest.sources[0]?.artifacts).toEqual([]);
    const keys: string[] = [];
    for await (const object of storage.list('pg-missing/')) keys.push(object.key);
    expect(keys).toEqual([`pg-missing/${manifest.id}/manifest.json`]);
  });

  it('pg_dump failing mid-dump (exit code after output) fails the backup and stores nothing', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'mid-dump') });
    // A pg_dump wrapper that streams a real dump, then exits 1 as pg_dump does on a lost connection mid-table.
    const wrapper = join(directory.path, 'pg_dump_fails_midway');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      wrapper,
      '#!/bin/sh\nif [ "$1" = "--version" ]; then exec pg_dump --version; fi\npg_dump "$@" | head -c 20000\necho "pg_dump: error: Dumping the contents of table \\"orders\\" failed: connection lost" >&2\nexit 1\n',
    );
    await chmod(wrapper, 0o755);
    const manifest = await runBackup({
      job: 'pg-mid',
      storage,
      sources: [createPostgresSource({ ...connection(), pgDumpPath: wrapper })],
    });
    expect(manifest.state).toBe('failed');
    expect(manifest.error).toContain('Dumping the contents of table');
    expect(manifest.error).toContain('exit code 1');
    const keys: string[] = [];
    for await (const object of storage.list('pg-mid/')) keys.push(object.key);
    expect(keys).toEqual([`pg-mid/${manifest.id}/manifest.json`]);
  });

  it('records the row estimate as unknown (null) when a table was never analyzed, not as 0 rows', async () => {
    const fresh = await createPostgresDatabase({ prefix: 'backup_pg_unanalyzed' });
    try {
      // autovacuum off for the table: nothing analyzes it behind the test's back.
      await query(
        fresh.connectionString,
        `CREATE TABLE never_analyzed (id int) WITH (autovacuum_enabled = false);
         INSERT INTO never_analyzed SELECT generate_series(1, 1000);`,
      );
      const storage = createLocalStorage({ directory: join(directory.path, 'unanalyzed') });
      const manifest = await runBackup({
        job: 'pg-unanalyzed',
        storage,
        sources: [createPostgresSource({ connectionString: fresh.connectionString })],
        compression: { algorithm: 'none' },
        lock: false,
      });
      expect(manifest.state, manifest.error).toBe('completed');
      expect(manifest.sources[0]?.details).toMatchObject({
        tableCount: 1,
        estimatedRows: null,
        tablesWithoutEstimate: 1,
      });
      await query(fresh.connectionString, 'ANALYZE never_analyzed');
      const analyzed = await runBackup({
        job: 'pg-unanalyzed',
        storage,
        sources: [createPostgresSource({ connectionString: fresh.connectionString })],
        compression: { algorithm: 'none' },
        lock: false,
      });
      expect(analyzed.sources[0]?.details).toMatchObject({ tableCount: 1, estimatedRows: 1000 });
      expect(analyzed.sources[0]?.details).not.toHaveProperty('tablesWithoutEstimate');
    } finally {
      await fresh.dispose();
    }
  });

  it('refuses a pg_dump older than the server', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'old-client') });
    const wrapper = join(directory.path, 'pg_dump_old');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      wrapper,
      '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 12.1"; exit 0; fi\nexec pg_dump "$@"\n',
    );
    await chmod(wrapper, 0o755);
    const manifest = await runBackup({
      job: 'pg-old',
      storage,
      sources: [createPostgresSource({ ...connection(), pgDumpPath: wrapper })],
    });
    expect(manifest.state).toBe('failed');
    expect(manifest.error).toMatch(/pg_dump 12 cannot dump PostgreSQL 15/);
  });

  it('a pg_dump that cannot run: the run fails naming pgDumpPath and what to install, and nothing is stored', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'no-client') });
    const manifest = await runBackup({
      job: 'pg-missing',
      storage,
      sources: [createPostgresSource({ ...connection(), pgDumpPath: join(directory.path, 'no-such-pg_dump') })],
    });
    expect(manifest.state).toBe('failed');
    expect(manifest.error).toMatch(/no-such-pg_dump --version/);
    // What to install, and the option that says where pg_dump is.
    expect(manifest.error).toMatch(/apt-get install postgresql-client-\d+.*pgDumpPath/);
    expect(manifest.sources.flatMap((source) => source.artifacts)).toEqual([]);
    const { backups } = await listBackups({ storage, job: 'pg-missing' });
    expect(backups.map((backup) => backup.state)).toEqual(['failed']);
  });

  it('keeps the password out of argv: it reaches pg_dump through a 0600 passfile', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'password') });
    const wrapper = join(directory.path, 'pg_dump_spy');
    const spyFile = join(directory.path, 'spy.txt');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      wrapper,
      `#!/bin/sh\nif [ "$1" = "--version" ]; then exec pg_dump --version; fi\n{ echo "ARGS: $*"; echo "PGPASSWORD=\${PGPASSWORD:-unset}"; echo "PGPASSFILE=$PGPASSFILE"; stat -L -c '%a' "$PGPASSFILE"; cat "$PGPASSFILE"; } > ${spyFile}\nexec pg_dump "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    const manifest = await runBackup({
      job: 'pg-secret',
      storage,
      sources: [createPostgresSource({ ...connection(), password: 's3cr:et', pgDumpPath: wrapper })],
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const spy = await readFile(spyFile, 'utf8');
    expect(spy).toMatch(/^ARGS: --format=custom --no-password/);
    expect(spy.split('\n')[0]).not.toContain('s3cr');
    expect(spy).toContain('PGPASSWORD=unset');
    expect(spy).toContain('PGPASSFILE=/dev/fd/3'); // opened and unlinked before pg_dump starts: no name on disk
    expect(spy).toContain('600');
    expect(spy).toContain('*:*:*:*:s3cr\\:et');
    expect(JSON.stringify(manifest)).not.toContain('s3cr');
  });
});
