/** The result of a query, as `pg` returns it. */
export interface PgQueryResult<Row> {
  rows: Row[];
  rowCount: number | null;
}

/** What the PostgreSQL audit store needs of a `pg` `Pool` (typed structurally, so `pg` stays an optional peer). */
export interface PgPoolLike {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgQueryResult<Row>>;
}
