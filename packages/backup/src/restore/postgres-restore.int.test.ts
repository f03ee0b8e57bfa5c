import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { createRecordingLogger } from '@ops/core/testing';
import {
  createPostgresDatabase,
  queryPostgres as sql,
  tempDir,
  type PostgresDatabase,
  type TempDir,
} from '@ops/testkit';
import { runBackup } from '../jobs/run-backup.js';
import type { BackupManifest } from '../manifest/manifest.js';
import { createPostgresSource } from '../sources/postgres-source.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import type { BackupStorage } from '../storages/storage.js';
import { createMemoryStorage, type MemoryStorage } from '../testing/memory-storage.js';
import { restorePostgres } from './postgres-restore.js';

// A restore that the target refuses midway must leave the target as it was: pg_restore runs in one transaction
// (when not parallel), and a database the restore created is dropped again.

let source: PostgresDatabase;
let target: PostgresDatabase;
let storage: MemoryStorage;
let backup: BackupManifest;
const role = `ops_restore_gone_${randomBytes(4).toString('hex')}`;

const connection = (database: PostgresDatabase) => ({ host: database.host, port: database.port, user: database.user });

beforeAll(async () => {
  [source, target] = await Promise.all([
    createPostgresDatabase({ prefix: 'backup_restore_src' }),
    createPostgresDatabase({ prefix: 'backup_restore_dst' }),
  ]);
  // A dump whose second table belongs to a role that will not exist where it is restored: pg_restore fails midway.
  await sql(source.adminConnectionString, `CREATE ROLE ${role}`);
  await sql(
    source.connectionString,
    `CREATE TABLE a_first (id int, name text, email text, street text, city text, zip text, country text, note text);
     INSERT INTO a_first (id) VALUES (1); CREATE TABLE b_second (id int); ALTER TABLE b_second OWNER TO ${role};`,
  );
  storage = createMemoryStorage();
  backup = await runBackup({
    job: 'pg',
    storage,
    sources: [createPostgresSource({ ...connection(source), database: source.database })],
    lock: false,
  });
  expect(backup.state, backup.error).toBe('completed');
  await sql(source.connectionString, 'DROP TABLE b_second');
  await sql(source.adminConnectionString, `DROP ROLE ${role}`);
});

afterAll(async () => {
  await sql(source.adminConnectionString, `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await Promise.all([source?.dispose(), target?.dispose()]);
});

describe.each(['storage', 'local-copy'] as const)(
  'a PostgreSQL restore refused midway (loadFrom %s) leaves the target as it was',
  (loadFrom) => {
    it('an existing database gets none of the tables restored before the failure', async () => {
      await expect(
        restorePostgres({ storage, backup, target: { ...connection(target), database: target.database }, loadFrom }),
      ).rejects.toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringContaining(role) });
      expect(await sql(target.connectionString, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).toEqual(
        [],
      );
    });

    it("a failed pg_restore names pg_restore's own error line (here: the table already exists)", async () => {
      await sql(target.connectionString, 'CREATE TABLE a_first (id int)');
      try {
        const failure = await restorePostgres({
          storage,
          backup,
          target: { ...connection(target), database: target.database },
          loadFrom,
        }).catch((error: unknown) => error as Error);
        expect(failure).toMatchObject({ code: 'RESTORE_FAILED' });
        // The long "Command was: CREATE TABLE …" that follows must not push the reason out of the message.
        expect((failure as Error).message).toMatch(/ERROR: +relation "a_first" already exists/);
      } finally {
        await sql(target.connectionString, 'DROP TABLE a_first');
      }
    });

    it('a database created for the restore is dropped again', async () => {
      const created = `${target.database}_created`;
      await expect(
        restorePostgres({
          storage,
          backup,
          target: { ...connection(target), database: created },
          create: true,
          loadFrom,
        }),
      ).rejects.toMatchObject({ code: 'RESTORE_FAILED' });
      expect(
        await sql(target.adminConnectionString, `SELECT datname FROM pg_database WHERE datname = '${created}'`),
      ).toEqual([]);
    });
  },
);

// The default restore from a local storage reads the artifact twice: once to authenticate it whole, once into
// pg_restore. An artifact that changes between the two reads fails its checks only at the end of the second; the last
// chunk is held back until then, and pg_restore is killed, so its one transaction never commits.
describe('a restore streamed from the storage (loadFrom storage)', () => {
  let items: PostgresDatabase;
  let into: PostgresDatabase;
  let directory: TempDir;
  let local: BackupStorage;
  let first: BackupManifest;
  let second: BackupManifest;

  beforeAll(async () => {
    [items, into] = await Promise.all([
      createPostgresDatabase({ prefix: 'backup_stream_src' }),
      createPostgresDatabase({ prefix: 'backup_stream_dst' }),
    ]);
    directory = await tempDir('backup-stream');
    await sql(
      items.connectionString,
      `CREATE TABLE items (id int PRIMARY KEY, body text);
       INSERT INTO items SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 20000) g;`,
    );
    local = createLocalStorage({ directory: directory.path });
    const backupItems = () =>
      runBackup({
        job: 'items',
        storage: local,
        sources: [createPostgresSource({ ...connection(items), database: items.database })],
        // Not encrypted: age itself holds back its last chunk until its input ends (only then is it known to be the
        // last), so a plain artifact is the one that depends on the restore's own hold-back.
        compression: { algorithm: 'none' },
        lock: false,
      });
    first = await backupItems();
    // The same size, other bytes: only the sha256 at the very end of a read tells the two artifacts apart.
    await sql(items.connectionString, "UPDATE items SET body = repeat(md5('changed'), 8) WHERE id = 20000");
    second = await backupItems();
    expect([first.state, second.state]).toEqual(['completed', 'completed']);
  });

  afterAll(async () => {
    await Promise.all([items?.dispose(), into?.dispose(), directory?.dispose()]);
  });

  /**
   * The local storage, except that read number `swapOn` of the first backup's artifact returns the second's bytes and
   * then waits a second before it ends: time enough for a pg_restore that had every byte to commit.
   */
  function swappingStorage(swapOn: number): BackupStorage & { reads: number } {
    const firstKey = first.sources[0]?.artifacts[0]?.key as string;
    const secondKey = second.sources[0]?.artifacts[0]?.key as string;
    const wrapper = {
      ...local,
      reads: 0,
      async read(key: string, options = {}): Promise<Readable> {
        if (key !== firstKey) return local.read(key, options);
        wrapper.reads += 1;
        if (wrapper.reads !== swapOn) return local.read(key, options);
        const swapped = await local.read(secondKey, options);
        return Readable.from(
          (async function* () {
            yield* swapped;
            await new Promise((resolve) => setTimeout(resolve, 1000));
          })(),
        );
      },
    };
    return wrapper;
  }

  it('is the default for a local storage and restores the data in two reads', async () => {
    const storage = swappingStorage(0);
    const timings: string[] = [];
    const restored = `${into.database}_streamed`;
    try {
      await restorePostgres({
        storage,
        backup: first,
        target: { ...connection(into), database: restored },
        create: true,
        onTiming: (timing) => timings.push(timing.step),
      });
      expect(storage.reads, 'authenticated in one read, loaded in a second').toBe(2);
      expect(timings).toEqual(expect.arrayContaining(['restore.authenticate', 'restore.load']));
      expect(timings).not.toContain('restore.download');
      const url = new URL(into.connectionString);
      url.pathname = `/${restored}`;
      expect(await sql(url.toString(), 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 20000 }]);
    } finally {
      await sql(into.adminConnectionString, `DROP DATABASE IF EXISTS "${restored}" WITH (FORCE)`);
    }
  });

  it('an artifact replaced between the two reads is refused and the existing target keeps its tables', async () => {
    await sql(into.connectionString, 'CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (7);');
    try {
      const storage = swappingStorage(2);
      const failure = await restorePostgres({
        storage,
        backup: first,
        target: { ...connection(into), database: into.database },
        clean: true,
      }).catch((error: unknown) => error as Error);
      expect(storage.reads).toBe(2);
      expect(
        await sql(into.connectionString, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"),
        'pg_restore --clean never committed',
      ).toEqual([{ tablename: 'keep_me' }]);
      expect(await sql(into.connectionString, 'SELECT id FROM keep_me')).toEqual([{ id: 7 }]);
      expect(failure).toMatchObject({ code: 'BACKUP_CORRUPT', message: expect.stringMatching(/sha256/) });
    } finally {
      await sql(into.connectionString, 'DROP TABLE IF EXISTS keep_me');
    }
  });

  it('an artifact replaced before the first read is refused before the target is touched', async () => {
    const storage = swappingStorage(1);
    const created = `${into.database}_never`;
    await expect(
      restorePostgres({
        storage,
        backup: first,
        target: { ...connection(into), database: created },
        create: true,
      }),
    ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
    expect(storage.reads, 'never read a second time').toBe(1);
    expect(await sql(into.adminConnectionString, `SELECT 1 FROM pg_database WHERE datname = '${created}'`)).toEqual([]);
  });

  /** Restores `first` into a new database `created` with `options`; expects ABORTED and no database left behind. */
  async function expectAborted(created: string, options: Partial<Parameters<typeof restorePostgres>[0]>) {
    await expect(
      restorePostgres({
        storage: local,
        backup: first,
        target: { ...connection(into), database: created },
        create: true,
        ...options,
      }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await sql(into.adminConnectionString, `SELECT 1 FROM pg_database WHERE datname = '${created}'`)).toEqual([]);
  }

  it('an abort while the dump streams in stops pg_restore: ABORTED, and the database created for it is dropped', async () => {
    const controller = new AbortController();
    await expectAborted(`${into.database}_aborted`, {
      signal: controller.signal,
      // Progress is reported by the second read, the one streaming into pg_restore.
      onProgress: () => controller.abort(new Error('operator cancelled')),
    });
  });

  it.each(['storage', 'local-copy'] as const)(
    'an abort before the artifact is authenticated (loadFrom %s) is ABORTED, not a damaged artifact',
    async (loadFrom) => {
      await expectAborted(`${into.database}_never_${loadFrom.replace('-', '_')}`, {
        loadFrom,
        signal: AbortSignal.abort(new Error('operator cancelled')),
      });
    },
  );

  it('loadFrom "storage" with parallelJobs > 1 is refused, naming loadFrom "local-copy"', async () => {
    await expect(
      restorePostgres({
        storage: local,
        backup: first,
        target: { ...connection(into), database: into.database },
        parallelJobs: 2,
        loadFrom: 'storage',
      }),
    ).rejects.toMatchObject({ code: 'ARGUMENT_INVALID', message: expect.stringContaining('local-copy') });
  });
});

describe('a parallel restore of a custom-format dump', () => {
  it('fills in the data offsets pg_dump could not write into its pipe, then pg_restore -j restores everything', async () => {
    const from = await createPostgresDatabase({ prefix: 'backup_parallel_src' });
    const restoredName = `${from.database}_restored`;
    try {
      await sql(
        from.connectionString,
        `CREATE TABLE t_one AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g;
         CREATE TABLE t_two AS SELECT g AS id FROM generate_series(1, 3000) g; CREATE INDEX ON t_two (id);
         CREATE TABLE t_empty (id int); SELECT lo_from_bytea(0, 'a large object');`,
      );
      const made = await runBackup({
        job: 'pg-parallel',
        storage,
        sources: [createPostgresSource({ ...connection(from), database: from.database })],
        lock: false,
      });
      expect(made.state, made.error).toBe('completed');
      const logger = createRecordingLogger();
      const steps: string[] = [];
      await restorePostgres({
        storage,
        backup: made,
        target: { ...connection(from), database: restoredName },
        create: true,
        parallelJobs: 2,
        logger,
        onTiming: (timing) => steps.push(timing.step),
      });
      expect(steps).toContain('restore.offsets');
      expect(logger.text()).not.toContain('without data offsets');
      const restored = from.connectionString.replace(/\/[^/?]+(\?|$)/, `/${restoredName}$1`);
      const counts = await sql<{ one: string; two: string; empty: string; objects: string }>(
        restored,
        `SELECT (SELECT count(*) FROM t_one) AS one, (SELECT count(*) FROM t_two) AS two,
                (SELECT count(*) FROM t_empty) AS empty, (SELECT count(*) FROM pg_largeobject_metadata) AS objects`,
      );
      expect(counts).toEqual([{ one: '5000', two: '3000', empty: '0', objects: '1' }]);
    } finally {
      await sql(from.adminConnectionString, `DROP DATABASE IF EXISTS "${restoredName}" WITH (FORCE)`).catch(
        () => undefined,
      );
      await from.dispose();
    }
  });
});

// The tool that loads the dump is checked before the artifact is read (a whole download of a large backup) and before
// the target is touched: it used to be found missing, or too old to read the archive, only after both.
describe('the restore tool is checked before anything is read or created', () => {
  async function refusedUntouched(
    options: Partial<Parameters<typeof restorePostgres>[0]>,
    manifest: BackupManifest,
    message: RegExp,
  ): Promise<void> {
    let reads = 0;
    const counted: MemoryStorage = Object.create(storage) as MemoryStorage;
    counted.read = (key, readOptions) => {
      reads += 1;
      return storage.read(key, readOptions);
    };
    const created = `${target.database}_tool`;
    await expect(
      restorePostgres({
        storage: counted,
        backup: manifest,
        target: { ...connection(target), database: created },
        create: true,
        ...options,
      }),
    ).rejects.toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringMatching(message) });
    expect(reads).toBe(0);
    expect(
      await sql(target.adminConnectionString, `SELECT datname FROM pg_database WHERE datname = '${created}'`),
    ).toEqual([]);
  }

  it('a pg_restore that cannot run: refused, naming pgRestorePath and what to install', async () => {
    await refusedUntouched(
      { pgRestorePath: '/nonexistent/bin/pg_restore' },
      backup,
      /cannot run \/nonexistent\/bin\/pg_restore --version.*postgresql-client-15.*pgRestorePath/,
    );
  });

  it('a backup written by a newer pg_dump than this pg_restore: refused, naming both versions', async () => {
    const newer = structuredClone(backup);
    for (const source of newer.sources) source.details.tool = 'pg_dump (PostgreSQL) 99.1 (Debian 99.1-1)';
    await refusedUntouched(
      {},
      newer,
      /dumped by pg_dump 99 .*pg_restore is version 15.*install postgresql-client-99 and set pgRestorePath/,
    );
  });

  it('skipVersionCheck lets it run anyway (here the archive is one pg_restore 15 reads)', async () => {
    const newer = structuredClone(backup);
    for (const source of newer.sources) source.details.tool = 'pg_dump (PostgreSQL) 99.1 (Debian 99.1-1)';
    const restoredName = `${target.database}_skip`;
    try {
      // The dump's second table belongs to a role missing here: noOwner restores it all.
      await restorePostgres({
        storage,
        backup: newer,
        target: { ...connection(target), database: restoredName },
        create: true,
        noOwner: true,
        skipVersionCheck: true,
      });
      const restored = target.connectionString.replace(/\/[^/?]+(\?|$)/, `/${restoredName}$1`);
      expect(await sql(restored, 'SELECT count(*)::int AS n FROM a_first')).toEqual([{ n: 1 }]);
    } finally {
      await sql(target.adminConnectionString, `DROP DATABASE IF EXISTS "${restoredName}" WITH (FORCE)`);
    }
  });
});
