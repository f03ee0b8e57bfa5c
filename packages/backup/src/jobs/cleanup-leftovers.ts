import { silentLogger, type Logger } from '@ops/core';
import { readManifest } from '../catalog/catalog.js';
import { manifestKey, runMarkerKey } from '../manifest/manifest.js';
import type { BackupStorage } from '../storages/storage.js';

/**
 * Removes what interrupted runs of `job` left behind: backups whose run never finished (their run marker is still
 * there and their manifest still `in-progress`: the run was killed), directories with data but no manifest (an
 * interrupted prune or a run killed before its first write), and partial writes (`storage.cleanup`). Call it only
 * while holding the job's lock: then nothing else is writing.
 *
 * It reads only the manifests of backups with a run marker, plus the newest one without (a run of a version before
 * markers, killed, is the newest when the next run starts), so its cost does not grow with the number of finished
 * backups kept. A run that died after its final manifest loses only its marker. An older `in-progress` backup
 * without a marker (from a run without the lock) is left to `pruneBackups`, which removes it after
 * `staleInProgressAfter`.
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
  let newestUnmarked: string | undefined;
  for (const [id, keys] of byBackup)
    if (keys.includes(manifestKey(job, id)) && !keys.includes(runMarkerKey(job, id)) && id > (newestUnmarked ?? ''))
      newestUnmarked = id;
  let backups = 0;
  for (const [id, keys] of byBackup) {
    const manifest = manifestKey(job, id);
    const marker = runMarkerKey(job, id);
    const hasManifest = keys.includes(manifest);
    if (hasManifest && !keys.includes(marker) && id !== newestUnmarked) continue; // a finished run
    if (hasManifest) {
      let state: string;
      try {
        state = (await readManifest(storage, manifest)).state;
      } catch {
        continue; // An unreadable manifest is shown by `list`; an operator decides.
      }
      if (state !== 'in-progress') {
        if (keys.includes(marker)) await storage.delete(marker); // the run died after writing its final manifest
        continue;
      }
    }
    logger.warn({ job, id }, 'removing leftovers of an interrupted backup');
    // Data first, the marker last: an interrupted cleanup still leaves the backup findable as a leftover.
    for (const key of keys) if (key !== manifest && key !== marker) await storage.delete(key);
    if (hasManifest) await storage.delete(manifest);
    if (keys.includes(marker)) await storage.delete(marker);
    backups++;
  }
  const partialObjects = (await storage.cleanup?.(`${job}/`)) ?? 0;
  return { backups, partialObjects };
}
