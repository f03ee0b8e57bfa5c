import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFile,
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { tempDir, type TempDir } from '@ops/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupError } from '../errors.js';
import { extractTar } from '../restore/tar-extract.js';
import { packDirectory } from './tar-pack.js';
import { encodeTarHeader, readTar, TAR_END } from './ustar.js';

// Our ustar/pax writer and reader, checked against themselves, against tar-stream (which wrote the archives of
// earlier versions, so those must still restore) and against GNU tar.

let directory: TempDir;
beforeEach(async () => {
  directory = await tempDir('backup-ustar');
});
afterEach(async () => {
  await directory.dispose();
});

const longDirectory = `d${'i'.repeat(120)}`; // a segment alone longer than ustar's 100-byte name field
const longFile = `${'n'.repeat(150)}.txt`;
const deepPath = `${longDirectory}/${'x'.repeat(90)}/${'y'.repeat(90)}/${longFile}`; // > 255 bytes: pax only
const longTarget = `${'x'.repeat(90)}/${'y'.repeat(90)}`; // > 100 bytes, a directory beside the link
const contents: Record<string, Buffer> = {
  'empty.txt': Buffer.alloc(0),
  'one.txt': Buffer.from('1'),
  'block.bin': randomBytes(512),
  'block-plus-one.bin': randomBytes(513),
  'big.bin': randomBytes(300 * 1024 + 7),
  'grüße/ünïcode €.txt': Buffer.from('non-ASCII names\n'),
  [deepPath]: Buffer.from('deep and long\n'),
};

/** The source tree of the round trips: files of awkward sizes, long and non-ASCII names, modes, symlinks. */
async function makeSource(): Promise<string> {
  const root = join(directory.path, 'source');
  for (const [name, body] of Object.entries(contents)) {
    await mkdir(join(root, name, '..'), { recursive: true });
    await writeFile(join(root, name), body);
  }
  await chmod(join(root, 'one.txt'), 0o600);
  await chmod(join(root, 'block.bin'), 0o755);
  await symlink('one.txt', join(root, 'link-to-one'));
  await symlink(longTarget, join(root, longDirectory, 'long-link'));
  return root;
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function packed(root: string): Promise<Buffer> {
  const { stream, done } = packDirectory({ root });
  const [archive] = await Promise.all([collect(stream), done]);
  return archive;
}

async function expectRestored(root: string): Promise<void> {
  for (const [name, body] of Object.entries(contents)) expect(await readFile(join(root, name)), name).toEqual(body);
  expect((await stat(join(root, 'one.txt'))).mode & 0o777).toBe(0o600);
  expect((await stat(join(root, 'block.bin'))).mode & 0o777).toBe(0o755);
  expect(await readlink(join(root, 'link-to-one'))).toBe('one.txt');
  expect(await readlink(join(root, longDirectory, 'long-link'))).toBe(longTarget);
}

async function expectCorrupt(archive: Buffer, message: RegExp): Promise<void> {
  const error = await extractTar({ stream: Readable.from([archive]) }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(BackupError.hasCode(error, 'BACKUP_CORRUPT'), String(error)).toBe(true);
  expect((error as Error).message).toMatch(message);
}

describe('ustar + pax writer and reader', () => {
  it('round trip: sizes around the 512-byte blocks, names over 100 and 255 bytes, non-ASCII, modes, symlinks', async () => {
    const root = await makeSource();
    const { stream, done } = packDirectory({ root });
    const summary = await extractTar({ stream, directory: join(directory.path, 'restored') });
    const listing = await done;
    await expectRestored(join(directory.path, 'restored'));
    expect(summary).toMatchObject({ files: Object.keys(contents).length, symlinks: 2, hardlinks: 0 });
    expect(listing.fileCount).toBe(Object.keys(contents).length);
    const big = listing.entries.find((entry) => entry.path === 'big.bin');
    expect(big?.sha256).toBe(
      createHash('sha256')
        .update(contents['big.bin'] as Buffer)
        .digest('hex'),
    );
    expect(listing.entries.find((entry) => entry.path === deepPath)?.size).toBe(14);
  });

  it('what it writes, tar-stream and GNU tar read the same (names, types, link targets, contents)', async () => {
    const archive = await packed(await makeSource());
    const seen = new Map<string, { type: string; linkname?: string; body: Buffer }>();
    const extract = tar.extract();
    Readable.from([archive]).pipe(extract);
    for await (const entry of extract) {
      seen.set(entry.header.name.replace(/\/$/, ''), {
        type: entry.header.type ?? 'file',
        ...(entry.header.linkname ? { linkname: entry.header.linkname } : {}),
        body: await collect(entry as AsyncIterable<Buffer>),
      });
    }
    for (const [name, body] of Object.entries(contents)) expect(seen.get(name)?.body, name).toEqual(body);
    expect(seen.get(`${longDirectory}/long-link`)).toMatchObject({ type: 'symlink', linkname: longTarget });
    expect(seen.get(longDirectory)?.type).toBe('directory');

    const file = join(directory.path, 'ours.tar');
    await writeFile(file, archive);
    const { stdout } = await promisify(execFile)('tar', ['-tf', file]);
    const listed = stdout.split('\n').map((line) => line.replace(/\/$/, ''));
    expect(listed).toEqual(expect.arrayContaining([...Object.keys(contents), `${longDirectory}/long-link`]));
    await mkdir(join(directory.path, 'gnu'));
    await promisify(execFile)('tar', ['-xf', file, '-C', join(directory.path, 'gnu')]);
    await expectRestored(join(directory.path, 'gnu'));
  });

  it('reads what tar-stream wrote (the archives of earlier versions) and what GNU tar writes', async () => {
    const root = await makeSource();
    const pack = tar.pack();
    const add = (header: Partial<tar.Header> & { name: string }, body?: Buffer) =>
      new Promise<void>((resolve, reject) =>
        pack.entry(header as tar.Header, body ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve())),
      );
    const written = (async () => {
      for (const [name, body] of Object.entries(contents)) {
        await add(
          {
            name,
            type: 'file',
            size: body.length,
            mode: name === 'one.txt' ? 0o600 : name === 'block.bin' ? 0o755 : 0o644,
          },
          body,
        );
      }
      await add({ name: 'link-to-one', type: 'symlink', linkname: 'one.txt' });
      await add({ name: `${longDirectory}/long-link`, type: 'symlink', linkname: longTarget });
      pack.finalize();
    })();
    const archive = await collect(pack as AsyncIterable<Buffer>);
    await written;
    await extractTar({ stream: Readable.from([archive]), directory: join(directory.path, 'from-tar-stream') });
    await expectRestored(join(directory.path, 'from-tar-stream'));

    // (not --format=ustar: it cannot hold the 300-byte path at all)
    for (const format of ['gnu', 'pax'] as const) {
      const file = join(directory.path, `${format}.tar`);
      await promisify(execFile)('tar', [`--format=${format}`, '-cf', file, '-C', root, ...(await readdir(root))]);
      const target = join(directory.path, `from-${format}`);
      await extractTar({ stream: Readable.from([await readFile(file)]), directory: target });
      await expectRestored(target);
    }
  });

  it('a damaged header is BACKUP_CORRUPT naming the byte and the checksum, not a wrong file', async () => {
    const archive = await packed(await makeSource());
    const damaged = Buffer.from(archive);
    damaged[10] = (damaged[10] as number) ^ 0x01; // a name byte of the first header
    await expectCorrupt(damaged, /cannot read tar archive: at byte 0: tar header checksum mismatch/);

    const second = Buffer.from(archive);
    // The size field of the second header (the first entry, big.bin, has 300 KiB of data before it).
    const offset = 512 + 300 * 1024 + 512 + 124;
    expect(second.toString('ascii', offset - 124, offset - 124 + 7)).toBe('block-p');
    second[offset + 5] = 0x37;
    await expectCorrupt(second, new RegExp(`at byte ${offset - 124}: tar header checksum mismatch`));
    await expectCorrupt(randomBytes(4096), /tar header checksum mismatch \(damaged archive, or not a tar archive\)/);
  });

  it('a truncated archive is BACKUP_CORRUPT saying where it ends', async () => {
    const archive = await packed(await makeSource());
    await expectCorrupt(
      archive.subarray(0, 512 + 1000),
      /at byte 1512: the archive is truncated inside the data of "big.bin"/,
    );
    await expectCorrupt(archive.subarray(0, 300), /the archive is truncated inside a header/);
  });

  it('a file that grows or shrinks while it is archived fails the archive (never a silently cut or shifted entry)', async () => {
    for (const change of ['grow', 'shrink'] as const) {
      const root = join(directory.path, change);
      await mkdir(root);
      const path = join(root, 'live.log');
      await writeFile(path, randomBytes(1024 * 1024));
      const { stream, done } = packDirectory({ root });
      const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      await iterator.next(); // the header and the first bytes
      if (change === 'grow') await appendFile(path, 'more');
      else await truncate(path, 1000);
      const failure = (async () => {
        while (!(await iterator.next()).done);
      })();
      await expect(failure).rejects.toThrow('live.log changed size while it was archived');
      await expect(done).rejects.toThrow('live.log changed size while it was archived');
    }
  });

  it('sizes of 8 GiB and more go into a pax record', async () => {
    const size = 9 * 1024 ** 3;
    const header = encodeTarHeader({ name: 'huge.bin', type: 'file', mode: 0o644, size });
    const entries = readTar(Readable.from([header, TAR_END])[Symbol.asyncIterator]());
    const first = await entries.next();
    expect(first.done).toBe(false);
    expect(first.value?.header).toMatchObject({ name: 'huge.bin', type: 'file', size });
    await expect(entries.next()).rejects.toThrow(/truncated inside the data of "huge.bin"/);
    const parsed = tar.extract();
    const headers = new Promise<tar.Header>((resolve) => parsed.on('entry', (entryHeader) => resolve(entryHeader)));
    parsed.write(header);
    expect((await headers).size).toBe(size);
    parsed.destroy();
  });

  it('keeps a directory entry mode and refuses a FIFO entry by name', async () => {
    const archive = Buffer.concat([
      encodeTarHeader({ name: 'dir', type: 'directory', mode: 0o750 }),
      (() => {
        const fifo = Buffer.from(encodeTarHeader({ name: 'dir/pipe', type: 'file', mode: 0o644 }));
        fifo.write('6', 156, 'ascii');
        fifo.fill(0x20, 148, 156);
        let sum = 0;
        for (const byte of fifo) sum += byte;
        fifo.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
        return fifo;
      })(),
      TAR_END,
    ]);
    const error = await extractTar({ stream: Readable.from([archive]), directory: join(directory.path, 'fifo') }).catch(
      (thrown: unknown) => thrown,
    );
    expect(BackupError.hasCode(error, 'RESTORE_UNSAFE_PATH')).toBe(true);
    expect((error as Error).message).toContain('"dir/pipe" has unsupported type fifo');
    expect((await lstat(join(directory.path, 'fifo', 'dir'))).mode & 0o777).toBe(0o750);
  });
});
