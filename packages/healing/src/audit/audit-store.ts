/** What an audit record says happened. */
export type AuditKind =
  | 'episode.opened'
  | 'step.started'
  | 'step.completed'
  | 'verify.completed'
  | 'episode.escalated'
  | 'episode.closed'
  | 'action.skipped'
  | 'action.reverted'
  | 'rollback.completed';

/** Result of an action as audited: only `failed` and `timed-out` count as real failures. */
export type ActionResult = 'ok' | 'failed' | 'timed-out' | 'skipped' | 'would-run';

/**
 * One append-only audit record. Every record of an episode (trigger → ladder → outcome) carries its `episodeId`;
 * records outside an episode (a skip before one opened) have none.
 */
export interface AuditRecord {
  /** Epoch ms. */
  at: number;
  kind: AuditKind;
  rule: string;
  target: string;
  /** The healer instance that wrote the record. */
  instanceId: string;
  /** One id per episode (the trace id). */
  episodeId?: string;
  /** What the healer decided: `act`, `would-run` (dry-run), `skip`, `escalate`, `close`, `revert`, `rollback`. */
  decision?: string;
  /** Why (skip reasons: `paused`, `cooldown`, `backoff`, `lock-held`, `budget-exhausted`, `shared-cause`, …). */
  reason?: string;
  /** The trigger values (observed value, threshold, baseline, …). */
  trigger?: Record<string, unknown>;
  /** The lock the decision was taken under. */
  holder?: { owner: string; fencingToken: number };
  /** The step. */
  action?: { kind: string; name: string; step: number; run: number };
  result?: ActionResult;
  /** One line for humans. */
  detail?: string;
  /** Structured extras (redacted before they are stored). */
  data?: Record<string, unknown>;
  /** Verify outcome. */
  verify?: { passed: boolean; method: 'condition' | 'check'; detail?: string };
  /** Written by a dry-run healer or rule. */
  dryRun?: boolean;
}

/** A stored {@link AuditRecord} with the id its store gave it. */
export interface AuditEntry extends AuditRecord {
  id: string;
}

/** Filter of {@link AuditStore.list}. */
export interface AuditQuery {
  episodeId?: string;
  rule?: string;
  target?: string;
  /** Records at or after this epoch ms. */
  since?: number;
  /** At most this many, the newest (default 100). Returned oldest first. */
  limit?: number;
}

/**
 * Where audit records go: append-only (no update, no delete through this interface). In memory
 * ({@link createMemoryAuditStore}), a Redis stream (`createRedisAuditStore`) or a PostgreSQL table
 * (`createPostgresAuditStore`); all pass `auditStoreContract` from `@ops/healing/testing`.
 */
export interface AuditStore {
  /** Appends one record; resolves to its id. */
  append(record: AuditRecord): Promise<string>;
  /** Records matching `query`, oldest first (the newest `limit`). */
  list(query?: AuditQuery): Promise<AuditEntry[]>;
}

/** Whether `record` matches `query` (shared by the stores that filter in process). */
export function matchesAuditQuery(record: AuditRecord, query: AuditQuery): boolean {
  return (
    (query.episodeId === undefined || record.episodeId === query.episodeId) &&
    (query.rule === undefined || record.rule === query.rule) &&
    (query.target === undefined || record.target === query.target) &&
    (query.since === undefined || record.at >= query.since)
  );
}
