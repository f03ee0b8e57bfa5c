import { createHash, randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { lstat, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { runBackup } from '../jobs/run-backup.js';
import { createFilesSource } from '../sources/files-source.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { writeManifest } from '../catalog/catalog.js';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { BackupError } from '../errors.js';
import { writeArtifact, type DecryptionOptions } from '../pipeline/artifact-pipeline.js';
import { verifyBackup } from '../verify/verify-backup.js';
import { extractTar } from './tar-extract.js';
import { restoreFiles } from './files-restore.js';

let directory: TempDir;
beforeEach(async () => {
  directory = await tempDir('backup-files');
});
afterEach(async () => {
  await directory.dispose();
});

async function maliciousTar(
  entries: {
    name: string;
    type?: 'file' | 'symlink' | 'link' | 'directory' | 'character-device';
    linkname?: string;
    body?: string;
  }[],
): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) {
    const body = entry.body ?? '';
    const header = {
      name: entry.name,
      type: entry.type ?? 'file',
      ...(entry.linkname ? { linkname: entry.linkname } : {}),
      size: entry.type && entry.type !== 'file' ? 0 : Buffer.byteLength(body),
    } as const;
    if (entry.type && entry.type !== 'file') pack.entry(header);
    else pack.entry(header, body);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Every path under `root`, never following a link (an extracted link to `.` would loop `readdir`'s recursion). */
async function tree(root: string, relative = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(join(root, relative))) {
    const path = relative ? `${relative}/${name}` : name;
    out.push(path);
    if ((await lstat(join(root, path))).isDirectory()) out.push(...(await tree(root, path)));
  }
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
    const details = manifest.sources[0]?.details as {
      fileCount: number;
      entries: { path: string; type: string; sha256?: string }[];
      symlinkPolicy: string;
    };
    expect(details.fileCount).toBe(2);
    expect(details.symlinkPolicy).toBe('preserve');
    expect(details.entries.map((entry) => `${entry.type}:${entry.path}`).sort()).toEqual([
      'directory:nested',
      'file:app.yaml',
      'file:nested/secret.key',
      'symlink:link-in',
      'symlink:link-out',
    ]);

    // The outward symlink is in the backup as a link, but restore refuses it: nothing is written outside staging.
    const staging = join(directory.path, 'staging');
    await expect(restoreFiles({ storage, backup: manifest, directory: staging })).rejects.toMatchObject({
      code: 'RESTORE_UNSAFE_PATH',
    });
    await expect(lstat(staging)).rejects.toThrow();

    const safe = await runBackup({
      job: 'config-safe',
      storage,
      sources: [createFilesSource({ directory: root, exclude: ['*.log', 'nested/cache', 'link-out'] })],
      lock: false,
    });
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
    const manifest = await runBackup({
      job: 'skip',
      storage,
      sources: [createFilesSource({ directory: root, symlinks: 'skip' })],
      lock: false,
    });
    expect(manifest.warnings).toEqual(['files: skipped b (symlink)']);
  });

  // Each attack is extracted into `one/two/staging`, so a link climbing three levels lands in the test directory, where
  // the tree comparison sees anything written or created outside the staging directory.
  const attacks: [string, Parameters<typeof maliciousTar>[0]][] = [
    ['a ../ path', [{ name: '../escaped.txt', body: 'pwned' }]],
    ['a nested ../ path', [{ name: 'ok/../../escaped.txt', body: 'pwned' }]],
    ['an absolute path', [{ name: '/tmp/ops-backup-escaped.txt', body: 'pwned' }]],
    ['a symlink to an absolute target', [{ name: 'evil', type: 'symlink', linkname: '/etc' }]],
    ['a symlink escaping with ..', [{ name: 'evil', type: 'symlink', linkname: '../..' }]],
    [
      'a write through a symlink to outside',
      [
        { name: 'dir', type: 'symlink', linkname: 'sub/../..' },
        { name: 'dir/escaped.txt', body: 'pwned' },
      ],
    ],
    ['a hard link to outside', [{ name: 'hard', type: 'link', linkname: '../outside.txt' }]],
    ['a device file', [{ name: 'null', type: 'character-device' }]],
    // The chain of issue 9: a link to `.`, then a link whose written path looks deep enough for `..` to stay inside.
    [
      'a link to . then a deep-looking link climbing out, then a file through it',
      [
        { name: 'a', type: 'symlink', linkname: '.' },
        { name: 'a/a/a/up', type: 'symlink', linkname: '../../..' },
        { name: 'up/escaped.txt', body: 'pwned' },
      ],
    ],
    [
      'a link to . then a deep-looking link climbing out, then directories through it (mkdir before the check)',
      [
        { name: 'a', type: 'symlink', linkname: '.' },
        { name: 'a/a/a/up', type: 'symlink', linkname: '../../..' },
        { name: 'up/made/deeper/escaped.txt', body: 'pwned' },
      ],
    ],
    [
      'a link to . then a deep-looking link climbing out, then a directory entry through it',
      [
        { name: 'a', type: 'symlink', linkname: '.' },
        { name: 'a/a/a/up', type: 'symlink', linkname: '../../..' },
        { name: 'up/made', type: 'directory' },
      ],
    ],
    [
      'a link to . then a deep-looking link climbing out, then a symlink through it',
      [
        { name: 'a', type: 'symlink', linkname: '.' },
        { name: 'a/a/a/up', type: 'symlink', linkname: '../../..' },
        { name: 'up/planted', type: 'symlink', linkname: 'outside.txt' },
      ],
    ],
    [
      'a link to . then a deep-looking link climbing out, then a hard link through it',
      [
        { name: 'a', type: 'symlink', linkname: '.' },
        { name: 'a/a/a/up', type: 'symlink', linkname: '../../..' },
        { name: 'hard', type: 'link', linkname: 'up/outside.txt' },
      ],
    ],
    [
      'a link to . left in the tree with a deep-looking link climbing out (nothing written through it)',
      [
        { name: 'a', type: 'symlink', linkname: '.' },
        { name: 'a/a/a/up', type: 'symlink', linkname: '../../..' },
      ],
    ],
    [
      'a link whose target climbs out through a link to .',
      [
        { name: 'd1', type: 'symlink', linkname: '.' },
        { name: 'd2', type: 'symlink', linkname: 'd1/d1/d1/../../..' },
      ],
    ],
    [
      'a link that a later link turns into an escape',
      [
        { name: 'x', type: 'directory' },
        { name: 'l1', type: 'symlink', linkname: 'y/x/../..' },
        { name: 'y', type: 'symlink', linkname: '.' },
      ],
    ],
    [
      'a link through a link to a parent-looking directory',
      [
        { name: 'sub/inner', type: 'directory' },
        { name: 'sub/inner/dot', type: 'symlink', linkname: '..' },
        { name: 'sub/inner/dot/dot2', type: 'symlink', linkname: '../..' },
      ],
    ],
    [
      'a file written through an archive-created link, even one that stays inside',
      [
        { name: 'sub', type: 'directory' },
        { name: 's', type: 'symlink', linkname: 'sub' },
        { name: 's/file.txt', body: 'through a link' },
      ],
    ],
    [
      'a directory entry over an archive-created link',
      [
        { name: 's', type: 'symlink', linkname: '.' },
        { name: 's', type: 'directory' },
      ],
    ],
    ['an entry over an earlier one', [{ name: 'fine.txt', type: 'symlink', linkname: 'elsewhere.txt' }]],
    [
      'a symlink loop',
      [
        { name: 'loop1', type: 'symlink', linkname: 'loop2' },
        { name: 'loop2', type: 'symlink', linkname: 'loop1' },
      ],
    ],
  ];
  for (const [label, entries] of attacks) {
    it(`a malicious tar with ${label} writes nothing outside staging, and a check-only read refuses it too`, async () => {
      await writeFile(join(directory.path, 'outside.txt'), 'original');
      await mkdir(join(directory.path, 'one', 'two'), { recursive: true });
      const before = await tree(directory.path);
      const staging = join(directory.path, 'one', 'two', 'staging');
      const archive = await maliciousTar([{ name: 'fine.txt', body: 'ok' }, ...entries]);
      await expect(extractTar({ stream: Readable.from([archive]), directory: staging })).rejects.toMatchObject({
        code: 'RESTORE_UNSAFE_PATH',
      });
      const after = (await tree(directory.path)).filter((path) => !path.startsWith('one/two/staging'));
      expect(after).toEqual(before);
      expect(await readFile(join(directory.path, 'outside.txt'), 'utf8')).toBe('original');
      await expect(lstat('/tmp/ops-backup-escaped.txt')).rejects.toThrow();
      for (const path of await tree(staging))
        expect((await lstat(join(staging, path))).isSymbolicLink(), `${path} left behind`).toBe(false);
      // What full-read verification runs: the same rules without a directory.
      await expect(extractTar({ stream: Readable.from([archive]) })).rejects.toMatchObject({
        code: 'RESTORE_UNSAFE_PATH',
      });
    });
  }

  it('restores what the files source archives: nested directories, inward links (also to links and up a level), hard links', async () => {
    const archive = await maliciousTar([
      { name: 'etc', type: 'directory' },
      { name: 'etc/app', type: 'directory' },
      { name: 'etc/app/app.conf', body: 'port = 8080\n' },
      { name: 'etc/app/current', type: 'symlink', linkname: 'app.conf' },
      { name: 'etc/app/shared', type: 'symlink', linkname: '../shared' },
      { name: 'etc/shared', type: 'directory' },
      { name: 'etc/shared/common.conf', body: 'common' },
      { name: 'etc/latest', type: 'symlink', linkname: 'app/current' },
      { name: 'etc/dangling', type: 'symlink', linkname: 'not-there-yet' },
      { name: 'etc/app/copy.conf', type: 'link', linkname: 'etc/app/app.conf' },
    ]);
    const staging = join(directory.path, 'good');
    const summary = await extractTar({ stream: Readable.from([archive]), directory: staging });
    expect(summary).toMatchObject({ files: 2, directories: 3, symlinks: 4, hardlinks: 1 });
    expect(await readFile(join(staging, 'etc', 'latest'), 'utf8')).toBe('port = 8080\n');
    expect(await readFile(join(staging, 'etc', 'app', 'shared', 'common.conf'), 'utf8')).toBe('common');
    expect(await readFile(join(staging, 'etc', 'app', 'copy.conf'), 'utf8')).toBe('port = 8080\n');
    expect((await lstat(join(staging, 'etc', 'dangling'))).isSymbolicLink()).toBe(true);
    await expect(extractTar({ stream: Readable.from([archive]) })).resolves.toMatchObject({ files: 2, symlinks: 4 });
  });

  it('full-read verification flags a forged files backup that restore would refuse', async () => {
    const root = join(directory.path, 'benign');
    await mkdir(root);
    await writeFile(join(root, 'app.conf'), 'benign');
    const storage = createMemoryStorage();
    const manifest = await runBackup({
      job: 'forged',
      storage,
      sources: [createFilesSource({ directory: root })],
      compression: { algorithm: 'none' },
      lock: false,
    });
    expect(manifest.state, manifest.error).toBe('completed');
    // Anyone who can write to the storage can replace the artifact and recompute the (unkeyed) checksums.
    const source = manifest.sources[0] as (typeof manifest.sources)[number];
    const original = source.artifacts[0] as (typeof source.artifacts)[number];
    const archive = await maliciousTar([
      { name: 'a', type: 'symlink', linkname: '.' },
      { name: 'a/a/a/up', type: 'symlink', linkname: '../../..' },
      { name: 'up/made/escaped.txt', body: 'pwned' },
    ]);
    source.artifacts[0] = await writeArtifact({
      storage,
      key: original.key,
      name: original.name,
      format: original.format,
      body: Readable.from([archive]),
      compression: { algorithm: 'none' },
    });
    await writeManifest(storage, manifest);
    const report = await verifyBackup({ storage, backup: manifest, level: 'full-read', record: false });
    expect(report.ok).toBe(false);
    expect(report.detail).toContain('RESTORE_UNSAFE_PATH');
    const staging = join(directory.path, 'forged-staging');
    await expect(restoreFiles({ storage, backup: manifest, directory: staging })).rejects.toMatchObject({
      code: 'RESTORE_UNSAFE_PATH',
    });
    await expect(lstat(join(directory.path, 'made'))).rejects.toThrow();
    await expect(lstat(staging)).rejects.toThrow();
  });

  it('an aborted restore is ABORTED, not a damaged artifact, and writes nothing', async () => {
    const root = join(directory.path, 'abort-me');
    await mkdir(root);
    await writeFile(join(root, 'a.txt'), 'a');
    const storage = createLocalStorage({ directory: join(directory.path, 'abort-store') });
    const manifest = await runBackup({
      job: 'abort',
      storage,
      sources: [createFilesSource({ directory: root })],
      lock: false,
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const staging = join(directory.path, 'abort-staging');
    await expect(
      restoreFiles({ storage, backup: manifest, directory: staging, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(lstat(staging)).rejects.toThrow();
  });

  it('refuses a non-empty staging directory', async () => {
    const staging = join(directory.path, 'busy');
    await mkdir(staging);
    await writeFile(join(staging, 'existing'), 'x');
    const archive = await maliciousTar([{ name: 'fine.txt', body: 'ok' }]);
    await expect(extractTar({ stream: Readable.from([archive]), directory: staging })).rejects.toMatchObject({
      code: 'RESTORE_FAILED',
    });
  });
});

describe('early pipeline errors surface as typed errors (they used to leave the promise pending forever)', () => {
  it('extractTar rejects with the stream error when the stream fails before the staging directory is ready', async () => {
    const stream = new PassThrough();
    const pending = extractTar({ stream, directory: join(directory.path, 'early') });
    stream.destroy(new BackupError('BACKUP_DECRYPT_FAILED', 'no identity matches'));
    await expect(pending).rejects.toMatchObject({ code: 'BACKUP_DECRYPT_FAILED', message: 'no identity matches' });
  });

  it('extractTar rejects when given a stream that has already failed', async () => {
    const stream = new PassThrough();
    stream.on('error', () => undefined);
    stream.destroy(new Error('socket hang up'));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(extractTar({ stream, directory: join(directory.path, 'already') })).rejects.toMatchObject({
      code: 'BACKUP_CORRUPT',
      message: expect.stringContaining('socket hang up'),
    });
  });

  /** An encrypted files backup of a directory with a file larger than the first age chunks. */
  async function encryptedBackup(
    encryption: { recipients: string[] } | { passphrase: string; scryptWorkFactor: number },
  ) {
    const root = join(directory.path, 'secret');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'big.bin'), randomBytes(600_000));
    const storage = createMemoryStorage();
    const manifest = await runBackup({
      job: 'secret',
      storage,
      sources: [createFilesSource({ directory: root })],
      compression: { algorithm: 'none' },
      encryption,
      lock: false,
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const artifact = manifest.sources[0]?.artifacts[0] as NonNullable<
      (typeof manifest.sources)[number]['artifacts'][number]
    >;
    /** Changes the stored bytes and recomputes the manifest's (unkeyed) checksums, as anyone who can write to the storage can. */
    const forge = (change: (bytes: Buffer) => void) => {
      const bytes = storage.get(artifact.key) as Buffer;
      change(bytes);
      storage.set(artifact.key, bytes);
      artifact.storedSha256 = createHash('sha256').update(bytes).digest('hex');
      artifact.storedBytes = bytes.length;
    };
    return { storage, manifest, forge };
  }

  const identity = generateAgeIdentity();
  const cases: [
    string,
    (backup: Awaited<ReturnType<typeof encryptedBackup>>) => { decryption: DecryptionOptions; code: string },
    Parameters<typeof encryptedBackup>[0],
  ][] = [
    [
      'a wrong identity',
      () => ({ decryption: { identities: [generateAgeIdentity().identity] }, code: 'BACKUP_DECRYPT_FAILED' }),
      { recipients: [identity.recipient] },
    ],
    [
      'a wrong passphrase',
      () => ({ decryption: { passphrase: 'wrong' }, code: 'BACKUP_DECRYPT_FAILED' }),
      { passphrase: 'right', scryptWorkFactor: 10 },
    ],
    [
      'a bad header',
      ({ forge }) => {
        forge((bytes) => bytes.write('v2', 'age-encryption.org/'.length, 'latin1'));
        return { decryption: { identities: [identity.identity] }, code: 'BACKUP_CORRUPT' };
      },
      { recipients: [identity.recipient] },
    ],
    [
      'damage in the first chunk',
      ({ forge }) => {
        forge((bytes) => {
          bytes[1000] = (bytes[1000] as number) ^ 0xff;
        });
        return { decryption: { identities: [identity.identity] }, code: 'BACKUP_CORRUPT' };
      },
      { recipients: [identity.recipient] },
    ],
  ];
  for (const [label, prepare, encryption] of cases) {
    it(`restoreFiles with ${label} rejects with a typed error and leaves no staging directory`, async () => {
      const backup = await encryptedBackup(encryption);
      const { decryption, code } = prepare(backup);
      const staging = join(directory.path, 'staging');
      await expect(
        restoreFiles({ storage: backup.storage, backup: backup.manifest, directory: staging, decryption }),
      ).rejects.toMatchObject({ code });
      await expect(lstat(staging)).rejects.toThrow();
    });
  }
});

describe('a files restore writes nothing before the whole artifact has authenticated', () => {
  it('a backup whose last age chunk fails authentication never touches the staging directory', async () => {
    const root = join(directory.path, 'tree');
    await mkdir(join(root, 'early'), { recursive: true });
    await writeFile(join(root, 'early', 'first.txt'), 'the first entry of the archive');
    await writeFile(join(root, 'later.bin'), randomBytes(2_000_000));
    const identity = generateAgeIdentity();
    const store = join(directory.path, 'store');
    const storage = createLocalStorage({ directory: store });
    const manifest = await runBackup({
      job: 'tree',
      storage,
      sources: [createFilesSource({ directory: root })],
      compression: { algorithm: 'none' },
      encryption: { recipients: [identity.recipient] },
      lock: false,
    });
    expect(manifest.state, manifest.error).toBe('completed');
    const artifact = manifest.sources[0]?.artifacts[0] as NonNullable<
      (typeof manifest.sources)[number]['artifacts'][number]
    >;
    const path = join(store, ...artifact.key.split('/'));
    const bytes = await readFile(path);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0x01;
    await writeFile(path, bytes);
    artifact.storedSha256 = createHash('sha256').update(bytes).digest('hex');

    const staging = join(directory.path, 'staging');
    await mkdir(staging);
    const seen: string[] = [];
    const watcher = watch(staging, (_event, name) => seen.push(String(name)));
    try {
      await expect(
        restoreFiles({
          storage,
          backup: manifest,
          directory: staging,
          decryption: { identities: [identity.identity] },
        }),
      ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
      await new Promise((resolve) => setTimeout(resolve, 100)); // let inotify deliver what happened
    } finally {
      watcher.close();
    }
    expect(seen, 'entries were written into the staging directory before the artifact authenticated').toEqual([]);
    expect(await readdir(staging)).toEqual([]);
  });
});
