import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@ops/core';
import { tempDir, type TempDir } from '@ops/testkit';
import { runBackup } from '../jobs/run-backup.js';
import { createFilesSource } from '../sources/files-source.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import type { BackupStorage } from '../storages/storage.js';
import { backupFreshnessProbe } from '../checks/backup-freshness-probe.js';
import { BackupError } from '../errors.js';
import { findBackup, listBackups } from './catalog.js';

let directory: TempDir;
let root: string;
beforeEach(async () => {
  directory = await tempDir('backup-catalog');
  root = join(directory.path, 'data');
  await mkdir(root);
  await writeFile(join(root, 'a.txt'), 'a');
});
afterEach(async () => {
  await directory.dispose();
});

/** The local storage, each read held open for 20 ms (a round trip), counting the reads in flight at once. */
function slowReadStorage() {
  const inner = createLocalStorage({ directory: join(directory.path, 'store') });
  const counts = { inFlight: 0, most: 0, reads: 0 };
  const storage: BackupStorage = {
    ...inner,
    location: inner.location,
    read: async (key, options) => {
      counts.reads++;
      counts.inFlight++;
      counts.most = Math.max(counts.most, counts.inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return await inner.read(key, options);
      } finally {
        counts.inFlight--;
      }
    },
  };
  return { storage, counts };
}

describe('listBackups', () => {
  it('reads several manifests at once (not one round trip after another), newest first, and names the unreadable', async () => {
    const { storage, counts } = slowReadStorage();
    const ids: string[] = [];
    for (let index = 0; index < 12; index++) {
      const manifest = await runBackup({ job: 'files', storage, sources: [createFilesSource({ directory: root })] });
      ids.push(manifest.id);
    }
    await writeFile(join(directory.path, 'store', 'files', ids[3] as string, 'manifest.json'), '{ not json');
    counts.most = 0;
    counts.reads = 0;

    const listing = await listBackups({ storage, job: 'files' });
    expect(counts.reads).toBe(12);
    expect(counts.most).toBeGreaterThan(1);
    expect(counts.most).toBeLessThanOrEqual(8);
    expect(listing.backups.map((backup) => backup.id)).toEqual(ids.filter((_, index) => index !== 3).reverse());
    expect(listing.unreadable.map((entry) => entry.key)).toEqual([`files/${ids[3]}/manifest.json`]);
    expect((await findBackup({ storage, job: 'files', id: 'latest' })).id).toBe(ids[11]);
  });

  it('finding the latest backup, and the freshness probe, read a few manifests however many are kept', async () => {
    const { storage, counts } = slowReadStorage();
    const ids: string[] = [];
    const hourly = (index: number) => createManualClock(Date.UTC(2026, 10, 1) + index * 3_600_000);
    for (let index = 0; index < 16; index++) {
      const manifest = await runBackup({
        job: 'files',
        storage,
        sources: [createFilesSource({ directory: root })],
        clock: hourly(index),
      });
      ids.push(manifest.id);
    }
    // The newest run failed: the latest completed backup is the one before it.
    const failed = await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root })],
      hooks: { pre: [{ command: ['/bin/sh', '-c', 'exit 3'] }] },
      clock: hourly(16),
    });
    expect(failed.state).toBe('failed');

    counts.reads = 0;
    expect((await findBackup({ storage, job: 'files', id: 'latest' })).id).toBe(ids[15]);
    expect((await findBackup({ storage, id: 'latest' })).id).toBe(ids[15]);
    expect(counts.reads).toBeLessThanOrEqual(2 * 3);

    counts.reads = 0;
    const probe = backupFreshnessProbe({
      storage,
      job: 'files',
      maxAge: '2h',
      maxSizeDropRatio: 0.5,
      clock: hourly(16),
    });
    const result = await probe(new AbortController().signal);
    expect(result.status).toBe('pass');
    expect((result.details as { backupId: string }).backupId).toBe(ids[15]);
    expect(counts.reads).toBeLessThanOrEqual(6); // of 17
  });

  it('a storage that fails to read the newest manifest fails the lookup with its error, not "no backup"', async () => {
    const inner = createLocalStorage({ directory: join(directory.path, 'store') });
    const made = await runBackup({ job: 'files', storage: inner, sources: [createFilesSource({ directory: root })] });
    expect(made.state).toBe('completed');
    const failing: BackupStorage = {
      ...inner,
      location: inner.location,
      read: () => Promise.reject(new BackupError('STORAGE_FAILED', 'the bucket did not answer')),
    };
    await expect(findBackup({ storage: failing, job: 'files', id: 'latest' })).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
    });
    // A damaged manifest is skipped instead: the lookup goes on to the one before it.
    const second = await runBackup({ job: 'files', storage: inner, sources: [createFilesSource({ directory: root })] });
    await writeFile(join(directory.path, 'store', 'files', second.id, 'manifest.json'), '{ damaged');
    expect((await findBackup({ storage: inner, job: 'files', id: 'latest' })).id).toBe(made.id);
  });
});
