// @ops/backup — streamed, encrypted, verified, restorable backups of PostgreSQL, Redis and files.

// errors
export { BackupError } from './errors.js';
export type { BackupErrorCode } from './errors.js';

// storage
export { createS3Storage } from './storages/s3/s3-storage.js';
export type { S3StorageOptions, S3Storage, S3ClientLike } from './storages/s3/s3-storage.js';
export { createLocalStorage } from './storages/local/local-storage.js';
export type { LocalStorageOptions } from './storages/local/local-storage.js';
export { assertStorageKey } from './storages/storage-key.js';
export type {
  BackupStorage,
  StoredObject,
  StorageDigestOptions,
  StorageReadOptions,
  StorageWriteOptions,
} from './storages/storage.js';

// pipeline
export { createCompressStream, createDecompressStream, isZstdAvailable } from './pipeline/compression.js';
export type { CompressionAlgorithm, CompressionOptions } from './pipeline/compression.js';
export { writeArtifact, openArtifact, checkStoredArtifact } from './pipeline/artifact-pipeline.js';
export type {
  ArtifactRecord,
  ContentCompression,
  EncryptionOptions,
  DecryptionOptions,
  WriteArtifactOptions,
  OpenArtifactOptions,
} from './pipeline/artifact-pipeline.js';

// manifest and catalog
export {
  backupManifestSchema,
  parseManifest,
  serializeManifest,
  verifiedLevel,
  meetsVerification,
  manifestKey,
  MANIFEST_FORMAT_VERSION,
} from './manifest/manifest.js';
export type {
  BackupManifest,
  BackupState,
  SourceRecord,
  VerificationLevel,
  VerificationRecord,
} from './manifest/manifest.js';
export { listBackups, findBackup } from './catalog/catalog.js';
export type { BackupListing, UnreadableManifest } from './catalog/catalog.js';

// sources
export type { ArtifactWriteOptions, BackupSource, SourceContext, SourceOutcome } from './sources/source.js';
export { createPostgresSource } from './sources/postgres-source.js';
export type { PostgresSourceOptions, PostgresDumpFormat } from './sources/postgres-source.js';
export type { PostgresConnectionOptions } from './sources/postgres-connection.js';
export { createRedisSource } from './sources/redis/redis-source.js';
export type { RedisSourceOptions, RedisBackupMethod } from './sources/redis/redis-source.js';
export type { RedisClientLike, RedisPipelineLike } from './sources/redis/redis-client-like.js';
export { walkRdbStream } from './sources/redis/rdb-walker.js';
export type { RdbSummary, RdbDatabaseCounts, RdbWalkOptions } from './sources/redis/rdb-walker.js';
export { createFilesSource } from './sources/files-source.js';
export type { FilesSourceOptions, SymlinkPolicy } from './sources/files-source.js';

// verify and restore
export { verifyBackup } from './verify/verify-backup.js';
export type {
  VerifyBackupOptions,
  VerificationReport,
  ArtifactVerification,
  ScratchTargets,
} from './verify/verify-backup.js';
export { restorePostgres } from './restore/postgres-restore.js';
export type { RestorePostgresOptions } from './restore/postgres-restore.js';
export { restoreRedis } from './restore/redis-restore.js';
export type { RestoreRedisOptions, RedisRestoreSummary, RedisReplacePolicy } from './restore/redis-restore.js';
export { restoreFiles } from './restore/files-restore.js';
export type { RestoreFilesOptions } from './restore/files-restore.js';
export { extractTar } from './restore/tar-extract.js';
export type { ExtractTarOptions, ExtractSummary } from './restore/tar-extract.js';

// retention and prune
export { planRetention } from './retention/plan-retention.js';
export type {
  RetentionCandidate,
  RetentionDecision,
  RetentionPlan,
  PlanRetentionOptions,
} from './retention/plan-retention.js';
export { retentionPolicySchema } from './retention/retention-policy.js';
export type { RetentionPolicy } from './retention/retention-policy.js';
export { pruneBackups, deleteBackup } from './prune/prune-backups.js';
export type { PruneBackupsOptions, PruneReport, PruneDecision } from './prune/prune-backups.js';

// RPO: metrics and health check
export { createBackupMetrics } from './metrics/backup-metrics.js';
export type { BackupMetrics, BackupMetricsOptions } from './metrics/backup-metrics.js';
export { backupFreshnessProbe, createBackupFreshnessCheck } from './checks/backup-freshness-probe.js';
export type { BackupFreshnessProbeOptions, BackupFreshnessCheckOptions } from './checks/backup-freshness-probe.js';

// config and CLI
export { backupConfigSchema } from './config/config-schema.js';
export type { BackupConfig, BackupJobConfig } from './config/config-schema.js';
export { backupCli } from './cli/cli.js';

// running and events
export { runBackup } from './jobs/run-backup.js';
export type { RunBackupOptions, BackupProgress, BackupRunObserver } from './jobs/run-backup.js';
export type { BackupTiming, BackupTimingListener } from './jobs/run-timings.js';
export { createBackupEvents } from './events/backup-events.js';
export type { BackupEvents, BackupEventEmitter, BackupEventsOptions } from './events/backup-events.js';
export { cleanupLeftovers } from './jobs/cleanup-leftovers.js';
export { sweepStaleTemporaryDirectories } from './jobs/temporary-directories.js';
export type { SweepTemporaryDirectoriesOptions } from './jobs/temporary-directories.js';

// lock and hooks
export { acquireStorageLock, listLocks } from './lock/storage-lock.js';
export type { StorageLockOptions, HeldLock, LockRecord } from './lock/storage-lock.js';
export { runHook, runHooks } from './hooks/hooks.js';
export type { HookOptions, HookResult } from './hooks/hooks.js';

// encryption (age)
export { createAgeEncryptStream } from './crypto/age-encrypt-stream.js';
export type { AgeEncryptOptions } from './crypto/age-encrypt-stream.js';
export { createAgeDecryptStream } from './crypto/age-decrypt-stream.js';
export type { AgeDecryptOptions } from './crypto/age-decrypt-stream.js';
export {
  generateAgeIdentity,
  identityToRecipient,
  parseRecipient,
  parseIdentity,
  parseIdentityFile,
} from './crypto/age-keys.js';
export type { AgeRecipient, AgeIdentity } from './crypto/age-keys.js';
