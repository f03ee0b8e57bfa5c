import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { listBackups } from '../../catalog/catalog.js';
import { runBackup } from '../../jobs/run-backup.js';
import { pruneBackups } from '../../prune/prune-backups.js';
import { createFilesSource } from '../../sources/files-source.js';
import { verifyBackup } from '../../verify/verify-backup.js';
import { createLocalStorage } from './local-storage.js';

// Root ignores permission bits, so a chmod-ed directory is no test here. The immutable attribute (`chattr +i`) is
// enforced for root too: the kernel refuses to create, rename or remove entries in such a directory (EPERM).
let directory: TempDir;
let store: string;
const immutable: string[] = [];

function chattr(flag: '+i' | '-i', path: string): void {
  const result = spawnSync('chattr', ['-R', flag, path], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `chattr ${flag} ${path} failed (${result.stderr?.trim() || result.error?.message}); this test needs e2fsprogs and a file system with the immutable attribute (ext4, xfs, btrfs)`,
    );
  }
}

async function snapshot(root: string): Promise<string[]> {
  const entries = (await readdir(root, { recursive: true })) as string[];
  return Promise.all(entries.sort().map(async (entry) => `${entry}:${(await stat(join(root, entry))).size}`));
}

beforeAll(async () => {
  directory = await tempDir('backup-read-only');
  store = join(directory.path, 'store');
  const files = join(directory.path, 'files');
  await mkdir(files);
  await writeFile(join(files, 'a.txt'), 'alpha');
});

afterAll(async () => {
  for (const path of immutable) chattr('-i', path);
  await directory?.dispose();
});

describe('local storage on a directory the kernel will not let us write (chattr +i)', () => {
  it('a backup fails before anything starts, nothing changes, and existing backups still list and verify', async () => {
    const storage = createLocalStorage({ directory: store });
    const source = () => createFilesSource({ directory: join(directory.path, 'files') });
    const first = await runBackup({ job: 'files', storage, sources: [source()] });
    expect(first.state, first.error).toBe('completed');
    const before = await snapshot(store);

    chattr('+i', store);
    immutable.push(store);
    // The attribute really is in force for this (root) process.
    await expect(writeFile(join(store, 'probe'), 'x')).rejects.toMatchObject({ code: 'EPERM' });
    expect(execFileSync('lsattr', ['-d', store], { encoding: 'utf8' })).toMatch(/^\S*i\S*\s/);

    await expect(runBackup({ job: 'files', storage, sources: [source()] })).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
      message: expect.stringContaining('permission denied (EPERM)'),
    });
    // Pruning takes the job's lock first, which is a write too.
    await expect(pruneBackups({ storage, job: 'files', policy: { keepLast: 1 }, dryRun: false })).rejects.toMatchObject(
      { code: 'STORAGE_FAILED', message: expect.stringContaining('EPERM') },
    );
    expect(await snapshot(store)).toEqual(before);

    const { backups } = await listBackups({ storage, job: 'files' });
    expect(backups.map((backup) => [backup.id, backup.state])).toEqual([[first.id, 'completed']]);
    const report = await verifyBackup({ storage, backup: first, level: 'full-read', record: false });
    expect(report.ok, report.detail).toBe(true);
    expect(JSON.parse(await readFile(join(store, 'files', first.id, 'manifest.json'), 'utf8'))).toMatchObject({
      id: first.id,
      state: 'completed',
    });
  });

  it('a directory that turns read-only mid-run (in a pre hook) fails the run, loses no earlier backup, and the next run recovers', async () => {
    const root = join(directory.path, 'mid-run');
    const storage = createLocalStorage({ directory: root });
    const source = () => createFilesSource({ directory: join(directory.path, 'files') });
    const first = await runBackup({ job: 'files', storage, sources: [source()] });
    expect(first.state, first.error).toBe('completed');

    immutable.push(root);
    // The lock and the in-progress manifest are written; then the whole tree becomes immutable.
    const failed = runBackup({
      job: 'files',
      storage,
      sources: [source()],
      hooks: { pre: [{ command: ['chattr', '-R', '+i', root] }] },
      lock: { settle: 0 },
    });
    await expect(failed).rejects.toMatchObject({ code: 'STORAGE_FAILED', message: expect.stringContaining('EPERM') });
    const during = await listBackups({ storage, job: 'files' });
    expect(during.backups.map((backup) => backup.state).sort()).toEqual(['completed', 'in-progress']);
    expect(
      ((await readdir(root, { recursive: true })) as string[]).filter((entry) => entry.includes('.ops-partial-')),
    ).toEqual([]);

    chattr('-i', root);
    immutable.pop();
    // The failed run could not remove its own lock; it names this (live) process, so only a stale lock is taken over.
    await expect(runBackup({ job: 'files', storage, sources: [source()], lock: { settle: 0 } })).rejects.toMatchObject({
      code: 'BACKUP_LOCKED',
    });
    const next = await runBackup({ job: 'files', storage, sources: [source()], lock: { staleAfter: 0, settle: 0 } });
    expect(next.state, next.error).toBe('completed');
    const after = await listBackups({ storage, job: 'files' });
    expect(after.backups.map((backup) => [backup.id, backup.state]).sort()).toEqual(
      [
        [first.id, 'completed'],
        [next.id, 'completed'],
      ].sort(),
    );
    expect((await verifyBackup({ storage, backup: first, level: 'full-read', record: false })).ok).toBe(true);
  });
});
