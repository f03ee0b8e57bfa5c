import { lstat, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { runBackup } from '../jobs/run-backup.js';
import { createFilesSource } from '../sources/files-source.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { extractTar } from './tar-extract.js';
import { restoreFiles } from './files-restore.js';

let directory: TempDir;
beforeEach(async () => {
  directory = await tempDir('backup-files');
});
afterEach(async () => {
  await directory.dispose();
});

async function maliciousTar(entries: { name: string; type?: 'file' | 'symlink' | 'link' | 'directory' | 'character-device'; linkname?: string; body?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) {
    const body = entry.body ?? '';
    const header = { name: entry.name, type: entry.type ?? 'file', ...(entry.linkname ? { linkname: entry.linkname } : {}), size: entry.type && entry.type !== 'file' ? 0 : Buffer.byteLength(body) } as const;
    if (entry.type && entry.type !== 'file') pack.entry(header);
    else pack.entry(header, body);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(root, { recursive: true })) out.push(String(name));
  return out.sort();
}

describe('files source and restore', () => {
  it('archives a directory with excludes, preserves symlinks without following them, and restores into staging', async () => {
    const root = join(directory.path, 'config');
    await mkdir(join(root, 'nested', 'cache'), { recursive: true });
    await writeFile(join(root, 'app.yaml'), 'port: 8080\n');
    await writeFile(join(root, 'nested', 'secret.key'), 'k'.repeat(100_000), { mode: 0o600 });
    await writeFile(join(root, 'debug.log'), 'noise');
    await writeFile(join(root, 'nested', 'cache', 'blob'), 'cached');
    await writeFile(join(directory.path, 'outside.txt'), 'must not be archived');
    await symlink('../outside.txt', join(root, 'link-out'));
    await symlink('app.yaml', join(root, 'link-in'));
    const storage = createMemoryStorage();
    const manifest = await runBackup({
      job: 'config',
      storage,
      sources: [createFilesSource({ directory: root, exclude: ['*.log', 'nested/cache'] })],
      lock: false,
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const details = manifest.sources[0]?.details as { fileCount: number; entries: { path: string; type: string; sha256?: string }[]; symlinkPolicy: string };
    expect(details.fileCount).toBe(2);
    expect(details.symlinkPolicy).toBe('preserve');
    expect(details.entries.map((entry) => `${entry.type}:${entry.path}`).sort()).toEqual(['directory:nested', 'file:app.yaml', 'file:nested/secret.key', 'symlink:link-in', 'symlink:link-out']);

    // The outward symlink is in the backup as a link, but restore refuses it: nothing is written outside staging.
    const staging = join(directory.path, 'staging');
    await expect(restoreFiles({ storage, backup: manifest, directory: staging })).rejects.toMatchObject({ code: 'RESTORE_UNSAFE_PATH' });
    await expect(lstat(staging)).rejects.toThrow();

    const safe = await runBackup({ job: 'config-safe', storage, sources: [createFilesSource({ directory: root, exclude: ['*.log', 'nested/cache', 'link-out'] })], lock: false });
    const summary = await restoreFiles({ storage, backup: safe, directory: staging });
    expect(summary.files).toBe(2);
    expect(await tree(staging)).toEqual(['app.yaml', 'link-in', 'nested', 'nested/secret.key']);
    expect(await readFile(join(staging, 'nested', 'secret.key'), 'utf8')).toHaveLength(100_000);
    expect((await lstat(join(staging, 'nested', 'secret.key'))).mode & 0o777).toBe(0o600);
    expect((await lstat(join(staging, 'link-in'))).isSymbolicLink()).toBe(true);
  });

  it('skip policy leaves symlinks out', async () => {
    const root = join(directory.path, 'skip');
    await mkdir(root);
    await writeFile(join(root, 'a.txt'), 'a');
    await symlink('a.txt', join(root, 'b'));
    const storage = createMemoryStorage();
    const manifest = await runBackup({ job: 'skip', storage, sources: [createFilesSource({ directory: root, symlinks: 'skip' })], lock: false });
    expect(manifest.warnings).toEqual(['files: skipped b (symlink)']);
  });

  const attacks: [string, Parameters<typeof maliciousTar>[0]][] = [
    ['a ../ path', [{ name: '../escaped.txt', body: 'pwned' }]],
    ['a nested ../ path', [{ name: 'ok/../../escaped.txt', body: 'pwned' }]],
    ['an absolute path', [{ name: '/tmp/ops-backup-escaped.txt', body: 'pwned' }]],
    ['a symlink to an absolute target', [{ name: 'evil', type: 'symlink', linkname: '/etc' }]],
    ['a symlink escaping with ..', [{ name: 'evil', type: 'symlink', linkname: '../..' }]],
    ['a write through a symlink to outside', [{ name: 'dir', type: 'symlink', linkname: 'sub/../..' }, { name: 'dir/escaped.txt', body: 'pwned' }]],
    ['a hard link to outside', [{ name: 'hard', type: 'link', linkname: '../outside.txt' }]],
    ['a device file', [{ name: 'null', type: 'character-device' }]],
  ];
  for (const [label, entries] of attacks) {
    it(`a malicious tar with ${label} writes nothing outside staging`, async () => {
      await writeFile(join(directory.path, 'outside.txt'), 'original');
      const before = await tree(directory.path);
      const staging = join(directory.path, 'staging');
      const archive = await maliciousTar([{ name: 'fine.txt', body: 'ok' }, ...entries]);
      await expect(extractTar({ stream: Readable.from([archive]), directory: staging })).rejects.toMatchObject({ code: 'RESTORE_UNSAFE_PATH' });
      const after = (await tree(directory.path)).filter((path) => !path.startsWith('staging'));
      expect(after).toEqual(before);
      expect(await readFile(join(directory.path, 'outside.txt'), 'utf8')).toBe('original');
      await expect(lstat('/tmp/ops-backup-escaped.txt')).rejects.toThrow();
    });
  }

  it('refuses a non-empty staging directory', async () => {
    const staging = join(directory.path, 'busy');
    await mkdir(staging);
    await writeFile(join(staging, 'existing'), 'x');
    const archive = await maliciousTar([{ name: 'fine.txt', body: 'ok' }]);
    await expect(extractTar({ stream: Readable.from([archive]), directory: staging })).rejects.toMatchObject({ code: 'RESTORE_FAILED' });
  });
});
