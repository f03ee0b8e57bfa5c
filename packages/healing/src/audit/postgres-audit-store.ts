import { HealingError } from '../errors.js';
import type { AuditEntry, AuditQuery, AuditRecord, AuditStore } from './audit-store.js';
import type { PgPoolLike } from './pg-like.js';

/** Options of {@link createPostgresAuditStore}. */
export interface PostgresAuditStoreOptions {
  /** Your `pg` Pool (or anything with `query(text, values)`). */
  pool: PgPoolLike;
  /** Schema of the table. Default `'ops_healing'`. */
  schema?: string;
  /** Apply the package's migration on first use. Default `true`. */
  migrate?: boolean;
}

/** A {@link AuditStore} on PostgreSQL, with its migration. */
export interface PostgresAuditStore extends AuditStore {
  /** The schema in use. */
  readonly schema: string;
  /** Applies the migration now (idempotent; done on first use unless `migrate: false`). */
  migrate(): Promise<void>;
}

function quoteSchema(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new HealingError('ARGUMENT_INVALID', `schema must match [a-z_][a-z0-9_]*, got "${schema}"`);
  return `"${schema}"`;
}

/**
 * The migration: one table, append-only — a trigger refuses UPDATE, DELETE and TRUNCATE, so the trail cannot be
 * rewritten through SQL either (drop the trigger deliberately to prune).
 */
function migrationSql(s: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.audit_records (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  rule text NOT NULL,
  target text NOT NULL,
  instance_id text NOT NULL,
  episode_id text,
  record jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_records_episode ON ${s}.audit_records (episode_id) WHERE episode_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_records_rule_target ON ${s}.audit_records (rule, target, id DESC);
CREATE OR REPLACE FUNCTION ${s}.audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the healing audit trail is append-only (% refused)', TG_OP;
END $$;
DROP TRIGGER IF EXISTS audit_records_append_only ON ${s}.audit_records;
CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON ${s}.audit_records
  FOR EACH ROW EXECUTE FUNCTION ${s}.audit_records_append_only();
DROP TRIGGER IF EXISTS audit_records_no_truncate ON ${s}.audit_records;
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON ${s}.audit_records
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.audit_records_append_only();`;
}

/**
 * The {@link AuditStore} on PostgreSQL: its own append-only table (`<schema>.audit_records`, created by the
 * package's migration under an advisory lock on first use), the record as JSONB plus indexed columns for episode,
 * rule and target.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const audit = createPostgresAuditStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * const healer = createHealer({ rules, audit });
 * ```
 */
export function createPostgresAuditStore(options: PostgresAuditStoreOptions): PostgresAuditStore {
  const { pool, schema = 'ops_healing', migrate: autoMigrate = true } = options;
  if (!pool || typeof pool.query !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'createPostgresAuditStore: pool must be a pg Pool (with query())');
  const s = quoteSchema(schema);
  let ready: Promise<void> | undefined;
  const migrate = async () => {
    // One simple-protocol batch runs as one implicit transaction; the advisory lock makes replicas migrate once.
    await pool.query(
      `SELECT pg_advisory_xact_lock(hashtextextended('ops-healing:migrate:${schema}', 0));${migrationSql(s)}`,
    );
  };
  const ensure = () => {
    if (!autoMigrate) return Promise.resolve();
    ready ??= migrate().catch((error: unknown) => {
      ready = undefined;
      throw new HealingError(
        'STORE_UNAVAILABLE',
        `migrating the healing audit table failed: ${(error as Error).message}`,
        {
          cause: error,
          isRetryable: true,
        },
      );
    });
    return ready;
  };
  return {
    schema,
    migrate: async () => {
      ready = undefined;
      await migrate();
    },
    async append(record: AuditRecord) {
      await ensure();
      const result = await pool.query<{ id: string }>(
        `INSERT INTO ${s}.audit_records (at, kind, rule, target, instance_id, episode_id, record)
         VALUES (to_timestamp($1::double precision / 1000), $2, $3, $4, $5, $6, $7) RETURNING id`,
        [
          record.at,
          record.kind,
          record.rule,
          record.target,
          record.instanceId,
          record.episodeId ?? null,
          JSON.stringify(record),
        ],
      );
      return String(result.rows[0]!.id);
    },
    async list(query: AuditQuery = {}) {
      await ensure();
      const conditions: string[] = [];
      const values: unknown[] = [];
      const add = (sql: string, value: unknown) => {
        values.push(value);
        conditions.push(sql.replace('?', `$${values.length}`));
      };
      if (query.episodeId !== undefined) add('episode_id = ?', query.episodeId);
      if (query.rule !== undefined) add('rule = ?', query.rule);
      if (query.target !== undefined) add('target = ?', query.target);
      if (query.since !== undefined) add('at >= to_timestamp(?::double precision / 1000)', query.since);
      values.push(query.limit ?? 100);
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      const result = await pool.query<{ id: string; record: AuditRecord }>(
        `SELECT id, record FROM (SELECT id, record FROM ${s}.audit_records ${where} ORDER BY id DESC LIMIT $${values.length}) newest ORDER BY id`,
        values,
      );
      return result.rows.map((row): AuditEntry => ({ ...row.record, id: String(row.id) }));
    },
  };
}
