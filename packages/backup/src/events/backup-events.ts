import { createEmitter, silentLogger, type Emitter, type Logger } from '@ops/core';
import type { BackupManifest, VerificationLevel } from '../manifest/manifest.js';
import type { ArtifactRecord } from '../pipeline/artifact-pipeline.js';
import type { VerificationReport } from '../verify/verify-backup.js';

/**
 * Events of backup runs and verifications, reported to the emitter passed as `events` to `runBackup` and
 * `verifyBackup`. Every payload carries `at`, the epoch milliseconds (from the run's clock) at which it happened.
 * Every `backup.started` is followed by exactly one `backup.completed` or `backup.failed`; a run refused before it
 * started (`BACKUP_LOCKED`, bad options) emits nothing and rejects.
 */
export interface BackupEvents {
  /** A run took its lock and wrote its `in-progress` manifest. */
  'backup.started': { at: number; job: string; backupId: string };
  /** Plain bytes read from a source so far, for progress bars (emitted per chunk: keep listeners cheap). */
  'artifact.progressed': {
    at: number;
    job: string;
    backupId: string;
    source: string;
    artifact: string;
    plainBytes: number;
  };
  /** An artifact is complete in the storage (before the run re-reads it when `verifyStored` is on). */
  'artifact.stored': { at: number; job: string; backupId: string; source: string; artifact: ArtifactRecord };
  /** A run ended in state `completed`; its final manifest is written. */
  'backup.completed': { at: number; job: string; backupId: string; manifest: BackupManifest; durationSeconds: number };
  /**
   * A run ended in state `failed` or `partially-failed` (its final manifest is written), or it threw after it
   * started (then `manifest.state` is `failed` here, and the stored manifest may still say `in-progress`).
   */
  'backup.failed': {
    at: number;
    job: string;
    backupId: string;
    manifest: BackupManifest;
    durationSeconds: number;
    error: string;
  };
  /** `verifyBackup` finished, passing or not; `manifest` includes the verification when it was recorded. */
  'verification.completed': {
    at: number;
    job: string;
    backupId: string;
    level: VerificationLevel;
    ok: boolean;
    detail: string;
    report: VerificationReport;
    manifest: BackupManifest;
  };
}

/** Where `runBackup` and `verifyBackup` report {@link BackupEvents}: made by {@link createBackupEvents}. */
export type BackupEventEmitter = Emitter<BackupEvents>;

/** Options of {@link createBackupEvents}. */
export interface BackupEventsOptions {
  /** Where a throwing listener is logged (error level). Default silent. */
  logger?: Logger;
}

/**
 * Creates the emitter backup runs and verifications report to: subscribe with `on(name, listener)` (it returns the
 * unsubscribe) and pass it as `events` to `runBackup` and `verifyBackup` — one emitter can serve many runs and jobs
 * (every payload names its `job` and `backupId`). A listener that throws is logged and never fails the backup.
 *
 * @example
 * ```ts
 * const events = createBackupEvents({ logger });
 * events.on('backup.failed', (event) => pager.trigger(`backup ${event.job} failed: ${event.error}`));
 * createBackupMetrics({ registry, events });
 * await runBackup({ job: 'pg-main', storage, sources, events });
 * ```
 */
export function createBackupEvents(options: BackupEventsOptions = {}): BackupEventEmitter {
  const { logger = silentLogger } = options;
  return createEmitter<BackupEvents>({ logger, source: 'backup' });
}

/**
 * Emits to every given emitter (the user's and the one behind the deprecated callbacks), building the payload only
 * when one of them listens.
 */
export function emitTo<Name extends keyof BackupEvents & string>(
  emitters: readonly (BackupEventEmitter | undefined)[],
  name: Name,
  payload: () => BackupEvents[Name],
): void {
  let built: BackupEvents[Name] | undefined;
  for (const emitter of emitters) {
    if (!emitter?.has(name)) continue;
    built ??= payload();
    emitter.emit(name, built);
  }
}
