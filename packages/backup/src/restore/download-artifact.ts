import { authenticateArtifact } from '../pipeline/authenticate-artifact.js';
import type { ArtifactRecord, DecryptionOptions } from '../pipeline/artifact-pipeline.js';
import type { BackupStorage } from '../storages/storage.js';
import { BackupError } from '../errors.js';

/**
 * Decrypts and decompresses an artifact into a new local file (mode 0600), checking stored and plain sha256. The file is
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
  const { artifact } = options;
  try {
    // On two or more cores the worker that opens the payload writes the file too (see authenticateArtifact).
    await authenticateArtifact(options);
  } catch (error) {
    // An abort is not a damaged artifact.
    if (options.signal?.aborted)
      throw new BackupError('ABORTED', `reading artifact ${artifact.key} was aborted`, {
        cause: options.signal.reason,
      });
    throw error;
  }
}
