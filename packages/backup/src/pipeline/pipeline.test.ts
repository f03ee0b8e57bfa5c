import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { readAll } from '../internal/read-all.js';
import { Crc64 } from '../sources/redis/crc64.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { openArtifact, writeArtifact } from './artifact-pipeline.js';
import { assertCompression, createCompressStream, isZstdAvailable } from './compression.js';
import { globToRegExp } from '../internal/glob.js';

function randomish(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let index = 0; index < bytes; index++) out[index] = (index * 7919 + (index >> 7)) & 0xff;
  return out;
}

describe('pipeline', () => {
  it('round-trips through gzip and age with both checksums recorded', async () => {
    const storage = createMemoryStorage();
    const { identity, recipient } = generateAgeIdentity();
    const body = randomish(3 * 1024 * 1024 + 17);
    const artifact = await writeArtifact({
      storage,
      key: 'j/1/data/a',
      name: 'a',
      format: 'raw',
      body: Readable.from([body]),
      compression: { algorithm: 'gzip', level: 1 },
      encryption: { recipients: [recipient] },
    });
    expect(artifact).toMatchObject({
      plainBytes: body.length,
      compression: { algorithm: 'gzip', level: 1 },
      encryption: { scheme: 'age', recipients: [recipient], passphrase: false },
    });
    expect(artifact.storedBytes).toBe(storage.get('j/1/data/a')?.length);
    const plain = await readAll(
      await openArtifact({ storage, artifact, decryption: { identities: [identity] } }),
      8 * 1024 * 1024,
    );
    expect(plain.equals(body)).toBe(true);
    await expect(openArtifact({ storage, artifact })).rejects.toMatchObject({ code: 'BACKUP_DECRYPT_FAILED' });
  });

  it('a source error fails the write and leaves no object', async () => {
    const storage = createMemoryStorage();
    const body = new Readable({
      read() {
        this.destroy(new Error('dump died'));
      },
    });
    await expect(
      writeArtifact({ storage, key: 'j/1/data/a', name: 'a', format: 'raw', body, compression: { algorithm: 'gzip' } }),
    ).rejects.toThrow('dump died');
    expect(storage.keys()).toEqual([]);
  });

  it('zstd is refused clearly on a runtime without zlib zstd; levels are checked', () => {
    if (isZstdAvailable()) {
      expect(() => createCompressStream({ algorithm: 'zstd', level: 3 })).not.toThrow();
    } else {
      expect(() => assertCompression({ algorithm: 'zstd' })).toThrow(/zstd.*not available.*createZstdCompress/);
    }
    expect(() => assertCompression({ algorithm: 'gzip', level: 0 })).toThrow(/gzip level must be an integer 1–9/);
  });

  it('CRC-64/Jones matches the Redis check value', () => {
    expect(new Crc64().update(Buffer.from('123456789')).digest().toString(16)).toBe('e9c6d914c4b8d9ca');
  });

  it('exclude globs', () => {
    const match = (pattern: string, path: string) => globToRegExp(pattern).test(path);
    expect(match('*.log', 'a/b/c.log')).toBe(true);
    expect(match('*.log', 'a/b/c.logs')).toBe(false);
    expect(match('cache', 'x/cache/y')).toBe(true);
    expect(match('nested/cache', 'nested/cache/blob')).toBe(true);
    expect(match('nested/cache', 'other/nested/cache')).toBe(false);
    expect(match('**/tmp/*.bin', 'a/b/tmp/x.bin')).toBe(true);
  });
});
