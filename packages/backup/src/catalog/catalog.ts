import { Readable } from 'node:stream';
import { OpsError } from '@ops/core';
import { readAll } from '../internal/read-all.js';
import { manifestKey, parseManifest, serializeManifest, type BackupManifest } from '../manifest/manifest.js';
import type { BackupStorage } from '../storages/storage.js';
import { BackupError } from '../errors.js';

/** A manifest that could not be read, listed so an operator sees it instead of it silently disappearing. */
export interface UnreadableManifest {
  key: string;
  error: string;
}

/** What {@link listBackups} returns: manifests newest first, and any that could not be read. */
export interface BackupListing {
  backups: BackupManifest[];
  unreadable: UnreadableManifest[];
}

/** Reads one manifest by key. Throws `BACKUP_NOT_FOUND` or `BACKUP_CORRUPT`. */
export async function readManifest(storage: BackupStorage, key: string): Promise<BackupManifest> {
  const stream = await storage.read(key);
  const text = (await readAll(stream)).toString('utf8');
  return parseManifest(text, key);
}

/** Writes a manifest atomically (the storage's `write` contract). */
export async function writeManifest(storage: BackupStorage, manifest: BackupManifest): Promise<void> {
  await storage.write(
    manifestKey(manifest.job, manifest.id),
    Readable.from([Buffer.from(serializeManifest(manifest))]),
  );
}

/** Manifests {@link listBackups} reads at once. */
const MANIFEST_READS_IN_FLIGHT = 8;

/** The `<job>/<id>/manifest.json` keys in the storage (of `job`, or of every job), with their ids. */
async function listManifestKeys(
  storage: BackupStorage,
  job: string | undefined,
): Promise<{ key: string; id: string }[]> {
  const found: { key: string; id: string }[] = [];
  for await (const object of storage.list(job ? `${job}/` : '')) {
    const parts = object.key.split('/');
    if (parts.length === 3 && parts[2] === 'manifest.json') found.push({ key: object.key, id: parts[1] as string });
  }
  return found;
}

/** Sorts manifests newest first by start time (then id), never by parsing names alone. */
export function sortNewestFirst(manifests: BackupManifest[]): BackupManifest[] {
  return manifests.sort((a, b) =>
    a.startedAt === b.startedAt ? (a.id < b.id ? 1 : -1) : a.startedAt < b.startedAt ? 1 : -1,
  );
}

/**
 * The catalog, read from the storage itself (no local database to drift): lists every `<job>/<id>/manifest.json`,
 * optionally for one job, newest first.
 *
 * @example
 * ```ts
 * const { backups } = await listBackups({ storage, job: 'pg-main' });
 * console.log(backups[0]?.state);
 * ```
 */
export async function listBackups(options: {
  storage: BackupStorage;
  job?: string | undefined;
}): Promise<BackupListing> {
  const { storage, job } = options;
  const keys = (await listManifestKeys(storage, job)).map((entry) => entry.key);
  const backups: BackupManifest[] = [];
  const unreadable: UnreadableManifest[] = [];
  // A few reads in flight at once: on object storage each one is a round trip, and a catalog holds hundreds.
  let next = 0;
  const reader = async () => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      try {
        backups.push(await readManifest(storage, key));
      } catch (error) {
        if (OpsError.hasCode(error, 'BACKUP_NOT_FOUND')) continue;
        unreadable.push({ key, error: (error as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MANIFEST_READS_IN_FLIGHT, keys.length) }, reader));
  unreadable.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { backups: sortNewestFirst(backups), unreadable };
}

/** The time (whole seconds) in a backup id `20261122T030000Z-…`; `undefined` for an id of another shape. */
function idTimeMs(id: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as number[];
  return Date.UTC(year as number, (month as number) - 1, day, hour, minute, second);
}

/**
 * How far a manifest's `startedAt` may lie after the time in its id: the run reads the clock twice, and the id keeps
 * whole seconds.
 */
const ID_TIME_SLACK_MS = 2_000;

/**
 * The newest `count` backups (of `job`, or of every job) that `wanted` accepts, newest first. Reads manifests newest
 * id first, a few at a time, and stops once no unread backup can be newer than those found — so finding the latest
 * backup costs a read or two, not one per backup kept. `listed` counts the manifests in the storage.
 */
export async function newestBackups(options: {
  storage: BackupStorage;
  job?: string | undefined;
  count: number;
  wanted: (manifest: BackupManifest) => boolean;
}): Promise<{ backups: BackupManifest[]; listed: number }> {
  const { storage, job, count, wanted } = options;
  const entries = (await listManifestKeys(storage, job)).map(({ key, id }) => ({ key, time: idTimeMs(id) }));
  // Ids of another shape first (their time is unknown, so they are always read), then newest first.
  const rank = (time: number | undefined) => (time === undefined ? Number.POSITIVE_INFINITY : time);
  entries.sort((a, b) => rank(b.time) - rank(a.time) || (a.key < b.key ? 1 : -1));
  const read: BackupManifest[] = [];
  const found = () => sortNewestFirst([...read]).filter(wanted);
  let index = 0;
  let batchSize = Math.max(1, count);
  while (index < entries.length) {
    // Batches double (up to the reads in flight): a healthy job needs only the first one.
    const batch = entries.slice(index, index + batchSize);
    batchSize = Math.min(MANIFEST_READS_IN_FLIGHT, batchSize * 2);
    index += batch.length;
    // A damaged or vanished manifest is no candidate (`listBackups` names it); a failing storage is an error.
    const manifests = await Promise.all(
      batch.map((entry) =>
        readManifest(storage, entry.key).catch((error: unknown) => {
          if (OpsError.hasCode(error, 'BACKUP_CORRUPT') || OpsError.hasCode(error, 'BACKUP_NOT_FOUND'))
            return undefined;
          throw error;
        }),
      ),
    );
    for (const manifest of manifests) if (manifest) read.push(manifest);
    const matches = found();
    const next = entries[index];
    const oldest = matches[count - 1];
    if (
      oldest &&
      (next === undefined || (next.time !== undefined && next.time < Date.parse(oldest.startedAt) - ID_TIME_SLACK_MS))
    )
      return { backups: matches.slice(0, count), listed: entries.length };
  }
  return { backups: found().slice(0, count), listed: entries.length };
}

/**
 * Finds one backup by id (optionally within a job). `'latest'` picks the newest completed backup of `job`.
 * Throws `BACKUP_NOT_FOUND`.
 */
export async function findBackup(options: {
  storage: BackupStorage;
  id: string;
  job?: string | undefined;
}): Promise<BackupManifest> {
  const { storage, id, job } = options;
  if (id === 'latest') {
    const { backups } = await newestBackups({
      storage,
      job,
      count: 1,
      wanted: (backup) => backup.state === 'completed',
    });
    const found = backups[0];
    if (!found)
      throw new BackupError(
        'BACKUP_NOT_FOUND',
        `no completed backup${job ? ` of job ${job}` : ''} in ${storage.location}`,
      );
    return found;
  }
  if (job) return readManifest(storage, manifestKey(job, id));
  const found = (await listManifestKeys(storage, undefined)).find((entry) => entry.id === id);
  if (found) return readManifest(storage, found.key);
  throw new BackupError('BACKUP_NOT_FOUND', `backup ${JSON.stringify(id)} not found in ${storage.location}`);
}
