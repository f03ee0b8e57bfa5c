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
  const keys: string[] = [];
  for await (const object of storage.list(job ? `${job}/` : '')) {
    const parts = object.key.split('/');
    if (parts.length === 3 && parts[2] === 'manifest.json') keys.push(object.key);
  }
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
    const { backups } = await listBackups({ storage, job });
    const found = backups.find((backup) => backup.state === 'completed');
    if (!found)
      throw new BackupError(
        'BACKUP_NOT_FOUND',
        `no completed backup${job ? ` of job ${job}` : ''} in ${storage.location}`,
      );
    return found;
  }
  if (job) return readManifest(storage, manifestKey(job, id));
  for await (const object of storage.list('')) {
    const parts = object.key.split('/');
    if (parts.length === 3 && parts[1] === id && parts[2] === 'manifest.json') return readManifest(storage, object.key);
  }
  throw new BackupError('BACKUP_NOT_FOUND', `backup ${JSON.stringify(id)} not found in ${storage.location}`);
}
