import { silentLogger, type Logger } from '@ops/core';
import { readManifest } from '../catalog/catalog.js';
import type { BackupStorage } from '../storages/storage.js';

/**
 * Removes what interrupted runs of `job` left behind: backups whose manifest is still `in-progress` (the run was
 * killed), directories with data but no manifest (an interrupted prune or a run killed before its first write),
 * and partial writes (`storage.cleanup`). Call it only while holding the job's lock: then nothing else is writing.
 */
export async function cleanupLeftovers(options: {
  storage: BackupStorage;
  job: string;
  logger?: Logger;
}): Promise<{ backups: number; partialObjects: number }> {
  const { storage, job, logger = silentLogger } = options;
  const byBackup = new Map<string, string[]>();
  for await (const object of storage.list(`${job}/`)) {
    const parts = object.key.split('/');
    if (parts.length < 3 || parts[1] === 'locks') continue;
    const id = parts[1] as string;
    byBackup.set(id, [...(byBackup.get(id) ?? []), object.key]);
  }
  let backups = 0;
  for (const [id, keys] of byBackup) {
    const manifest = `${job}/${id}/manifest.json`;
    let garbage = !keys.includes(manifest);
    if (!garbage) {
      try {
        garbage = (await readManifest(storage, manifest)).state === 'in-progress';
      } catch {
        garbage = false; // An unreadable manifest is shown by `list`; an operator decides.
      }
    }
    if (!garbage) continue;
    logger.warn({ job, id }, 'removing leftovers of an interrupted backup');
    for (const key of keys) if (key !== manifest) await storage.delete(key);
    await storage.delete(manifest);
    backups++;
  }
  const partialObjects = (await storage.cleanup?.(`${job}/`)) ?? 0;
  return { backups, partialObjects };
}
