import { runStoreContract } from '@ops/core/testing';
import { describe, it } from 'vitest';
import { incidentStoreContract } from '../testing/incident-store-contract.js';
import { createMemoryIncidentStore } from './memory-incident-store.js';

runStoreContract(
  incidentStoreContract,
  { name: 'memory', create: () => ({ store: createMemoryIncidentStore(), advance: async () => {} }) },
  { describe, it },
);
