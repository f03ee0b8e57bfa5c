import { OpsError, type OpsErrorCode, type OpsErrorOptions } from '@ops/core';

/**
 * Codes a {@link BackupError} carries: backup's own, and the shared core codes backup throws for bad arguments,
 * aborts, a lost lock and broken invariants. Configuration files that fail validation are reported by core's
 * `ConfigError` (code `CONFIG_INVALID`), not by a `BackupError`.
 */
export type BackupErrorCode =
  /** A backup run or one of its sources failed (a dump tool exited non-zero, a source stored nothing, …). */
  | 'BACKUP_FAILED'
  /** Stored data is damaged: a checksum or size mismatch, truncation, a bad format, an altered manifest. */
  | 'BACKUP_CORRUPT'
  /** An encrypted artifact cannot be decrypted: wrong or missing identity or passphrase. */
  | 'BACKUP_DECRYPT_FAILED'
  /** A backup, manifest or stored object does not exist. */
  | 'BACKUP_NOT_FOUND'
  /** Another run holds the job's lock. Retryable: the other run ends, or its lock goes stale. */
  | 'BACKUP_LOCKED'
  /** A restore could not complete (the target refused the data, a restore tool failed). */
  | 'RESTORE_FAILED'
  /** A files restore met an entry that would write outside the staging directory (absolute path, `..`, a link). */
  | 'RESTORE_UNSAFE_PATH'
  /** The storage refused an operation (permissions, full disk, an S3 error); `isRetryable` when retrying may help. */
  | 'STORAGE_FAILED'
  /** A pre or post hook failed, timed out or could not start. */
  | 'HOOK_FAILED'
  | Extract<OpsErrorCode, 'ARGUMENT_INVALID' | 'ABORTED' | 'LOCK_LOST' | 'INTERNAL'>;

/**
 * An error thrown by `@ops/backup`. `runBackup` and `verifyBackup` report a failed backup in the manifest or report
 * they resolve with; what they (and restores, storages, the CLI) throw is a `BackupError`.
 *
 * @example
 * ```ts
 * try { await restorePostgres({ storage, backup, target }) } catch (error) {
 *   if (BackupError.hasCode(error, 'BACKUP_CORRUPT')) alertOnCall('backup is damaged');
 *   else if (BackupError.isInstance(error) && error.isRetryable) retryLater();
 *   else throw error;
 * }
 * ```
 */
export class BackupError extends OpsError<BackupErrorCode> {
  constructor(code: BackupErrorCode, message: string, options: OpsErrorOptions = {}) {
    super(code, message, options);
  }
}
