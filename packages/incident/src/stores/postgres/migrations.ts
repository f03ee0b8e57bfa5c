import { IncidentError } from '../../errors.js';
import type { PgPoolLike } from './pg-like.js';

/** One schema migration shipped with the package. */
export interface IncidentMigration {
  version: number;
  name: string;
  /** SQL with `{schema}` standing for the quoted schema name. */
  sql: string;
}

/**
 * The schema of the PostgreSQL incident store, in order. Applied by {@link migrateIncidentSchema} (the store does it
 * on first use); each runs once, recorded in `{schema}.migrations`.
 */
export const INCIDENT_MIGRATIONS: readonly IncidentMigration[] = [
  {
    version: 1,
    name: 'incidents, alerts, timeline, postmortems, timers, counters',
    sql: `
CREATE TABLE {schema}.incidents (
  id text PRIMARY KEY,
  number bigint NOT NULL,
  service text NOT NULL,
  dedup_key text NOT NULL,
  title text NOT NULL,
  summary text NOT NULL,
  status text NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'mitigated', 'resolved', 'closed')),
  severity text NOT NULL,
  urgency text NOT NULL CHECK (urgency IN ('high', 'low')),
  source text NOT NULL,
  labels jsonb NOT NULL,
  triggered_at timestamptz NOT NULL,
  acknowledged_at timestamptz,
  mitigated_at timestamptz,
  resolved_at timestamptz,
  closed_at timestamptz,
  impact_started_at timestamptz,
  last_status_change_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  last_update_at timestamptz,
  occurrences bigint NOT NULL,
  reopen_count integer NOT NULL,
  resolve_reason text,
  escalation jsonb NOT NULL,
  roles jsonb NOT NULL,
  components jsonb NOT NULL,
  action_items jsonb NOT NULL,
  parent_id text,
  duplicate_of text,
  version integer NOT NULL
);
-- PagerDuty's "open alert only" dedup rule, enforced under concurrency: one open incident per (service, dedup key).
CREATE UNIQUE INDEX incidents_open_dedup_key ON {schema}.incidents (service, dedup_key) WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX incidents_dedup_key_latest ON {schema}.incidents (service, dedup_key, triggered_at DESC, number DESC);
CREATE INDEX incidents_triggered_at ON {schema}.incidents (triggered_at DESC);
CREATE INDEX incidents_open_status ON {schema}.incidents (status) WHERE status NOT IN ('resolved', 'closed');

CREATE TABLE {schema}.alerts (
  id uuid PRIMARY KEY,
  incident_id text NOT NULL REFERENCES {schema}.incidents (id),
  alert_key text NOT NULL,
  source text NOT NULL,
  dedup_key text NOT NULL,
  fingerprint text,
  status text NOT NULL CHECK (status IN ('firing', 'resolved')),
  severity text NOT NULL,
  summary text NOT NULL,
  labels jsonb NOT NULL,
  annotations jsonb NOT NULL,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz,
  generator_url text,
  raw jsonb,
  received_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  occurrences bigint NOT NULL,
  UNIQUE (incident_id, alert_key)
);

CREATE TABLE {schema}.timeline_events (
  sequence bigserial PRIMARY KEY,
  id uuid NOT NULL UNIQUE,
  incident_id text NOT NULL REFERENCES {schema}.incidents (id),
  at timestamptz NOT NULL,
  ended_at timestamptz,
  kind text NOT NULL,
  actor_type text NOT NULL,
  actor_id text NOT NULL,
  description text NOT NULL,
  details jsonb,
  pinned boolean,
  visibility text NOT NULL CHECK (visibility IN ('internal', 'public'))
);
CREATE INDEX timeline_events_incident ON {schema}.timeline_events (incident_id, sequence);
-- The timeline is append-only: updates and deletes are refused by the database itself.
CREATE FUNCTION {schema}.refuse_timeline_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the incident timeline is append-only';
END
$$;
CREATE TRIGGER timeline_events_append_only BEFORE UPDATE OR DELETE ON {schema}.timeline_events
  FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_timeline_change();

CREATE TABLE {schema}.postmortems (
  incident_id text PRIMARY KEY REFERENCES {schema}.incidents (id),
  status text NOT NULL CHECK (status IN ('draft', 'in_review', 'published')),
  sections jsonb NOT NULL,
  action_items jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  published_at timestamptz
);

CREATE TABLE {schema}.timers (
  incident_id text NOT NULL REFERENCES {schema}.incidents (id),
  kind text NOT NULL,
  due_at timestamptz NOT NULL,
  data jsonb NOT NULL,
  claimed_by text,
  claimed_until timestamptz,
  PRIMARY KEY (incident_id, kind)
);
CREATE INDEX timers_due_at ON {schema}.timers (due_at);

CREATE TABLE {schema}.counters (
  scope text PRIMARY KEY,
  value bigint NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'notification outbox',
    sql: `
CREATE TABLE {schema}.notification_outbox (
  id uuid PRIMARY KEY,
  incident_id text NOT NULL REFERENCES {schema}.incidents (id),
  target text NOT NULL,
  event text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts integer NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  last_error text,
  delivered_at timestamptz,
  claimed_by text,
  claimed_until timestamptz
);
CREATE INDEX notification_outbox_due ON {schema}.notification_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_outbox_incident ON {schema}.notification_outbox (incident_id, created_at);
`,
  },
  {
    version: 3,
    name: 'silences and maintenance windows',
    sql: `
CREATE TABLE {schema}.silences (
  id text PRIMARY KEY,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX silences_ends_at ON {schema}.silences (ends_at);
CREATE TABLE {schema}.maintenance_windows (
  id text PRIMARY KEY,
  created_at timestamptz NOT NULL,
  cancelled_at timestamptz,
  record jsonb NOT NULL
);
`,
  },
  {
    version: 4,
    name: 'batch read-ahead of ingest (functions, so their plans are cached per connection)',
    sql: `
-- Each key's open incident, else its latest, locked for update.
CREATE FUNCTION {schema}.prefetch_incidents(services text[], dedup_keys text[]) RETURNS SETOF {schema}.incidents
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT * FROM {schema}.incidents WHERE id IN (
    SELECT DISTINCT ON (service, dedup_key) id FROM {schema}.incidents
    WHERE (service, dedup_key) IN (SELECT * FROM unnest(services, dedup_keys))
    ORDER BY service, dedup_key, (status NOT IN ('resolved', 'closed')) DESC, triggered_at DESC, number DESC)
  FOR UPDATE;
END
$$;
-- The named alerts of the keys' open incidents.
CREATE FUNCTION {schema}.prefetch_alerts(services text[], dedup_keys text[], alert_keys text[]) RETURNS SETOF {schema}.alerts
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT a.* FROM {schema}.alerts a JOIN {schema}.incidents i ON i.id = a.incident_id
    WHERE i.status NOT IN ('resolved', 'closed')
      AND (i.service, i.dedup_key, a.alert_key) IN (SELECT * FROM unnest(services, dedup_keys, alert_keys));
END
$$;
-- As many incident numbers as keys without an open incident (the global counter first, as for one number: one lock
-- order), and then the silences and maintenance windows in force.
CREATE FUNCTION {schema}.take_incident_numbers(services text[], dedup_keys text[], day_scope text, in_force_at timestamptz,
  OUT wanted bigint, OUT number_end bigint, OUT day_end bigint, OUT silence_records json, OUT window_records json)
LANGUAGE plpgsql AS $$
BEGIN
  SELECT count(*) INTO wanted FROM unnest(services, dedup_keys) AS k(service, dedup_key)
    WHERE NOT EXISTS (SELECT 1 FROM {schema}.incidents i
      WHERE i.service = k.service AND i.dedup_key = k.dedup_key AND i.status NOT IN ('resolved', 'closed'));
  IF wanted = 0 THEN
    RETURN;
  END IF;
  INSERT INTO {schema}.counters AS c (scope, value) VALUES ('number', wanted)
    ON CONFLICT (scope) DO UPDATE SET value = c.value + EXCLUDED.value RETURNING c.value INTO number_end;
  INSERT INTO {schema}.counters AS c (scope, value) VALUES (day_scope, wanted)
    ON CONFLICT (scope) DO UPDATE SET value = c.value + EXCLUDED.value RETURNING c.value INTO day_end;
  SELECT coalesce(json_agg(s.record ORDER BY s.starts_at, s.created_at), '[]') INTO silence_records
    FROM {schema}.silences s WHERE s.ends_at > in_force_at;
  SELECT coalesce(json_agg(w.record ORDER BY w.created_at, w.id), '[]') INTO window_records
    FROM {schema}.maintenance_windows w WHERE w.cancelled_at IS NULL OR w.cancelled_at > in_force_at;
END
$$;
`,
  },
  {
    version: 5,
    name: 'batch read-ahead looks each key up by index (no scan of all incidents per batch)',
    sql: `
-- Version 4 joined the keys with the incidents table; the plan PostgreSQL caches for it hashed a scan of the whole
-- table on every call while the table was small enough, then kept it. Key by key, each lookup is one index probe.
CREATE OR REPLACE FUNCTION {schema}.prefetch_incidents(services text[], dedup_keys text[]) RETURNS SETOF {schema}.incidents
LANGUAGE plpgsql AS $$
DECLARE
  found_row {schema}.incidents;
BEGIN
  FOR k IN 1 .. coalesce(array_length(services, 1), 0) LOOP
    SELECT * INTO found_row FROM {schema}.incidents
      WHERE service = services[k] AND dedup_key = dedup_keys[k] AND status NOT IN ('resolved', 'closed')
      FOR UPDATE;
    IF NOT FOUND THEN
      SELECT * INTO found_row FROM {schema}.incidents
        WHERE service = services[k] AND dedup_key = dedup_keys[k]
        ORDER BY triggered_at DESC, number DESC LIMIT 1 FOR UPDATE;
    END IF;
    IF FOUND THEN
      RETURN NEXT found_row;
    END IF;
  END LOOP;
END
$$;
CREATE OR REPLACE FUNCTION {schema}.prefetch_alerts(services text[], dedup_keys text[], alert_keys text[]) RETURNS SETOF {schema}.alerts
LANGUAGE plpgsql AS $$
BEGIN
  FOR k IN 1 .. coalesce(array_length(services, 1), 0) LOOP
    RETURN QUERY SELECT a.* FROM {schema}.incidents i
      JOIN {schema}.alerts a ON a.incident_id = i.id AND a.alert_key = alert_keys[k]
      WHERE i.service = services[k] AND i.dedup_key = dedup_keys[k] AND i.status NOT IN ('resolved', 'closed');
  END LOOP;
END
$$;
CREATE OR REPLACE FUNCTION {schema}.take_incident_numbers(services text[], dedup_keys text[], day_scope text, in_force_at timestamptz,
  OUT wanted bigint, OUT number_end bigint, OUT day_end bigint, OUT silence_records json, OUT window_records json)
LANGUAGE plpgsql AS $$
BEGIN
  wanted := 0;
  FOR k IN 1 .. coalesce(array_length(services, 1), 0) LOOP
    PERFORM FROM {schema}.incidents
      WHERE service = services[k] AND dedup_key = dedup_keys[k] AND status NOT IN ('resolved', 'closed');
    IF NOT FOUND THEN
      wanted := wanted + 1;
    END IF;
  END LOOP;
  IF wanted = 0 THEN
    RETURN;
  END IF;
  INSERT INTO {schema}.counters AS c (scope, value) VALUES ('number', wanted)
    ON CONFLICT (scope) DO UPDATE SET value = c.value + EXCLUDED.value RETURNING c.value INTO number_end;
  INSERT INTO {schema}.counters AS c (scope, value) VALUES (day_scope, wanted)
    ON CONFLICT (scope) DO UPDATE SET value = c.value + EXCLUDED.value RETURNING c.value INTO day_end;
  SELECT coalesce(json_agg(s.record ORDER BY s.starts_at, s.created_at), '[]') INTO silence_records
    FROM {schema}.silences s WHERE s.ends_at > in_force_at;
  SELECT coalesce(json_agg(w.record ORDER BY w.created_at, w.id), '[]') INTO window_records
    FROM {schema}.maintenance_windows w WHERE w.cancelled_at IS NULL OR w.cancelled_at > in_force_at;
END
$$;
`,
  },
  {
    version: 6,
    name: 'durable ingest inbox (inbox mode)',
    sql: `
-- Alert events accepted in inbox mode and not applied yet, in arrival order (json keeps them as sent).
CREATE TABLE {schema}.ingest_inbox (
  id bigserial PRIMARY KEY,
  queued_at timestamptz NOT NULL DEFAULT now(),
  entry json NOT NULL
);
`,
  },
];

/** Quotes a schema name for SQL, refusing anything but a plain identifier. */
export function quoteSchema(schema: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new IncidentError(
      'ARGUMENT_INVALID',
      `schema must be a plain identifier (letters, digits, "_", at most 63), got ${JSON.stringify(schema)}`,
    );
  }
  return `"${schema}"`;
}

/**
 * Applies the shipped migrations that `schema` lacks, in one transaction, under an advisory lock (so replicas starting
 * together apply them once). Returns the versions applied.
 *
 * @example
 * ```ts
 * await migrateIncidentSchema(pool); // e.g. in a deploy step; the store also does it on first use
 * ```
 */
export async function migrateIncidentSchema(pool: PgPoolLike, options: { schema?: string } = {}): Promise<number[]> {
  const schema = options.schema ?? 'ops_incident';
  const quoted = quoteSchema(schema);
  let client: Awaited<ReturnType<PgPoolLike['connect']>>;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new IncidentError(
      'STORE_FAILED',
      `migrating the incident schema ${schema}: cannot connect: ${(error as Error).message}`,
      { cause: error, isRetryable: true },
    );
  }
  let failed = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`ops-incident:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const applied = new Set(
      (await client.query<{ version: number }>(`SELECT version FROM ${quoted}.migrations`)).rows.map((row) =>
        Number(row.version),
      ),
    );
    const known = Math.max(...INCIDENT_MIGRATIONS.map((migration) => migration.version));
    const newest = Math.max(0, ...applied);
    if (newest > known) {
      throw new IncidentError(
        'STORE_FAILED',
        `schema ${schema} is at migration ${newest}, newer than this @ops/incident knows (${known}); upgrade the package`,
      );
    }
    const done: number[] = [];
    for (const migration of INCIDENT_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql.replaceAll('{schema}', quoted));
      await client.query(`INSERT INTO ${quoted}.migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      done.push(migration.version);
    }
    await client.query('COMMIT');
    return done;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      failed = true;
    });
    if (IncidentError.isInstance(error)) throw error;
    throw new IncidentError(
      'STORE_FAILED',
      `migrating the incident schema ${schema} failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    client.release(failed);
  }
}
