import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OpsError, silentLogger, type Logger } from '@ops/core';
import type { BackupManifest } from '../manifest/manifest.js';
import { withTemporaryDirectory } from '../jobs/temporary-directories.js';
import { artifactReadError, type DecryptionOptions } from '../pipeline/artifact-pipeline.js';
import type { BackupStorage } from '../storages/storage.js';
import { downloadArtifact } from './download-artifact.js';
import { pickSource } from './postgres-restore.js';
import { extractTar, type ExtractSummary } from './tar-extract.js';
import { BackupError } from '../errors.js';

/** Options of {@link restoreFiles}. */
export interface RestoreFilesOptions {
  storage: BackupStorage;
  backup: BackupManifest;
  /** Which files source; default the only one. */
  source?: string;
  decryption?: DecryptionOptions;
  /** Staging directory: must not exist or be empty. Swap it into place yourself once you have checked it. */
  directory: string;
  /** Where the authenticated archive is staged (a 0600 file in a private directory) before extraction. Default the OS temp dir. */
  temporaryDirectory?: string;
  signal?: AbortSignal;
  logger?: Logger;
}

/**
 * Restores a files source into an empty staging directory. Nothing is written there before the whole artifact has
 * authenticated: it is first decrypted, decompressed and checked against both sha256 sums into a 0600 temp file
 * (so a wrong key, a damaged or truncated artifact is refused with the staging directory untouched), and the
 * archive has passed every extraction rule once without writing. Extraction is safe by construction (see
 * `extractTar`: no parent or file is ever created through a link, links are created last and only when every one
 * resolves inside); absolute paths, `..`, links that would resolve outside the staging directory and device files
 * are refused with `RESTORE_UNSAFE_PATH`, so nothing is ever written outside the staging directory. On any failure
 * the staging directory is left as it was: removed when this call created it, emptied again otherwise.
 *
 * @example
 * ```ts
 * await restoreFiles({ storage, backup, directory: '/srv/restore-staging' });
 * ```
 */
export async function restoreFiles(options: RestoreFilesOptions): Promise<ExtractSummary & { directory: string }> {
  const { storage, backup, decryption, signal, logger = silentLogger } = options;
  const directory = resolve(options.directory);
  const source = pickSource(backup, 'files', options.source);
  const artifact = source.artifacts[0];
  if (!artifact) throw new BackupError('RESTORE_FAILED', `source ${source.name} has no artifact`);
  const existed = await stat(directory).then(
    () => true,
    () => false,
  );
  if (existed && (await readdir(directory)).length > 0)
    throw new BackupError(
      'RESTORE_FAILED',
      `staging directory ${directory} is not empty; restore into an empty directory`,
    );
  logger.info({ backup: backup.id, source: source.name, directory }, 'restoring files');
  return withTemporaryDirectory(async (temporary) => {
    // Nothing reaches the staging directory before the whole artifact has authenticated (age MAC, both sha256
    // sums) into a 0600 file, and before the archive passed every extraction rule once without writing.
    const archive = join(temporary, 'files.tar');
    await downloadArtifact({ storage, artifact, decryption, path: archive, signal });
    await extractTar({ stream: createReadStream(archive), ...(signal ? { signal } : {}) });
    try {
      const summary = await extractTar({ stream: createReadStream(archive), directory, ...(signal ? { signal } : {}) });
      return { ...summary, directory };
    } catch (error) {
      if (!existed) await rm(directory, { recursive: true, force: true });
      else
        for (const entry of await readdir(directory).catch(() => []))
          await rm(resolve(directory, entry), { recursive: true, force: true });
      throw OpsError.isInstance(error) ? error : artifactReadError(artifact, error);
    }
  }, options.temporaryDirectory);
}
