// @ops/backup — streamed, encrypted, verified, restorable backups of PostgreSQL, Redis and files.

// storage
export { createLocalStorage } from './storages/local-storage.js';
export type { LocalStorageOptions } from './storages/local-storage.js';
export { assertStorageKey } from './storages/storage-key.js';
export type { BackupStorage, StoredObject, StorageReadOptions, StorageWriteOptions } from './storages/storage.js';

// pipeline
export { createCompressStream, createDecompressStream, isZstdAvailable } from './pipeline/compression.js';
export type { CompressionAlgorithm, CompressionOptions } from './pipeline/compression.js';
export { writeArtifact, openArtifact, checkStoredArtifact } from './pipeline/artifact-pipeline.js';
export type { ArtifactRecord, EncryptionOptions, DecryptionOptions, WriteArtifactOptions, OpenArtifactOptions } from './pipeline/artifact-pipeline.js';

// manifest and catalog
export { backupManifestSchema, parseManifest, serializeManifest, verifiedLevel, manifestKey, MANIFEST_FORMAT_VERSION } from './manifest/manifest.js';
export type { BackupManifest, BackupState, SourceRecord, VerificationLevel, VerificationRecord } from './manifest/manifest.js';
export { listBackups, findBackup } from './catalog/catalog.js';
export type { BackupListing, UnreadableManifest } from './catalog/catalog.js';

// sources
export type { BackupSource, SourceContext, SourceOutcome } from './sources/source.js';
export { createPostgresSource } from './sources/postgres-source.js';
export type { PostgresSourceOptions, PostgresDumpFormat } from './sources/postgres-source.js';
export type { PostgresConnectionOptions } from './sources/postgres-connection.js';

// running
export { runBackup } from './jobs/run-backup.js';
export type { RunBackupOptions, BackupProgress, BackupRunObserver } from './jobs/run-backup.js';
export { cleanupLeftovers } from './jobs/cleanup-leftovers.js';

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
export { generateAgeIdentity, identityToRecipient } from './crypto/age-keys.js';
