import {
  createPeriodicTask,
  safeErrorMessage,
  silentLogger,
  systemClock,
  type Clock,
  type Duration,
  type Logger,
  type PeriodicTask,
} from '@ops/core';
import { CapacityError } from '../errors.js';
import type { Series } from './series.js';

/** The part of a `pg` `Pool` or `Client` the recorder uses. */
export interface SqlQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** Options of {@link createPostgresSizeRecorder}. */
export interface PostgresSizeRecorderOptions {
  /** The user's `pg` Pool or Client (pg is an optional peer dependency). */
  client: SqlQueryable;
  /** Table the sizes are written to, optionally schema-qualified. Default `'ops_capacity_sizes'`. */
  table?: string;
  /** How many of the largest tables to record besides the database. Default 10. */
  largestTables?: number;
  clock?: Clock;
  logger?: Logger;
}

/** One recording. */
export interface SizeRecording {
  at: number;
  database: { name: string; bytes: number };
  tables: Array<{ name: string; bytes: number }>;
}

/** Records PostgreSQL sizes over time for growth and exhaustion analysis. */
export interface PostgresSizeRecorder {
  /** Creates the table (and its index) if it does not exist. */
  ensureTable(): Promise<void>;
  /** Measures `pg_database_size` and the largest tables (`pg_total_relation_size`) and stores them. */
  record(): Promise<SizeRecording>;
  /** The recorded sizes of the database (default) or of one table (`'public.orders'`), oldest first. */
  series(options?: { relation?: string; sinceMs?: number }): Promise<Series>;
  /** Records every `every` (core's periodic task: never overlapping; failures logged). */
  start(every: Duration): void;
  stop(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function quoteTable(table: string): string {
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((part) => !IDENTIFIER.test(part))) {
    throw new CapacityError(
      'ARGUMENT_INVALID',
      `table: expected [schema.]name of letters, digits and _, got ${JSON.stringify(table)}`,
    );
  }
  return parts.map((part) => `"${part}"`).join('.');
}

/**
 * Records the runbooks' growth queries into a table of your choice: `pg_database_size(current_database())` and the
 * largest tables by `pg_total_relation_size`, with the time — the history that "database size > 10 GB" and
 * "storage growth > 10% weekly" need. Sizes are read back as series for `timeToExhaustion` and reports.
 *
 * @example
 * ```ts
 * const recorder = createPostgresSizeRecorder({ client: pool });
 * await recorder.ensureTable();
 * recorder.start('1h');
 * const size = await recorder.series();
 * ```
 */
export function createPostgresSizeRecorder(options: PostgresSizeRecorderOptions): PostgresSizeRecorder {
  const { client, largestTables = 10, clock = systemClock, logger = silentLogger } = options;
  const tableName = options.table ?? 'ops_capacity_sizes';
  const table = quoteTable(tableName);
  const indexName = `"${tableName.replace('.', '_')}_name_at"`;
  const run = async <Row extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<Row[]> => {
    try {
      return (await client.query(text, values)).rows as Row[];
    } catch (error) {
      throw new CapacityError('SOURCE_FAILED', `PostgreSQL query failed: ${safeErrorMessage(error)}`, {
        cause: error,
        isRetryable: true,
      });
    }
  };
  let task: PeriodicTask | undefined;
  const recorder: PostgresSizeRecorder = {
    async ensureTable() {
      await run(
        `CREATE TABLE IF NOT EXISTS ${table} (recorded_at timestamptz NOT NULL, kind text NOT NULL, name text NOT NULL, bytes bigint NOT NULL)`,
      );
      await run(`CREATE INDEX IF NOT EXISTS ${indexName} ON ${table} (name, recorded_at)`);
    },
    async record() {
      const at = clock.now();
      const [database] = await run<{ name: string; bytes: string }>(
        'SELECT current_database() AS name, pg_database_size(current_database())::text AS bytes',
      );
      if (!database) throw new CapacityError('SOURCE_FAILED', 'pg_database_size returned no row');
      const tables = await run<{ name: string; bytes: string }>(
        `SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid)::text AS bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            AND c.oid <> to_regclass($2)
          ORDER BY pg_total_relation_size(c.oid) DESC, 1
          LIMIT $1`,
        [largestTables, table],
      );
      const recording: SizeRecording = {
        at,
        database: { name: database.name, bytes: Number(database.bytes) },
        tables: tables.map((row) => ({ name: row.name, bytes: Number(row.bytes) })),
      };
      const rows: unknown[] = [];
      const placeholders: string[] = [];
      const add = (kind: string, name: string, bytes: number) => {
        const base = rows.length;
        rows.push(new Date(at), kind, name, bytes);
        placeholders.push(`($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4})`);
      };
      add('database', recording.database.name, recording.database.bytes);
      for (const entry of recording.tables) add('table', entry.name, entry.bytes);
      await run(`INSERT INTO ${table} (recorded_at, kind, name, bytes) VALUES ${placeholders.join(', ')}`, rows);
      return recording;
    },
    async series(seriesOptions = {}) {
      const { sinceMs } = seriesOptions;
      const rows = seriesOptions.relation
        ? await run<{ at: Date; bytes: string }>(
            `SELECT recorded_at AS at, bytes::text AS bytes FROM ${table} WHERE kind = 'table' AND name = $1 AND recorded_at >= $2 ORDER BY recorded_at`,
            [seriesOptions.relation, new Date(sinceMs ?? 0)],
          )
        : await run<{ at: Date; bytes: string }>(
            `SELECT recorded_at AS at, bytes::text AS bytes FROM ${table} WHERE kind = 'database' AND name = current_database() AND recorded_at >= $1 ORDER BY recorded_at`,
            [new Date(sinceMs ?? 0)],
          );
      const series: Series = { name: seriesOptions.relation ?? 'database', timestamps: [], values: [] };
      for (const row of rows) {
        const at = row.at instanceof Date ? row.at.getTime() : Date.parse(String(row.at));
        if (series.timestamps.length > 0 && at <= (series.timestamps[series.timestamps.length - 1] as number)) continue;
        series.timestamps.push(at);
        series.values.push(Number(row.bytes));
      }
      return series;
    },
    start(every) {
      task ??= createPeriodicTask({
        name: 'capacity-postgres-sizes',
        every,
        clock,
        logger,
        runOnStart: true,
        run: async () => {
          try {
            await recorder.record();
          } catch (error) {
            logger.warn({ error: safeErrorMessage(error) }, 'capacity: recording PostgreSQL sizes failed');
          }
        },
      });
      task.start();
    },
    async stop() {
      await task?.stop();
    },
  };
  return recorder;
}
