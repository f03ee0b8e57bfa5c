import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs `work` with a fresh private directory (mode 0700) that is removed afterwards, whatever happens. */
export async function withTemporaryDirectory<T>(work: (directory: string) => Promise<T>, parent: string = tmpdir()): Promise<T> {
  const directory = await mkdtemp(join(parent, 'ops-backup-'));
  try {
    return await work(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
