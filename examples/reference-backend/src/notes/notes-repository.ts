import type { Note, NoteInput } from './note.js';

/**
 * Where notes live. The in-memory and the PostgreSQL repositories implement the same interface, so the service
 * runs with no environment at all and switches to PostgreSQL when `DATABASE_URL` is set.
 */
export interface NotesRepository {
  /** `'memory'` or `'postgres'`: shown in logs and the demo summary. */
  readonly kind: 'memory' | 'postgres';
  /** Prepares storage (creates the table). Idempotent. */
  init(): Promise<void>;
  /** Newest first, at most `limit`. */
  list(options?: { limit?: number }): Promise<Note[]>;
  get(id: string): Promise<Note | undefined>;
  create(input: NoteInput): Promise<Note>;
  /** Changes the given fields; `undefined` when no note has this id. */
  update(id: string, patch: Partial<NoteInput>): Promise<Note | undefined>;
  /** Whether a note was deleted. */
  delete(id: string): Promise<boolean>;
  count(): Promise<number>;
  /** Cheap round trip used by the readiness check; rejects when the store is unusable. */
  ping(signal: AbortSignal): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}
