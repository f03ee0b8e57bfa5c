import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Note, NoteInput } from './note.js';
import type { NotesRepository } from './notes-repository.js';

/** The table the PostgreSQL repository creates on `init()`. */
export const NOTES_TABLE_SQL = `CREATE TABLE IF NOT EXISTS notes (
  id uuid PRIMARY KEY,
  title text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)`;

/** Advisory lock key held while `init()` creates the table (any 64-bit number not used elsewhere in the database). */
const NOTES_INIT_LOCK_KEY = '7151843920374915';

interface NoteRow {
  id: string;
  title: string;
  body: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, title, body, created_at, updated_at';

function toNote(row: NoteRow): Note {
  return {
    id: row.id,
    title: row.title,
    body: row.body,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Options of {@link createPostgresNotesRepository}. */
export interface PostgresNotesRepositoryOptions {
  /** The application's pool (shared with the readiness probe); closed by `close()`. */
  pool: Pool;
}

/**
 * A {@link NotesRepository} on PostgreSQL: one `notes` table, created by `init()`. Give the pool a
 * `statement_timeout` (the backend uses 2 s) so a stuck query frees its connection instead of holding the pool.
 *
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, statement_timeout: 2_000 });
 * const repository = createPostgresNotesRepository({ pool });
 * await repository.init();
 * ```
 */
export function createPostgresNotesRepository(options: PostgresNotesRepositoryOptions): NotesRepository {
  const { pool } = options;
  const query = async <Row extends object>(text: string, values: unknown[] = []): Promise<Row[]> => {
    const result = await pool.query<Row>(text, values);
    return result.rows;
  };
  let closed = false;
  return {
    kind: 'postgres',
    async init() {
      // Replicas starting together on an empty database: CREATE TABLE IF NOT EXISTS is not safe concurrently (the
      // loser gets 23505 on pg_type), so the creation runs under a transaction-scoped advisory lock.
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [NOTES_INIT_LOCK_KEY]);
        await client.query(NOTES_TABLE_SQL);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async list({ limit = 100 } = {}) {
      return (await query<NoteRow>(`SELECT ${COLUMNS} FROM notes ORDER BY created_at DESC, id LIMIT $1`, [limit])).map(
        toNote,
      );
    },
    async get(id) {
      const [row] = await query<NoteRow>(`SELECT ${COLUMNS} FROM notes WHERE id = $1`, [id]);
      return row ? toNote(row) : undefined;
    },
    async create(input: NoteInput) {
      const [row] = await query<NoteRow>(
        `INSERT INTO notes (id, title, body) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
        [randomUUID(), input.title, input.body],
      );
      return toNote(row as NoteRow);
    },
    async update(id, patch) {
      const [row] = await query<NoteRow>(
        `UPDATE notes SET title = COALESCE($2, title), body = COALESCE($3, body), updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, patch.title ?? null, patch.body ?? null],
      );
      return row ? toNote(row) : undefined;
    },
    async delete(id) {
      const rows = await query<{ id: string }>('DELETE FROM notes WHERE id = $1 RETURNING id', [id]);
      return rows.length > 0;
    },
    async count() {
      const [row] = await query<{ count: string }>('SELECT count(*) AS count FROM notes');
      return Number(row?.count ?? 0);
    },
    async ping(signal) {
      signal.throwIfAborted();
      await query('SELECT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
