import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { acquireStorageLock } from '../lock/storage-lock.js';
import { createFilesSource } from '../sources/files-source.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { runBackup } from './run-backup.js';

let directory: TempDir;
let root: string;
beforeEach(async () => {
  directory = await tempDir('backup-run');
  root = join(directory.path, 'data');
  await mkdir(root);
  await writeFile(join(root, 'a.txt'), 'a');
});
afterEach(async () => {
  await directory.dispose();
});

describe('runBackup', () => {
  it('a failing pre hook fails the backup before any source runs; post hooks see the final state', async () => {
    const storage = createMemoryStorage();
    const stateFile = join(directory.path, 'state');
    const failed = await runBackup({
      job: 'files',
      storage,
      sources: [createFilesSource({ directory: root })],
      hooks: { pre: [{ command: ['/bin/sh', '-c', 'echo maintenance mode unavailable >&2; exit 2'] }], post: [{ command: ['/bin/sh', '-c', `echo "$OPS_BACKUP_STATE $OPS_BACKUP_JOB" > ${stateFile}`] }] },
    });
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain('maintenance mode unavailable');
    expect(failed.sources).toEqual([]);
    expect(await readFile(stateFile, 'utf8')).toBe('failed files\n');

    const ok = await runBackup({ job: 'files', storage, sources: [createFilesSource({ directory: root })], hooks: { post: [{ command: ['/bin/sh', '-c', `echo "$OPS_BACKUP_STATE" > ${stateFile}`] }] } });
    expect(ok.state).toBe('completed');
    expect(await readFile(stateFile, 'utf8')).toBe('completed\n');
  });

  it('one failing source of two makes the backup partially-failed and keeps the good artifact', async () => {
    const storage = createMemoryStorage();
    const manifest = await runBackup({
      job: 'two',
      storage,
      sources: [createFilesSource({ directory: root, name: 'good' }), createFilesSource({ directory: join(directory.path, 'missing'), name: 'bad' })],
    });
    expect(manifest.state).toBe('partially-failed');
    expect(manifest.sources.map((source) => [source.name, source.state])).toEqual([
      ['good', 'completed'],
      ['bad', 'failed'],
    ]);
    expect(manifest.error).toMatch(/^bad: .*missing/);
    expect(storage.keys()).toEqual([`two/${manifest.id}/data/good.tar`, `two/${manifest.id}/manifest.json`]);
  });

  it('a second run of a locked job is refused with BACKUP_LOCKED and writes nothing', async () => {
    const storage = createMemoryStorage();
    const lock = await acquireStorageLock({ storage, job: 'files', settle: 0 });
    await expect(runBackup({ job: 'files', storage, sources: [createFilesSource({ directory: root })] })).rejects.toMatchObject({ code: 'BACKUP_LOCKED' });
    expect(storage.keys().filter((key) => !key.startsWith('files/locks/'))).toEqual([]);
    await lock.release();
  });

  it('rejects bad options before doing anything', async () => {
    const storage = createMemoryStorage();
    await expect(runBackup({ job: '../escape', storage, sources: [createFilesSource({ directory: root })] })).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    await expect(runBackup({ job: 'x', storage, sources: [] })).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    await expect(runBackup({ job: 'x', storage, sources: [createFilesSource({ directory: root }), createFilesSource({ directory: root })] })).rejects.toThrow(/two sources named files/);
    expect(storage.keys()).toEqual([]);
  });
});
