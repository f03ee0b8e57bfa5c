import { IncidentError } from '../../errors.js';
import type {
  Incident,
  IncidentAlert,
  IncidentTimer,
  NotificationRecord,
  Postmortem,
  TimelineEvent,
  TimerKind,
} from '../../model/records.js';
import type { MaintenanceWindow, Silence } from '../../suppression/suppression.js';
import type { IncidentQuery, IncidentStore, IncidentTransaction } from '../incident-store.js';
import { normaliseLimit } from '../query.js';
import { migrateIncidentSchema, quoteSchema } from './migrations.js';
import type { PgClientLike, PgPoolLike, PgQueryable } from './pg-like.js';

/** Options of {@link createPostgresIncidentStore}. */
export interface PostgresIncidentStoreOptions {
  /** Your `pg` `Pool` (the store never ends it). */
  pool: PgPoolLike;
  /** Schema of the tables. Default `'ops_incident'`. */
  schema?: string;
  /** Apply the shipped migrations on first use. Default `true`. */
  migrate?: boolean;
}

/** The PostgreSQL {@link IncidentStore}, with its migrations. */
export interface PostgresIncidentStore extends IncidentStore {
  /** The schema in use. */
  readonly schema: string;
  /** Applies missing migrations now (otherwise done on first use); returns the versions applied. */
  migrate(): Promise<number[]>;
}

const OPEN = `status NOT IN ('resolved', 'closed')`;
const INCIDENT_COLUMNS = `id, number, service, dedup_key, title, summary, status, severity, urgency, source, labels, triggered_at, acknowledged_at,
  mitigated_at, resolved_at, closed_at, impact_started_at, last_status_change_at, last_seen_at, last_update_at, occurrences, reopen_count,
  resolve_reason, escalation, roles, components, action_items, parent_id, duplicate_of, version`;

type Row = Record<string, unknown>;

const date = (ms: number | undefined): Date | null => (ms === undefined ? null : new Date(ms));
const ms = (value: unknown): number | undefined =>
  value === null || value === undefined ? undefined : (value as Date).getTime();
const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const PLAIN_TEXT = /^[^'\\]*$/;
const quote = (text: string): string =>
  PLAIN_TEXT.test(text) ? `'${text}'` : `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
/** A value as an SQL literal, typed by context like an untyped parameter (`E'…'` escapes, so any setting of
 * standard_conforming_strings reads it the same). */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  // Plain quotes when nothing needs escaping (numbers, dates, most text): the same value whatever the settings.
  if (typeof value === 'number') return `'${value}'`;
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (Array.isArray(value))
    return quote(
      `{${value.map((entry) => (entry === null || entry === undefined ? 'NULL' : `"${String(entry).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)).join(',')}}`,
    );
  if (typeof value === 'object') return quote(JSON.stringify(value));
  return quote(String(value));
}

/** `text` with its `$n` parameters replaced by literals (for statements batched into one simple-protocol round trip). */
function inline(text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, index: string) => literal(values[Number(index) - 1]));
}

/** Statements batched before a flush is forced (a storm's thousands of alert upserts go in a few round trips). */
const MAX_BATCHED_STATEMENTS = 500;
const MAX_BATCHED_CHARACTERS = 4 * 1024 * 1024;
/** Rows of one multi-row statement at most (a storm's alerts go in statements of this many rows). */
const MAX_GROUP_ROWS = 1000;

const optional = <K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } =>
  (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

function incidentParameters(incident: Incident): unknown[] {
  return [
    incident.id,
    incident.number,
    incident.service,
    incident.dedupKey,
    incident.title,
    incident.summary,
    incident.status,
    incident.severity,
    incident.urgency,
    incident.source,
    json(incident.labels),
    date(incident.triggeredAt),
    date(incident.acknowledgedAt),
    date(incident.mitigatedAt),
    date(incident.resolvedAt),
    date(incident.closedAt),
    date(incident.impactStartedAt),
    date(incident.lastStatusChangeAt),
    date(incident.lastSeenAt),
    date(incident.lastUpdateAt),
    incident.occurrences,
    incident.reopenCount,
    incident.resolveReason ?? null,
    json(incident.escalation),
    json(incident.roles),
    json(incident.components),
    json(incident.actionItems),
    incident.parentId ?? null,
    incident.duplicateOf ?? null,
    incident.version,
  ];
}

/** The SQL type of each column of INCIDENT_COLUMNS, in order (for the casts of a batched `UPDATE … FROM (VALUES …)`). */
const INCIDENT_TYPES = `
  text bigint text text text text text text text text jsonb timestamptz timestamptz timestamptz timestamptz
  timestamptz timestamptz timestamptz timestamptz timestamptz bigint integer text jsonb jsonb jsonb jsonb text
  text integer
`
  .trim()
  .split(/\s+/);
const INCIDENT_COLUMN_NAMES = INCIDENT_COLUMNS.split(',').map((column) => column.trim());
const ALERT_COLUMN_NAMES = `
  id incident_id alert_key source dedup_key fingerprint status severity summary labels annotations starts_at
  ends_at generator_url raw received_at last_seen_at occurrences
`
  .trim()
  .split(/\s+/);
const ALERT_TYPES = `
  uuid text text text text text text text text jsonb jsonb timestamptz timestamptz text jsonb timestamptz
  timestamptz bigint
`
  .trim()
  .split(/\s+/);

function alertParameters(alert: IncidentAlert): unknown[] {
  return [
    alert.id,
    alert.incidentId,
    alert.alertKey,
    alert.source,
    alert.dedupKey,
    alert.fingerprint ?? null,
    alert.status,
    alert.severity,
    alert.summary,
    json(alert.labels),
    json(alert.annotations),
    date(alert.startsAt),
    date(alert.endsAt),
    alert.generatorUrl ?? null,
    json(alert.raw),
    date(alert.receivedAt),
    date(alert.lastSeenAt),
    alert.occurrences,
  ];
}

/** Whether two column values of the parameter arrays above are the same (dates by their instant). */
const sameValue = (a: unknown, b: unknown): boolean =>
  a === b || (a instanceof Date && b instanceof Date && a.getTime() === b.getTime());

/** Columns a unique index reads (its key or its predicate), as `table.column`. */
const UNIQUE_INPUTS = new Set([
  'incidents.service',
  'incidents.dedup_key',
  'incidents.status',
  'alerts.incident_id',
  'alerts.alert_key',
]);

/** A tuple of literals, for a multi-row `VALUES`. */
const tuple = (values: readonly unknown[]): string => `(${values.map(literal).join(', ')})`;

function toIncident(row: Row): Incident {
  return {
    id: row['id'] as string,
    number: Number(row['number']),
    service: row['service'] as string,
    title: row['title'] as string,
    summary: row['summary'] as string,
    dedupKey: row['dedup_key'] as string,
    status: row['status'] as Incident['status'],
    severity: row['severity'] as string,
    urgency: row['urgency'] as Incident['urgency'],
    source: row['source'] as string,
    labels: row['labels'] as Record<string, string>,
    triggeredAt: ms(row['triggered_at'])!,
    ...optional('acknowledgedAt', ms(row['acknowledged_at'])),
    ...optional('mitigatedAt', ms(row['mitigated_at'])),
    ...optional('resolvedAt', ms(row['resolved_at'])),
    ...optional('closedAt', ms(row['closed_at'])),
    ...optional('impactStartedAt', ms(row['impact_started_at'])),
    lastStatusChangeAt: ms(row['last_status_change_at'])!,
    lastSeenAt: ms(row['last_seen_at'])!,
    occurrences: Number(row['occurrences']),
    reopenCount: Number(row['reopen_count']),
    ...optional('resolveReason', row['resolve_reason'] as Incident['resolveReason'] | null),
    escalation: row['escalation'] as Incident['escalation'],
    roles: row['roles'] as Incident['roles'],
    components: row['components'] as Incident['components'],
    actionItems: row['action_items'] as Incident['actionItems'],
    ...optional('parentId', row['parent_id'] as string | null),
    ...optional('duplicateOf', row['duplicate_of'] as string | null),
    ...optional('lastUpdateAt', ms(row['last_update_at'])),
    version: Number(row['version']),
  };
}

function toAlert(row: Row): IncidentAlert {
  return {
    id: row['id'] as string,
    incidentId: row['incident_id'] as string,
    source: row['source'] as string,
    dedupKey: row['dedup_key'] as string,
    alertKey: row['alert_key'] as string,
    ...optional('fingerprint', row['fingerprint'] as string | null),
    status: row['status'] as IncidentAlert['status'],
    severity: row['severity'] as string,
    summary: row['summary'] as string,
    labels: row['labels'] as Record<string, string>,
    annotations: row['annotations'] as Record<string, string>,
    startsAt: ms(row['starts_at'])!,
    ...optional('endsAt', ms(row['ends_at'])),
    ...optional('generatorUrl', row['generator_url'] as string | null),
    ...optional('raw', row['raw']),
    receivedAt: ms(row['received_at'])!,
    lastSeenAt: ms(row['last_seen_at'])!,
    occurrences: Number(row['occurrences']),
  };
}

function toTimelineEvent(row: Row): TimelineEvent {
  return {
    id: row['id'] as string,
    incidentId: row['incident_id'] as string,
    sequence: Number(row['sequence']),
    at: ms(row['at'])!,
    ...optional('endedAt', ms(row['ended_at'])),
    kind: row['kind'] as TimelineEvent['kind'],
    actor: { type: row['actor_type'] as TimelineEvent['actor']['type'], id: row['actor_id'] as string },
    description: row['description'] as string,
    ...optional('details', row['details']),
    ...optional('pinned', row['pinned'] as boolean | null),
    visibility: row['visibility'] as TimelineEvent['visibility'],
  };
}

function toPostmortem(row: Row): Postmortem {
  return {
    incidentId: row['incident_id'] as string,
    status: row['status'] as Postmortem['status'],
    sections: row['sections'] as Postmortem['sections'],
    actionItems: row['action_items'] as Postmortem['actionItems'],
    createdAt: ms(row['created_at'])!,
    updatedAt: ms(row['updated_at'])!,
    ...optional('publishedAt', ms(row['published_at'])),
  };
}

function toTimer(row: Row): IncidentTimer {
  return {
    incidentId: row['incident_id'] as string,
    kind: row['kind'] as TimerKind,
    dueAt: ms(row['due_at'])!,
    data: row['data'] as Record<string, unknown>,
    ...optional('claimedBy', row['claimed_by'] as string | null),
    ...optional('claimedUntil', ms(row['claimed_until'])),
  };
}

function toNotification(row: Row): NotificationRecord {
  return {
    id: row['id'] as string,
    incidentId: row['incident_id'] as string,
    target: row['target'] as string,
    event: row['event'] as NotificationRecord['event'],
    payload: row['payload'] as NotificationRecord['payload'],
    status: row['status'] as NotificationRecord['status'],
    attempts: Number(row['attempts']),
    nextAttemptAt: ms(row['next_attempt_at'])!,
    createdAt: ms(row['created_at'])!,
    ...optional('lastError', row['last_error'] as string | null),
    ...optional('deliveredAt', ms(row['delivered_at'])),
    ...optional('claimedBy', row['claimed_by'] as string | null),
    ...optional('claimedUntil', ms(row['claimed_until'])),
  };
}

const CONFLICT_CODES = new Set(['23505', '40001', '40P01']);
const CONNECTION_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
]);

/** Maps a `pg` error to an {@link IncidentError}: races become retryable `STORE_CONFLICT`s. */
function storeError(error: unknown, what: string): IncidentError {
  if (IncidentError.isInstance(error)) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message ?? String(error);
  // The guard of a batched UPDATE (1 / rows updated) divides by zero when the incident does not exist.
  if (code === '22012') return new IncidentError('INCIDENT_NOT_FOUND', `${what}: an updated incident does not exist`);
  if (CONFLICT_CODES.has(code)) {
    return new IncidentError(
      'STORE_CONFLICT',
      `${what}: ${code === '23505' ? 'an open incident for that dedup key or id already exists' : 'lost a race with a concurrent transaction'} (${message})`,
      {
        cause: error,
        isRetryable: true,
      },
    );
  }
  return new IncidentError('STORE_FAILED', `${what} failed: ${message}`, {
    cause: error,
    isRetryable: CONNECTION_CODES.has(code),
  });
}

/**
 * Creates the PostgreSQL {@link IncidentStore} on your `pg` pool: tables in their own schema (`ops_incident` by
 * default), migrations shipped and applied on first use, a partial unique index for one open incident per (service,
 * dedup key), an append-only timeline enforced by a trigger, and timers claimed with `FOR UPDATE SKIP LOCKED` — so
 * any number of replicas share one set of incidents.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const incidents = createIncidentManager({ store: createPostgresIncidentStore({ pool }) });
 * ```
 */
export function createPostgresIncidentStore(options: PostgresIncidentStoreOptions): PostgresIncidentStore {
  const { pool, schema = 'ops_incident', migrate = true } = options;
  if (!pool || typeof pool.connect !== 'function' || typeof pool.query !== 'function') {
    throw new IncidentError(
      'ARGUMENT_INVALID',
      'createPostgresIncidentStore: pool must be a pg Pool (with connect() and query())',
    );
  }
  const s = quoteSchema(schema);
  let ready: Promise<unknown> | undefined;
  let closed = false;
  const ensureReady = async () => {
    if (closed) throw new IncidentError('STORE_FAILED', 'the PostgreSQL incident store is closed');
    if (!migrate) return;
    ready ??= migrateIncidentSchema(pool, { schema }).catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    await ready;
  };
  const query = async <R = Row>(client: PgQueryable, text: string, values: unknown[], what: string): Promise<R[]> => {
    try {
      return (await client.query<R>(text, values)).rows;
    } catch (error) {
      throw storeError(error, what);
    }
  };
  const read = async <R = Row>(text: string, values: unknown[], what: string): Promise<R[]> => {
    await ensureReady();
    return query<R>(pool, text, values, what);
  };

  const silencesOn = async (client: PgQueryable, endsAfter: number | undefined): Promise<Silence[]> => {
    const rows =
      endsAfter === undefined
        ? await query<{ record: Silence }>(
            client,
            `SELECT record FROM ${s}.silences ORDER BY starts_at, created_at`,
            [],
            'list silences',
          )
        : await query<{ record: Silence }>(
            client,
            `SELECT record FROM ${s}.silences WHERE ends_at > $1 ORDER BY starts_at, created_at`,
            [new Date(endsAfter)],
            'list silences',
          );
    return rows
      .map((row) => row.record)
      .filter(
        (silence) => endsAfter === undefined || Math.min(silence.endsAt, silence.expiredAt ?? Infinity) > endsAfter,
      );
  };
  const windowsOn = async (client: PgQueryable, activeAfter: number | undefined): Promise<MaintenanceWindow[]> => {
    const rows =
      activeAfter === undefined
        ? await query<{ record: MaintenanceWindow }>(
            client,
            `SELECT record FROM ${s}.maintenance_windows ORDER BY created_at, id`,
            [],
            'list maintenance windows',
          )
        : await query<{ record: MaintenanceWindow }>(
            client,
            `SELECT record FROM ${s}.maintenance_windows WHERE cancelled_at IS NULL OR cancelled_at > $1 ORDER BY created_at, id`,
            [new Date(activeAfter)],
            'list maintenance windows',
          );
    return rows.map((row) => row.record);
  };

  /**
   * A transaction that saves round trips: `BEGIN`, locks and writes whose results are not needed are batched and sent
   * with the next read (one simple-protocol query of several statements, each with its own snapshot, in order) or
   * with the `COMMIT`. `prefetch` reads what a batch of alert events will look up in one such round trip and takes the
   * numbers of the incidents it may create at its end, so the per-day counter's row is locked from there to the
   * commit only (numbers not handed out are given back just before `COMMIT`: no gaps). An error anywhere in a batch
   * aborts the transaction as before.
   */
  const transactionOn = (client: PgClientLike) => {
    /** A statement waiting to be sent: `onRows` receives its rows; `lockKeys` makes it one lock of several keys. */
    interface Pending {
      sql: string;
      onRows?: (rows: Row[]) => void;
      lockKeys?: string[];
      group?: RowGroup;
    }
    /**
     * Rows written by one statement: writes of the same kind (an incident's insert, its alert, its timers, its
     * outbox rows, the changed columns of several incidents) are sent as one multi-row statement instead of one each.
     */
    interface RowGroup {
      /** Writes of the same kind join one group: the table, the statement and, for updates, the columns set. */
      kind: string;
      table: string;
      /** The rows reference incidents (they never move before a write of `incidents`). */
      child: boolean;
      /** Conflict keys of the rows (a statement may not touch one row twice). */
      keys: Set<string>;
      tuples: string[];
      build: (tuples: readonly string[]) => string;
    }
    const pending: Pending[] = [{ sql: 'BEGIN' }];
    let pendingCharacters = 0;
    let begun = false;
    let committed = false;
    // The keys in the given order (the caller's global order, so concurrent transactions never deadlock).
    const sqlOf = (entry: Pending) =>
      entry.lockKeys
        ? inline('SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest($1::text[]) AS key', [
            entry.lockKeys,
          ])
        : entry.group
          ? entry.group.build(entry.group.tuples)
          : entry.sql;
    const takePending = () => {
      pendingCharacters = 0;
      return pending.splice(0);
    };
    /** Sends statements in one round trip; returns the rows of each. */
    const send = async (entries: Pending[], what: string): Promise<Row[][]> => {
      begun ||= entries[0]?.sql === 'BEGIN';
      let result: unknown;
      try {
        result = await client.query(entries.map(sqlOf).join(';\n'));
      } catch (error) {
        throw storeError(error, what);
      }
      const rows = (Array.isArray(result) ? result : [result]).map((entry: { rows?: Row[] }) => entry.rows ?? []);
      entries.forEach((entry, index) => entry.onRows?.(rows[index] ?? []));
      return rows;
    };
    // Alerts fetched with the open incident (prefetchAlerts, prefetch): incident id → alert key → row (null: none).
    const alertCache = new Map<string, Map<string, Row | null>>();
    let prefetch: { statement: string; alertKeys: readonly string[] } | undefined;
    // Read ahead by prefetch: (service, dedup key) → its open incident, else its latest (null: none), locked.
    const incidentCache = new Map<string, { row: Row; open: boolean } | null>();
    const cacheKey = (service: string, dedupKey: string) => `${service}\u0000${dedupKey}`;
    let suppressions: { at: number; silences: Silence[]; windows: MaintenanceWindow[] } | undefined;
    // Incident numbers taken ahead by prefetch and not handed out yet.
    let reserved: { dayKey: string; number: number; daySequence: number; left: number } | undefined;
    /** Gives back the numbers taken ahead and not handed out (the rows are still locked by this transaction). */
    const giveBack = (): Pending[] => {
      const left = reserved?.left ?? 0;
      const dayKey = reserved?.dayKey;
      reserved = undefined;
      if (left === 0 || dayKey === undefined) return [];
      return [
        {
          sql: inline(`UPDATE ${s}.counters SET value = value - $1 WHERE scope = 'number' OR scope = $2`, [
            left,
            `day:${dayKey}`,
          ]),
        },
      ];
    };
    const q = async <R = Row>(text: string, values: unknown[], what: string): Promise<R[]> => {
      if (pending.length === 0 && !prefetch) return query<R>(client, text, values, what);
      const entries = takePending();
      const extra = prefetch;
      prefetch = undefined;
      entries.push({ sql: inline(text, values) });
      // The main statement first, then the alerts of the incident it locked (one round trip, in order).
      if (extra) entries.push({ sql: extra.statement });
      const results = await send(entries, what);
      if (!extra) return (results[results.length - 1] ?? []) as R[];
      const rows = (results[results.length - 2] ?? []) as R[];
      const found = results[results.length - 1] ?? [];
      const incidentId = (rows[0] as Row | undefined)?.['id'] as string | undefined;
      if (incidentId !== undefined) {
        const byKey = new Map<string, Row | null>(extra.alertKeys.map((key) => [key, null]));
        for (const row of found) byKey.set(row['alert_key'] as string, row);
        alertCache.set(incidentId, byKey);
      }
      return rows;
    };
    /**
     * Defers one row of a {@link RowGroup}: it joins the latest group of its kind when the statements it would move
     * before touch other tables (and, for a row referencing an incident, no incident), so every write keeps its order
     * relative to the writes it depends on; otherwise it starts a new group at the end.
     */
    const deferRow = async (
      spec: Omit<RowGroup, 'keys' | 'tuples'>,
      key: string,
      row: string,
      what: string,
    ): Promise<void> => {
      let target: RowGroup | undefined;
      for (let index = pending.length - 1; index >= 0; index--) {
        const group = pending[index]!.group;
        if (!group) break; // a statement of its own: nothing moves before it
        if (group.kind === spec.kind) {
          if (!group.keys.has(key) && group.tuples.length < MAX_GROUP_ROWS) target = group;
          break;
        }
        if (group.table === spec.table || (spec.child && group.table === 'incidents')) break;
      }
      if (target) {
        target.keys.add(key);
        target.tuples.push(row);
      } else pending.push({ sql: '', group: { ...spec, keys: new Set([key]), tuples: [row] } });
      pendingCharacters += row.length;
      if (pending.length >= MAX_BATCHED_STATEMENTS || pendingCharacters >= MAX_BATCHED_CHARACTERS)
        await send(takePending(), what);
    };
    /** The state of each incident and alert row as this transaction last read (locked) or wrote it. */
    const incidentRows = new Map<string, unknown[]>();
    const alertRows = new Map<string, unknown[]>();
    const alertRowKey = (incidentId: string, alertKey: string) => `${incidentId}\u0000${alertKey}`;
    const lockedIncident = (row: Row): Incident => {
      const incident = toIncident(row);
      incidentRows.set(incident.id, incidentParameters(incident));
      return incident;
    };
    /**
     * Defers an update of the columns of `after` that differ from `before` (all when `before` is unknown), keyed by
     * the first column. Updates of the same columns share one `UPDATE … FROM (VALUES …)`; it fails the transaction
     * when a row is missing, as a single update would.
     */
    let aloneStatements = 0;
    const deferUpdate = async (
      table: 'incidents' | 'alerts',
      names: readonly string[],
      types: readonly string[],
      before: readonly unknown[] | undefined,
      after: readonly unknown[],
      firstColumn: number,
      what: string,
    ): Promise<void> => {
      const changed: number[] = [];
      for (let index = firstColumn; index < after.length; index++)
        if (!before || !sameValue(before[index], after[index])) changed.push(index);
      if (changed.length === 0) return;
      const columns = changed.map((index) => names[index]!);
      // PostgreSQL checks a unique index row by row within one statement, in no set order: an update that may free a
      // (service, dedup key) for another row's update (a resolve, a reopen) keeps a statement of its own.
      const alone = columns.some((column) => UNIQUE_INPUTS.has(`${table}.${column}`));
      const update = (tuples: readonly string[]) =>
        `UPDATE ${s}.${table} AS t SET ${changed.map((index, position) => `${names[index]} = v.c${position}::${types[index]}`).join(', ')}
         FROM (VALUES ${tuples.join(', ')}) AS v(k, ${changed.map((_, position) => `c${position}`).join(', ')})
         WHERE t.id = v.k::${types[0]}`;
      await deferRow(
        {
          // A row this transaction read (locked) or wrote exists; any other fails the transaction when missing.
          kind: `update ${table} ${columns.join(',')}${before ? '' : ' checked'}${alone ? ` #${++aloneStatements}` : ''}`,
          table,
          child: table !== 'incidents',
          build: before
            ? update
            : (tuples) =>
                `WITH updated AS (${update(tuples)} RETURNING 1)
                 SELECT 1 / ((SELECT count(*)::int FROM updated) / ${tuples.length})`,
        },
        String(after[0]),
        tuple([after[0], ...changed.map((index) => after[index])]),
        what,
      );
    };
    const transaction: IncidentTransaction = {
      async lockDedupKey(service, dedupKey) {
        const key = `ops-incident:${schema}:${JSON.stringify([service, dedupKey])}`;
        const last = pending[pending.length - 1];
        if (last?.lockKeys) last.lockKeys.push(key);
        else pending.push({ sql: '', lockKeys: [key] });
      },
      async prefetchAlerts(service, dedupKey, alertKeys) {
        if (alertKeys.length === 0) return;
        prefetch = {
          alertKeys,
          statement: inline(
            `SELECT a.* FROM ${s}.alerts a JOIN ${s}.incidents i ON i.id = a.incident_id
             WHERE i.service = $1 AND i.dedup_key = $2 AND i.${OPEN} AND a.alert_key = ANY($3::text[])`,
            [service, dedupKey, [...alertKeys]],
          ),
        };
      },
      async prefetch(request) {
        const { keys, create } = request;
        if (keys.length === 0) return;
        const services = keys.map((key) => key.service);
        const dedupKeys = keys.map((key) => key.dedupKey);
        const entries = takePending();
        // Each key's open incident, else its latest; FOR UPDATE returns the row as a concurrent change left it. The
        // statements are functions (migration 4): PostgreSQL plans them once per connection, not per batch.
        entries.push({
          sql: inline(`SELECT * FROM ${s}.prefetch_incidents($1::text[], $2::text[])`, [services, dedupKeys]),
          onRows: (rows) => {
            for (const key of keys) incidentCache.set(cacheKey(key.service, key.dedupKey), null);
            for (const row of rows) {
              const status = row['status'] as string;
              incidentCache.set(cacheKey(row['service'] as string, row['dedup_key'] as string), {
                row,
                open: status !== 'resolved' && status !== 'closed',
              });
            }
          },
        });
        const wanted = keys.flatMap((key) =>
          key.alertKeys.map((alertKey) => [key.service, key.dedupKey, alertKey] as const),
        );
        if (wanted.length > 0) {
          entries.push({
            sql: inline(`SELECT * FROM ${s}.prefetch_alerts($1::text[], $2::text[], $3::text[])`, [
              wanted.map((entry) => entry[0]),
              wanted.map((entry) => entry[1]),
              wanted.map((entry) => entry[2]),
            ]),
            onRows: (rows) => {
              for (const key of keys) {
                const open = incidentCache.get(cacheKey(key.service, key.dedupKey));
                if (!open?.open || key.alertKeys.length === 0) continue;
                const byKey = new Map<string, Row | null>(key.alertKeys.map((alertKey) => [alertKey, null]));
                for (const row of rows)
                  if (row['incident_id'] === open.row['id']) byKey.set(row['alert_key'] as string, row);
                alertCache.set(open.row['id'] as string, byKey);
              }
            },
          });
        }
        const creating = keys.filter((key) => key.mayCreate);
        if (create && creating.length > 0 && reserved === undefined) {
          // Last of the round trip: count the keys without an open incident, take that many numbers, then read the
          // suppressions in force (only when numbers were taken: a batch of repeats needs neither).
          entries.push({
            sql: inline(`SELECT * FROM ${s}.take_incident_numbers($1::text[], $2::text[], $3, $4)`, [
              creating.map((key) => key.service),
              creating.map((key) => key.dedupKey),
              `day:${create.dayKey}`,
              new Date(create.at),
            ]),
            onRows: ([row]) => {
              const count = Number(row?.['wanted'] ?? 0);
              if (!row || count === 0) return;
              reserved = {
                dayKey: create.dayKey,
                number: Number(row['number_end']) - count + 1,
                daySequence: Number(row['day_end']) - count + 1,
                left: count,
              };
              suppressions = {
                at: create.at,
                silences: (row['silence_records'] as Silence[]).filter(
                  (silence) => Math.min(silence.endsAt, silence.expiredAt ?? Infinity) > create.at,
                ),
                windows: row['window_records'] as MaintenanceWindow[],
              };
            },
          });
        }
        await send(entries, 'prefetch incidents');
      },
      async findOpenIncident(service, dedupKey) {
        const cached = prefetch ? undefined : incidentCache.get(cacheKey(service, dedupKey));
        if (cached !== undefined) return cached?.open ? lockedIncident(cached.row) : undefined;
        const rows = await q(
          `SELECT ${INCIDENT_COLUMNS} FROM ${s}.incidents WHERE service = $1 AND dedup_key = $2 AND ${OPEN} FOR UPDATE`,
          [service, dedupKey],
          'find open incident',
        );
        return rows[0] && lockedIncident(rows[0]);
      },
      async findLatestIncident(service, dedupKey) {
        const cached = prefetch ? undefined : incidentCache.get(cacheKey(service, dedupKey));
        if (cached === null) return undefined;
        if (cached && !cached.open) return lockedIncident(cached.row);
        const rows = await q(
          `SELECT ${INCIDENT_COLUMNS} FROM ${s}.incidents WHERE service = $1 AND dedup_key = $2 ORDER BY triggered_at DESC, number DESC LIMIT 1 FOR UPDATE`,
          [service, dedupKey],
          'find latest incident',
        );
        return rows[0] && lockedIncident(rows[0]);
      },
      async getIncident(id) {
        const rows = await q(
          `SELECT ${INCIDENT_COLUMNS} FROM ${s}.incidents WHERE id = $1 FOR UPDATE`,
          [id],
          'get incident',
        );
        return rows[0] && lockedIncident(rows[0]);
      },
      async nextIncidentNumber(dayKey) {
        if (reserved && reserved.left > 0) {
          if (reserved.dayKey === dayKey) {
            const taken = { number: reserved.number, daySequence: reserved.daySequence };
            reserved.number++;
            reserved.daySequence++;
            reserved.left--;
            return taken;
          }
          pending.push(...giveBack()); // another day: the numbers ahead go back before this one is taken
        }
        const rows = await q<{ scope: string; value: string }>(
          `INSERT INTO ${s}.counters (scope, value) VALUES ('number', 1), ($1, 1)
           ON CONFLICT (scope) DO UPDATE SET value = ${s}.counters.value + 1 RETURNING scope, value`,
          [`day:${dayKey}`],
          'next incident number',
        );
        const value = (scope: string) => Number(rows.find((row) => row.scope === scope)?.value);
        return { number: value('number'), daySequence: value(`day:${dayKey}`) };
      },
      async insertIncident(incident) {
        incidentCache.delete(cacheKey(incident.service, incident.dedupKey));
        const parameters = incidentParameters(incident);
        incidentRows.set(incident.id, parameters);
        await deferRow(
          {
            kind: 'insert incidents',
            table: 'incidents',
            child: false,
            build: (tuples) => `INSERT INTO ${s}.incidents (${INCIDENT_COLUMNS}) VALUES ${tuples.join(', ')}`,
          },
          incident.id,
          tuple(parameters),
          `insert incident ${incident.id}`,
        );
      },
      async updateIncident(incident) {
        incidentCache.delete(cacheKey(incident.service, incident.dedupKey));
        const parameters = incidentParameters(incident);
        const before = incidentRows.get(incident.id);
        incidentRows.set(incident.id, parameters);
        // Only the columns that changed since this transaction read or wrote the row (all when it did neither).
        await deferUpdate(
          'incidents',
          INCIDENT_COLUMN_NAMES,
          INCIDENT_TYPES,
          before,
          parameters,
          1,
          `update incident ${incident.id}`,
        );
      },
      async getAlert(incidentId, alertKey) {
        const cached = alertCache.get(incidentId)?.get(alertKey);
        let row: Row | undefined;
        if (cached !== undefined) row = cached ?? undefined;
        else {
          const rows = await q(
            `SELECT * FROM ${s}.alerts WHERE incident_id = $1 AND alert_key = $2`,
            [incidentId, alertKey],
            'get alert',
          );
          row = rows[0];
        }
        if (!row) return undefined;
        const alert = toAlert(row);
        alertRows.set(alertRowKey(incidentId, alertKey), alertParameters(alert));
        return alert;
      },
      async upsertAlert(alert) {
        alertCache.get(alert.incidentId)?.delete(alert.alertKey);
        const key = alertRowKey(alert.incidentId, alert.alertKey);
        const parameters = alertParameters(alert);
        const before = alertRows.get(key);
        alertRows.set(key, parameters);
        if (before && before[0] === parameters[0]) {
          // A row this transaction read or wrote: only its changed columns (a repeat: last seen, occurrences).
          await deferUpdate('alerts', ALERT_COLUMN_NAMES, ALERT_TYPES, before, parameters, 3, 'update alert');
          return;
        }
        await deferRow(
          {
            kind: 'upsert alerts',
            table: 'alerts',
            child: true,
            build: (tuples) =>
              `INSERT INTO ${s}.alerts (${ALERT_COLUMN_NAMES.join(', ')}) VALUES ${tuples.join(', ')}
               ON CONFLICT (incident_id, alert_key) DO UPDATE SET source = EXCLUDED.source, dedup_key = EXCLUDED.dedup_key,
                 fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, severity = EXCLUDED.severity, summary = EXCLUDED.summary,
                 labels = EXCLUDED.labels, annotations = EXCLUDED.annotations, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
                 generator_url = EXCLUDED.generator_url, raw = EXCLUDED.raw, received_at = EXCLUDED.received_at,
                 last_seen_at = EXCLUDED.last_seen_at, occurrences = EXCLUDED.occurrences`,
          },
          key,
          tuple(parameters),
          'upsert alert',
        );
      },
      async moveAlerts(fromIncidentId, toIncidentId) {
        if (fromIncidentId === toIncidentId) return 0;
        alertCache.clear();
        alertRows.clear();
        const rows = await q(
          `UPDATE ${s}.alerts SET incident_id = $2 WHERE incident_id = $1
             AND alert_key NOT IN (SELECT alert_key FROM ${s}.alerts WHERE incident_id = $2) RETURNING id`,
          [fromIncidentId, toIncidentId],
          'move alerts',
        );
        return rows.length;
      },
      async appendTimeline(events, appendOptions) {
        if (events.length === 0) return [];
        const values: unknown[] = [];
        const tuples = events.map((event) => {
          const base = values.length;
          values.push(
            event.id,
            event.incidentId,
            date(event.at),
            date(event.endedAt),
            event.kind,
            event.actor.type,
            event.actor.id,
            event.description,
            json(event.details),
            event.pinned ?? null,
            event.visibility,
          );
          return `(${Array.from({ length: 11 }, (_, index) => `$${base + index + 1}`).join(', ')})`;
        });
        // One statement: the sequence numbers follow the order of `events` (WITH ORDINALITY would be needed otherwise).
        const insert = `INSERT INTO ${s}.timeline_events (id, incident_id, at, ended_at, kind, actor_type, actor_id, description, details, pinned, visibility)
           VALUES ${tuples.join(', ')} RETURNING *`;
        let rows: Row[];
        if (appendOptions?.lastInTransaction) {
          // The last statement of the transaction: COMMIT goes in the same round trip.
          const entries = [...takePending(), { sql: inline(insert, values) }];
          const index = entries.length - 1;
          prefetch = undefined;
          const results = await send([...entries, ...giveBack(), { sql: 'COMMIT' }], 'append timeline and commit');
          committed = true;
          rows = results[index] ?? [];
        } else rows = await q(insert, values, 'append timeline');
        return rows.map(toTimelineEvent).sort((a, b) => a.sequence - b.sequence);
      },
      async getPostmortem(incidentId) {
        const rows = await q(
          `SELECT * FROM ${s}.postmortems WHERE incident_id = $1 FOR UPDATE`,
          [incidentId],
          'get postmortem',
        );
        return rows[0] && toPostmortem(rows[0]);
      },
      async savePostmortem(postmortem) {
        await q(
          `INSERT INTO ${s}.postmortems (incident_id, status, sections, action_items, created_at, updated_at, published_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (incident_id) DO UPDATE SET status = EXCLUDED.status, sections = EXCLUDED.sections, action_items = EXCLUDED.action_items,
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, published_at = EXCLUDED.published_at`,
          [
            postmortem.incidentId,
            postmortem.status,
            json(postmortem.sections),
            json(postmortem.actionItems),
            date(postmortem.createdAt),
            date(postmortem.updatedAt),
            date(postmortem.publishedAt),
          ],
          'save postmortem',
        );
      },
      async getTimer(incidentId, kind) {
        const rows = await q(
          `SELECT * FROM ${s}.timers WHERE incident_id = $1 AND kind = $2 FOR UPDATE`,
          [incidentId, kind],
          'get timer',
        );
        return rows[0] && toTimer(rows[0]);
      },
      async setTimer(timer) {
        await deferRow(
          {
            kind: 'upsert timers',
            table: 'timers',
            child: true,
            build: (tuples) =>
              `INSERT INTO ${s}.timers (incident_id, kind, due_at, data) VALUES ${tuples.join(', ')}
               ON CONFLICT (incident_id, kind) DO UPDATE SET due_at = EXCLUDED.due_at, data = EXCLUDED.data, claimed_by = NULL, claimed_until = NULL`,
          },
          `${timer.incidentId}\u0000${timer.kind}`,
          tuple([timer.incidentId, timer.kind, date(timer.dueAt), json(timer.data)]),
          'set timer',
        );
      },
      async deleteTimer(incidentId, kind, owner) {
        const rows =
          owner === undefined
            ? await q(
                `DELETE FROM ${s}.timers WHERE incident_id = $1 AND kind = $2 RETURNING kind`,
                [incidentId, kind],
                'delete timer',
              )
            : await q(
                `DELETE FROM ${s}.timers WHERE incident_id = $1 AND kind = $2 AND claimed_by = $3 RETURNING kind`,
                [incidentId, kind, owner],
                'delete timer',
              );
        return rows.length > 0;
      },
      async deleteTimers(incidentId) {
        await q(`DELETE FROM ${s}.timers WHERE incident_id = $1`, [incidentId], 'delete timers');
      },
      async enqueueNotifications(notifications) {
        for (const notification of notifications) {
          await deferRow(
            {
              kind: 'insert notification_outbox',
              table: 'notification_outbox',
              child: true,
              build: (tuples) =>
                `INSERT INTO ${s}.notification_outbox (id, incident_id, target, event, payload, status, attempts, next_attempt_at, created_at, last_error, delivered_at)
                 VALUES ${tuples.join(', ')}`,
            },
            notification.id,
            tuple([
              notification.id,
              notification.incidentId,
              notification.target,
              notification.event,
              json(notification.payload),
              notification.status,
              notification.attempts,
              date(notification.nextAttemptAt),
              date(notification.createdAt),
              notification.lastError ?? null,
              date(notification.deliveredAt),
            ]),
            'enqueue notifications',
          );
        }
      },
      async saveSilence(silence) {
        suppressions = undefined;
        await q(
          `INSERT INTO ${s}.silences (id, starts_at, ends_at, created_at, record) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, record = EXCLUDED.record`,
          [
            silence.id,
            date(silence.startsAt),
            date(Math.min(silence.endsAt, silence.expiredAt ?? Infinity)),
            date(silence.createdAt),
            json(silence),
          ],
          'save silence',
        );
      },
      listSilences: async (options = {}) =>
        suppressions !== undefined && suppressions.at === options.endsAfter
          ? [...suppressions.silences]
          : silencesOn(client, options.endsAfter),
      async saveMaintenanceWindow(window) {
        suppressions = undefined;
        await q(
          `INSERT INTO ${s}.maintenance_windows (id, created_at, cancelled_at, record) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET cancelled_at = EXCLUDED.cancelled_at, record = EXCLUDED.record`,
          [window.id, date(window.createdAt), date(window.cancelledAt), json(window)],
          'save maintenance window',
        );
      },
      listMaintenanceWindows: async (options = {}) =>
        suppressions !== undefined && suppressions.at === options.activeAfter
          ? [...suppressions.windows]
          : windowsOn(client, options.activeAfter),
      async takeInbox(limit) {
        // One taker at a time across the fleet (arrival order); the others learn it at once and leave.
        const rows = await q<{ taken: boolean; entries: { id: string; entry: unknown }[] | null }>(
          `WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS taken),
             taken AS (DELETE FROM ${s}.ingest_inbox WHERE (SELECT taken FROM lock)
               AND id IN (SELECT id FROM ${s}.ingest_inbox ORDER BY id LIMIT $2) RETURNING id, entry)
           SELECT (SELECT taken FROM lock) AS taken,
             (SELECT json_agg(json_build_object('id', id, 'entry', entry) ORDER BY id) FROM taken) AS entries`,
          [`ops-incident-inbox:${schema}`, Math.max(0, Math.floor(limit))],
          'take from the ingest inbox',
        );
        if (!rows[0]?.taken) return undefined;
        return (rows[0].entries ?? []).map((row) => row.entry);
      },
      async getNotification(id) {
        const rows = await q(
          `SELECT * FROM ${s}.notification_outbox WHERE id = $1 FOR UPDATE`,
          [id],
          'get notification',
        );
        return rows[0] && toNotification(rows[0]);
      },
      async updateNotification(notification) {
        const rows = await q(
          `UPDATE ${s}.notification_outbox SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5, delivered_at = $6,
             payload = $7, claimed_by = NULL, claimed_until = NULL WHERE id = $1 RETURNING id`,
          [
            notification.id,
            notification.status,
            notification.attempts,
            date(notification.nextAttemptAt),
            notification.lastError ?? null,
            date(notification.deliveredAt),
            json(notification.payload),
          ],
          'update notification',
        );
        if (rows.length === 0) throw new IncidentError('ARGUMENT_INVALID', `no notification ${notification.id}`);
      },
    };
    return {
      transaction,
      /** Sends what is batched and `COMMIT` in one round trip (nothing at all for a transaction that did nothing). */
      async commit() {
        if (committed || (!begun && pending.length === 1 && pending[0]?.sql === 'BEGIN')) return;
        await send([...takePending(), ...giveBack(), { sql: 'COMMIT' }], 'commit');
      },
      /** Whether `BEGIN` reached the server and no `COMMIT` did (a rollback is needed). */
      begun: () => begun && !committed,
    };
  };

  return {
    schema,
    migrate: async () => {
      const applied = await migrateIncidentSchema(pool, { schema });
      ready = Promise.resolve();
      return applied;
    },
    async transaction(work) {
      await ensureReady();
      let client: PgClientLike;
      try {
        client = await pool.connect();
      } catch (error) {
        throw storeError(error, 'connect');
      }
      let broken = false;
      const batched = transactionOn(client);
      try {
        const result = await work(batched.transaction);
        await batched.commit();
        return result;
      } catch (error) {
        if (batched.begun())
          await client.query('ROLLBACK').catch(() => {
            broken = true;
          });
        throw storeError(error, 'transaction');
      } finally {
        client.release(broken);
      }
    },
    async getIncident(id) {
      const rows = await read(`SELECT ${INCIDENT_COLUMNS} FROM ${s}.incidents WHERE id = $1`, [id], 'get incident');
      return rows[0] && toIncident(rows[0]);
    },
    async listIncidents(incidentQuery: IncidentQuery = {}) {
      const limit = normaliseLimit(incidentQuery.limit);
      const where: string[] = [];
      const values: unknown[] = [];
      const add = (sql: (parameter: string) => string, value: unknown) => {
        values.push(value);
        where.push(sql(`$${values.length}`));
      };
      if (incidentQuery.status) add((p) => `status = ANY(${p}::text[])`, [...incidentQuery.status]);
      if (incidentQuery.open === true) where.push(OPEN);
      if (incidentQuery.open === false) where.push(`NOT (${OPEN})`);
      if (incidentQuery.service !== undefined) add((p) => `service = ${p}`, incidentQuery.service);
      if (incidentQuery.severity) add((p) => `severity = ANY(${p}::text[])`, [...incidentQuery.severity]);
      if (incidentQuery.since !== undefined) add((p) => `triggered_at >= ${p}`, new Date(incidentQuery.since));
      if (incidentQuery.until !== undefined) add((p) => `triggered_at < ${p}`, new Date(incidentQuery.until));
      values.push(limit);
      const rows = await read(
        `SELECT ${INCIDENT_COLUMNS} FROM ${s}.incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY triggered_at DESC, number DESC LIMIT $${values.length}`,
        values,
        'list incidents',
      );
      return rows.map(toIncident);
    },
    async listTimeline(incidentId, timelineOptions = {}) {
      const rows =
        timelineOptions.visibility === undefined
          ? await read(
              `SELECT * FROM ${s}.timeline_events WHERE incident_id = $1 ORDER BY sequence`,
              [incidentId],
              'list timeline',
            )
          : await read(
              `SELECT * FROM ${s}.timeline_events WHERE incident_id = $1 AND visibility = $2 ORDER BY sequence`,
              [incidentId, timelineOptions.visibility],
              'list timeline',
            );
      return rows.map(toTimelineEvent);
    },
    async listAlerts(incidentId) {
      const rows = await read(
        `SELECT * FROM ${s}.alerts WHERE incident_id = $1 ORDER BY received_at, alert_key`,
        [incidentId],
        'list alerts',
      );
      return rows.map(toAlert);
    },
    async getPostmortem(incidentId) {
      const rows = await read(`SELECT * FROM ${s}.postmortems WHERE incident_id = $1`, [incidentId], 'get postmortem');
      return rows[0] && toPostmortem(rows[0]);
    },
    async claimDueTimers({ now, owner, leaseMs, limit }) {
      const rows = await read(
        `UPDATE ${s}.timers AS timer SET claimed_by = $2, claimed_until = $3
         FROM (SELECT incident_id, kind FROM ${s}.timers
               WHERE due_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
               ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED) AS due
         WHERE timer.incident_id = due.incident_id AND timer.kind = due.kind
         RETURNING timer.*`,
        [new Date(now), owner, new Date(now + leaseMs), limit],
        'claim timers',
      );
      return rows.map(toTimer).sort((a, b) => a.dueAt - b.dueAt);
    },
    async claimNotifications({ now, owner, leaseMs, limit }) {
      const rows = await read(
        `UPDATE ${s}.notification_outbox AS row SET claimed_by = $2, claimed_until = $3
         FROM (SELECT id FROM ${s}.notification_outbox
               WHERE status = 'pending' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
               ORDER BY next_attempt_at, created_at LIMIT $4 FOR UPDATE SKIP LOCKED) AS due
         WHERE row.id = due.id
         RETURNING row.*`,
        [new Date(now), owner, new Date(now + leaseMs), limit],
        'claim notifications',
      );
      return rows.map(toNotification).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt);
    },
    async listSilences(options = {}) {
      await ensureReady();
      return silencesOn(pool, options.endsAfter);
    },
    async listMaintenanceWindows(options = {}) {
      await ensureReady();
      return windowsOn(pool, options.activeAfter);
    },
    async enqueueInbox(entries) {
      if (entries.length === 0) return;
      await ensureReady();
      // One simple-protocol query: its statements run as one implicit transaction (all entries durable, or none).
      const statements: string[] = [];
      for (let start = 0; start < entries.length; start += MAX_GROUP_ROWS) {
        const rows = entries.slice(start, start + MAX_GROUP_ROWS).map((entry) => `(${literal(JSON.stringify(entry))})`);
        statements.push(`INSERT INTO ${s}.ingest_inbox (entry) VALUES ${rows.join(', ')}`);
      }
      try {
        await pool.query(statements.join(';\n'));
      } catch (error) {
        throw storeError(error, 'queue alert events in the ingest inbox');
      }
    },
    async inboxSize() {
      const rows = await read<{ count: string }>(`SELECT count(*) AS count FROM ${s}.ingest_inbox`, [], 'inbox size');
      return Number(rows[0]?.count ?? 0);
    },
    async listNotifications(notificationQuery = {}) {
      const where: string[] = [];
      const values: unknown[] = [];
      if (notificationQuery.incidentId !== undefined) {
        values.push(notificationQuery.incidentId);
        where.push(`incident_id = $${values.length}`);
      }
      if (notificationQuery.status) {
        values.push([...notificationQuery.status]);
        where.push(`status = ANY($${values.length}::text[])`);
      }
      if (notificationQuery.target !== undefined) {
        values.push(notificationQuery.target);
        where.push(`target = $${values.length}`);
      }
      const rows = await read(
        `SELECT * FROM ${s}.notification_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`,
        values,
        'list notifications',
      );
      return rows.map(toNotification);
    },
    async listTimers(incidentId) {
      const rows =
        incidentId === undefined
          ? await read(`SELECT * FROM ${s}.timers ORDER BY due_at, incident_id, kind`, [], 'list timers')
          : await read(
              `SELECT * FROM ${s}.timers WHERE incident_id = $1 ORDER BY due_at, kind`,
              [incidentId],
              'list timers',
            );
      return rows.map(toTimer);
    },
    async nextTimerDueAt() {
      const rows = await read<{ next: Date | null }>(
        `SELECT min(GREATEST(due_at, COALESCE(claimed_until, due_at))) AS next FROM ${s}.timers`,
        [],
        'next timer',
      );
      return ms(rows[0]?.next ?? null);
    },
    async close() {
      closed = true;
    },
  };
}
