import { describe, it } from 'vitest';
import { runStoreContract } from '@ops/core/testing';
import { storageContract } from '../../testing/storage-contract.js';
import { useS3rver } from './s3-test-server.js';

const s3rver = useS3rver();
let cases = 0;

// One s3rver for the file; every case gets a fresh prefix in the bucket, so it starts empty.
runStoreContract(
  storageContract,
  {
    name: 's3 (s3rver over real HTTP)',
    create: () => ({
      store: s3rver.storage({ prefix: `contract/case-${++cases}` }),
      advance: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    }),
  },
  { describe, it },
);
