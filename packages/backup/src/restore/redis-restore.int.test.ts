import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisNamespace, type RedisNamespace } from '@ops/testkit';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { runBackup } from '../jobs/run-backup.js';
import type { BackupManifest } from '../manifest/manifest.js';
import {
  openArtifact,
  writeArtifact,
  type ArtifactRecord,
  type EncryptionOptions,
} from '../pipeline/artifact-pipeline.js';
import {
  encodeDumpHeader,
  encodeDumpRecord,
  encodeDumpTrailer,
  readDumpRecords,
  type DumpRecord,
} from '../sources/redis/redis-dump-format.js';
import { createRedisSource } from '../sources/redis/redis-source.js';
import { createMemoryStorage, type MemoryStorage } from '../testing/memory-storage.js';
import { restoreRedis } from './redis-restore.js';

// Rule for every restore: nothing reaches the target before the whole artifact has authenticated, and a refused
// restore leaves the target exactly as it was. The artifacts below are forged the way anyone who can write to the
// storage can: change the bytes, recompute the manifest's (unkeyed) checksums.

const KEYS = 3000;
const identity = generateAgeIdentity();
let source: RedisNamespace;
let target: RedisNamespace;

beforeAll(async () => {
  [source, target] = await Promise.all([createRedisNamespace(), createRedisNamespace()]);
  const pipeline = source.client().pipeline();
  for (let index = 0; index < KEYS; index++)
    pipeline.set(`key:${index}`, index === 7 ? 'seven' : randomBytes(100).toString('hex'));
  await pipeline.exec();
});

afterAll(async () => {
  await Promise.all([source?.dispose(), target?.dispose()]);
});

beforeEach(async () => {
  await target.client().flushdb();
});

async function backUp(
  encryption?: EncryptionOptions,
): Promise<{ storage: MemoryStorage; manifest: BackupManifest; artifact: ArtifactRecord }> {
  const storage = createMemoryStorage();
  const manifest = await runBackup({
    job: 'cache',
    storage,
    sources: [createRedisSource({ redis: source.client(), method: 'scan-dump' })],
    compression: { algorithm: 'none' },
    lock: false,
    ...(encryption ? { encryption } : {}),
  });
  expect(manifest.state, manifest.error).toBe('completed');
  return { storage, manifest, artifact: manifest.sources[0]?.artifacts[0] as ArtifactRecord };
}

function forgeStored(storage: MemoryStorage, artifact: ArtifactRecord, change: (bytes: Buffer) => void): void {
  const bytes = storage.get(artifact.key) as Buffer;
  change(bytes);
  storage.set(artifact.key, bytes);
  artifact.storedSha256 = createHash('sha256').update(bytes).digest('hex');
  artifact.storedBytes = bytes.length;
}

describe('a Redis restore applies nothing before the whole artifact has authenticated', () => {
  it('a backup whose last age chunk fails authentication writes no key (the first batches were written)', async () => {
    const { storage, manifest, artifact } = await backUp({ recipients: [identity.recipient] });
    expect(artifact.storedBytes).toBeGreaterThan(8 * 64 * 1024);
    forgeStored(storage, artifact, (bytes) => {
      bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0x01;
    });
    await expect(
      restoreRedis({
        storage,
        backup: manifest,
        redis: target.client(),
        decryption: { identities: [identity.identity] },
      }),
    ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
    expect(await target.client().dbsize()).toBe(0);
  });

  it('an unencrypted backup damaged near its end (caught by the plain sha256 at the end) writes no key', async () => {
    const { storage, manifest, artifact } = await backUp();
    forgeStored(storage, artifact, (bytes) => {
      bytes[bytes.length - 200] = (bytes[bytes.length - 200] as number) ^ 0x01;
    });
    await expect(restoreRedis({ storage, backup: manifest, redis: target.client() })).rejects.toMatchObject({
      code: 'BACKUP_CORRUPT',
    });
    expect(await target.client().dbsize()).toBe(0);
  });

  it('an authentic artifact with a damaged DUMP payload in its last record writes no key', async () => {
    const { storage, manifest, artifact } = await backUp({ recipients: [identity.recipient] });
    const records: DumpRecord[] = [];
    const plain = await openArtifact({ storage, artifact, decryption: { identities: [identity.identity] } });
    const reader = readDumpRecords(plain);
    let next = await reader.next();
    for (; !next.done; next = await reader.next()) records.push(next.value);
    const { header } = next.value;
    const last = records.at(-1) as DumpRecord;
    last.payload[0] = (last.payload[0] as number) ^ 0x01; // the payload's own CRC-64 no longer matches
    const body = Buffer.concat([
      encodeDumpHeader({ ...header, forged: true }),
      ...records.map(encodeDumpRecord),
      encodeDumpTrailer(records.length),
    ]);
    const forged = await writeArtifact({
      storage,
      key: artifact.key,
      name: artifact.name,
      format: artifact.format,
      body: Readable.from([body]),
      compression: { algorithm: 'none' },
      encryption: { recipients: [identity.recipient] },
    });
    (manifest.sources[0] as (typeof manifest.sources)[number]).artifacts[0] = forged;
    await expect(
      restoreRedis({
        storage,
        backup: manifest,
        redis: target.client(),
        decryption: { identities: [identity.identity] },
      }),
    ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT', message: expect.stringContaining('CRC-64') });
    expect(await target.client().dbsize()).toBe(0);
  });

  it("policy 'fail' with a key the target already has writes nothing and leaves the target's value", async () => {
    const { storage, manifest, artifact } = await backUp();
    // The key restored last, so that every earlier batch would already have been written.
    let lastKey = '';
    for await (const record of readDumpRecords(await openArtifact({ storage, artifact })))
      lastKey = record.key.toString();
    await target.client().set(lastKey, 'theirs');
    await expect(
      restoreRedis({ storage, backup: manifest, redis: target.client(), policy: 'fail' }),
    ).rejects.toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringContaining(lastKey) });
    expect(await target.client().dbsize()).toBe(1);
    expect(await target.client().get(lastKey)).toBe('theirs');
  });

  it('an authentic backup restores every key', async () => {
    const { storage, manifest } = await backUp({ recipients: [identity.recipient] });
    await expect(
      restoreRedis({
        storage,
        backup: manifest,
        redis: target.client(),
        decryption: { identities: [identity.identity] },
      }),
    ).resolves.toMatchObject({ restored: KEYS });
    expect(await target.client().get('key:7')).toBe('seven');
  });
});
