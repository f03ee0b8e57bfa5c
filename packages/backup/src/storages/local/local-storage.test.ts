import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { readAll } from '../../internal/read-all.js';
import { createLocalStorage } from './local-storage.js';

let directory: TempDir;
beforeEach(async () => {
  directory = await tempDir('backup-local');
});
afterEach(async () => {
  await directory.dispose();
});

describe('local storage', () => {
  it('writes atomically with mode 0600, reads ranges, lists by prefix, deletes and prunes empty directories', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    expect(await storage.write('job/a/data/one.bin', Readable.from([Buffer.from('hello '), Buffer.from('world')]))).toEqual({ bytes: 11 });
    await storage.write('job/a/manifest.json', Readable.from(['{}']));
    await storage.write('other/x', Readable.from(['x']));
    expect((await stat(join(directory.path, 'job/a/data/one.bin'))).mode & 0o777).toBe(0o600);
    expect((await readAll(await storage.read('job/a/data/one.bin', { start: 6, end: 10 }))).toString()).toBe('world');
    const keys: string[] = [];
    for await (const object of storage.list('job/')) keys.push(`${object.key}:${object.bytes}`);
    expect(keys.sort()).toEqual(['job/a/data/one.bin:11', 'job/a/manifest.json:2']);
    expect(await storage.stat('job/a/missing')).toBeUndefined();
    await expect(storage.read('job/a/missing')).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
    await storage.delete('job/a/data/one.bin');
    await storage.delete('job/a/data/one.bin');
    expect(await readdir(join(directory.path, 'job/a'))).toEqual(['manifest.json']);
  });

  it('refuses absolute keys and .. segments', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    for (const key of ['/etc/passwd', '../escape', 'a/../../b', 'a//b', 'a\\b', '']) {
      await expect(storage.write(key, Readable.from(['x']))).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    }
    await expect(storage.stat('../x')).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
  });

  it('a failed write leaves nothing under the key (and no temp file), keeping the previous object intact', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    await storage.write('k/object', Readable.from(['old']));
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024, 1));
        this.destroy(new Error('source died'));
      },
    });
    await expect(storage.write('k/object', failing)).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    expect((await readAll(await storage.read('k/object'))).toString()).toBe('old');
    expect(await readdir(join(directory.path, 'k'))).toEqual(['object']);
  });

  it('cleanup removes partial files left by a killed writer', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    await mkdir(join(directory.path, 'job/b/data'), { recursive: true });
    await writeFile(join(directory.path, 'job/b/data/.ops-partial-dump-123456'), 'half');
    const listed: string[] = [];
    for await (const object of storage.list('job/')) listed.push(object.key);
    expect(listed).toEqual([]);
    expect(await storage.cleanup?.('job/')).toBe(1);
    expect(await readdir(directory.path)).toEqual([]);
  });
});
