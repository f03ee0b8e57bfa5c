import { z } from 'zod';

/** A note as stored and returned by the API. */
export interface Note {
  /** UUID assigned by the service. */
  id: string;
  title: string;
  body: string;
  /** ISO 8601 times. */
  createdAt: string;
  updatedAt: string;
}

/** What a client sends to create a note. */
export interface NoteInput {
  title: string;
  body: string;
}

/** zod schema of a create request body; errors name the field (`title: expected at least 1 character(s)`). */
export const noteInputSchema = z.strictObject({
  title: z.string().trim().min(1).max(200),
  body: z.string().max(10_000).default(''),
});

/** zod schema of an update request body: any subset of the fields, at least one. */
export const notePatchSchema = z
  .strictObject({
    title: z.string().trim().min(1).max(200).optional(),
    body: z.string().max(10_000).optional(),
  })
  .refine((value) => value.title !== undefined || value.body !== undefined, { message: 'expected "title" or "body"' });

/** zod schema of a stored note (used when reading exports back from a backup). */
export const noteSchema = z.strictObject({
  id: z.uuid(),
  title: z.string(),
  body: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
