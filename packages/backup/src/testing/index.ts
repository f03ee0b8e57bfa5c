// @ops/backup/testing — in-memory fakes for users' tests.
export { createMemoryStorage } from './memory-storage.js';
export type { MemoryStorage, MemoryStorageOptions } from './memory-storage.js';
