import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { safeErrorMessage, silentLogger, systemClock, type Clock, type Logger } from '@ops/core';
import { writeManifest } from '../catalog/catalog.js';
import { BackupError } from '../errors.js';
import { createBackupEvents, emitTo, type BackupEventEmitter, type BackupEvents } from '../events/backup-events.js';
import { runHooks, type HookOptions } from '../hooks/hooks.js';
import { acquireStorageLock, type HeldLock, type StorageLockOptions } from '../lock/storage-lock.js';
import {
  artifactKey,
  assertJobName,
  createBackupId,
  MANIFEST_FORMAT_VERSION,
  manifestArtifacts,
  runMarkerKey,
  type BackupManifest,
  type SourceRecord,
} from '../manifest/manifest.js';
import {
  checkStoredArtifact,
  writeArtifact,
  type ArtifactRecord,
  type EncryptionOptions,
} from '../pipeline/artifact-pipeline.js';
import { assertCompression, type CompressionOptions } from '../pipeline/compression.js';
import type { BackupSource } from '../sources/source.js';
import type { BackupStorage } from '../storages/storage.js';
import { PACKAGE_VERSION } from '../version.js';
import { backupTagSchema } from '../retention/retention-policy.js';
import { cleanupLeftovers } from './cleanup-leftovers.js';
import { createTemporaryDirectory } from './temporary-directories.js';
import { timed, withTimings, withTimingSource, type BackupTimingListener } from './run-timings.js';

/** Progress of a running backup. */
export interface BackupProgress {
  source: string;
  artifact: string;
  /** Plain bytes read from the source so far. */
  plainBytes: number;
}

/**
 * Receives the outcome of each run.
 *
 * @deprecated Subscribe to `backup.completed` / `backup.failed` of `createBackupEvents()` and pass it as `events`
 * (for metrics: `createBackupMetrics({ registry, events })`).
 */
export interface BackupRunObserver {
  backupFinished(manifest: BackupManifest, durationSeconds: number): void;
}

/** Options of {@link runBackup}. */
export interface RunBackupOptions {
  /** Job name: letters, digits, `.`, `_`, `-`. Backups live under `<job>/` in the storage. */
  job: string;
  /** Where the backup is stored (and where the job's lock lives). */
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
  /** Labels recorded in the manifest (per run or per job), matched by retention's `keepTags`: non-empty, no comma. */
  tags?: readonly string[];
  /** Recorded in the manifest; retention always keeps pinned backups. Default `false`. */
  pinned?: boolean;
  /** Source of time: manifest times, event `at`, lock refresh. Default `systemClock`. */
  clock?: Clock;
  /** Logger. Default silent. */
  logger?: Logger;
  /** Cancels the run: running sources stop and their artifacts are deleted. */
  signal?: AbortSignal;
  /** Where the run reports its {@link BackupEvents} (`backup.started`, `artifact.stored`, `backup.completed`, …). */
  events?: BackupEventEmitter;
  /**
   * Called with the plain bytes read so far.
   *
   * @deprecated Listen to `artifact.progressed` on `events` (the same fields, plus `at`, `job` and `backupId`).
   */
  onProgress?: (progress: BackupProgress) => void;
  /** Where sources may stage data (pg directory format, passfiles). Default the OS temp dir. */
  temporaryDirectory?: string;
  /**
   * Told the outcome of the run.
   *
   * @deprecated Pass `events` and listen to `backup.completed` / `backup.failed`; for metrics,
   * `createBackupMetrics({ registry, events })`.
   */
  observer?: BackupRunObserver;
  /**
   * Diagnostics: told how long each step took ({@link BackupTiming}: lock, cleanup, manifest writes, the source's
   * version check and dump, the artifact's first byte, stream and commit, the busy time of hashing and encryption,
   * verify, hooks). Nothing is measured when omitted.
   */
  onTiming?: BackupTimingListener;
}

/**
 * Runs one backup of a job: lock → clean leftovers of killed runs → manifest `in-progress` → pre hooks → each
 * source streamed through compress → encrypt → sha256 → storage → stored-checksum check → post hooks → final
 * manifest written last. Resolves with the final manifest whatever the outcome (check `state`); rejects only when
 * nothing was attempted (`BACKUP_LOCKED`, bad options) or the final manifest cannot be written. Reports
 * {@link BackupEvents} to `events` along the way.
 *
 * @example
 * ```ts
 * const events = createBackupEvents();
 * events.on('artifact.stored', ({ artifact }) => console.log(`${artifact.key}: ${artifact.storedBytes} bytes`));
 * const manifest = await runBackup({
 *   job: 'pg-main',
 *   storage: createLocalStorage({ directory: '/var/backups/ops' }),
 *   sources: [createPostgresSource({ connectionString: 'postgresql://postgres@127.0.0.1/app' })],
 *   encryption: { recipients: ['age1…'] },
 *   events,
 * });
 * if (manifest.state !== 'completed') process.exitCode = ExitCode.failure;
 * ```
 */
export async function runBackup(options: RunBackupOptions): Promise<BackupManifest> {
  return withTimings(options.onTiming, () => runBackupTimed(options));
}

async function runBackupTimed(options: RunBackupOptions): Promise<BackupManifest> {
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
    events,
    onProgress,
    temporaryDirectory = tmpdir(),
    observer,
  } = options;
  checkJob(job, compression, sources, tags);

  const startedMonotonic = clock.monotonic();
  let lock: HeldLock | undefined;
  if (lockOptions !== false) {
    lock = await timed('lock', () => acquireStorageLock({ ...lockOptions, storage, job, clock, logger }));
  }
  try {
    if (lock) {
      const cleaned = await timed('cleanup', () => cleanupLeftovers({ storage, job, logger }));
      if (cleaned.backups > 0 || cleaned.partialObjects > 0)
        logger.info({ job, ...cleaned }, 'removed leftovers of interrupted backups');
    }
    const manifest = createManifest({ job, clock, pinned, tags });
    const marker = runMarkerKey(job, manifest.id);
    await timed('manifest.initial', async () => {
      // The marker goes first: a run killed at any later point is found by the next run's cleanup from the listing.
      const facts = { job, id: manifest.id, host: hostname(), pid: process.pid, startedAt: manifest.startedAt };
      await storage.write(marker, Readable.from([Buffer.from(`${JSON.stringify(facts)}\n`)]));
      await writeManifest(storage, manifest);
    });
    logger.info({ job, id: manifest.id }, 'backup started');
    const emitters = [events, legacyCallbacks({ observer, onProgress, logger })];
    const emit = <Name extends keyof BackupEvents & string>(
      name: Name,
      payload: () => Omit<BackupEvents[Name], 'at' | 'job' | 'backupId'>,
    ) =>
      emitTo(
        emitters,
        name,
        () => ({ at: clock.now(), job, backupId: manifest.id, ...payload() }) as BackupEvents[Name],
      );
    emit('backup.started', () => ({}));
    const durationSeconds = () => (clock.monotonic() - startedMonotonic) / 1000;
    try {
      await completeRun({
        manifest,
        sources,
        storage,
        compression,
        encryption,
        verifyStored,
        hooks,
        lock,
        clock,
        logger,
        signal,
        temporaryDirectory,
        emitters,
      });
      await storage
        .delete(marker)
        .catch((error: unknown) =>
          logger.warn({ job, id: manifest.id, error: safeErrorMessage(error) }, 'cannot delete the run marker'),
        );
    } catch (error) {
      // The run started but cannot say how it ended in the storage: listeners still hear that it failed.
      const failed: BackupManifest = { ...manifest, state: 'failed', error: safeErrorMessage(error) };
      emit('backup.failed', () => ({
        manifest: failed,
        durationSeconds: durationSeconds(),
        error: failed.error ?? 'failed',
      }));
      throw error;
    }
    const seconds = durationSeconds();
    logger[manifest.state === 'completed' ? 'info' : 'error'](
      { job, id: manifest.id, state: manifest.state, storedBytes: manifest.storedBytes, durationSeconds: seconds },
      `backup ${manifest.state}`,
    );
    if (manifest.state === 'completed') emit('backup.completed', () => ({ manifest, durationSeconds: seconds }));
    else emit('backup.failed', () => ({ manifest, durationSeconds: seconds, error: manifest.error ?? manifest.state }));
    return manifest;
  } finally {
    if (lock) {
      const held = lock;
      await timed('lock.release', () => held.release()).catch((error: unknown) =>
        logger.warn({ job, error: (error as Error).message }, 'cannot release backup lock'),
      );
    }
  }
}

/** The emitter behind the deprecated `observer` and `onProgress` options (a throwing one is logged, not fatal). */
function legacyCallbacks(input: {
  observer: BackupRunObserver | undefined;
  onProgress: ((progress: BackupProgress) => void) | undefined;
  logger: Logger;
}): BackupEventEmitter | undefined {
  const { observer, onProgress, logger } = input;
  if (!observer && !onProgress) return undefined;
  const emitter = createBackupEvents({ logger });
  if (observer) {
    emitter.on('backup.completed', (event) => observer.backupFinished(event.manifest, event.durationSeconds));
    emitter.on('backup.failed', (event) => observer.backupFinished(event.manifest, event.durationSeconds));
  }
  if (onProgress)
    emitter.on('artifact.progressed', ({ source, artifact, plainBytes }) =>
      onProgress({ source, artifact, plainBytes }),
    );
  return emitter;
}

/** After the `in-progress` manifest: pre hooks, every source, the state, post hooks, and the final manifest. */
async function completeRun(input: {
  manifest: BackupManifest;
  sources: readonly BackupSource[];
  storage: BackupStorage;
  compression: CompressionOptions;
  encryption: EncryptionOptions | undefined;
  verifyStored: boolean;
  hooks: NonNullable<RunBackupOptions['hooks']>;
  lock: HeldLock | undefined;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal | undefined;
  temporaryDirectory: string;
  emitters: readonly (BackupEventEmitter | undefined)[];
}): Promise<void> {
  const { manifest, sources, storage, hooks, lock, clock, verifyStored } = input;
  const hookEnvironment = { OPS_BACKUP_JOB: manifest.job, OPS_BACKUP_ID: manifest.id };

  let preHookError: string | undefined;
  try {
    manifest.warnings.push(
      ...(await timed('hooks.pre', () => runHooks(hooks.pre ?? [], { ...hookEnvironment, OPS_BACKUP_PHASE: 'pre' }))),
    );
  } catch (error) {
    preHookError = safeErrorMessage(error);
  }
  if (preHookError === undefined) {
    for (const source of sources)
      manifest.sources.push(
        await withTimingSource(source.name, () => timed('source', () => backupOneSource({ ...input, source }))),
      );
  }
  settleState(manifest, sources.length, preHookError);
  if (verifyStored && manifest.state !== 'failed') {
    manifest.verifications.push({
      level: 'checksum',
      at: new Date(clock.now()).toISOString(),
      ok: true,
      detail: `${manifestArtifacts(manifest).length} artifact(s) re-read after upload; sizes and sha256 match`,
    });
  }

  try {
    manifest.warnings.push(
      ...(await timed('hooks.post', () =>
        runHooks(hooks.post ?? [], {
          ...hookEnvironment,
          OPS_BACKUP_PHASE: 'post',
          OPS_BACKUP_STATE: manifest.state,
        }),
      )),
    );
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
  await timed('manifest.final', () => writeManifest(storage, manifest));
}

/** Throws `ARGUMENT_INVALID` for a bad job name, compression, or missing or duplicate sources. */
function checkJob(
  job: string,
  compression: CompressionOptions,
  sources: readonly BackupSource[],
  tags: readonly string[],
): void {
  assertJobName(job);
  assertCompression(compression);
  for (const tag of tags) {
    if (!backupTagSchema.safeParse(tag).success)
      throw new BackupError(
        'ARGUMENT_INVALID',
        `tag ${JSON.stringify(tag)} of job ${job}: a tag must be non-empty, without "," and without leading or trailing spaces`,
      );
  }
  if (sources.length === 0) throw new BackupError('ARGUMENT_INVALID', `job ${job} has no sources`);
  const names = new Set<string>();
  for (const source of sources) {
    assertJobName(source.name, 'source name');
    if (names.has(source.name))
      throw new BackupError('ARGUMENT_INVALID', `job ${job} has two sources named ${source.name}`);
    names.add(source.name);
  }
}

/** The `in-progress` manifest a run starts with. */
function createManifest(input: {
  job: string;
  clock: Clock;
  pinned: boolean;
  tags: readonly string[];
}): BackupManifest {
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
  manifest.state =
    preHookError !== undefined || succeeded === 0
      ? 'failed'
      : succeeded === sourceCount
        ? 'completed'
        : 'partially-failed';
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
  clock: Clock;
  logger: Logger;
  signal: AbortSignal | undefined;
  temporaryDirectory: string;
  emitters: readonly (BackupEventEmitter | undefined)[];
}): Promise<SourceRecord> {
  const { source, manifest, storage, compression, encryption, verifyStored, clock, logger, signal, emitters } = input;
  const artifacts: ArtifactRecord[] = [];
  const attempted: string[] = [];
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const event = { job: manifest.job, backupId: manifest.id, source: source.name };
  const temporaryDirectory = await createTemporaryDirectory(input.temporaryDirectory, logger);
  try {
    const outcome = await source.backup({
      signal: controller.signal,
      logger,
      temporaryDirectory,
      compression,
      writeArtifact: async (name, format, body, artifactOptions = {}) => {
        assertJobName(name, 'artifact name');
        const key = artifactKey(manifest.job, manifest.id, name);
        if (artifactOptions.compression) assertCompression(artifactOptions.compression);
        attempted.push(key);
        // Progress costs a listener per chunk: only when someone listens as the artifact starts.
        const progress = emitters.some((emitter) => emitter?.has('artifact.progressed'))
          ? (plainBytes: number) =>
              emitTo(emitters, 'artifact.progressed', () => ({ at: clock.now(), ...event, artifact: name, plainBytes }))
          : undefined;
        const artifact = await writeArtifact({
          storage,
          key,
          name,
          format,
          body,
          compression: artifactOptions.compression ?? compression,
          contentCompression: artifactOptions.contentCompression,
          encryption,
          signal: controller.signal,
          onProgress: progress,
        });
        artifacts.push(artifact);
        emitTo(emitters, 'artifact.stored', () => ({ at: clock.now(), ...event, artifact }));
        return artifact;
      },
    });
    if (artifacts.length === 0) throw new BackupError('BACKUP_FAILED', `source ${source.name} stored no artifact`);
    if (verifyStored)
      await timed('verify', async () => {
        for (const artifact of artifacts) await checkStoredArtifact(storage, artifact, controller.signal);
      });
    if (outcome.warnings?.length)
      manifest.warnings.push(...outcome.warnings.map((warning) => `${source.name}: ${warning}`));
    return { name: source.name, kind: source.kind, state: 'completed', details: outcome.details, artifacts };
  } catch (error) {
    controller.abort(error);
    logger.error({ job: manifest.job, source: source.name, error: safeErrorMessage(error) }, 'backup source failed');
    // Nothing of a failed source stays: a half-written dump must never be mistaken for a backup.
    for (const key of attempted) await storage.delete(key).catch(() => undefined);
    return {
      name: source.name,
      kind: source.kind,
      state: 'failed',
      error: safeErrorMessage(error),
      details: {},
      artifacts: [],
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await rm(temporaryDirectory, { recursive: true, force: true });
  }
}
