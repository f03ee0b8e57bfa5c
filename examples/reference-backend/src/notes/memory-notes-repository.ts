import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '@ops/core';
import type { Note } from './note.js';
import type { NotesRepository } from './notes-repository.js';

/** An in-memory {@link NotesRepository} that can also export and import its content (for file backups). */
export interface MemoryNotesRepository extends NotesRepository {
  readonly kind: 'memory';
  /** Every note, oldest first (a consistent copy: later writes do not change it). */
  exportAll(): Note[];
  /** Replaces the content with `notes` (restore). */
  replaceAll(notes: readonly Note[]): void;
}

/**
 * Creates the default repository: notes in a `Map`, gone when the process ends. Timestamps come from `clock`.
 *
 * @example
 * ```ts
 * const repository = createMemoryNotesRepository();
 * const note = await repository.create({ title: 'hello', body: '' });
 * ```
 */
export function createMemoryNotesRepository(options: { clock?: Clock } = {}): MemoryNotesRepository {
  const { clock = systemClock } = options;
  const notes = new Map<string, Note>();
  const now = () => new Date(clock.now()).toISOString();
  return {
    kind: 'memory',
    async init() {},
    async list({ limit = 100 } = {}) {
      return [...notes.values()]
        .reverse()
        .slice(0, limit)
        .map((note) => ({ ...note }));
    },
    async get(id) {
      const note = notes.get(id);
      return note ? { ...note } : undefined;
    },
    async create(input) {
      const time = now();
      const note: Note = { id: randomUUID(), title: input.title, body: input.body, createdAt: time, updatedAt: time };
      notes.set(note.id, note);
      return { ...note };
    },
    async update(id, patch) {
      const note = notes.get(id);
      if (!note) return undefined;
      const updated: Note = {
        ...note,
        ...(patch.title === undefined ? {} : { title: patch.title }),
        ...(patch.body === undefined ? {} : { body: patch.body }),
        updatedAt: now(),
      };
      notes.set(id, updated);
      return { ...updated };
    },
    async delete(id) {
      return notes.delete(id);
    },
    async count() {
      return notes.size;
    },
    async ping(signal) {
      signal.throwIfAborted();
    },
    async close() {},
    exportAll() {
      return [...notes.values()].map((note) => ({ ...note }));
    },
    replaceAll(replacement) {
      notes.clear();
      for (const note of replacement) notes.set(note.id, { ...note });
    },
  };
}
