import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { trackDirectory, unmountBelowSync } from './process/cleanup-registry.js';

/** A directory created for one test; see {@link tempDir}. */
export interface TempDir {
  /** Absolute path of the new, empty directory. */
  path: string;
  /** Removes the directory and everything in it. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * The directory temporary fixtures live in: `OPS_TEST_TMPDIR` when set, otherwise the OS temp dir.
 */
export function testTempRoot(): string {
  const configured = process.env['OPS_TEST_TMPDIR'];
  return configured !== undefined && configured !== '' ? configured : tmpdir();
}

/**
 * Creates a fresh directory named `ops-<prefix>-XXXXXX` under the OS temp dir (or `OPS_TEST_TMPDIR`). It is removed
 * by `dispose()` and, if a test forgets, when the test process exits.
 *
 * @example
 * ```ts
 * const dir = await tempDir('backup');
 * await writeFile(join(dir.path, 'dump.sql'), '...');
 * await dir.dispose();
 * ```
 */
export async function tempDir(prefix = 'test'): Promise<TempDir> {
  const safePrefix = prefix.replace(/[^A-Za-z0-9_.-]/g, '-');
  const path = await mkdtemp(join(testTempRoot(), `ops-${safePrefix}-`));
  const untrack = trackDirectory(path);
  let disposed = false;
  return {
    path,
    async dispose() {
      if (disposed) return;
      disposed = true;
      unmountBelowSync(path);
      await rm(path, { recursive: true, force: true });
      untrack();
    },
  };
}
