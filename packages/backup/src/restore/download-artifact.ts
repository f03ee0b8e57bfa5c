import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import {
  artifactReadError,
  openArtifact,
  type ArtifactRecord,
  type DecryptionOptions,
} from '../pipeline/artifact-pipeline.js';
import type { BackupStorage } from '../storages/storage.js';
import { BackupError } from '../errors.js';

/**
 * Decrypts and decompresses an artifact into a local file (mode 0600), checking stored and plain sha256. The file is
 * removed when any check fails, so a caller only ever sees a complete, verified file — restores need that: a
 * corrupt artifact is refused before the target is touched.
 */
export async function downloadArtifact(options: {
  storage: BackupStorage;
  artifact: ArtifactRecord;
  decryption?: DecryptionOptions | undefined;
  path: string;
  signal?: AbortSignal | undefined;
  onProgress?: ((storedBytes: number) => void) | undefined;
}): Promise<void> {
  const { artifact, path } = options;
  try {
    const plain = await openArtifact(options);
    await pipeline(plain, createWriteStream(path, { mode: 0o600, flags: 'wx', highWaterMark: 1024 * 1024 }));
  } catch (error) {
    await unlink(path).catch(() => undefined);
    // An abort is not a damaged artifact.
    if (options.signal?.aborted)
      throw new BackupError('ABORTED', `reading artifact ${artifact.key} was aborted`, {
        cause: options.signal.reason,
      });
    throw artifactReadError(artifact, error);
  }
}
