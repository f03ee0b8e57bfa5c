import { readdir, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { OpsError, silentLogger, type Logger } from '@ops/core';
import type { BackupManifest } from '../manifest/manifest.js';
import { artifactReadError, checkStoredArtifact, openArtifact, type DecryptionOptions } from '../pipeline/artifact-pipeline.js';
import type { BackupStorage } from '../storages/storage.js';
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
  signal?: AbortSignal;
  logger?: Logger;
}

/**
 * Restores a files source into an empty staging directory. The stored checksum is verified first; extraction is
 * safe by construction (see `extractTar`: no parent or file is ever created through a link, links are created last
 * and only when every one resolves inside), and entries with absolute paths, `..`, links that would resolve outside
 * the staging directory, or device files are refused with `RESTORE_UNSAFE_PATH`, so nothing is ever written outside
 * the staging directory. On any failure the staging directory is removed when this call created it.
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
  if (existed && (await readdir(directory)).length > 0) throw new BackupError('RESTORE_FAILED', `staging directory ${directory} is not empty; restore into an empty directory`);
  await checkStoredArtifact(storage, artifact, signal);
  logger.info({ backup: backup.id, source: source.name, directory }, 'restoring files');
  const plain = await openArtifact({ storage, artifact, decryption, signal });
  try {
    const summary = await extractTar({ stream: plain, directory, ...(signal ? { signal } : {}) });
    return { ...summary, directory };
  } catch (error) {
    plain.destroy();
    if (!existed) await rm(directory, { recursive: true, force: true });
    else for (const entry of await readdir(directory).catch(() => [])) await rm(resolve(directory, entry), { recursive: true, force: true });
    throw OpsError.hasCode(error, 'RESTORE_UNSAFE_PATH') || OpsError.hasCode(error, 'RESTORE_FAILED') ? error : artifactReadError(artifact, error);
  }
}
