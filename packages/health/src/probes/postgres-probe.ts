import { connect as connectTcp, type Socket } from 'node:net';
import { durationSchema, OpsError, type CheckResult, type Duration } from '@ops/core';
import { z } from 'zod';
import type { Probe } from '../registry/types.js';
import {
  failRatioSchema,
  objectWithMethods,
  parseOptions,
  positiveDurationSchema,
  ratioSchema,
} from '../validation/option-schemas.js';
import { combine, defineProbe, elapsedSince, OutstandingCalls, raceAbort, stillPending } from './probe.js';

/** The parts of a `pg` client the probe uses (a `pg.Client` or a `PoolClient`). */
export interface PgClientLike {
  query(text: string): Promise<unknown>;
  processID?: number | null;
  secretKey?: number | null;
  host?: string;
  port?: number;
}

/** The parts of a `pg.PoolClient` the probe uses. */
export interface PgPoolClientLike extends PgClientLike {
  release(error?: Error | boolean): void;
}

/** The parts of a `pg.Pool` the probe uses. */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>;
  options?: { password?: unknown };
}

/** Options of {@link postgresProbe}. Pass `pool` (preferred) or `client`. */
export interface PostgresProbeOptions {
  /** The application's pool: the probe borrows one connection and gives it back (or destroys it on timeout). */
  pool?: PgPoolLike;
  /** A dedicated client, when there is no pool. */
  client?: PgClientLike;
  /** Server-side `statement_timeout` of the probe's statements. Default `'800ms'`. */
  statementTimeout?: Duration;
  /** The statement run. Default `SELECT 1`. */
  query?: string;
  /** Deeper checks in the same round trip (each optional). */
  deep?: {
    /** Warn when connections in use / `max_connections` reaches this ratio. Default 0.8. */
    connectionsWarnRatio?: number;
    /** Fail when it reaches this ratio. Default 0.95. */
    connectionsFailRatio?: number;
    /** Warn when a query has been running longer than this. */
    longRunningQuery?: Duration;
    /** Warn when the current database is larger than this. */
    maxDatabaseSizeBytes?: number;
    /** On a replica: warn when replay lag exceeds this. */
    maxReplicationLag?: Duration;
  };
}

interface DeepRow {
  used: number;
  max: number;
  long_running: number | null;
  size: string;
  lag: number | null;
}

/** Sends a PostgreSQL CancelRequest for the backend running on `client` (best effort, 1 s limit). */
function sendCancelRequest(client: PgClientLike): void {
  const { processID, secretKey, host = 'localhost', port = 5432 } = client;
  if (typeof processID !== 'number' || typeof secretKey !== 'number') return;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  const socket: Socket = host.startsWith('/') ? connectTcp(`${host}/.s.PGSQL.${port}`) : connectTcp(port, host);
  // The socket's own idle timeout, not a timer of ours: a cancel that stalls for 1 s is dropped (best effort).
  socket.setTimeout(1000, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('connect', () => socket.end(packet));
}

async function acquire(
  pool: PgPoolLike,
  signal: AbortSignal,
  outstanding: OutstandingCalls,
): Promise<PgPoolClientLike> {
  const pending = outstanding.track(pool.connect());
  // If the deadline passes while waiting for a connection, the pool may still hand one over later: give it
  // straight back. Once we hold it, the caller owns releasing it.
  const giveBack = () =>
    void pending.then(
      (client) => client.release(),
      () => undefined,
    );
  if (signal.aborted) giveBack();
  else signal.addEventListener('abort', giveBack, { once: true });
  try {
    return await raceAbort(pending, signal);
  } finally {
    signal.removeEventListener('abort', giveBack);
  }
}

const optionsSchema = z.strictObject({
  pool: objectWithMethods<PgPoolLike>(['connect'], 'a pg Pool (with connect())').optional(),
  client: objectWithMethods<PgClientLike>(['query'], 'a pg Client (with query())').optional(),
  statementTimeout: positiveDurationSchema.optional(),
  query: z.string().min(1).optional(),
  deep: z
    .strictObject({
      connectionsWarnRatio: ratioSchema.optional(),
      connectionsFailRatio: failRatioSchema.optional(),
      longRunningQuery: durationSchema.optional(),
      maxDatabaseSizeBytes: z.number().min(0).optional(),
      maxReplicationLag: durationSchema.optional(),
    })
    .optional(),
});

/**
 * PostgreSQL probe on the application's own pool: `SELECT 1` under a server-side `statement_timeout` (set with
 * `set_config(..., true)`, so it lasts for the probe's implicit transaction only). When the deadline aborts the
 * probe, it sends a CancelRequest for the running statement and destroys the borrowed connection, so a
 * timed-out probe never keeps a pool slot. Optional deeper checks: connections vs `max_connections`,
 * long-running queries, database size, replication lag.
 *
 * @example
 * ```ts
 * health.register({ name: 'db', check: postgresProbe({ pool, deep: { connectionsWarnRatio: 0.8 } }), mode: { every: '5s' } });
 * ```
 */
export function postgresProbe(options: PostgresProbeOptions): Probe {
  // Durations come back in milliseconds; an error names the option (`statementTimeout: invalid duration "5mins" …`).
  const parsed = parseOptions(optionsSchema, options, 'postgresProbe');
  const { pool, client: dedicated, query = 'SELECT 1', deep } = options;
  if (!pool && !dedicated) throw new OpsError('ARGUMENT_INVALID', 'postgresProbe: pass `pool` or `client`');
  const statementTimeoutMs = Math.max(1, Math.round(parsed.statementTimeout ?? 800));
  const longRunningSeconds =
    parsed.deep?.longRunningQuery === undefined ? undefined : parsed.deep.longRunningQuery / 1000;
  const maxLagSeconds = parsed.deep?.maxReplicationLag === undefined ? undefined : parsed.deep.maxReplicationLag / 1000;
  const password = pool?.options?.password;
  const statements = [`SELECT set_config('statement_timeout', '${statementTimeoutMs}', true)`, query];
  if (deep) {
    statements.push(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used, current_setting('max_connections')::int AS max, ` +
        `${longRunningSeconds === undefined ? 'NULL' : `(SELECT count(*) FROM pg_stat_activity WHERE state <> 'idle' AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND query_start < now() - make_interval(secs => ${longRunningSeconds}))::int`} AS long_running, ` +
        `pg_database_size(current_database())::text AS size, ` +
        `CASE WHEN pg_is_in_recovery() THEN COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)::float8 END AS lag`,
    );
  }
  const text = statements.join('; ');

  // The pool.connect() and the statement of the last attempt, until they settle: while one is outstanding no new
  // attempt starts, so a frozen server never collects probe waiters in the pool's queue (or queries on a client).
  const outstanding = new OutstandingCalls();
  const run = async (signal: AbortSignal): Promise<CheckResult> => {
    if (outstanding.busy)
      return stillPending(
        'the previous connection request or statement has not settled; nothing new sent to the pool or the server',
      );
    const startedAt = performance.now();
    const client = pool ? await acquire(pool, signal, outstanding) : (dedicated as PgClientLike);
    let released = false;
    const release = (error?: Error) => {
      if (released || !pool) return;
      released = true;
      (client as PgPoolClientLike).release(error ?? false);
    };
    const onAbort = () => {
      sendCancelRequest(client);
      release(new OpsError('CHECK_TIMEOUT', 'health probe aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let results: unknown;
    try {
      results = await raceAbort(outstanding.track(client.query(text)), signal);
    } catch (error) {
      release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    release();
    const responseTimeMs = elapsedSince(startedAt);
    if (!deep) return { status: 'pass', observed: responseTimeMs, observedUnit: 'ms' };
    const last = (results as Array<{ rows: DeepRow[] }>).at(-1)?.rows[0];
    if (!last)
      return { status: 'fail', output: 'deep check returned no row', observed: responseTimeMs, observedUnit: 'ms' };
    const ratio = last.max > 0 ? last.used / last.max : 0;
    const warnRatio = deep.connectionsWarnRatio ?? 0.8;
    const failRatio = deep.connectionsFailRatio ?? 0.95;
    const size = Number(last.size);
    const verdict = combine([
      {
        status: ratio >= failRatio ? 'fail' : ratio >= warnRatio ? 'warn' : 'pass',
        reason: `connections ${last.used}/${last.max} (${Math.round(ratio * 100)}%)`,
      },
      {
        status: (last.long_running ?? 0) > 0 ? 'warn' : 'pass',
        reason: `${last.long_running} queries running longer than ${longRunningSeconds}s`,
      },
      {
        status: deep.maxDatabaseSizeBytes !== undefined && size > deep.maxDatabaseSizeBytes ? 'warn' : 'pass',
        reason: `database size ${size} bytes above ${deep.maxDatabaseSizeBytes}`,
      },
      {
        status: maxLagSeconds !== undefined && last.lag !== null && last.lag > maxLagSeconds ? 'warn' : 'pass',
        reason: `replication lag ${last.lag}s above ${maxLagSeconds}s`,
      },
    ]);
    const details: Record<string, unknown> = {
      connectionsUsed: last.used,
      maxConnections: last.max,
      connectionsRatio: Math.round(ratio * 1000) / 1000,
      databaseSizeBytes: size,
    };
    if (last.long_running !== null) details['longRunningQueries'] = last.long_running;
    if (last.lag !== null) details['replicationLagSeconds'] = last.lag;
    return { ...verdict, observed: responseTimeMs, observedUnit: 'ms', details };
  };
  return defineProbe(run, {
    kind: 'dependency',
    componentType: 'datastore',
    measurement: 'responseTime',
    ...(typeof password === 'string' ? { secrets: [password] } : {}),
  });
}
