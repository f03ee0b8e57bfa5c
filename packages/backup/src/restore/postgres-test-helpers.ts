import pg from 'pg';

/** Test helper: runs `text` on a fresh connection to `connectionString` and resolves with its rows. */
export async function sql<T extends pg.QueryResultRow>(connectionString: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}
