import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresDatabase,
  createRedisNamespace,
  queryPostgres as sql,
  tempDir,
  type PostgresDatabase,
  type RedisNamespace,
  type TempDir,
} from '@ops/testkit';
import { listBackups } from '../catalog/catalog.js';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { manifestArtifacts } from '../manifest/manifest.js';
import { pruneBackups } from '../prune/prune-backups.js';
import { restorePostgres } from '../restore/postgres-restore.js';
import { restoreRedis } from '../restore/redis-restore.js';
import { createPostgresSource } from '../sources/postgres-source.js';
import { createRedisSource } from '../sources/redis/redis-source.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { verifyBackup } from '../verify/verify-backup.js';
import { runBackup } from './run-backup.js';

const packageRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const binPath = join(packageRoot, 'dist', 'cli', 'bin.js');

let database: PostgresDatabase;
let redis: RedisNamespace;
let directory: TempDir;

async function databaseExists(name: string): Promise<boolean> {
  return (await sql(database.adminConnectionString, `SELECT 1 FROM pg_database WHERE datname = '${name}'`)).length > 0;
}

async function script(name: string, body: string): Promise<string> {
  const path = join(directory.path, name);
  await writeFile(path, `#!/bin/sh\nif [ "$1" = "--version" ]; then exec pg_dump --version; fi\n${body}`);
  await chmod(path, 0o755);
  return path;
}

const connection = () => ({
  host: database.host,
  port: database.port,
  user: database.user,
  database: database.database,
});

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'backup_faults' });
  redis = await createRedisNamespace();
  directory = await tempDir('backup-faults');
  await sql(
    database.connectionString,
    `CREATE TABLE big (id int PRIMARY KEY, body text); INSERT INTO big SELECT g, md5(g::text) || md5((g+1)::text) FROM generate_series(1, 60000) g; ANALYZE;`,
  );
  const client = redis.client();
  const pipeline = client.pipeline();
  for (let index = 0; index < 2000; index++) pipeline.set(`key:${index}`, `value-${index}`.repeat(5));
  await pipeline.exec();
});

afterAll(async () => {
  await database?.dispose();
  await redis?.dispose();
  await directory?.dispose();
});

describe('faults that must lose nothing', () => {
  it('kill -9 of the backup process mid-stream leaves no completed manifest; the next run cleans the leftovers', async () => {
    if (!existsSync(binPath))
      throw new Error(`build the package first (pnpm --filter @ops/backup build): ${binPath} is missing`);
    const store = join(directory.path, 'killed');
    const slowDump = await script('pg_dump_slow', 'pg_dump "$@" | { head -c 300000; sleep 60; cat; }\n');
    const configPath = join(directory.path, 'killed.yaml');
    await writeFile(
      configPath,
      `storage: { type: local, directory: ${store} }\njobs:\n  - name: pg-killed\n    sources:\n      - { type: postgres, host: ${database.host}, port: ${database.port}, user: ${database.user}, database: ${database.database}, pgDumpPath: ${slowDump} }\n    compression: { algorithm: none }\n`,
    );
    const child = spawn(process.execPath, [binPath, 'run', '--config', configPath], {
      detached: true,
      stdio: 'ignore',
    });
    const pid = child.pid as number;
    const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
    // Wait (bounded) until the artifact is being written: a partial temp file exists in the backup directory.
    let partial: string | undefined;
    for (let attempt = 0; attempt < 300 && !partial; attempt++) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
      const files = existsSync(store) ? ((await readdir(store, { recursive: true })) as string[]) : [];
      partial = files.find((file) => file.includes('.ops-partial-') && file.includes('data'));
    }
    expect(partial, 'the backup never started streaming').toBeDefined();
    process.kill(-pid, 'SIGKILL'); // the CLI, pg_dump and the wrapper: the process group we started
    await exited;

    const storage = createLocalStorage({ directory: store });
    const afterKill = await listBackups({ storage, job: 'pg-killed' });
    expect(afterKill.backups.map((backup) => backup.state)).toEqual(['in-progress']);
    const killedId = afterKill.backups[0]?.id as string;

    const next = await runBackup({
      job: 'pg-killed',
      storage,
      sources: [createPostgresSource(connection())],
      compression: { algorithm: 'none' },
    });
    expect(next.state, next.error).toBe('completed');
    const afterNext = await listBackups({ storage, job: 'pg-killed' });
    expect(afterNext.backups.map((backup) => [backup.id, backup.state])).toEqual([[next.id, 'completed']]);
    const files = (await readdir(store, { recursive: true })) as string[];
    expect(
      files.filter((file) => file.includes('.ops-partial-') || file.includes(killedId) || file.includes('locks/')),
    ).toEqual([]);
  });

  it('kill -9 of pg_dump mid-stream fails the backup and stores no artifact', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'dump-killed') });
    const killed = await script('pg_dump_killed', 'pg_dump "$@" | head -c 100000\nkill -KILL $$\n');
    const manifest = await runBackup({
      job: 'pg-dump-killed',
      storage,
      sources: [createPostgresSource({ ...connection(), pgDumpPath: killed })],
    });
    expect(manifest.state).toBe('failed');
    expect(manifest.error).toContain('killed by SIGKILL');
    expect(manifestArtifacts(manifest)).toEqual([]);
  });

  it('a full storage fails the backup cleanly (no artifact left), and a read-only storage fails before anything starts', async () => {
    const full = createMemoryStorage({ capacityBytes: 200_000 });
    const manifest = await runBackup({
      job: 'pg-full',
      storage: full,
      sources: [createPostgresSource(connection())],
      compression: { algorithm: 'none' },
    });
    expect(manifest.state).toBe('failed');
    expect(manifest.error).toContain('no space left on device');
    expect(full.keys()).toEqual([`pg-full/${manifest.id}/manifest.json`]);

    const readOnly = createMemoryStorage({ readOnly: true });
    await expect(
      runBackup({ job: 'pg-ro', storage: readOnly, sources: [createPostgresSource(connection())] }),
    ).rejects.toMatchObject({ code: 'STORAGE_FAILED', message: expect.stringContaining('read-only') });
    expect(readOnly.keys()).toEqual([]);
  });

  it('a wrong passphrase or key: verify fails and restore refuses without touching the target', async () => {
    const storage = createLocalStorage({ directory: join(directory.path, 'passphrase') });
    const manifest = await runBackup({
      job: 'pg-pass',
      storage,
      sources: [createPostgresSource(connection())],
      encryption: { passphrase: 'correct horse battery staple', scryptWorkFactor: 10 },
    });
    expect(manifest.state, manifest.error).toBe('completed');
    expect(JSON.stringify(manifest)).not.toContain('correct horse');
    const wrong = await verifyBackup({
      storage,
      backup: manifest,
      level: 'full-read',
      decryption: { passphrase: 'wrong' },
    });
    expect(wrong.ok).toBe(false);
    expect(wrong.detail).toContain('BACKUP_DECRYPT_FAILED');
    // The backup is intact: a key that does not fit is no finding about it, and is not recorded against it.
    expect(wrong.inconclusive).toBe(true);
    const recorded = (await listBackups({ storage, job: 'pg-pass' })).backups[0]?.verifications;
    expect(recorded?.map((entry) => entry.ok)).toEqual([true]); // the run's own verify-stored check
    const target = `${database.database}_wrongkey`;
    await expect(
      restorePostgres({
        storage,
        backup: manifest,
        decryption: { passphrase: 'wrong' },
        target: { ...connection(), database: target },
        create: true,
      }),
    ).rejects.toMatchObject({ code: 'BACKUP_DECRYPT_FAILED' });
    const otherKey = generateAgeIdentity().identity;
    await expect(
      restorePostgres({
        storage,
        backup: manifest,
        decryption: { identities: [otherKey] },
        target: { ...connection(), database: target },
        create: true,
      }),
    ).rejects.toMatchObject({ code: 'BACKUP_DECRYPT_FAILED' });
    expect(await databaseExists(target)).toBe(false);
    const right = await verifyBackup({
      storage,
      backup: manifest,
      level: 'full-read',
      decryption: { passphrase: 'correct horse battery staple' },
    });
    expect(right.ok, right.detail).toBe(true);
  });

  for (const damage of ['flipped byte', 'truncated'] as const) {
    it(`a ${damage} artifact: verify fails, PostgreSQL and Redis restores refuse with a clear error`, async () => {
      const store = join(directory.path, `damaged-${damage.replace(' ', '-')}`);
      const storage = createLocalStorage({ directory: store });
      const manifest = await runBackup({
        job: 'mixed',
        storage,
        sources: [
          createPostgresSource(connection()),
          createRedisSource({ redis: redis.client(), method: 'scan-dump' }),
        ],
      });
      expect(manifest.state, manifest.error).toBe('completed');
      for (const artifact of manifestArtifacts(manifest)) {
        const path = join(store, ...artifact.key.split('/'));
        const bytes = await readFile(path);
        if (damage === 'flipped byte') {
          const at = Math.floor(bytes.length / 2);
          bytes[at] = (bytes[at] as number) ^ 0x01;
          await writeFile(path, bytes);
        } else await writeFile(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      }
      const report = await verifyBackup({ storage, backup: manifest, level: 'checksum' });
      expect(report.ok).toBe(false);
      expect(report.artifacts.filter((artifact) => !artifact.ok)).toHaveLength(2);
      expect(report.detail).toContain('BACKUP_CORRUPT');

      const target = `${database.database}_damaged`;
      await expect(
        restorePostgres({ storage, backup: manifest, target: { ...connection(), database: target }, create: true }),
      ).rejects.toMatchObject({
        code: 'BACKUP_CORRUPT',
        message: expect.stringMatching(/is corrupt: stored object (sha256|size)/),
      });
      expect(await databaseExists(target)).toBe(false);

      const targetRedis = await createRedisNamespace();
      try {
        await expect(restoreRedis({ storage, backup: manifest, redis: targetRedis.client() })).rejects.toMatchObject({
          code: 'BACKUP_CORRUPT',
        });
        expect(await targetRedis.client().dbsize()).toBe(0);
      } finally {
        await targetRedis.dispose();
      }
    });
  }

  it('retention when the newest backup failed keeps the good ones', async () => {
    const storage = createMemoryStorage();
    const good: string[] = [];
    for (let index = 0; index < 3; index++) {
      const manifest = await runBackup({ job: 'pg-retain', storage, sources: [createPostgresSource(connection())] });
      expect(manifest.state).toBe('completed');
      good.push(manifest.id);
    }
    const failed = await runBackup({
      job: 'pg-retain',
      storage,
      sources: [createPostgresSource({ ...connection(), database: 'no_such_db_ops_retain' })],
    });
    expect(failed.state).toBe('failed');
    const report = await pruneBackups({ storage, job: 'pg-retain', policy: { keepLast: 2 }, dryRun: false });
    const { backups } = await listBackups({ storage, job: 'pg-retain' });
    const left = backups.map((backup) => backup.id);
    expect(left).toContain(good[2]);
    expect(left).toContain(good[1]);
    expect(report.removed).toEqual([good[0]]);
    const failedDecision = report.decisions.find((decision) => decision.id === failed.id);
    expect(failedDecision?.action).toBe('keep');
    expect(failedDecision?.reasons.join(' ')).toMatch(/fail/i);
    expect(storage.keys().filter((key) => key.includes(good[0] as string))).toEqual([]);
  });
});
