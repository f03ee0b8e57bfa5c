import { describe, it } from 'vitest';
import { createManualClock } from '@ops/core';
import { runStoreContract } from '@ops/core/testing';
import { tempDir } from '@ops/testkit';
import { createLocalStorage } from '../storages/local/local-storage.js';
import { createMemoryStorage } from './memory-storage.js';
import { storageContract } from './storage-contract.js';

// The S3 storage runs the same contract against s3rver in storages/s3/s3-storage-contract.int.test.ts.

runStoreContract(
  storageContract,
  {
    name: 'memory',
    create: () => {
      const clock = createManualClock();
      return { store: createMemoryStorage({ clock }), advance: (ms) => clock.advanceAsync(ms) };
    },
  },
  { describe, it },
);

runStoreContract(
  storageContract,
  {
    name: 'local (temporary directory)',
    create: async () => {
      const directory = await tempDir('backup-storage-contract');
      return {
        store: createLocalStorage({ directory: directory.path }),
        advance: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
        close: () => directory.dispose(),
      };
    },
  },
  { describe, it },
);
