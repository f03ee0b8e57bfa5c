import {
  formatBytes,
  humanizeDuration,
  parseDuration,
  systemClock,
  type Check,
  type Clock,
  type Duration,
} from '@ops/core';
import { newestBackups } from '../catalog/catalog.js';
import { meetsVerification, verifiedLevel, type VerificationLevel } from '../manifest/manifest.js';
import type { BackupStorage } from '../storages/storage.js';

/** Options of {@link backupFreshnessProbe}. */
export interface BackupFreshnessProbeOptions {
  /** Where the job's backups are (the catalog is read from it on every run). */
  storage: BackupStorage;
  /** The job whose backups count. */
  job: string;
  /** RPO: fail when the newest good backup completed longer ago than this. */
  maxAge: Duration;
  /** Warn (not fail) when older than this. Optional. */
  warnAge?: Duration;
  /** Fail when the newest good backup stored fewer bytes than this (Barman `last_backup_minimum_size`). */
  minSizeBytes?: number;
  /** Fail when the newest good backup is smaller than the previous good one by more than this ratio (0.5 = halved). */
  maxSizeDropRatio?: number;
  /** Verification a backup needs to count. Default `checksum`. */
  requiredVerification?: VerificationLevel;
  /** Source of time for the age. Default {@link systemClock}. */
  clock?: Clock;
}

/**
 * Options of {@link createBackupFreshnessCheck}.
 *
 * @deprecated Use {@link BackupFreshnessProbeOptions} (the same type).
 */
export type BackupFreshnessCheckOptions = BackupFreshnessProbeOptions;

/**
 * A {@link Check} for `@ops/health` that turns backup freshness into pass/warn/fail: RPO = now − completion time of
 * the newest completed backup that passed the required verification. Fails when that is older than `maxAge`, when
 * the backup is smaller than `minSizeBytes`, or when it shrank suddenly (`maxSizeDropRatio`) — the usual sign of a
 * dump that silently lost data. Reads the newest manifests from the storage on each run (a few, however many backups
 * are kept).
 *
 * @example
 * ```ts
 * health.register({
 *   name: 'backup-pg-main',
 *   critical: false,
 *   check: backupFreshnessProbe({ storage, job: 'pg-main', maxAge: '26h', minSizeBytes: 1_000_000, maxSizeDropRatio: 0.5 }),
 * });
 * ```
 */
export function backupFreshnessProbe(options: BackupFreshnessProbeOptions): Check {
  const {
    storage,
    job,
    minSizeBytes,
    maxSizeDropRatio,
    requiredVerification = 'checksum',
    clock = systemClock,
  } = options;
  const maxAgeMs = parseDuration(options.maxAge, 'maxAge');
  const warnAgeMs = options.warnAge === undefined ? undefined : parseDuration(options.warnAge, 'warnAge');
  return async (signal) => {
    signal.throwIfAborted();
    // The newest two good backups (the previous one for the size drop): a read or two, however many are kept.
    const { backups: good, listed } = await newestBackups({
      storage,
      job,
      count: 2,
      wanted: (backup) =>
        backup.state === 'completed' &&
        backup.completedAt !== undefined &&
        meetsVerification(verifiedLevel(backup), requiredVerification),
    });
    const newest = good[0];
    if (!newest?.completedAt) {
      return {
        status: 'fail',
        output: `no completed backup of ${job} verified at ${requiredVerification} level`,
        details: { job, backups: listed },
      };
    }
    const ageMs = clock.now() - Date.parse(newest.completedAt);
    const details = { job, backupId: newest.id, completedAt: newest.completedAt, storedBytes: newest.storedBytes };
    const observed = { observed: Math.round(ageMs / 1000), observedUnit: 's' };
    if (ageMs > maxAgeMs)
      return {
        status: 'fail',
        output: `newest good backup of ${job} is ${humanizeDuration(ageMs)} old (max ${humanizeDuration(maxAgeMs)})`,
        ...observed,
        details,
      };
    if (minSizeBytes !== undefined && newest.storedBytes < minSizeBytes) {
      return {
        status: 'fail',
        output: `newest good backup of ${job} is ${formatBytes(newest.storedBytes)}, below the minimum ${formatBytes(minSizeBytes)}`,
        ...observed,
        details,
      };
    }
    const previous = good[1];
    if (maxSizeDropRatio !== undefined && previous && previous.storedBytes > 0) {
      const drop = 1 - newest.storedBytes / previous.storedBytes;
      if (drop > maxSizeDropRatio) {
        return {
          status: 'fail',
          output: `newest good backup of ${job} shrank by ${(drop * 100).toFixed(0)}% (${formatBytes(previous.storedBytes)} → ${formatBytes(newest.storedBytes)})`,
          ...observed,
          details: { ...details, previousStoredBytes: previous.storedBytes },
        };
      }
    }
    if (warnAgeMs !== undefined && ageMs > warnAgeMs)
      return {
        status: 'warn',
        output: `newest good backup of ${job} is ${humanizeDuration(ageMs)} old`,
        ...observed,
        details,
      };
    return { status: 'pass', ...observed, details };
  };
}

/**
 * The backup freshness check.
 *
 * @deprecated Renamed {@link backupFreshnessProbe} (check factories are named `xProbe`); this is the same function.
 */
export const createBackupFreshnessCheck: (options: BackupFreshnessProbeOptions) => Check = backupFreshnessProbe;
