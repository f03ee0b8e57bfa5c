import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { safeErrorMessage, silentLogger, systemClock, type Clock, type Logger } from '@ops/core';
import { writeManifest } from '../catalog/catalog.js';
import { runHooks, type HookOptions } from '../hooks/hooks.js';
import { acquireStorageLock, type HeldLock, type StorageLockOptions } from '../lock/storage-lock.js';
import { artifactKey, assertJobName, createBackupId, MANIFEST_FORMAT_VERSION, manifestArtifacts, type BackupManifest, type SourceRecord } from '../manifest/manifest.js';
import { checkStoredArtifact, writeArtifact, type ArtifactRecord, type EncryptionOptions } from '../pipeline/artifact-pipeline.js';
import { assertCompression, type CompressionOptions } from '../pipeline/compression.js';
import type { BackupSource } from '../sources/source.js';
import type { BackupStorage } from '../storages/storage.js';
import { cleanupLeftovers } from './cleanup-leftovers.js';
import { PACKAGE_VERSION } from '../version.js';
import { BackupError } from '../errors.js';

/** Progress of a running backup. */
export interface BackupProgress {
  source: string;
  artifact: string;
  /** Plain bytes read from the source so far. */
  plainBytes: number;
}

/** Receives the outcome of each run (see `createBackupMetrics`). */
export interface BackupRunObserver {
  backupFinished(manifest: BackupManifest, durationSeconds: number): void;
}

/** Options of {@link runBackup}. */
export interface RunBackupOptions {
  /** Job name: letters, digits, `.`, `_`, `-`. Backups live under `<job>/` in the storage. */
  job: string;
  storage: BackupStorage;
  /** What to back up; several sources make one backup (one failing → `partially-failed`). */
  sources: readonly BackupSource[];
  /** Default `{ algorithm: 'gzip', level: 1 }`. */
  compression?: CompressionOptions;
  /** age encryption; omit for none. Recipients are recorded in the manifest, the passphrase never. */
  encryption?: EncryptionOptions;
  /** Re-read each stored artifact and compare its sha256 before declaring success. Default `true`. */
  verifyStored?: boolean;
  /** Commands around the backup (no shell). Post hooks see `OPS_BACKUP_STATE`, `OPS_BACKUP_ID`, `OPS_BACKUP_JOB`. */
  hooks?: { pre?: readonly HookOptions[]; post?: readonly HookOptions[] };
  /** Lock settings, or `false` to run without a lock (then leftovers are not cleaned). */
  lock?: false | Omit<StorageLockOptions, 'storage' | 'job' | 'clock' | 'logger'>;
  tags?: readonly string[];
  pinned?: boolean;
  clock?: Clock;
  logger?: Logger;
  signal?: AbortSignal;
  onProgress?: (progress: BackupProgress) => void;
  /** Where sources may stage data (pg directory format, passfiles). Default the OS temp dir. */
  temporaryDirectory?: string;
  observer?: BackupRunObserver;
}

/**
 * Runs one backup of a job: lock → clean leftovers of killed runs → manifest `in-progress` → pre hooks → each
 * source streamed through compress → encrypt → sha256 → storage → stored-checksum check → post hooks → final
 * manifest written last. Resolves with the final manifest whatever the outcome (check `state`); rejects only when
 * nothing was attempted (`BACKUP_LOCKED`, bad options) or the final manifest cannot be written.
 *
 * @example
 * ```ts
 * const manifest = await runBackup({
 *   job: 'pg-main',
 *   storage: createLocalStorage({ directory: '/var/backups/ops' }),
 *   sources: [createPostgresSource({ connectionString: 'postgresql://postgres@127.0.0.1/app' })],
 *   encryption: { recipients: ['age1…'] },
 * });
 * if (manifest.state !== 'completed') process.exitCode = ExitCode.failure;
 * ```
 */
export async function runBackup(options: RunBackupOptions): Promise<BackupManifest> {
  const {
    job,
    storage,
    sources,
    compression = { algorithm: 'gzip', level: 1 },
    encryption,
    verifyStored = true,
    hooks = {},
    lock: lockOptions = {},
    tags = [],
    pinned = false,
    clock = systemClock,
    logger = silentLogger,
    signal,
    onProgress,
    temporaryDirectory = tmpdir(),
    observer,
  } = options;
  checkJob(job, compression, sources);

  const startedMonotonic = clock.monotonic();
  let lock: HeldLock | undefined;
  if (lockOptions !== false) {
    lock = await acquireStorageLock({ ...lockOptions, storage, job, clock, logger });
  }
  try {
    if (lock) {
      const cleaned = await cleanupLeftovers({ storage, job, logger });
      if (cleaned.backups > 0 || cleaned.partialObjects > 0) logger.info({ job, ...cleaned }, 'removed leftovers of interrupted backups');
    }
    const manifest = createManifest({ job, clock, pinned, tags });
    const { id } = manifest;
    await writeManifest(storage, manifest);
    logger.info({ job, id }, 'backup started');
    const hookEnvironment = { OPS_BACKUP_JOB: job, OPS_BACKUP_ID: id };

    let preHookError: string | undefined;
    try {
      manifest.warnings.push(...(await runHooks(hooks.pre ?? [], { ...hookEnvironment, OPS_BACKUP_PHASE: 'pre' })));
    } catch (error) {
      preHookError = safeErrorMessage(error);
    }
    if (preHookError === undefined) {
      for (const source of sources) {
        manifest.sources.push(await backupOneSource({ source, manifest, storage, compression, encryption, verifyStored, logger, signal, onProgress, temporaryDirectory }));
      }
    }
    settleState(manifest, sources.length, preHookError);
    if (verifyStored && manifest.state !== 'failed') {
      manifest.verifications.push({ level: 'checksum', at: new Date(clock.now()).toISOString(), ok: true, detail: `${manifestArtifacts(manifest).length} artifact(s) re-read after upload; sizes and sha256 match` });
    }

    try {
      manifest.warnings.push(...(await runHooks(hooks.post ?? [], { ...hookEnvironment, OPS_BACKUP_PHASE: 'post', OPS_BACKUP_STATE: manifest.state })));
    } catch (error) {
      manifest.warnings.push(`post hook failed: ${safeErrorMessage(error)}`);
      if (manifest.state === 'completed') manifest.state = 'partially-failed';
    }
    if (lock?.lost) {
      manifest.warnings.push('the job lock could not be refreshed during the run');
    }
    manifest.storedBytes = manifestArtifacts(manifest).reduce((total, artifact) => total + artifact.storedBytes, 0);
    manifest.plainBytes = manifestArtifacts(manifest).reduce((total, artifact) => total + artifact.plainBytes, 0);
    manifest.completedAt = new Date(clock.now()).toISOString();
    await writeManifest(storage, manifest);
    const durationSeconds = (clock.monotonic() - startedMonotonic) / 1000;
    logger[manifest.state === 'completed' ? 'info' : 'error']({ job, id, state: manifest.state, storedBytes: manifest.storedBytes, durationSeconds }, `backup ${manifest.state}`);
    observer?.backupFinished(manifest, durationSeconds);
    return manifest;
  } finally {
    await lock?.release().catch((error: unknown) => logger.warn({ job, error: (error as Error).message }, 'cannot release backup lock'));
  }
}

/** Throws `ARGUMENT_INVALID` for a bad job name, compression, or missing or duplicate sources. */
function checkJob(job: string, compression: CompressionOptions, sources: readonly BackupSource[]): void {
  assertJobName(job);
  assertCompression(compression);
  if (sources.length === 0) throw new BackupError('ARGUMENT_INVALID', `job ${job} has no sources`);
  const names = new Set<string>();
  for (const source of sources) {
    assertJobName(source.name, 'source name');
    if (names.has(source.name)) throw new BackupError('ARGUMENT_INVALID', `job ${job} has two sources named ${source.name}`);
    names.add(source.name);
  }
}

/** The `in-progress` manifest a run starts with. */
function createManifest(input: { job: string; clock: Clock; pinned: boolean; tags: readonly string[] }): BackupManifest {
  const { job, clock, pinned, tags } = input;
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    id: createBackupId(clock.now()),
    job,
    state: 'in-progress',
    startedAt: new Date(clock.now()).toISOString(),
    host: hostname(),
    pid: process.pid,
    tool: { name: '@ops/backup', version: PACKAGE_VERSION, node: process.version },
    sources: [],
    storedBytes: 0,
    plainBytes: 0,
    verifications: [],
    pinned,
    tags: [...tags],
    warnings: [],
  };
}

/** The run's state from its sources (`failed` when the pre hook failed or no source succeeded), and its error. */
function settleState(manifest: BackupManifest, sourceCount: number, preHookError: string | undefined): void {
  const succeeded = manifest.sources.filter((source) => source.state === 'completed').length;
  manifest.state = preHookError !== undefined || succeeded === 0 ? 'failed' : succeeded === sourceCount ? 'completed' : 'partially-failed';
  if (preHookError !== undefined) manifest.error = `pre hook failed: ${preHookError}`;
  else if (manifest.state !== 'completed') {
    manifest.error = manifest.sources
      .filter((source) => source.state === 'failed')
      .map((source) => `${source.name}: ${source.error ?? 'failed'}`)
      .join('; ');
  }
}

async function backupOneSource(input: {
  source: BackupSource;
  manifest: BackupManifest;
  storage: BackupStorage;
  compression: CompressionOptions;
  encryption: EncryptionOptions | undefined;
  verifyStored: boolean;
  logger: Logger;
  signal: AbortSignal | undefined;
  onProgress: ((progress: BackupProgress) => void) | undefined;
  temporaryDirectory: string;
}): Promise<SourceRecord> {
  const { source, manifest, storage, compression, encryption, verifyStored, logger, signal, onProgress } = input;
  const artifacts: ArtifactRecord[] = [];
  const attempted: string[] = [];
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const temporaryDirectory = await mkdtemp(join(input.temporaryDirectory, 'ops-backup-'));
  try {
    const outcome = await source.backup({
      signal: controller.signal,
      logger,
      temporaryDirectory,
      writeArtifact: async (name, format, body) => {
        assertJobName(name, 'artifact name');
        const key = artifactKey(manifest.job, manifest.id, name);
        attempted.push(key);
        const artifact = await writeArtifact({
          storage,
          key,
          name,
          format,
          body,
          compression,
          encryption,
          signal: controller.signal,
          onProgress: onProgress ? (plainBytes) => onProgress({ source: source.name, artifact: name, plainBytes }) : undefined,
        });
        artifacts.push(artifact);
        return artifact;
      },
    });
    if (artifacts.length === 0) throw new BackupError('BACKUP_FAILED', `source ${source.name} stored no artifact`);
    if (verifyStored) for (const artifact of artifacts) await checkStoredArtifact(storage, artifact, controller.signal);
    if (outcome.warnings?.length) manifest.warnings.push(...outcome.warnings.map((warning) => `${source.name}: ${warning}`));
    return { name: source.name, kind: source.kind, state: 'completed', details: outcome.details, artifacts };
  } catch (error) {
    controller.abort(error);
    logger.error({ job: manifest.job, source: source.name, error: safeErrorMessage(error) }, 'backup source failed');
    // Nothing of a failed source stays: a half-written dump must never be mistaken for a backup.
    for (const key of attempted) await storage.delete(key).catch(() => undefined);
    return { name: source.name, kind: source.kind, state: 'failed', error: safeErrorMessage(error), details: {}, artifacts: [] };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await rm(temporaryDirectory, { recursive: true, force: true });
  }
}
