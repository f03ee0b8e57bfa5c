import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { packDirectory } from '../internal/tar-pack.js';
import type { BackupSource, SourceContext, SourceOutcome } from './source.js';
import { BackupError } from '../errors.js';

/** How symbolic links are archived: `preserve` stores the link itself (never followed); `skip` leaves it out. */
export type SymlinkPolicy = 'preserve' | 'skip';

/** Options of {@link createFilesSource}. */
export interface FilesSourceOptions {
  /** Directory to archive. */
  directory: string;
  /** Source name in the job. Default `files`. */
  name?: string;
  /** Glob patterns left out: `*.log`, `cache/**`, `node_modules` (a pattern without `/` matches at any depth). */
  exclude?: readonly string[];
  /**
   * Symlink policy: `preserve` (default) stores each link as a link and never follows it — so a link cannot pull
   * files from outside the directory into the backup; `skip` leaves links out. Sockets, FIFOs and devices are
   * always skipped (listed in the warnings).
   */
  symlinks?: SymlinkPolicy;
  /** Most file entries listed in the manifest (path, type, size, mode, sha256). Default 10 000. */
  maxListedEntries?: number;
}

/**
 * A files source: one tar (POSIX/pax) of a directory, streamed with per-file SHA-256 recorded in the manifest.
 *
 * @example
 * ```ts
 * const source = createFilesSource({ directory: '/etc/myapp', exclude: ['*.swp'] });
 * ```
 */
export function createFilesSource(options: FilesSourceOptions): BackupSource {
  const { name = 'files', exclude = [], symlinks = 'preserve', maxListedEntries = 10_000 } = options;
  if (symlinks !== 'preserve' && symlinks !== 'skip')
    throw new BackupError(
      'ARGUMENT_INVALID',
      `files symlinks policy must be preserve or skip, got ${JSON.stringify(symlinks)}`,
    );
  const directory = resolve(options.directory);

  async function backup(context: SourceContext): Promise<SourceOutcome> {
    const facts = await stat(directory).catch((error: unknown) => {
      throw new BackupError(
        'BACKUP_FAILED',
        `cannot read directory ${directory}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        { cause: error },
      );
    });
    if (!facts.isDirectory()) throw new BackupError('BACKUP_FAILED', `${directory} is not a directory`);
    const packed = packDirectory({ root: directory, exclude, symlinks, signal: context.signal });
    const [listing] = await Promise.all([packed.done, context.writeArtifact(`${name}.tar`, 'tar', packed.stream)]);
    return {
      details: {
        directory,
        symlinkPolicy: symlinks,
        exclude: [...exclude],
        fileCount: listing.fileCount,
        entryCount: listing.entries.length,
        totalBytes: listing.totalBytes,
        entries: listing.entries.slice(0, maxListedEntries),
        entriesTruncated: listing.entries.length > maxListedEntries,
        pointInTime: false,
        consistency: 'files read one by one (not a filesystem snapshot)',
      },
      warnings: listing.skipped.map((path) => `skipped ${path}`),
    };
  }

  return { kind: 'files', name, backup };
}
