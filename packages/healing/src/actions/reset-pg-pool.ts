import { parseOptionalDuration, safeErrorMessage, type Duration } from '@ops/core';
import { HealingError } from '../errors.js';
import type { HealingAction } from './action.js';

/** The parts of a `pg` Pool {@link resetPgPool} uses (typed by shape: pg is an optional peer). */
export interface ResettablePgPool {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}

/** Where the application gets its pool from; {@link resetPgPool} swaps it. */
export interface PgPoolHolder<Pool extends ResettablePgPool = ResettablePgPool> {
  /** The pool to use now: read it per request (`holder.pool.query(…)`), never keep a copy. */
  readonly pool: Pool;
  /** Creates a fresh pool, makes it current and returns the previous one. */
  swap(): Pool;
}

/**
 * A {@link PgPoolHolder} around a pool factory.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const pools = createPgPoolHolder(() => new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }));
 * const rows = await pools.pool.query('SELECT 1');
 * ```
 */
export function createPgPoolHolder<Pool extends ResettablePgPool>(create: () => Pool): PgPoolHolder<Pool> {
  if (typeof create !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'createPgPoolHolder: create must be a function returning a pg Pool');
  let current = create();
  return {
    get pool() {
      return current;
    },
    swap() {
      const previous = current;
      current = create();
      return previous;
    },
  };
}

/** Options of {@link resetPgPool}. */
export interface ResetPgPoolOptions {
  /**
   * How long queries already running on the old pool may take to finish. Past it, their server backends are
   * terminated (`pg_terminate_backend`) and their sockets closed. Default `'30s'`.
   */
  drainDeadline?: Duration;
  /** Check the fresh pool with `SELECT 1` before retiring the old one. Default true. */
  checkNewPool?: boolean;
  /** Step name. Default `'reset pg pool'`. */
  name?: string;
}

/** A pg client as pg-pool keeps it internally (`pool._clients`); read only to end stragglers at the deadline. */
interface PoolClientInternals {
  processID?: number | null;
  connection?: { stream?: { destroy(): void } };
}

/**
 * A step that drains and recreates a `pg` Pool: new queries go to a fresh pool at once, queries in flight on the
 * old one finish, and only those still running at `drainDeadline` are ended. For "database connection failures
 * > 5 in 1 minute → restart connections / clear pools".
 *
 * @example
 * ```ts
 * const pools = createPgPoolHolder(() => new pg.Pool({ connectionString }));
 * steps: [resetPgPool(pools, { drainDeadline: '10s' }), setFlag(flags, 'read-only', true), escalate(sink)]
 * ```
 */
export function resetPgPool<Pool extends ResettablePgPool>(
  holder: PgPoolHolder<Pool>,
  options: ResetPgPoolOptions = {},
): HealingAction {
  if (typeof holder?.swap !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'resetPgPool: holder must be a PgPoolHolder (createPgPoolHolder)');
  const drainMs = parseOptionalDuration(options.drainDeadline, 'drainDeadline') ?? 30_000;
  const { checkNewPool = true, name = 'reset pg pool' } = options;
  return {
    kind: 'reset-pg-pool',
    name,
    async run(context) {
      const { clock, signal } = context;
      const started = clock.monotonic();
      const old = holder.swap();
      const fresh = holder.pool;
      const inFlight = Math.max(0, old.totalCount - old.idleCount);
      const ended = old.end().then(
        () => true,
        () => true,
      );
      if (checkNewPool) {
        try {
          await fresh.query('SELECT 1');
        } catch (error) {
          throw new HealingError('ACTION_FAILED', `the new pool cannot query: ${safeErrorMessage(error)}`, {
            cause: error,
          });
        }
      }
      // Wait for the old pool to drain, up to the deadline (or the step's abort).
      const deadline = new AbortController();
      const onAbort = () => deadline.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const drainedInTime = await Promise.race([
        ended,
        clock.sleep(Math.max(0, drainMs - (clock.monotonic() - started)), deadline.signal).then(
          () => false,
          () => false,
        ),
      ]);
      deadline.abort();
      signal.removeEventListener('abort', onAbort);
      let forced = 0;
      if (!drainedInTime) {
        const stragglers = ((old as unknown as { _clients?: PoolClientInternals[] })._clients ?? []).slice();
        forced = stragglers.length;
        const pids = stragglers
          .map((client) => client.processID)
          .filter((pid): pid is number => typeof pid === 'number');
        if (pids.length > 0) {
          await fresh
            .query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids])
            .catch((error: unknown) =>
              context.logger.warn({ error: safeErrorMessage(error) }, 'could not terminate the old backends'),
            );
        }
        const settled = await Promise.race([ended, clock.sleep(2_000).then(() => false)]);
        if (!settled) for (const client of stragglers) client.connection?.stream?.destroy();
      }
      const durationMs = Math.round(clock.monotonic() - started);
      const data = { inFlightAtSwap: inFlight, forcedClosed: forced, drainedInTime, durationMs };
      if (signal.aborted && !drainedInTime) throw signal.reason;
      return {
        detail: drainedInTime
          ? `pg pool recreated; ${inFlight} in-flight quer${inFlight === 1 ? 'y' : 'ies'} finished on the old pool in ${durationMs} ms`
          : `pg pool recreated; ${forced} connection(s) still busy at the ${drainMs} ms deadline were ended`,
        data,
      };
    },
  };
}
