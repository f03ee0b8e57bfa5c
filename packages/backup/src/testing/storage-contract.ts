import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { OpsError } from '@ops/core';
import { defineStoreContract, type StoreContract } from '@ops/core/testing';
import { readAll } from '../internal/read-all.js';
import type { BackupStorage } from '../storages/storage.js';

/** Deterministic bytes that differ at every offset (so a shifted or torn read is caught). */
function pattern(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  for (let index = 0; index < bytes; index++) out[index] = (index * 31 + seed * 17 + (index >> 8)) & 0xff;
  return out;
}

/** `buffer` as a stream of `chunkBytes` pieces. */
function chunked(buffer: Buffer, chunkBytes = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < buffer.length; offset += chunkBytes)
    chunks.push(buffer.subarray(offset, offset + chunkBytes));
  return Readable.from(chunks);
}

/**
 * A body that sends `first`, then waits: `wantsMore` resolves once the storage asks for the next chunk; `end`
 * sends the rest, `fail` makes the source fail.
 */
function heldBody(first: Buffer): {
  stream: Readable;
  wantsMore: Promise<void>;
  end(last: Buffer): void;
  fail(error: Error): void;
} {
  let asked: () => void = () => undefined;
  const wantsMore = new Promise<void>((resolve) => (asked = resolve));
  let reads = 0;
  const stream = new Readable({
    read() {
      if (++reads === 1) this.push(first);
      else asked();
    },
  });
  return {
    stream,
    wantsMore,
    end(last) {
      stream.push(last);
      stream.push(null);
    },
    fail: (error) => stream.destroy(error),
  };
}

/** Lets the storage work on what it was given (a few turns of the event loop, no timers). */
async function settle(turns = 10): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
}

async function content(
  storage: BackupStorage,
  key: string,
  range: { start?: number; end?: number } = {},
): Promise<Buffer> {
  return readAll(await storage.read(key, range), 64 * 1024 * 1024);
}

async function listed(storage: BackupStorage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.list(prefix)) keys.push(`${object.key}:${object.bytes}`);
  return keys.sort();
}

/** Asserts that `promise` rejects with an `OpsError` (a `BackupError` from the storages) of `code`. */
async function rejectsWith(promise: Promise<unknown>, code: string, what: string): Promise<OpsError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== undefined, `${what}: expected ${code}, but it resolved`);
  assert.ok(OpsError.isInstance(thrown), `${what}: expected an OpsError with code ${code}, got ${String(thrown)}`);
  assert.equal(thrown.code, code, `${what}: ${thrown.message}`);
  return thrown;
}

const UNSAFE_KEYS = ['/etc/passwd', '../escape', 'a/../../b', 'a//b', 'a/./b', 'a\\b', 'trailing/', ''];

/**
 * The contract every {@link BackupStorage} passes — the local directory, S3-compatible object storage and the
 * in-memory storage of `@ops/backup/testing` — and that your own implementation can run: byte-exact round trips and
 * ranges, `stat`, recursive listing by prefix, idempotent delete, `BACKUP_NOT_FOUND` for missing keys, whole-object
 * overwrite, atomic visibility (nothing under a key until its write completed; a failed write leaves nothing, or
 * the previous object, behind and rejects with `STORAGE_FAILED`; an aborted one rejects with `ABORTED`) and key
 * checks (`ARGUMENT_INVALID` for absolute keys, `..` and empty segments). Cases use short spans and no timers.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { runStoreContract } from '@ops/core/testing';
 * import { storageContract } from '@ops/backup/testing';
 *
 * runStoreContract(storageContract, { name: 'my-storage', create: () => ({ store: createMyStorage(), advance: async () => {} }) }, { describe, it });
 * ```
 */
export const storageContract: StoreContract<BackupStorage> = defineStoreContract<BackupStorage>('BackupStorage', {
  'a write stores the exact bytes and resolves with their count': async ({ store }) => {
    const body = pattern(300 * 1024 + 7);
    assert.deepEqual(await store.write('job/1/data/dump.bin', chunked(body, 50_000)), { bytes: body.length });
    assert.ok((await content(store, 'job/1/data/dump.bin')).equals(body), 'read returns what was written');
  },
  'an empty object round-trips': async ({ store }) => {
    assert.deepEqual(await store.write('job/empty', Readable.from([])), { bytes: 0 });
    assert.equal((await content(store, 'job/empty')).length, 0);
    assert.equal((await store.stat('job/empty'))?.bytes, 0);
  },
  'reads byte ranges (start and end inclusive) and refuses bad ones': async ({ store }) => {
    const body = pattern(100_000, 2);
    await store.write('job/ranges.bin', chunked(body));
    assert.ok(
      (await content(store, 'job/ranges.bin', { start: 10, end: 19 })).equals(body.subarray(10, 20)),
      'start..end',
    );
    assert.ok(
      (await content(store, 'job/ranges.bin', { start: 99_990 })).equals(body.subarray(99_990)),
      'start to the end',
    );
    assert.ok((await content(store, 'job/ranges.bin', { end: 4 })).equals(body.subarray(0, 5)), 'beginning to end');
    assert.ok((await content(store, 'job/ranges.bin', { start: 7, end: 7 })).equals(body.subarray(7, 8)), 'one byte');
    await rejectsWith(store.read('job/ranges.bin', { start: 5, end: 2 }), 'ARGUMENT_INVALID', 'end before start');
    await rejectsWith(store.read('job/ranges.bin', { start: -1 }), 'ARGUMENT_INVALID', 'negative start');
  },
  'stat gives the key, size and modification time': async ({ store }) => {
    await store.write('job/2/manifest.json', Readable.from([Buffer.from('{"ok":true}')]));
    const facts = await store.stat('job/2/manifest.json');
    assert.ok(facts, 'a stored object has facts');
    assert.equal(facts.key, 'job/2/manifest.json');
    assert.equal(facts.bytes, 11);
    assert.ok(
      facts.modifiedAt instanceof Date && !Number.isNaN(facts.modifiedAt.getTime()),
      'modifiedAt is a valid Date',
    );
  },
  'a missing key: read rejects with BACKUP_NOT_FOUND, stat gives undefined — also for a key that is only a prefix':
    async ({ store }) => {
      await rejectsWith(store.read('job/none/manifest.json'), 'BACKUP_NOT_FOUND', 'read of a missing key');
      assert.equal(await store.stat('job/none/manifest.json'), undefined);
      await store.write('job/3/data/a', Readable.from([Buffer.from('a')]));
      assert.equal(await store.stat('job/3'), undefined, 'a "directory" is not an object');
      await rejectsWith(store.read('job/3/data'), 'BACKUP_NOT_FOUND', 'read of a prefix');
    },
  'list yields every object under a prefix, recursively, with keys relative to the storage': async ({ store }) => {
    const keys = [
      'job-a/1/manifest.json',
      'job-a/1/data/dump',
      'job-a/10/manifest.json',
      'job-a/2/data/deep/er/file',
      'job-b/1/manifest.json',
    ];
    for (const key of keys) await store.write(key, Readable.from([Buffer.from(key)]));
    const withSizes = (wanted: string[]) => wanted.map((key) => `${key}:${Buffer.byteLength(key)}`).sort();
    assert.deepEqual(await listed(store, 'job-a/'), withSizes(keys.filter((key) => key.startsWith('job-a/'))));
    assert.deepEqual(
      await listed(store, 'job-a/1'),
      withSizes(['job-a/1/manifest.json', 'job-a/1/data/dump', 'job-a/10/manifest.json']),
      'a prefix is a string prefix',
    );
    assert.deepEqual(await listed(store, 'job-a/2/data/'), withSizes(['job-a/2/data/deep/er/file']));
    assert.deepEqual(await listed(store, ''), withSizes(keys), 'the empty prefix lists everything');
    assert.deepEqual(await listed(store, 'job-c/'), [], 'nothing under an unused prefix');
    for await (const object of store.list('job-b/')) assert.ok(object.modifiedAt instanceof Date);
  },
  'delete removes one object, and deleting a missing key is not an error': async ({ store }) => {
    await store.write('job/4/a', Readable.from([Buffer.from('a')]));
    await store.write('job/4/b', Readable.from([Buffer.from('bb')]));
    await store.delete('job/4/a');
    assert.equal(await store.stat('job/4/a'), undefined);
    await rejectsWith(store.read('job/4/a'), 'BACKUP_NOT_FOUND', 'read after delete');
    assert.deepEqual(await listed(store, 'job/4/'), ['job/4/b:2'], 'other objects stay');
    await store.delete('job/4/a');
    await store.delete('job/never/existed');
    await store.delete('job/4/b');
    assert.deepEqual(await listed(store, 'job/'), []);
  },
  'a write to an existing key replaces the whole object': async ({ store }) => {
    await store.write('job/5/manifest.json', Readable.from([Buffer.from('a much longer first version')]));
    await store.write('job/5/manifest.json', Readable.from([Buffer.from('short')]));
    assert.equal((await content(store, 'job/5/manifest.json')).toString(), 'short');
    assert.equal((await store.stat('job/5/manifest.json'))?.bytes, 5);
    assert.deepEqual(await listed(store, 'job/5/'), ['job/5/manifest.json:5'], 'still one object');
  },
  'nothing is visible under a key while its write is in progress': async ({ store }) => {
    const first = pattern(64 * 1024, 3);
    const last = pattern(10_000, 4);
    const body = heldBody(first);
    const writing = store.write('job/6/data/dump', body.stream);
    await body.wantsMore;
    await settle();
    assert.equal(await store.stat('job/6/data/dump'), undefined, 'stat during the write');
    assert.deepEqual(await listed(store, 'job/6/'), [], 'list during the write');
    await rejectsWith(store.read('job/6/data/dump'), 'BACKUP_NOT_FOUND', 'read during the write');
    body.end(last);
    assert.deepEqual(await writing, { bytes: first.length + last.length });
    assert.ok((await content(store, 'job/6/data/dump')).equals(Buffer.concat([first, last])));
  },
  'a write whose source fails rejects with STORAGE_FAILED and leaves nothing, or the previous object, behind': async ({
    store,
  }) => {
    const fresh = heldBody(pattern(32 * 1024, 5));
    const failing = store.write('job/7/data/new', fresh.stream);
    await fresh.wantsMore;
    fresh.fail(new Error('source died'));
    await rejectsWith(failing, 'STORAGE_FAILED', 'a failed write');
    assert.equal(await store.stat('job/7/data/new'), undefined, 'no partial object under a new key');

    await store.write('job/7/data/old', Readable.from([Buffer.from('previous')]));
    const replacing = heldBody(pattern(32 * 1024, 6));
    const failingOverwrite = store.write('job/7/data/old', replacing.stream);
    await replacing.wantsMore;
    replacing.fail(new Error('source died'));
    await rejectsWith(failingOverwrite, 'STORAGE_FAILED', 'a failed overwrite');
    assert.equal((await content(store, 'job/7/data/old')).toString(), 'previous', 'the previous object is intact');
    assert.deepEqual(await listed(store, 'job/7/'), ['job/7/data/old:8']);
  },
  'an aborted write rejects with ABORTED and leaves nothing behind, also while the source stalls': async ({
    store,
  }) => {
    const controller = new AbortController();
    const body = heldBody(pattern(32 * 1024, 7));
    const writing = store.write('job/8/data/dump', body.stream, { signal: controller.signal });
    await body.wantsMore;
    controller.abort();
    await rejectsWith(writing, 'ABORTED', 'a write aborted mid-stream');
    assert.equal(await store.stat('job/8/data/dump'), undefined);

    const already = new AbortController();
    already.abort();
    await rejectsWith(
      store.write('job/8/data/late', Readable.from([Buffer.from('x')]), { signal: already.signal }),
      'ABORTED',
      'a write with an aborted signal',
    );
    assert.deepEqual(await listed(store, 'job/8/'), []);
  },
  'concurrent writes to different keys all land': async ({ store }) => {
    const keys = Array.from({ length: 8 }, (_, index) => `job/9/data/part-${index}`);
    await Promise.all(keys.map((key, index) => store.write(key, chunked(pattern(20_000 + index, index)))));
    assert.deepEqual(await listed(store, 'job/9/'), keys.map((key, index) => `${key}:${20_000 + index}`).sort());
    for (const [index, key] of keys.entries())
      assert.ok((await content(store, key)).equals(pattern(20_000 + index, index)), key);
  },
  'keys may hold spaces and non-ASCII characters': async ({ store }) => {
    const key = 'job/10/data/name with spaces/ü-€.bin';
    await store.write(key, Readable.from([Buffer.from('unicode')]));
    assert.equal((await content(store, key)).toString(), 'unicode');
    assert.deepEqual(await listed(store, 'job/10/'), [`${key}:7`]);
  },
  'digest, where the storage has one, gives the size and sha256 of the stored bytes; a missing key is BACKUP_NOT_FOUND':
    async ({ store }) => {
      if (!store.digest) return;
      // More than two 1 MiB read buffers' worth, and not a multiple of them: the buffers are reused.
      const body = pattern(2 * 1024 * 1024 + 300 * 1024 + 3, 5);
      await store.write('job/11/data/dump.bin', chunked(body));
      assert.deepEqual(await store.digest('job/11/data/dump.bin'), {
        bytes: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
      });
      await store.write('job/11/data/empty.bin', Readable.from([]));
      assert.deepEqual(await store.digest('job/11/data/empty.bin'), {
        bytes: 0,
        sha256: createHash('sha256').digest('hex'),
      });
      await rejectsWith(store.digest('job/11/data/missing.bin'), 'BACKUP_NOT_FOUND', 'digest of a missing key');
      await rejectsWith(store.digest('job/11/data'), 'BACKUP_NOT_FOUND', 'digest of a prefix');
    },
  'unsafe keys and prefixes are refused with ARGUMENT_INVALID before anything is touched': async ({ store }) => {
    for (const key of UNSAFE_KEYS) {
      await rejectsWith(
        store.write(key, Readable.from([Buffer.from('x')])),
        'ARGUMENT_INVALID',
        `write ${JSON.stringify(key)}`,
      );
      await rejectsWith(store.read(key), 'ARGUMENT_INVALID', `read ${JSON.stringify(key)}`);
      await rejectsWith(store.stat(key), 'ARGUMENT_INVALID', `stat ${JSON.stringify(key)}`);
      if (store.digest) await rejectsWith(store.digest(key), 'ARGUMENT_INVALID', `digest ${JSON.stringify(key)}`);
      await rejectsWith(store.delete(key), 'ARGUMENT_INVALID', `delete ${JSON.stringify(key)}`);
    }
    for (const prefix of ['../', '/etc/', 'a//b'])
      await rejectsWith(listed(store, prefix), 'ARGUMENT_INVALID', `list ${JSON.stringify(prefix)}`);
    assert.deepEqual(await listed(store, ''), [], 'nothing was written');
  },
});
