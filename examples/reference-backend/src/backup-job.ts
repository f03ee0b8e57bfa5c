import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createBackupEvents,
  createBackupMetrics,
  createFilesSource,
  createLocalStorage,
  createPostgresSource,
  listBackups,
  restoreFiles,
  restorePostgres,
  runBackup,
  verifyBackup,
  type BackupManifest,
  type BackupMetrics,
  type BackupSource,
  type BackupStorage,
  type VerificationLevel,
  type VerificationReport,
} from '@ops/backup';
import { safeErrorMessage, silentLogger, systemClock, type Clock, type Logger } from '@ops/core';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { ReferenceBackendError } from './errors.js';
import { noteSchema, type Note } from './notes/note.js';
import type { MemoryNotesRepository } from './notes/memory-notes-repository.js';

/** Name of the backup job (backups live under `notes/` in the storage). */
export const NOTES_BACKUP_JOB = 'notes';
/** File holding the exported notes inside a files backup of the in-memory repository. */
export const NOTES_EXPORT_FILE = 'notes.json';

const exportSchema = z.strictObject({
  formatVersion: z.literal(1),
  exportedAt: z.iso.datetime(),
  notes: z.array(noteSchema),
});

/** What to back up: the PostgreSQL database, or the in-memory repository (exported as a file). */
export type NotesBackupTarget =
  { kind: 'postgres'; connectionString: string } | { kind: 'memory'; repository: MemoryNotesRepository };

/** Options of {@link createNotesBackupJob}. */
export interface NotesBackupJobOptions {
  target: NotesBackupTarget;
  /** Local storage directory (created 0700 when missing). */
  directory: string;
  /** Verification run after each backup. Default `'full-read'` (decompress and parse every artifact). */
  verification?: VerificationLevel;
  /** Registers `ops_backup_*` RPO metrics. */
  registry?: Registry;
  clock?: Clock;
  logger?: Logger;
}

/** The outcome of one {@link NotesBackupJob.run}. */
export interface NotesBackupOutcome {
  manifest: BackupManifest;
  verification: VerificationReport | undefined;
  /** Completed and verified. */
  ok: boolean;
}

/** The outcome of {@link NotesBackupJob.restoreInto}. */
export interface NotesRestoreOutcome {
  backupId: string;
  /** Notes found in the restored copy. */
  notes: Note[];
  /** Where the copy is: a database name or a directory. */
  location: string;
}

/** A database to restore into: created by the restore unless `create: false` (then it must exist and be empty). */
export interface PostgresRestoreTarget {
  /** Connection string of the server (any database on it; the path is replaced by `database`). */
  connectionString: string;
  database: string;
  /** Default `true`. */
  create?: boolean;
}

/** The backup job of the reference backend. */
export interface NotesBackupJob {
  readonly storage: BackupStorage & { readonly directory: string };
  /** Runs one backup, then verifies it. Never throws for a failed backup: see `ok`. */
  run(options?: { signal?: AbortSignal }): Promise<NotesBackupOutcome>;
  /** Backups of the job, newest first. */
  list(): Promise<BackupManifest[]>;
  /**
   * Restores a backup (default: the newest completed one) into a scratch location and reads the notes back: a
   * database (PostgreSQL backups) or an empty directory (in-memory backups). The caller removes the scratch location.
   */
  restoreInto(
    target: PostgresRestoreTarget | { directory: string },
    backup?: BackupManifest,
  ): Promise<NotesRestoreOutcome>;
}

async function exportDirectory(repository: MemoryNotesRepository, clock: Clock): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'ops-notes-export-'));
  const document = { formatVersion: 1, exportedAt: new Date(clock.now()).toISOString(), notes: repository.exportAll() };
  await writeFile(join(directory, NOTES_EXPORT_FILE), `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
  return directory;
}

/** Reads `notes.json` of a restored files backup (validated). */
export async function readNotesExport(directory: string): Promise<Note[]> {
  const text = await readFile(join(directory, NOTES_EXPORT_FILE), 'utf8');
  const parsed = exportSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new ReferenceBackendError(
      'INTERNAL',
      `restored ${NOTES_EXPORT_FILE} is not a notes export: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  return parsed.data.notes;
}

/**
 * Creates the notes backup job: `pg_dump` (custom format) of the database when the service runs on PostgreSQL,
 * otherwise an export of the in-memory repository backed up as files. Both go through @ops/backup's pipeline
 * (gzip, SHA-256, manifest) into a local directory and are verified after each run, so the freshness check
 * counts only backups that were read back.
 *
 * @example
 * ```ts
 * const job = createNotesBackupJob({ target: { kind: 'memory', repository }, directory: '/var/backups/notes' });
 * const { ok, manifest } = await job.run();
 * ```
 */
export function createNotesBackupJob(options: NotesBackupJobOptions): NotesBackupJob {
  const { target, verification = 'full-read', registry, clock = systemClock, logger = silentLogger } = options;
  const storage = createLocalStorage({ directory: options.directory });
  const events = createBackupEvents({ logger });
  const metrics: BackupMetrics | undefined = registry
    ? createBackupMetrics({ registry, events, requiredVerification: verification })
    : undefined;

  const list = async () => (await listBackups({ storage, job: NOTES_BACKUP_JOB })).backups;

  return {
    storage,
    list,
    async run(runOptions = {}) {
      let exported: string | undefined;
      try {
        let source: BackupSource;
        if (target.kind === 'postgres') {
          source = createPostgresSource({
            name: 'notes-db',
            connectionString: target.connectionString,
            format: 'custom',
            lockWaitTimeout: '30s',
          });
        } else {
          exported = await exportDirectory(target.repository, clock);
          source = createFilesSource({ name: 'notes-export', directory: exported });
        }
        const manifest = await runBackup({
          job: NOTES_BACKUP_JOB,
          storage,
          sources: [source],
          clock,
          logger,
          tags: [target.kind],
          events,
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
        });
        let report: VerificationReport | undefined;
        if (manifest.state === 'completed') {
          report = await verifyBackup({
            storage,
            backup: manifest,
            level: verification,
            clock,
            logger,
            events,
            ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          });
        }
        metrics?.observeCatalog(NOTES_BACKUP_JOB, await list());
        const ok = manifest.state === 'completed' && report?.ok === true;
        logger[ok ? 'info' : 'error'](
          {
            job: NOTES_BACKUP_JOB,
            id: manifest.id,
            state: manifest.state,
            verified: report?.ok ?? false,
            storedBytes: manifest.storedBytes,
          },
          ok ? 'backup.completed' : 'backup.failed',
        );
        return { manifest, verification: report, ok };
      } finally {
        if (exported) await rm(exported, { recursive: true, force: true });
      }
    },
    async restoreInto(scratch, backup) {
      const chosen = backup ?? (await list()).find((candidate) => candidate.state === 'completed');
      if (!chosen)
        throw new ReferenceBackendError(
          'ARGUMENT_INVALID',
          `no completed backup of job ${NOTES_BACKUP_JOB} to restore`,
        );
      if ('database' in scratch) {
        await restorePostgres({
          storage,
          backup: chosen,
          target: { connectionString: scratch.connectionString, database: scratch.database },
          create: scratch.create ?? true,
          noOwner: true,
          logger,
        });
        const pg = await import('pg');
        const url = new URL(scratch.connectionString);
        url.pathname = `/${encodeURIComponent(scratch.database)}`;
        const client = new pg.default.Client({ connectionString: url.toString() });
        await client.connect();
        try {
          const rows = (
            await client.query<{ id: string; title: string; body: string; created_at: Date; updated_at: Date }>(
              'SELECT id, title, body, created_at, updated_at FROM notes ORDER BY created_at, id',
            )
          ).rows;
          const notes = rows.map((row) => ({
            id: row.id,
            title: row.title,
            body: row.body,
            createdAt: row.created_at.toISOString(),
            updatedAt: row.updated_at.toISOString(),
          }));
          return { backupId: chosen.id, notes, location: `database ${scratch.database}` };
        } finally {
          await client
            .end()
            .catch((error: unknown) =>
              logger.warn({ error: safeErrorMessage(error) }, 'closing the restore check connection failed'),
            );
        }
      }
      await mkdir(scratch.directory, { recursive: true, mode: 0o700 });
      await restoreFiles({ storage, backup: chosen, directory: scratch.directory, logger });
      return { backupId: chosen.id, notes: await readNotesExport(scratch.directory), location: scratch.directory };
    },
  };
}
