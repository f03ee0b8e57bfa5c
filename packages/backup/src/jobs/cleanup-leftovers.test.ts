import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@ops/core';
import { tempDir, type TempDir } from '@ops/testkit';
import { listBackups } from '../catalog/catalog.js';
import { runMarkerKey } from '../manifest/manifest.js';
import { createFilesSource } from '../sources/files-source.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import type { BackupStorage } from '../storages/storage.js';
import { cleanupLeftovers } from './cleanup-leftovers.js';
import { runBackup } from './run-backup.js';

let directory: TempDir;
let root: string;
beforeEach(async () => {
  directory = await tempDir('backup-cleanup');
  root = join(directory.path, 'data');
  await mkdir(root);
  await writeFile(join(root, 'a.txt'), 'a');
});
afterEach(async () => {
  await directory.dispose();
});

/** The local storage, counting the manifests read and refusing the operations `refuse` names. */
function countingStorage(refuse: { deleteKeys?: (key: string) => boolean; writeKeys?: (key: string) => boolean } = {}) {
  const inner = createLocalStorage({ directory: join(directory.path, 'store') });
  const reads: string[] = [];
  const storage: BackupStorage = {
    ...inner,
    location: inner.location,
    read: (key, options) => {
      reads.push(key);
      return inner.read(key, options);
    },
    write: (key, body, options) => {
      if (refuse.writeKeys?.(key)) return Promise.reject(new Error(`refused write of ${key}`));
      return inner.write(key, body, options);
    },
    delete: (key) => {
      if (refuse.deleteKeys?.(key)) return Promise.reject(new Error(`refused delete of ${key}`));
      return inner.delete(key);
    },
  };
  return { storage, reads, manifestReads: () => reads.filter((key) => key.endsWith('/manifest.json')).length };
}

const backup = (storage: BackupStorage) =>
  runBackup({ job: 'files', storage, sources: [createFilesSource({ directory: root })] });

/** A run whose final manifest was refused (left `in-progress`), its marker deleted as a version before markers left it. */
async function unmarkedStuckRun(): Promise<{ storage: BackupStorage; stuckId: string }> {
  let manifestWrites = 0;
  const { storage } = countingStorage({ writeKeys: (key) => key.endsWith('/manifest.json') && ++manifestWrites === 2 });
  await expect(backup(storage)).rejects.toThrow(/refused write/);
  const [stuck] = (await listBackups({ storage, job: 'files' })).backups;
  expect(stuck?.state).toBe('in-progress');
  await storage.delete(runMarkerKey('files', stuck?.id as string));
  return { storage, stuckId: stuck?.id as string };
}

describe('cleanupLeftovers', () => {
  it('reads no manifest of finished backups, however many are kept', async () => {
    const { storage, manifestReads, reads } = countingStorage();
    for (let index = 0; index < 12; index++) expect((await backup(storage)).state).toBe('completed');
    reads.length = 0;
    expect(await cleanupLeftovers({ storage, job: 'files' })).toEqual({ backups: 0, partialObjects: 0 });
    expect(manifestReads()).toBe(1); // the newest, in case an earlier version's run was killed
    expect((await listBackups({ storage, job: 'files' })).backups).toHaveLength(12);
  });

  it('a run that could not write its final manifest is removed by the next run, marker and all', async () => {
    let refuseFinal = true;
    let manifestWrites = 0;
    const { storage } = countingStorage({
      writeKeys: (key) => key.endsWith('/manifest.json') && ++manifestWrites === 2 && refuseFinal,
    });
    await expect(backup(storage)).rejects.toThrow(/refused write/);
    const [stuck] = (await listBackups({ storage, job: 'files' })).backups;
    expect(stuck?.state).toBe('in-progress');
    const leftKeys: string[] = [];
    for await (const object of storage.list(`files/${stuck?.id}/`)) leftKeys.push(object.key);
    expect(leftKeys).toContain(runMarkerKey('files', stuck?.id as string));

    refuseFinal = false;
    const next = await backup(storage);
    expect(next.state).toBe('completed');
    const after = (await listBackups({ storage, job: 'files' })).backups;
    expect(after.map((manifest) => manifest.id)).toEqual([next.id]);
    const keys: string[] = [];
    for await (const object of storage.list('files/')) keys.push(object.key);
    expect(keys.filter((key) => key.includes(stuck?.id as string) || key.endsWith('/in-progress'))).toEqual([]);
  });

  it('a run that died after its final manifest keeps its backup and loses only its marker', async () => {
    let refuseMarkerDelete = true;
    const { storage } = countingStorage({ deleteKeys: (key) => key.endsWith('/in-progress') && refuseMarkerDelete });
    const first = await backup(storage);
    expect(first.state).toBe('completed');
    refuseMarkerDelete = false;
    expect(await cleanupLeftovers({ storage, job: 'files' })).toEqual({ backups: 0, partialObjects: 0 });
    const keys: string[] = [];
    for await (const object of storage.list('files/')) keys.push(object.key);
    expect(keys.some((key) => key.endsWith('/in-progress'))).toBe(false);
    const [kept] = (await listBackups({ storage, job: 'files' })).backups;
    expect([kept?.id, kept?.state]).toEqual([first.id, 'completed']);
  });

  it('removes a directory left without a manifest (a marker only, or data only)', async () => {
    const { storage } = countingStorage();
    await storage.write(runMarkerKey('files', '20260101T000000Z-00000001'), Readable.from([Buffer.from('{}\n')]));
    await storage.write('files/20260101T000000Z-00000002/data/files.tar', Readable.from([Buffer.from('x')]));
    expect(await cleanupLeftovers({ storage, job: 'files' })).toEqual({ backups: 2, partialObjects: 0 });
    const keys: string[] = [];
    for await (const object of storage.list('files/')) keys.push(object.key);
    expect(keys).toEqual([]);
  });

  it('removes the newest in-progress backup without a marker (a killed run of a version before markers)', async () => {
    const { storage } = await unmarkedStuckRun();
    expect(await cleanupLeftovers({ storage, job: 'files' })).toEqual({ backups: 1, partialObjects: 0 });
    expect((await listBackups({ storage, job: 'files' })).backups).toEqual([]);
  });

  it('leaves an older in-progress backup without a marker to prune (a run without the lock came after it)', async () => {
    const { storage, stuckId } = await unmarkedStuckRun();
    const unlocked = await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root })],
      lock: false,
      clock: createManualClock(Date.now() + 60_000), // a later id
    });
    expect(unlocked.state).toBe('completed');
    expect(await cleanupLeftovers({ storage, job: 'files' })).toEqual({ backups: 0, partialObjects: 0 });
    const states = (await listBackups({ storage, job: 'files' })).backups.map((kept) => [kept.id, kept.state]);
    expect(states).toEqual([
      [unlocked.id, 'completed'],
      [stuckId, 'in-progress'],
    ]);
  });
});
