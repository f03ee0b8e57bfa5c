import { createManualClock } from '@ops/core';
import { runStoreContract } from '@ops/core/testing';
import { describe, it } from 'vitest';
import { auditStoreContract } from '../testing/audit-store-contract.js';
import { healingStoreContract } from '../testing/healing-store-contract.js';
import { createMemoryAuditStore } from '../audit/memory-audit-store.js';
import { createMemoryHealingStore } from './memory-healing-store.js';

runStoreContract(
  healingStoreContract,
  {
    name: 'memory',
    create: () => {
      const clock = createManualClock();
      return { store: createMemoryHealingStore({ clock }), advance: (ms) => clock.advanceAsync(ms) };
    },
  },
  { describe, it },
);

runStoreContract(
  auditStoreContract,
  { name: 'memory', create: () => ({ store: createMemoryAuditStore(), advance: async () => undefined }) },
  { describe, it },
);
