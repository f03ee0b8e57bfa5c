import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@ops/testkit';
import { generateAgeIdentity } from '../crypto/age-keys.js';
import { runBackup } from '../jobs/run-backup.js';
import { manifestArtifacts } from '../manifest/manifest.js';
import { createFilesSource } from '../sources/files-source.js';
import type { BackupStorage } from '../storages/storage.js';
import { createMemoryStorage } from '../testing/memory-storage.js';
import { verifyBackup } from './verify-backup.js';

let directory: TempDir;
let root: string;
beforeEach(async () => {
  directory = await tempDir('backup-verify');
  root = join(directory.path, 'data');
  await mkdir(root);
  await writeFile(join(root, 'a.txt'), 'a'.repeat(200_000));
  await writeFile(join(root, 'b.txt'), 'b');
});
afterEach(async () => {
  await directory.dispose();
});

/** A memory storage that counts reads of artifact objects (not manifests or locks). */
function countingStorage() {
  const memory = createMemoryStorage();
  const reads: string[] = [];
  const storage: BackupStorage = {
    ...memory,
    location: memory.location,
    list: (prefix) => memory.list(prefix),
    read: (key, options) => {
      if (key.includes('/data/')) reads.push(key);
      return memory.read(key, options);
    },
  };
  return { memory, storage, reads };
}

describe('verifyBackup full-read', () => {
  for (const encrypted of [false, true]) {
    it(`reads each artifact once and still checks its stored sha256 (${encrypted ? 'age' : 'no encryption'})`, async () => {
      const { memory, storage, reads } = countingStorage();
      const { identity, recipient } = generateAgeIdentity();
      const manifest = await runBackup({
        job: 'files',
        storage,
        sources: [createFilesSource({ directory: root })],
        compression: { algorithm: 'none' },
        ...(encrypted ? { encryption: { recipients: [recipient] } } : {}),
        verifyStored: false,
        lock: false,
      });
      expect(manifest.state, manifest.error).toBe('completed');
      const [artifact] = manifestArtifacts(manifest);
      const decryption = { identities: [identity] };
      reads.length = 0;
      const report = await verifyBackup({ storage, backup: manifest, level: 'full-read', decryption, record: false });
      expect(report.ok, report.detail).toBe(true);
      expect(report.artifacts[0]?.detail).toMatch(/^size \d+ and sha256 match; tar parsed/);
      // Before: one read to hash the stored object, a second to decrypt and parse it.
      expect(reads).toEqual([artifact?.key]);

      // A byte the format reader never looks at (the tar's end-of-archive padding, or past it the age tag of the
      // last chunk): only the checksums or the AEAD can notice it.
      const stored = memory.get(artifact?.key ?? '') as Buffer;
      const at = stored.length - 1;
      stored[at] = (stored[at] as number) ^ 0x01;
      memory.set(artifact?.key ?? '', stored);
      const damaged = await verifyBackup({ storage, backup: manifest, level: 'full-read', decryption, record: false });
      expect(damaged.ok).toBe(false);
      expect(damaged.detail).toMatch(/stored object sha256/);
      const checksum = await verifyBackup({ storage, backup: manifest, level: 'checksum', record: false });
      expect(checksum.detail).toMatch(/stored object sha256/);
    });
  }
});
