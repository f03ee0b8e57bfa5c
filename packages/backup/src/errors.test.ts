import { Readable } from 'node:stream';
import { OpsError } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { findBackup } from './catalog/catalog.js';
import { BackupError } from './errors.js';
import { readAll } from './internal/read-all.js';
import { parseManifest } from './manifest/manifest.js';
import { openArtifact, writeArtifact } from './pipeline/artifact-pipeline.js';
import { createMemoryStorage } from './testing/memory-storage.js';

/** The rejection of `promise` (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('BackupError', () => {
  it('is what a corrupt artifact, a wrong passphrase, a missing backup and an altered manifest throw', async () => {
    const storage = createMemoryStorage();
    const body = Buffer.alloc(64 * 1024, 7);
    const artifact = await writeArtifact({
      storage,
      key: 'job/1/data/a',
      name: 'a',
      format: 'raw',
      body: Readable.from([body]),
      compression: { algorithm: 'gzip', level: 1 },
      encryption: { passphrase: 'correct horse', scryptWorkFactor: 10 },
    });

    const wrongPassphrase = await rejectionOf(
      readAll(await openArtifact({ storage, artifact, decryption: { passphrase: 'battery staple' } })),
    );
    expect(BackupError.isInstance(wrongPassphrase)).toBe(true);
    expect(BackupError.hasCode(wrongPassphrase, 'BACKUP_DECRYPT_FAILED')).toBe(true);
    // Still an OpsError for code written against the base class.
    expect(OpsError.isInstance(wrongPassphrase)).toBe(true);

    const stored = storage.get(artifact.key) as Buffer;
    stored[stored.length - 100] = (stored[stored.length - 100] as number) ^ 0xff;
    storage.set(artifact.key, stored);
    const corrupt = await rejectionOf(
      readAll(await openArtifact({ storage, artifact, decryption: { passphrase: 'correct horse' } })),
    );
    expect(BackupError.isInstance(corrupt)).toBe(true);
    expect((corrupt as BackupError).code).toBe('BACKUP_CORRUPT');

    const missing = await rejectionOf(findBackup({ storage, id: 'latest', job: 'job' }));
    expect(BackupError.hasCode(missing, 'BACKUP_NOT_FOUND')).toBe(true);

    let altered: unknown;
    try {
      parseManifest('{"id": 1}', 'job/1/manifest.json');
    } catch (error) {
      altered = error;
    }
    expect(BackupError.hasCode(altered, 'BACKUP_CORRUPT')).toBe(true);
  });

  it('storages throw it for unsafe keys and missing objects', async () => {
    const storage = createMemoryStorage();
    expect(BackupError.hasCode(await rejectionOf(storage.read('../etc/passwd')), 'ARGUMENT_INVALID')).toBe(true);
    expect(BackupError.hasCode(await rejectionOf(storage.read('job/none')), 'BACKUP_NOT_FOUND')).toBe(true);
  });
});
