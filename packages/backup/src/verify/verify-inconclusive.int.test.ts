import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '@ops/core';
import { createPostgresDatabase, queryPostgres as sql, type PostgresDatabase } from '@ops/testkit';
import { findBackup } from '../catalog/catalog.js';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { runBackup } from '../jobs/run-backup.js';
import type { BackupManifest } from '../manifest/manifest.js';
import { pruneBackups, verificationState } from '../prune/prune-backups.js';
import { createPostgresSource } from '../sources/postgres-source.js';
import { createMemoryStorage, type MemoryStorage } from '../testing/memory-storage.js';
import { verifyBackup, type VerificationReport, type VerifyBackupOptions } from './verify-backup.js';

// A verification that cannot be carried out (no matching key, no pg_restore or one too old for the dump, no scratch
// server) says nothing about the backup. It used to be recorded as a failed verification, and retention removes
// verification-failed backups after `failedKeepFor`: a daily verify on a machine without pg_restore would have had
// every good backup deleted within a week. It is now reported as inconclusive and not recorded.

let database: PostgresDatabase;
let storage: MemoryStorage;
let backup: BackupManifest;
const identity = generateAgeIdentity();

async function stored(): Promise<BackupManifest> {
  return findBackup({ storage, id: backup.id, job: backup.job });
}

/** `storage` with its reads counted. */
function countingReads(): { storage: MemoryStorage; reads: () => number } {
  let reads = 0;
  const counted: MemoryStorage = Object.create(storage) as MemoryStorage;
  counted.read = (key, options) => {
    reads += 1;
    return storage.read(key, options);
  };
  return { storage: counted, reads: () => reads };
}

/** Verifies the backup: `full-read` with the right key, unless `options` say otherwise. */
function verify(options: Partial<VerifyBackupOptions> = {}): Promise<VerificationReport> {
  return verifyBackup({
    storage,
    backup: backup.id,
    job: backup.job,
    level: 'full-read',
    decryption: { identities: [identity.identity] },
    ...options,
  });
}

/** {@link verify}, expecting an inconclusive report and nothing recorded in the stored manifest. */
async function expectInconclusive(options: Partial<VerifyBackupOptions> = {}): Promise<VerificationReport> {
  const report = await verify(options);
  expect(report).toMatchObject({ ok: false, inconclusive: true });
  expect((await stored()).verifications).toEqual(backup.verifications);
  return report;
}

/** What a dry-run prune a month from now decides for the backup (failed ones go after `failedKeepFor`, 7 days). */
async function pruneDecision(from: MemoryStorage) {
  const report = await pruneBackups({
    storage: from,
    job: backup.job,
    policy: { keepLast: 1, countUnverified: true },
    clock: createManualClock(Date.now() + 30 * 24 * 3600_000),
    lock: false,
  });
  return report.decisions.find((decision) => decision.id === backup.id);
}

/** A copy of the manifest as if a newer pg_dump had written the backup. */
function dumpedBy(version: string): BackupManifest {
  const copy = structuredClone(backup);
  for (const source of copy.sources) source.details.tool = `pg_dump (PostgreSQL) ${version} (Debian ${version}-1)`;
  return copy;
}

beforeAll(async () => {
  database = await createPostgresDatabase({ prefix: 'verify_inconclusive' });
  await sql(
    database.connectionString,
    `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;`,
  );
  storage = createMemoryStorage();
  backup = await runBackup({
    job: 'pg',
    storage,
    sources: [
      createPostgresSource({
        host: database.host,
        port: database.port,
        user: database.user,
        database: database.database,
      }),
    ],
    encryption: { recipients: [identity.recipient] },
    lock: false,
  });
  expect(backup.state, backup.error).toBe('completed');
});

afterAll(async () => {
  await database?.dispose();
});

describe('a verification that cannot be carried out is inconclusive and not recorded', () => {
  it('no pg_restore on PATH: full-read is inconclusive, names what to install, and records nothing', async () => {
    const emptyBin = await mkdtemp(join(tmpdir(), 'ops-no-pg-'));
    const path = process.env.PATH;
    let report;
    try {
      process.env.PATH = emptyBin;
      report = await expectInconclusive();
    } finally {
      process.env.PATH = path;
      await rm(emptyBin, { recursive: true, force: true });
    }
    expect(report.detail).toMatch(
      /not verified: .*cannot run pg_restore --version.*postgresql-client-15.*pgRestorePath/,
    );
    expect(verificationState(await stored(), 'checksum')).not.toBe('failed');
  });

  it('a pgRestorePath that does not exist: inconclusive before a byte of the artifact is read', async () => {
    const counting = countingReads();
    const report = await expectInconclusive({
      storage: counting.storage,
      backup: structuredClone(backup),
      pgRestorePath: '/nonexistent/bin/pg_restore',
    });
    expect(report.artifacts[0]?.detail).toMatch(/\/nonexistent\/bin\/pg_restore/);
    expect(counting.reads()).toBe(0);
  });

  it('a backup written by a newer pg_dump than the pg_restore here: inconclusive, naming both versions', async () => {
    const report = await expectInconclusive({ backup: dumpedBy('99.1') });
    expect(report.detail).toMatch(/dumped by pg_dump 99 .*pg_restore is version 15.*postgresql-client-99/);
  });

  it('a key that does not fit an intact backup: inconclusive (it was recorded as a failure)', async () => {
    const report = await expectInconclusive({ decryption: { identities: [generateAgeIdentity().identity] } });
    expect(report.detail).toMatch(/BACKUP_DECRYPT_FAILED.*stored bytes match the manifest/);
  });

  it('test-restore without a scratch server: inconclusive', async () => {
    const report = await expectInconclusive({ level: 'test-restore' });
    expect(report.detail).toMatch(/needs scratch\.postgres/);
  });

  it('so retention keeps the backup a month later: it is not verification-failed', async () => {
    expect(await pruneDecision(storage)).toMatchObject({ verified: 'ok', action: 'keep' });
  });
});

describe('what is found damaged is still recorded as a failure', () => {
  it('a key that does not fit a backup whose stored bytes changed: a failure, recorded', async () => {
    const damaged = createMemoryStorage();
    for (const key of storage.keys()) damaged.set(key, storage.get(key) as Buffer);
    const artifact = backup.sources[0]?.artifacts[0];
    if (!artifact) throw new Error('no artifact');
    const bytes = damaged.get(artifact.key) as Buffer;
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    damaged.set(artifact.key, bytes);
    const report = await verify({ storage: damaged, decryption: { identities: [generateAgeIdentity().identity] } });
    expect(report.ok).toBe(false);
    expect(report.inconclusive).toBeUndefined();
    const after = await findBackup({ storage: damaged, id: backup.id, job: backup.job });
    expect(after.verifications.slice(backup.verifications.length)).toMatchObject([{ level: 'full-read', ok: false }]);
    expect(verificationState(after, 'checksum')).toBe('failed');
    // Recorded as failed: a month later only the last-restore-point rule keeps it (no good backup is newer).
    expect(await pruneDecision(damaged)).toMatchObject({
      verified: 'failed',
      action: 'keep',
      reasons: [expect.stringMatching(/no good backup is newer, so it is the last restore point/)],
    });
  });

  it('the same intact backup with the right key passes, and that is recorded', async () => {
    const report = await verify();
    expect(report.ok, report.detail).toBe(true);
    expect((await stored()).verifications.slice(backup.verifications.length)).toMatchObject([
      { level: 'full-read', ok: true },
    ]);
  });
});
