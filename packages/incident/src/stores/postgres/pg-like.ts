/** The result of a query, as `pg` returns it. */
export interface PgQueryResult<Row> {
  rows: Row[];
  rowCount: number | null;
}

/** Something that runs queries: a `pg` `Pool`, `Client` or `PoolClient`. */
export interface PgQueryable {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgQueryResult<Row>>;
}

/** A checked-out `pg` client. */
export interface PgClientLike extends PgQueryable {
  release(error?: Error | boolean): void;
}

/** What the PostgreSQL store needs of a `pg` `Pool` (typed structurally, so `pg` stays an optional peer). */
export interface PgPoolLike extends PgQueryable {
  connect(): Promise<PgClientLike>;
}
