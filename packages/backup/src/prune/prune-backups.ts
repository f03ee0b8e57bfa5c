import { silentLogger, systemClock, type Clock, type Logger } from '@ops/core';
import { listBackups } from '../catalog/catalog.js';
import { acquireStorageLock, type StorageLockOptions } from '../lock/storage-lock.js';
import {
  lastVerificationFailed,
  manifestArtifacts,
  manifestKey,
  meetsVerification,
  verifiedLevel,
  type BackupManifest,
  type VerificationLevel,
} from '../manifest/manifest.js';
import { planRetention, type RetentionCandidate } from '../retention/plan-retention.js';
import type { RetentionPolicy } from '../retention/retention-policy.js';
import type { BackupStorage } from '../storages/storage.js';
import { BackupError } from '../errors.js';

/** Options of {@link pruneBackups}. */
export interface PruneBackupsOptions {
  storage: BackupStorage;
  job: string;
  policy: RetentionPolicy;
  /** Default `true`: only report what would be removed and why. */
  dryRun?: boolean;
  /** IANA zone whose calendar defines days, ISO weeks, months. Default `UTC`. */
  timeZone?: string;
  /** A backup counts as verified-good only with a passing verification at least this deep. Default `checksum`. */
  requiredVerification?: VerificationLevel;
  /** Lock settings (pruning takes the job's lock, so it never races a backup), or `false`. */
  lock?: false | Omit<StorageLockOptions, 'storage' | 'job' | 'clock' | 'logger'>;
  clock?: Clock;
  logger?: Logger;
}

/** One line of a prune report. */
export interface PruneDecision {
  id: string;
  state: BackupManifest['state'];
  startedAt: string;
  storedBytes: number;
  verified: 'ok' | 'failed' | 'unverified';
  /** Tags of the backup (set per run or job), as `keepTags` matched them. */
  tags: string[];
  action: 'keep' | 'remove';
  reasons: string[];
}

/** What {@link pruneBackups} decided (and did, unless dry run). */
export interface PruneReport {
  job: string;
  dryRun: boolean;
  decisions: PruneDecision[];
  /** Ids actually removed (empty on a dry run). */
  removed: string[];
  /** Bytes freed (or that would be freed). */
  freedBytes: number;
}

/** How retention sees a manifest's verification state. */
export function verificationState(
  manifest: BackupManifest,
  required: VerificationLevel,
): 'ok' | 'failed' | 'unverified' {
  if (lastVerificationFailed(manifest)) return 'failed';
  return meetsVerification(verifiedLevel(manifest), required) ? 'ok' : 'unverified';
}

/**
 * Deletes one backup safely: the manifest goes first, so no manifest ever points at deleted data (a reader either
 * sees a complete backup or none); the data objects follow. If deletion is interrupted, the data left without a
 * manifest is garbage that the next run of the job removes under its lock.
 */
export async function deleteBackup(storage: BackupStorage, manifest: BackupManifest): Promise<void> {
  await storage.delete(manifestKey(manifest.job, manifest.id));
  const keys = new Set(manifestArtifacts(manifest).map((artifact) => artifact.key));
  for await (const object of storage.list(`${manifest.job}/${manifest.id}/`)) keys.add(object.key);
  for (const key of keys) await storage.delete(key);
}

/**
 * Applies a retention policy (restic `forget` semantics plus safety rules — see the README) to the backups of a job.
 * A dry run (the default) returns the reason for every keep and remove; otherwise removals happen under the job's
 * lock, manifest first. Failed and partial backups never count as good and are cleaned by their own age rule.
 *
 * @example
 * ```ts
 * const report = await pruneBackups({ storage, job: 'pg-main', policy: { keepDaily: 7, keepWeekly: 4 }, dryRun: false });
 * ```
 */
export async function pruneBackups(options: PruneBackupsOptions): Promise<PruneReport> {
  const {
    storage,
    job,
    policy,
    dryRun = true,
    timeZone = 'UTC',
    requiredVerification = 'checksum',
    lock: lockOptions = {},
    clock = systemClock,
    logger = silentLogger,
  } = options;
  const lock =
    dryRun || lockOptions === false
      ? undefined
      : await acquireStorageLock({ ...lockOptions, storage, job, clock, logger });
  try {
    const { backups } = await listBackups({ storage, job });
    const byId = new Map(backups.map((backup) => [backup.id, backup]));
    const candidates: RetentionCandidate[] = backups.map((backup) => ({
      id: backup.id,
      time: Date.parse(backup.startedAt),
      state: backup.state,
      verified: verificationState(backup, requiredVerification),
      pinned: backup.pinned,
      tags: backup.tags,
    }));
    const plan = planRetention(candidates, policy, { now: clock.now(), timeZone });
    const decide =
      (action: 'keep' | 'remove') =>
      (decision: { id: string; reasons: string[] }): PruneDecision => {
        const backup = byId.get(decision.id);
        if (!backup) throw new BackupError('INTERNAL', `retention returned unknown backup ${decision.id}`);
        return {
          id: backup.id,
          state: backup.state,
          startedAt: backup.startedAt,
          storedBytes: backup.storedBytes,
          verified: verificationState(backup, requiredVerification),
          tags: backup.tags,
          action,
          reasons: decision.reasons,
        };
      };
    const decisions = [...plan.keep.map(decide('keep')), ...plan.remove.map(decide('remove'))].sort((a, b) =>
      a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : a.id < b.id ? 1 : -1,
    );
    const removed: string[] = [];
    let freedBytes = 0;
    for (const decision of decisions) {
      if (decision.action !== 'remove') continue;
      freedBytes += decision.storedBytes;
      if (dryRun) continue;
      if (lock?.lost) throw new BackupError('LOCK_LOST', `lost the lock of job ${job} while pruning; stopped`);
      await deleteBackup(storage, byId.get(decision.id) as BackupManifest);
      removed.push(decision.id);
      logger.info({ job, id: decision.id, reasons: decision.reasons }, 'backup removed by retention');
    }
    return { job, dryRun, decisions, removed, freedBytes };
  } finally {
    await lock?.release();
  }
}
