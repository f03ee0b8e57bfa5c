import { queryPostgres } from '@ops/testkit';

/** The local PostgreSQL server the backup benchmarks use (override with OPS_BENCH_POSTGRES_URL). */
export const ADMIN_URL = process.env.OPS_BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** A URL for `database` on the bench server. */
export function databaseUrl(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Ensures a bench database of about `rows` × 182 bytes on disk exists, generating it once with generate_series
 * (md5 text, so it does not compress to nothing) and reusing it on later runs. Resolves with its size in bytes.
 */
export async function ensureBenchDatabase(
  database: string,
  rows: number,
  log: (line: string) => void = () => undefined,
): Promise<number> {
  const exists = await queryPostgres<{ ok: number }>(
    ADMIN_URL,
    `SELECT 1 AS ok FROM pg_database WHERE datname = '${database}'`,
  );
  let ready = false;
  if (exists.length > 0) {
    const tables = await queryPostgres<{ count: string }>(
      databaseUrl(database),
      `SELECT count(*) FROM pg_class WHERE relname = 'bench_items' AND reltuples >= ${Math.floor(rows * 0.99)}`,
    );
    ready = Number(tables[0]?.count) === 1;
    if (!ready) await queryPostgres(ADMIN_URL, `DROP DATABASE "${database}" WITH (FORCE)`);
  }
  if (!ready) {
    log(`generating ${database} (${rows} rows) once; later runs reuse it`);
    await queryPostgres(ADMIN_URL, `CREATE DATABASE "${database}"`);
    await queryPostgres(
      databaseUrl(database),
      `CREATE TABLE bench_items (id bigint PRIMARY KEY, label text NOT NULL, payload text NOT NULL, amount double precision NOT NULL, created_at timestamptz NOT NULL);
       INSERT INTO bench_items SELECT g, 'item-' || g, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text), (g % 100000) / 7.0,
              timestamptz '2026-01-01' + (g || ' seconds')::interval FROM generate_series(1, ${rows}) AS g;
       ANALYZE bench_items;`,
    );
  }
  const size = await queryPostgres<{ bytes: string }>(ADMIN_URL, `SELECT pg_database_size('${database}') AS bytes`);
  return Number(size[0]?.bytes);
}
