import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { SEALED_CHUNK_BYTES, TAG_BYTES } from '../crypto/age-payload.js';
import { readAll } from '../internal/read-all.js';
import { createLocalStorage } from '../storages/local/local-storage.js';
import type { BackupStorage } from '../storages/storage.js';
import { createMemoryStorage, type MemoryStorage } from '../testing/memory-storage.js';
import { writeArtifact, type ArtifactRecord } from './artifact-pipeline.js';
import { authenticateArtifact } from './authenticate-artifact.js';
import type { CompressionOptions } from './compression.js';

const { identity, recipient } = generateAgeIdentity();
const other = generateAgeIdentity();
const KEY = 'j/1/data/a';
const KEYS = { identities: [identity] };

function randomish(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  for (let index = 0; index < bytes; index++) out[index] = (index * 7919 + seed * 31 + (index >> 7)) & 0xff;
  return out;
}

/** Writes `body` as the artifact at {@link KEY} of `storage`. */
function writeTo(
  storage: BackupStorage,
  body: Buffer,
  compression: CompressionOptions,
  encrypted: boolean,
): Promise<ArtifactRecord> {
  return writeArtifact({
    storage,
    key: KEY,
    name: 'a',
    format: 'raw',
    body: Readable.from([body]),
    compression,
    ...(encrypted ? { encryption: { recipients: [recipient] } } : {}),
  });
}

async function stored(
  body: Buffer,
  compression: CompressionOptions,
  encrypted = true,
): Promise<{ storage: MemoryStorage; artifact: ArtifactRecord }> {
  const storage = createMemoryStorage();
  return { storage, artifact: await writeTo(storage, body, compression, encrypted) };
}

/** Each compression with and without age. */
const PACKINGS = [
  [{ algorithm: 'none' }, true],
  [{ algorithm: 'gzip', level: 1 }, true],
  [{ algorithm: 'none' }, false],
  [{ algorithm: 'gzip', level: 1 }, false],
] as const;

/** Replaces the stored object and records its new size and sha256, so only a deeper check can catch the change. */
function replaceStored(storage: MemoryStorage, artifact: ArtifactRecord, bytes: Buffer): ArtifactRecord {
  storage.set(KEY, bytes);
  return {
    ...artifact,
    storedBytes: bytes.length,
    storedSha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** Where the age payload starts: after the header's MAC line and the 16-byte payload nonce. */
function payloadStart(bytes: Buffer): number {
  const mac = bytes.indexOf('\n---');
  return bytes.indexOf(0x0a, mac + 1) + 1 + 16;
}

/** The storage, reading in pieces of `head` bytes for the first 600 (the header and nonce), then of 7,919. */
function inPieces(storage: MemoryStorage, head: number): BackupStorage {
  return {
    ...storage,
    async read(key: string) {
      const bytes = storage.get(key) as Buffer;
      const pieces: Buffer[] = [];
      for (let offset = 0; offset < bytes.length;) {
        const size = offset < 600 ? head : 7919;
        pieces.push(bytes.subarray(offset, offset + size));
        offset += size;
      }
      return Readable.from(pieces);
    },
  };
}

/** The storage, whose read gives the first `share` of the object and then calls `fail` with the stream. */
function failingAfter(storage: MemoryStorage, share: number, fail: (stream: Readable) => void): BackupStorage {
  return {
    ...storage,
    async read(key: string) {
      const bytes = storage.get(key) as Buffer;
      let pushed = false;
      return new Readable({
        read() {
          if (pushed) return;
          pushed = true;
          this.push(bytes.subarray(0, Math.floor(bytes.length * share)));
          setImmediate(() => fail(this));
        },
      });
    },
  };
}

/** Both reads (one thread, and the payload on a worker) of the same artifact: resolves with each outcome. */
async function both(
  storage: BackupStorage,
  artifact: ArtifactRecord,
  decryption: { identities: string[] } | undefined,
): Promise<{ inline: unknown; worker: unknown }> {
  const outcome = (worker: boolean) =>
    authenticateArtifact({ storage, artifact, decryption, worker }).then(
      () => 'ok',
      (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
    );
  return { inline: await outcome(false), worker: await outcome(true) };
}

/** Threads of this process (Linux), to see that workers end. */
const threads = (): number => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

describe('authenticateArtifact', () => {
  it.each([
    ['age, no compression', { algorithm: 'none' } as const, true],
    ['age + gzip', { algorithm: 'gzip', level: 1 } as const, true],
    ['gzip, not encrypted', { algorithm: 'gzip', level: 1 } as const, false],
    ['neither', { algorithm: 'none' } as const, false],
  ])('%s: a good artifact passes on one thread and with the payload on a worker', async (_, compression, encrypted) => {
    const { storage, artifact } = await stored(randomish(5 * 1024 * 1024 + 17), compression, encrypted);
    expect(await both(storage, artifact, KEYS)).toEqual({ inline: 'ok', worker: 'ok' });
    // Read in odd pieces: the header, the nonce and the chunks straddle writes.
    expect(await both(inPieces(storage, 7919), artifact, KEYS)).toEqual({ inline: 'ok', worker: 'ok' });
    expect(await both(inPieces(storage, 3), { ...artifact }, KEYS)).toEqual({ inline: 'ok', worker: 'ok' });
  });

  it("never gives away or changes a third-party storage's chunks: its stream may keep them", async () => {
    for (const [compression, encrypted] of PACKINGS) {
      const { storage, artifact } = await stored(randomish(6 * 1024 * 1024 + 9), compression, encrypted);
      const bytes = storage.get(KEY) as Buffer;
      // Chunks that each own their whole ArrayBuffer, as a read ahead's would: only this stream knows they are kept.
      const kept: Buffer[] = [];
      const keeping: BackupStorage = {
        ...storage,
        async read() {
          for (let offset = 0; offset < bytes.length; offset += 1024 * 1024 + 1) {
            const chunk = Buffer.allocUnsafeSlow(Math.min(1024 * 1024 + 1, bytes.length - offset));
            bytes.copy(chunk, 0, offset);
            kept.push(chunk);
          }
          return Readable.from(kept);
        },
      };
      await authenticateArtifact({ storage: keeping, artifact, decryption: KEYS, worker: true });
      expect(Buffer.concat(kept).equals(bytes), `${compression.algorithm}, encrypted ${encrypted}`).toBe(true);
    }
  });

  it('reads a local storage, its chunks going to the worker and back to be read into again', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ops-authenticate-'));
    try {
      const storage = createLocalStorage({ directory: join(directory, 'store') });
      for (const [compression, encrypted] of PACKINGS) {
        const name = `${compression.algorithm}, encrypted ${encrypted}`;
        const body = randomish(9 * 1024 * 1024 + 11, 3);
        const artifact = await writeTo(storage, body, compression, encrypted);
        expect(await both(storage, artifact, KEYS), name).toEqual({ inline: 'ok', worker: 'ok' });
        const path = join(directory, `plain-${compression.algorithm}-${encrypted}`);
        await authenticateArtifact({ storage, artifact, decryption: KEYS, path, worker: true });
        expect((await readFile(path)).equals(body), name).toBe(true);
        // A byte changed in the last MiB, and the stored sha256 recorded to match: refused the same way on both.
        const file = join(directory, 'store', ...KEY.split('/'));
        const changed = await readFile(file);
        changed[changed.length - 200_000]! ^= 1;
        await writeFile(file, changed);
        const storedSha256 = createHash('sha256').update(changed).digest('hex');
        const outcome = await both(storage, { ...artifact, storedSha256 }, KEYS);
        expect(outcome.worker, name).toEqual(outcome.inline);
        expect(outcome.worker, name).toMatchObject({ code: 'BACKUP_CORRUPT' });
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('with the chunks opened in worker threads (4 or more cores), their plaintext goes on to the check', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ops-authenticate-'));
    try {
      const local = createLocalStorage({ directory: join(directory, 'store') });
      const memory = createMemoryStorage();
      for (const storage of [memory, local]) {
        for (const compression of [{ algorithm: 'none' }, { algorithm: 'gzip', level: 1 }] as const) {
          const name = `${storage === local ? 'local' : 'memory'}, ${compression.algorithm}`;
          const body = randomish(7 * 1024 * 1024 + 5, 5);
          const artifact = await writeTo(storage, body, compression, true);
          const path = join(directory, `plain-${name.replace(/\W+/g, '-')}`);
          await authenticateArtifact({ storage, artifact, decryption: KEYS, path, worker: true, decryptWorkers: 2 });
          expect((await readFile(path)).equals(body), name).toBe(true);
          // A chunk changed and the stored sha256 recorded to match: the pool's verdict ends the read.
          const bytes = await readAll(await storage.read(KEY));
          bytes[bytes.length - 300_000]! ^= 1;
          if (storage === memory) memory.set(KEY, bytes);
          else await writeFile(join(directory, 'store', ...KEY.split('/')), bytes);
          const storedSha256 = createHash('sha256').update(bytes).digest('hex');
          await expect(
            authenticateArtifact({
              storage,
              artifact: { ...artifact, storedSha256 },
              decryption: KEYS,
              worker: true,
              decryptWorkers: 2,
            }),
            name,
          ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT', message: expect.stringMatching(/failed authentication/) });
        }
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('an empty artifact and one of exactly one full chunk pass', async () => {
    for (const size of [0, 64 * 1024]) {
      const { storage, artifact } = await stored(randomish(size), { algorithm: 'none' });
      expect(await both(storage, artifact, KEYS)).toEqual({ inline: 'ok', worker: 'ok' });
    }
  });

  it('every failed check gives the same error on one thread and with the worker', async () => {
    const { storage, artifact } = await stored(randomish(3 * 1024 * 1024 + 5), { algorithm: 'none' });
    const original = storage.get(KEY) as Buffer;
    const start = payloadStart(original);
    const cases: { name: string; artifact: () => ArtifactRecord; expected: RegExp }[] = [
      {
        name: 'a byte flipped in chunk 3',
        artifact: () => {
          const bytes = Buffer.from(original);
          const at = start + 3 * SEALED_CHUNK_BYTES + 100;
          bytes.writeUInt8((bytes.readUInt8(at) ^ 1) & 0xff, at);
          return replaceStored(storage, artifact, bytes);
        },
        expected: /age payload chunk 3 failed authentication/,
      },
      {
        name: 'cut at a chunk boundary',
        artifact: () => replaceStored(storage, artifact, original.subarray(0, start + 10 * SEALED_CHUNK_BYTES)),
        expected: /final chunk 9 failed authentication: the backup is truncated/,
      },
      {
        name: 'cut inside the final tag',
        artifact: () =>
          replaceStored(storage, artifact, original.subarray(0, start + 48 * SEALED_CHUNK_BYTES + TAG_BYTES - 1)),
        expected: /age file is truncated: the final chunk is missing/,
      },
      {
        name: 'cut inside the payload nonce',
        artifact: () => replaceStored(storage, artifact, original.subarray(0, start - 3)),
        expected: /payload nonce missing/,
      },
      {
        name: 'cut inside the header',
        artifact: () => replaceStored(storage, artifact, original.subarray(0, 40)),
        expected: /truncated inside the header/,
      },
      {
        name: 'the header MAC changed',
        artifact: () => {
          const bytes = Buffer.from(original);
          const mac = bytes.indexOf('\n--- ') + 6;
          bytes[mac] = bytes[mac] === 0x41 ? 0x42 : 0x41;
          return replaceStored(storage, artifact, bytes);
        },
        expected: /age header MAC does not match|header is malformed/,
      },
      {
        name: 'the stored sha256 differs',
        artifact: () => {
          storage.set(KEY, original);
          return { ...artifact, storedSha256: '0'.repeat(64) };
        },
        expected: /stored object sha256 is [0-9a-f]{64}, expected 0{64}/,
      },
      {
        name: 'the plain sha256 differs',
        artifact: () => {
          storage.set(KEY, original);
          return { ...artifact, plainSha256: 'f'.repeat(64) };
        },
        expected: /plain data sha256 is [0-9a-f]{64}, expected f{64}/,
      },
      {
        name: 'the plain size differs',
        artifact: () => {
          storage.set(KEY, original);
          return { ...artifact, plainBytes: artifact.plainBytes + 1 };
        },
        expected: /plain data size is \d+ bytes, expected \d+/,
      },
      {
        name: 'the payload is not gzip although recorded so',
        artifact: () => {
          storage.set(KEY, original);
          return { ...artifact, compression: { algorithm: 'gzip', level: 1 } };
        },
        expected: /incorrect header check|invalid/i,
      },
    ];
    for (const testCase of cases) {
      const outcome = await both(storage, testCase.artifact(), KEYS);
      expect(outcome.worker, testCase.name).toEqual(outcome.inline);
      expect(outcome.worker, testCase.name).toMatchObject({ code: 'BACKUP_CORRUPT', message: testCase.expected });
    }
  });

  it('a worker that cannot start or dies midway costs a second read on one thread, not the verdict', async () => {
    const body = randomish(3 * 1024 * 1024);
    const { storage, artifact } = await stored(body, { algorithm: 'gzip', level: 1 });
    const original = storage.get(KEY) as Buffer;
    const broken = Buffer.from(original);
    const directory = await mkdtemp(join(tmpdir(), 'ops-authenticate-'));
    const at = payloadStart(original) + SEALED_CHUNK_BYTES + 7;
    broken.writeUInt8((broken.readUInt8(at) ^ 1) & 0xff, at);
    const tampered = replaceStored(storage, artifact, broken);
    for (const workerSource of [
      'throw new Error("no threads here")',
      "require('node:worker_threads').parentPort.on('message', () => process.exit(3));",
    ]) {
      let reads = 0;
      const counted = (bytes: Buffer): BackupStorage => ({
        ...storage,
        async read() {
          reads += 1;
          return Readable.from([bytes]);
        },
      });
      await expect(
        authenticateArtifact({ storage: counted(original), artifact, decryption: KEYS, worker: true, workerSource }),
      ).resolves.toBeUndefined();
      expect(reads, workerSource).toBe(2);
      await expect(
        authenticateArtifact({
          storage: counted(broken),
          artifact: tampered,
          decryption: KEYS,
          worker: true,
          workerSource,
        }),
      ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT', message: /age payload chunk 1 failed authentication/ });
      // Keeping the plain bytes: the one-thread read creates the file anew.
      const path = join(directory, `plain-${workerSource.length}`);
      await authenticateArtifact({
        storage: counted(original),
        artifact,
        decryption: KEYS,
        path,
        worker: true,
        workerSource,
      });
      expect((await readFile(path)).equals(body), workerSource).toBe(true);
    }
    await rm(directory, { recursive: true, force: true });
  });

  it('with a path, both keep the plain bytes in a new 0600 file, removed when a check fails', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ops-authenticate-'));
    try {
      for (const compression of [{ algorithm: 'none' } as const, { algorithm: 'gzip', level: 1 } as const]) {
        const body = randomish(5 * 1024 * 1024 + 3, 7);
        const { storage, artifact } = await stored(body, compression);
        for (const worker of [false, true]) {
          const path = join(directory, `plain-${compression.algorithm}-${worker}`);
          const progress: number[] = [];
          await authenticateArtifact({
            storage,
            artifact,
            decryption: KEYS,
            path,
            worker,
            onProgress: (bytes) => progress.push(bytes),
          });
          expect((await readFile(path)).equals(body)).toBe(true);
          expect((await stat(path)).mode & 0o777).toBe(0o600);
          expect(progress.at(-1)).toBe(artifact.storedBytes);
          // A file that is already there is refused and left alone.
          await expect(authenticateArtifact({ storage, artifact, decryption: KEYS, path, worker })).rejects.toThrow(
            /EEXIST/,
          );
          expect((await readFile(path)).equals(body)).toBe(true);
          // A check that fails at the very end (the plain sha256) leaves no file.
          const failed = join(directory, `failed-${compression.algorithm}-${worker}`);
          await expect(
            authenticateArtifact({
              storage,
              artifact: { ...artifact, plainSha256: 'e'.repeat(64) },
              decryption: KEYS,
              path: failed,
              worker,
            }),
          ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT', message: /plain data sha256/ });
          await expect(stat(failed)).rejects.toMatchObject({ code: 'ENOENT' });
        }
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('a wrong or missing key is BACKUP_DECRYPT_FAILED on both', async () => {
    const { storage, artifact } = await stored(randomish(2 * 1024 * 1024), { algorithm: 'gzip', level: 1 });
    for (const decryption of [{ identities: [other.identity] }, undefined]) {
      const outcome = await both(storage, artifact, decryption);
      expect(outcome.worker).toEqual(outcome.inline);
      expect(outcome.worker).toMatchObject({ code: 'BACKUP_DECRYPT_FAILED' });
    }
  });

  it('an aborted read rejects on both, and a failed one stops its worker', async () => {
    const { storage, artifact } = await stored(randomish(2 * 1024 * 1024), { algorithm: 'none' });
    // libuv's thread pool starts on first use: start it before counting.
    await Promise.all([promisify(gzip)(Buffer.alloc(16)), readFile('/proc/self/status')]);
    const baseline = threads();
    for (const worker of [false, true]) {
      const controller = new AbortController();
      const read = authenticateArtifact({
        // Half the object, then the abort: the read never ends by itself.
        storage: failingAfter(storage, 0.5, (stream) => {
          controller.abort();
          stream.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        }),
        artifact,
        decryption: KEYS,
        signal: controller.signal,
        worker,
      });
      await expect(read).rejects.toThrow(/aborted/);
    }
    // Failed while the passphrase's scrypt ran, the header not yet read: its worker ends all the same.
    const storage2 = createMemoryStorage();
    const locked = await writeArtifact({
      storage: storage2,
      key: KEY,
      name: 'a',
      format: 'raw',
      body: Readable.from([randomish(5 * 1024 * 1024)]),
      compression: { algorithm: 'none' },
      encryption: { passphrase: 'correct horse', scryptWorkFactor: 16 },
    });
    const read = authenticateArtifact({
      storage: failingAfter(storage2, 4096 / storage2.usedBytes, (stream) =>
        stream.destroy(new Error('the storage went away')),
      ),
      artifact: locked,
      decryption: { passphrase: 'correct horse' },
      worker: true,
    });
    await expect(read).rejects.toThrow(/the storage went away/);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the scrypt (2^16) has finished by then
    // The workers of every failed read above ended: none is left running.
    expect(threads()).toBeLessThanOrEqual(baseline);
  });
});
