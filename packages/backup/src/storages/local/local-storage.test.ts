import { mkdir, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { readAll } from '../../internal/read-all.js';
import { chunkRecycler, createLocalStorage } from './local-storage.js';

let directory: TempDir;
beforeEach(async () => {
  directory = await tempDir('backup-local');
});
afterEach(async () => {
  await directory.dispose();
});

/** Open file descriptors of this process that point into `path`. */
async function descriptorsInto(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target.startsWith(path)) count += 1;
  }
  return count;
}

function closed(stream: Readable): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()));
}

describe('local storage reads (1 MiB blocks, the next one read ahead)', () => {
  const size = 5 * 1024 * 1024 + 12_345;
  let body: Buffer;
  beforeEach(async () => {
    const { randomBytes } = await import('node:crypto');
    body = randomBytes(size);
    await mkdir(join(directory.path, 'job'));
    await writeFile(join(directory.path, 'job', 'big.bin'), body);
  });

  it('reads whole objects and ranges across block boundaries byte for byte, in blocks of at most 1 MiB', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    const blocks: Buffer[] = [];
    for await (const block of await storage.read('job/big.bin')) blocks.push(block as Buffer);
    expect(Buffer.concat(blocks).equals(body)).toBe(true);
    expect(Math.max(...blocks.map((block) => block.length))).toBe(1024 * 1024);
    for (const [start, end] of [
      [0, 1024 * 1024 - 1],
      [1024 * 1024 - 3, 1024 * 1024 + 3],
      [2 * 1024 * 1024 + 1, size - 1],
      [size - 1, size - 1],
      [12, size + 5000],
    ] as const) {
      const read = await readAll(await storage.read('job/big.bin', { start, end }));
      expect([start, end, read.equals(body.subarray(start, end + 1))]).toEqual([start, end, true]);
    }
    expect((await readAll(await storage.read('job/big.bin', { start: size + 10 }))).length).toBe(0);
    expect(await descriptorsInto(directory.path)).toBe(0);
  });

  it('a read destroyed midway, or aborted, closes its file', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    const stream = await storage.read('job/big.bin');
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(first.length).toBe(1024 * 1024);
    stream.destroy();
    await closed(stream);
    expect(await descriptorsInto(directory.path)).toBe(0);

    const controller = new AbortController();
    const aborted = await storage.read('job/big.bin', { signal: controller.signal });
    const failure = new Promise<Error>((resolve) => aborted.once('error', resolve));
    aborted.once('data', () => controller.abort());
    aborted.resume();
    expect((await failure).name).toBe('AbortError');
    await closed(aborted);
    expect(await descriptorsInto(directory.path)).toBe(0);
  });

  it('reads into the chunks its consumer hands back, and only into whole 1 MiB ones it gave out', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    const stream = await storage.read('job/big.bin');
    const recycle = chunkRecycler(stream);
    expect(recycle).toBeDefined();
    expect(chunkRecycler(Readable.from([Buffer.alloc(1)]))).toBeUndefined();
    const copies: Buffer[] = [];
    const handedBack = new Set<ArrayBufferLike>();
    let reused = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (handedBack.has(chunk.buffer)) reused += 1;
      // Each chunk owns its whole ArrayBuffer: it can be given away (transferred) and handed back.
      expect(chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength).toBe(true);
      copies.push(Buffer.from(chunk));
      // A copy of the bytes is taken: the chunk goes back, and is scribbled over as a careless holder would.
      recycle?.(chunk);
      handedBack.add(chunk.buffer);
      chunk.fill(0xee);
      // Not taken: 1 MiB of a larger buffer, a buffer of another size, one given away (detached).
      recycle?.(Buffer.alloc(2 * 1024 * 1024).subarray(1, 1024 * 1024 + 1));
      recycle?.(Buffer.allocUnsafeSlow(512 * 1024));
      const given = Buffer.allocUnsafeSlow(1024 * 1024);
      structuredClone(given.buffer, { transfer: [given.buffer] });
      recycle?.(given);
    }
    expect(Buffer.concat(copies).equals(body)).toBe(true);
    // The reads under way when the first chunks came back (the stream's buffer, the read ahead) had fresh buffers;
    // the later full ones fill chunks handed back.
    expect(reused).toBeGreaterThanOrEqual(2);
    expect(await descriptorsInto(directory.path)).toBe(0);
  });

  it('a directory is not an object: BACKUP_NOT_FOUND, and no descriptor is left open', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    await mkdir(join(directory.path, 'job', 'sub'));
    await expect(storage.read('job/sub')).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
    expect(await descriptorsInto(directory.path)).toBe(0);
  });
});

describe('local storage', () => {
  // Round trips, ranges, listing, missing keys, overwrite, atomic visibility and key checks are the storage contract
  // (src/testing/storage-contract.ts), run against this storage in src/testing/storage-contract.test.ts.
  it('writes a large object byte for byte across background syncs, in chunks of any size', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    const { createHash, randomBytes } = await import('node:crypto');
    const block = randomBytes(1024 * 1024 + 7);
    // 40 odd-sized chunks (> 32 MiB: at least one background fdatasync runs while writes go on).
    const chunks = Array.from({ length: 40 }, (_, index) => block.subarray(index % 5, block.length - (index % 3)));
    const expected = createHash('sha256');
    for (const chunk of chunks) expected.update(chunk);
    const { bytes } = await storage.write('job/big.bin', Readable.from(chunks));
    expect(bytes).toBe(chunks.reduce((total, chunk) => total + chunk.length, 0));
    const actual = createHash('sha256');
    for await (const chunk of await storage.read('job/big.bin')) actual.update(chunk as Buffer);
    expect(actual.digest('hex')).toBe(expected.digest('hex'));
    expect((await readdir(join(directory.path, 'job'))).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('a write beside a delete that empties the directory still succeeds (the delete removes the directory)', async () => {
    // Two runs of one job: one releases its lock (the delete leaves <job>/locks/ empty and removes it) while the
    // other writes its own lock there. Before: the writer's open failed with ENOENT between its mkdir and its open.
    const storage = createLocalStorage({ directory: directory.path });
    const failures: string[] = [];
    for (let round = 0; round < 300; round++) {
      await storage.write(`job/locks/old-${round}.json`, Readable.from(['{}']));
      const results = await Promise.allSettled([
        storage.delete(`job/locks/old-${round}.json`),
        storage.write(`job/locks/new-${round}.json`, Readable.from(['{}'])),
      ]);
      for (const result of results) if (result.status === 'rejected') failures.push(String(result.reason));
      await storage.delete(`job/locks/new-${round}.json`);
    }
    expect(failures).toEqual([]);
  });

  it('stores files with mode 0600 and removes directories a delete leaves empty', async () => {
    const storage = createLocalStorage({ directory: directory.path });
    await storage.write('job/a/data/one.bin', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    await storage.write('job/a/manifest.json', Readable.from(['{}']));
    expect((await stat(join(directory.path, 'job/a/data/one.bin'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(directory.path, 'job/a/data'))).mode & 0o777).toBe(0o700);
    await storage.delete('job/a/data/one.bin');
    expect(await readdir(join(directory.path, 'job/a'))).toEqual(['manifest.json']);
    await storage.delete('job/a/manifest.json');
    expect(await readdir(directory.path)).toEqual([]);
  });

  it('a failed write leaves no temporary file beside the previous object', async () => {
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

  it('a write whose source fails at once settles only after its file is closed and removed', async () => {
    // pipeline rejects at the source's error without waiting for the file writer, whose open could then create the
    // temporary file again after the unlink (CI found one left behind). The write now settles only once that writer has
    // closed: no descriptor of a temporary file is open when it rejects, and no temporary file is left.
    const storage = createLocalStorage({ directory: directory.path });
    const openPartials = async () => {
      const targets = await Promise.all(
        (await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
      );
      return targets.filter((target) => target.includes('.ops-partial-'));
    };
    // Many at once, so the thread pool runs opens and unlinks side by side.
    for (let round = 0; round < 200; round++) {
      await Promise.all(
        Array.from({ length: 16 }, (_, index) => {
          const failing = new Readable({
            read() {
              this.destroy(new Error('source died'));
            },
          });
          return expect(storage.write(`race/object-${round}-${index}`, failing)).rejects.toMatchObject({
            code: 'STORAGE_FAILED',
          });
        }),
      );
      expect(await openPartials()).toEqual([]);
    }
    expect(await readdir(join(directory.path, 'race')).catch(() => [])).toEqual([]);
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
