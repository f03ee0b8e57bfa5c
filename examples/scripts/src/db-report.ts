// The weekly database maintenance report from the runbooks: database size, largest tables, a bloat estimate (dead
// tuples), long-running queries and connection use against max_connections — read-only, inside a READ ONLY
// transaction with a statement timeout, and the password never printed.
//
//   DATABASE_URL=postgresql://report@db.internal:5432/notes npx tsx src/db-report.ts
//   npx tsx src/db-report.ts --database-url "$DATABASE_URL" --top 20 --long-query 5m --json
import {
  formatBytes,
  formatTable,
  humanizeDuration,
  parseDuration,
  safeErrorMessage,
  UsageError,
  type CliContext,
} from '@ops/core';
import pg from 'pg';
import {
  isMain,
  numberOption,
  optionOrEnv,
  percent,
  redactUrl,
  reportRows,
  requireOptionOrEnv,
  runScript,
  urlOption,
  type ScriptDefinition,
  type StatusRow,
} from './lib/script.js';

/** The runbooks' queries, each read-only. `$1` is a limit or a threshold in milliseconds. */
export const REPORT_SQL = {
  database: `SELECT current_database() AS name, pg_database_size(current_database())::bigint AS bytes,
      current_setting('server_version') AS version, current_setting('transaction_read_only') AS read_only`,
  largestTables: `SELECT n.nspname AS schema, c.relname AS table, pg_total_relation_size(c.oid)::bigint AS total_bytes,
      pg_relation_size(c.oid)::bigint AS table_bytes, pg_indexes_size(c.oid)::bigint AS index_bytes,
      greatest(c.reltuples, 0)::bigint AS row_estimate
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%'
    ORDER BY pg_total_relation_size(c.oid) DESC, c.relname LIMIT $1`,
  // Dead tuples against live ones (what autovacuum acts on), with the bytes they roughly occupy.
  bloat: `SELECT schemaname AS schema, relname AS table, n_live_tup::bigint AS live, n_dead_tup::bigint AS dead,
      CASE WHEN n_live_tup + n_dead_tup = 0 THEN 0 ELSE n_dead_tup::float8 / (n_live_tup + n_dead_tup) END AS dead_ratio,
      (pg_relation_size(relid) * CASE WHEN n_live_tup + n_dead_tup = 0 THEN 0
        ELSE n_dead_tup::float8 / (n_live_tup + n_dead_tup) END)::bigint AS dead_bytes,
      greatest(last_vacuum, last_autovacuum) AS last_vacuum
    FROM pg_stat_user_tables
    ORDER BY n_dead_tup DESC, relname LIMIT $1`,
  longQueries: `SELECT pid, usename AS user, application_name AS application, state,
      (extract(epoch FROM clock_timestamp() - coalesce(xact_start, query_start)) * 1000)::bigint AS duration_ms,
      left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
      AND state IS DISTINCT FROM 'idle'
      AND clock_timestamp() - coalesce(xact_start, query_start) > $1 * interval '1 millisecond'
    ORDER BY duration_ms DESC`,
  connections: `SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used,
      current_setting('max_connections')::int AS max,
      current_setting('superuser_reserved_connections')::int AS reserved`,
} as const;

interface TableSize {
  schema: string;
  table: string;
  total_bytes: string;
  table_bytes: string;
  index_bytes: string;
  row_estimate: string;
}
interface BloatRow {
  schema: string;
  table: string;
  live: string;
  dead: string;
  dead_ratio: number;
  dead_bytes: string;
  last_vacuum: Date | null;
}
interface LongQuery {
  pid: number;
  user: string | null;
  application: string | null;
  state: string | null;
  duration_ms: string;
  query: string;
}

/** The report's data, as `--json` prints it. */
export interface DatabaseReport {
  database: { url: string; name: string; bytes: number; version: string; readOnly: boolean };
  largestTables: Array<{
    schema: string;
    table: string;
    totalBytes: number;
    tableBytes: number;
    indexBytes: number;
    rows: number;
  }>;
  bloat: Array<{
    schema: string;
    table: string;
    live: number;
    dead: number;
    deadRatio: number;
    deadBytes: number;
    lastVacuum: string | null;
  }>;
  longQueries: Array<{
    pid: number;
    user: string | null;
    application: string | null;
    state: string | null;
    durationMs: number;
    query: string;
  }>;
  connections: { used: number; max: number; reserved: number; ratio: number };
}

/** Reads the report in one READ ONLY transaction with a statement timeout. */
export async function readDatabaseReport(
  url: string,
  options: { top: number; longQueryMs: number; statementTimeoutMs: number },
): Promise<DatabaseReport> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: Math.max(1_000, options.statementTimeoutMs),
    application_name: 'ops-db-report',
  });
  client.on('error', () => undefined); // a dropped connection fails the pending query, which reports it
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.round(options.statementTimeoutMs)}`);
    await client.query(`SET LOCAL lock_timeout = ${Math.round(options.statementTimeoutMs)}`);
    const database = (
      await client.query<{ name: string; bytes: string; version: string; read_only: string }>(REPORT_SQL.database)
    ).rows[0];
    const tables = (await client.query<TableSize>(REPORT_SQL.largestTables, [options.top])).rows;
    const bloat = (await client.query<BloatRow>(REPORT_SQL.bloat, [options.top])).rows;
    const longQueries = (await client.query<LongQuery>(REPORT_SQL.longQueries, [options.longQueryMs])).rows;
    const connections = (await client.query<{ used: number; max: number; reserved: number }>(REPORT_SQL.connections))
      .rows[0] as { used: number; max: number; reserved: number };
    await client.query('COMMIT');
    const usable = Math.max(1, connections.max - connections.reserved);
    return {
      database: {
        url: redactUrl(url),
        name: database?.name ?? '?',
        bytes: Number(database?.bytes ?? 0),
        version: database?.version ?? '?',
        readOnly: database?.read_only === 'on',
      },
      largestTables: tables.map((row) => ({
        schema: row.schema,
        table: row.table,
        totalBytes: Number(row.total_bytes),
        tableBytes: Number(row.table_bytes),
        indexBytes: Number(row.index_bytes),
        rows: Number(row.row_estimate),
      })),
      bloat: bloat.map((row) => ({
        schema: row.schema,
        table: row.table,
        live: Number(row.live),
        dead: Number(row.dead),
        deadRatio: Number(row.dead_ratio),
        deadBytes: Number(row.dead_bytes),
        lastVacuum: row.last_vacuum ? row.last_vacuum.toISOString() : null,
      })),
      longQueries: longQueries.map((row) => ({
        pid: row.pid,
        user: row.user,
        application: row.application,
        state: row.state,
        durationMs: Number(row.duration_ms),
        // Statement text can hold literals: redacted and cut short.
        query: safeErrorMessage(row.query),
      })),
      connections: { ...connections, ratio: connections.used / usable },
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Findings: connection use, long-running queries, tables whose dead tuples passed the threshold. */
export function reportFindings(
  report: DatabaseReport,
  thresholds: {
    connectionsWarn: number;
    connectionsFail: number;
    deadRatioWarn: number;
    minDeadTuples: number;
    longQueryMs: number;
  },
): StatusRow[] {
  const { connections } = report;
  const rows: StatusRow[] = [
    {
      check: 'connections',
      status:
        connections.ratio >= thresholds.connectionsFail
          ? 'fail'
          : connections.ratio >= thresholds.connectionsWarn
            ? 'warn'
            : 'pass',
      detail: `${connections.used} of ${connections.max - connections.reserved} usable (max_connections ${connections.max}, ${connections.reserved} reserved): ${percent(connections.ratio)}`,
    },
    {
      check: 'long-running queries',
      status: report.longQueries.length > 0 ? 'warn' : 'pass',
      detail:
        report.longQueries.length === 0
          ? `none over ${humanizeDuration(thresholds.longQueryMs)}`
          : `${report.longQueries.length} over ${humanizeDuration(thresholds.longQueryMs)}, longest ${humanizeDuration(report.longQueries[0]?.durationMs ?? 0)} (pid ${report.longQueries[0]?.pid})`,
    },
  ];
  const bloated = report.bloat.filter(
    (row) => row.dead >= thresholds.minDeadTuples && row.deadRatio >= thresholds.deadRatioWarn,
  );
  rows.push({
    check: 'bloat',
    status: bloated.length > 0 ? 'warn' : 'pass',
    detail:
      bloated.length === 0
        ? `no table over ${percent(thresholds.deadRatioWarn, 0)} dead tuples`
        : bloated
            .map(
              (row) =>
                `${row.schema}.${row.table} ${percent(row.deadRatio)} dead (~${formatBytes(row.deadBytes)}): VACUUM`,
            )
            .join('; '),
  });
  return rows;
}

function printReport(context: CliContext, report: DatabaseReport): void {
  const { database } = report;
  context.print(
    `Database ${database.name} on ${database.url}: ${formatBytes(database.bytes)}, PostgreSQL ${database.version}`,
  );
  context.print('\nLargest tables');
  context.io.stdout.write(
    formatTable(report.largestTables, [
      { header: 'TABLE', value: (row) => `${row.schema}.${row.table}` },
      { header: 'TOTAL', value: (row) => formatBytes(row.totalBytes), align: 'right' },
      { header: 'DATA', value: (row) => formatBytes(row.tableBytes), align: 'right' },
      { header: 'INDEXES', value: (row) => formatBytes(row.indexBytes), align: 'right' },
      { header: 'ROWS (EST.)', value: (row) => row.rows, align: 'right' },
    ]),
  );
  context.print('\nBloat estimate (dead tuples)');
  context.io.stdout.write(
    formatTable(report.bloat, [
      { header: 'TABLE', value: (row) => `${row.schema}.${row.table}` },
      { header: 'LIVE', value: (row) => row.live, align: 'right' },
      { header: 'DEAD', value: (row) => row.dead, align: 'right' },
      { header: 'DEAD %', value: (row) => percent(row.deadRatio), align: 'right' },
      { header: '~DEAD BYTES', value: (row) => formatBytes(row.deadBytes), align: 'right' },
      { header: 'LAST VACUUM', value: (row) => row.lastVacuum ?? 'never' },
    ]),
  );
  context.print('\nLong-running queries');
  if (report.longQueries.length === 0) context.print('none');
  else
    context.io.stdout.write(
      formatTable(report.longQueries, [
        { header: 'PID', value: (row) => row.pid, align: 'right' },
        { header: 'USER', value: (row) => row.user ?? '' },
        { header: 'STATE', value: (row) => row.state ?? '' },
        { header: 'FOR', value: (row) => humanizeDuration(row.durationMs), align: 'right' },
        { header: 'QUERY', value: (row) => row.query },
      ]),
    );
  context.print('');
}

/** The weekly database maintenance report. */
export const dbReport: ScriptDefinition = {
  name: 'db-report',
  summary:
    'Weekly database maintenance report: size, largest tables, bloat estimate, long-running queries, connection use against max_connections. Read-only; the password is never printed.',
  options: {
    'database-url': {
      type: 'string',
      valueName: 'url',
      description: 'the PostgreSQL to report on (or DATABASE_URL); a read-only role is enough',
    },
    top: { type: 'string', valueName: 'n', description: 'how many tables to list (default 10)' },
    'long-query': {
      type: 'string',
      valueName: 'duration',
      description: 'a query or transaction running longer is listed (default 5m)',
    },
    'dead-ratio-warn': { type: 'string', valueName: 'ratio', description: 'dead-tuple ratio that warns (default 0.2)' },
    'min-dead-tuples': {
      type: 'string',
      valueName: 'n',
      description: 'ignore tables with fewer dead tuples (default 1000)',
    },
    'connections-warn': { type: 'string', valueName: 'ratio', description: 'connection use that warns (default 0.8)' },
    'connections-fail': { type: 'string', valueName: 'ratio', description: 'connection use that fails (default 0.95)' },
    'statement-timeout': {
      type: 'string',
      valueName: 'duration',
      description: 'limit of each query of the report (default 30s)',
    },
  },
  examples: [
    'DATABASE_URL=postgresql://report@db.internal:5432/notes npx tsx src/db-report.ts',
    'npx tsx src/db-report.ts --database-url "$DATABASE_URL" --top 20 --long-query 1m --json > db-report.json',
    '0 7 * * 1  cd /srv/ops && DATABASE_URL=... npx tsx src/db-report.ts | mail -s "weekly database report" dba@example.com',
  ],
  exitCodes: [
    '0  report written (warnings allowed)',
    '1  connection use over --connections-fail, or the database could not be read',
    '2  usage or configuration error',
  ],
  run: async (context) => {
    const url = requireOptionOrEnv(context, 'database-url', 'DATABASE_URL', 'the PostgreSQL URL to report on');
    urlOption(url, '--database-url', ['postgres:', 'postgresql:']);
    const top = numberOption(context, 'top', 10, 1, 1_000);
    const longQueryMs = parseDuration(optionOrEnv(context, 'long-query') ?? '5m', '--long-query');
    const statementTimeoutMs = parseDuration(optionOrEnv(context, 'statement-timeout') ?? '30s', '--statement-timeout');
    const thresholds = {
      deadRatioWarn: numberOption(context, 'dead-ratio-warn', 0.2, 0, 1),
      minDeadTuples: numberOption(context, 'min-dead-tuples', 1_000, 0),
      connectionsWarn: numberOption(context, 'connections-warn', 0.8, 0, 1),
      connectionsFail: numberOption(context, 'connections-fail', 0.95, 0, 1),
      longQueryMs,
    };
    if (thresholds.connectionsWarn > thresholds.connectionsFail)
      throw new UsageError('--connections-warn must not be above --connections-fail');
    const password = new URL(url).password;
    let report: DatabaseReport;
    try {
      report = await readDatabaseReport(url, { top, longQueryMs, statementTimeoutMs });
    } catch (error) {
      const secrets = password ? [password, decodeURIComponent(password)] : [];
      const message = `cannot read ${redactUrl(url)}: ${safeErrorMessage(error, { secrets })}`;
      if (context.json) context.printJson({ ok: false, error: { code: 'DATABASE_UNREACHABLE', message } });
      context.warn(`db-report: ${message}`);
      return 1;
    }
    const findings = reportFindings(report, thresholds);
    if (context.json) return reportRows(context, findings, { report });
    printReport(context, report);
    return reportRows(context, findings);
  },
};

if (isMain(import.meta.url)) process.exitCode = await runScript(dbReport, process.argv.slice(2));
