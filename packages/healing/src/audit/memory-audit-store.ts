import type { AuditEntry, AuditQuery, AuditRecord, AuditStore } from './audit-store.js';
import { matchesAuditQuery } from './audit-store.js';

/** Options of {@link createMemoryAuditStore}. */
export interface MemoryAuditStoreOptions {
  /** Records kept; the oldest are dropped beyond it. Default 10,000. */
  maxRecords?: number;
}

/** An in-memory {@link AuditStore} that also exposes what it holds, for tests and `status` views. */
export interface MemoryAuditStore extends AuditStore {
  /** Every record kept, oldest first (copies). */
  records(): AuditEntry[];
}

/**
 * The in-memory {@link AuditStore} (the default of `createHealer`): append-only, bounded.
 *
 * @example
 * ```ts
 * const audit = createMemoryAuditStore();
 * const healer = createHealer({ rules, audit });
 * const trail = await audit.list({ episodeId });
 * ```
 */
export function createMemoryAuditStore(options: MemoryAuditStoreOptions = {}): MemoryAuditStore {
  const { maxRecords = 10_000 } = options;
  const entries: AuditEntry[] = [];
  let sequence = 0;
  return {
    async append(record: AuditRecord) {
      const id = String(++sequence);
      entries.push(structuredClone({ ...record, id }));
      if (entries.length > maxRecords) entries.splice(0, entries.length - maxRecords);
      return id;
    },
    async list(query: AuditQuery = {}) {
      const { limit = 100 } = query;
      const matching = entries.filter((entry) => matchesAuditQuery(entry, query));
      return structuredClone(matching.slice(Math.max(0, matching.length - limit)));
    },
    records: () => structuredClone(entries),
  };
}
