// @ops/backup/testing — in-memory fakes and the storage contract for users' tests.
export { createMemoryStorage } from './memory-storage.js';
export type { MemoryStorage, MemoryStorageOptions } from './memory-storage.js';
export { storageContract } from './storage-contract.js';
