import { link, lstat, mkdir, open, readdir, realpath, symlink, utimes } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { OpsError } from '@ops/core';

/** What {@link extractTar} did. */
export interface ExtractSummary {
  files: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  bytes: number;
}

/** Options of {@link extractTar}. */
export interface ExtractTarOptions {
  stream: Readable;
  /** Staging directory: must not exist or be empty. Omit to only parse and check the archive (verify). */
  directory?: string;
  signal?: AbortSignal;
}

const unsafe = (message: string): OpsError => new OpsError('RESTORE_UNSAFE_PATH', message);

/** Normalises an archive entry name into safe relative segments, or throws `RESTORE_UNSAFE_PATH`. */
export function safeEntryPath(name: string): string {
  if (name.includes('\0')) throw unsafe(`archive entry ${JSON.stringify(name)} contains NUL`);
  if (name.includes('\\')) throw unsafe(`archive entry ${JSON.stringify(name)} contains a backslash`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafe(`archive entry ${JSON.stringify(name)} is an absolute path`);
  const segments = name.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) throw unsafe(`archive entry ${JSON.stringify(name)} contains ".."`);
  if (segments.length === 0) throw unsafe(`archive entry ${JSON.stringify(name)} is empty`);
  return segments.join('/');
}

function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/**
 * Reads a tar stream and (when `directory` is given) extracts it into an empty staging directory, refusing — with
 * `RESTORE_UNSAFE_PATH`, before anything is written for that entry — absolute names, `..`, symlinks whose target
 * leaves the staging directory, hard links to outside, writes through symlinks that leave it, and device/FIFO
 * entries. Files are created exclusively (an existing path or symlink is never followed or overwritten);
 * setuid/setgid/sticky bits are dropped.
 */
export async function extractTar(options: ExtractTarOptions): Promise<ExtractSummary> {
  const { stream, directory, signal } = options;
  const summary: ExtractSummary = { files: 0, directories: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  let root: string | undefined;
  if (directory !== undefined) {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    if ((await readdir(directory)).length > 0) throw new OpsError('RESTORE_FAILED', `staging directory ${directory} is not empty; restore into an empty directory`);
    root = await realpath(directory);
  }
  const extract = tar.extract();
  stream.on('error', (error) => extract.destroy(error));
  stream.pipe(extract as unknown as NodeJS.WritableStream);

  const parentInside = async (full: string, name: string): Promise<void> => {
    if (!root) return;
    await mkdir(dirname(full), { recursive: true, mode: 0o700 });
    const parent = await realpath(dirname(full));
    if (!within(root, parent)) throw unsafe(`archive entry ${JSON.stringify(name)} would be written through a symlink outside the staging directory`);
  };

  try {
    for await (const entry of extract) {
      signal?.throwIfAborted();
      const header = entry.header;
      const name = safeEntryPath(header.name);
      const full = root ? join(root, ...name.split('/')) : name;
      const mode = (header.mode ?? 0o644) & 0o777;
      switch (header.type) {
        case 'file':
        case 'contiguous-file': {
          if (root) {
            await parentInside(full, name);
            const handle = await open(full, 'wx', mode);
            try {
              for await (const chunk of entry as AsyncIterable<Buffer>) {
                await handle.write(chunk);
                summary.bytes += chunk.length;
              }
            } finally {
              await handle.close();
            }
            if (header.mtime) await utimes(full, header.mtime, header.mtime).catch(() => undefined);
          } else {
            for await (const chunk of entry as AsyncIterable<Buffer>) summary.bytes += chunk.length;
          }
          summary.files++;
          continue;
        }
        case 'directory': {
          if (root) {
            await parentInside(full, name);
            const existing = await lstat(full).catch(() => undefined);
            if (existing && !existing.isDirectory()) throw unsafe(`archive entry ${JSON.stringify(name)} is a directory over an existing non-directory (symlink?)`);
            if (!existing) await mkdir(full, { mode: mode | 0o700 });
          }
          summary.directories++;
          break;
        }
        case 'symlink': {
          const target = header.linkname ?? '';
          if (target === '' || isAbsolute(target) || target.includes('\0')) throw unsafe(`symlink ${JSON.stringify(name)} points to an absolute or empty target ${JSON.stringify(target)}`);
          const lexical = posix.normalize(posix.join(posix.dirname(name), target));
          if (lexical === '..' || lexical.startsWith('../')) throw unsafe(`symlink ${JSON.stringify(name)} -> ${JSON.stringify(target)} points outside the staging directory`);
          if (root) {
            await parentInside(full, name);
            await symlink(target, full);
          }
          summary.symlinks++;
          break;
        }
        case 'link': {
          const targetName = safeEntryPath(header.linkname ?? '');
          if (root) {
            await parentInside(full, name);
            const targetPath = resolve(root, ...targetName.split('/'));
            const real = await realpath(targetPath).catch(() => undefined);
            if (!real || !within(root, real)) throw unsafe(`hard link ${JSON.stringify(name)} -> ${JSON.stringify(targetName)} points outside the staging directory`);
            const facts = await lstat(real);
            if (!facts.isFile()) throw unsafe(`hard link ${JSON.stringify(name)} must point to a regular file`);
            await link(real, full);
          }
          summary.hardlinks++;
          break;
        }
        default:
          throw unsafe(`archive entry ${JSON.stringify(name)} has unsupported type ${String(header.type)} (devices and FIFOs are refused)`);
      }
      entry.resume();
    }
  } catch (error) {
    extract.destroy();
    stream.destroy();
    if (OpsError.isInstance(error)) throw error;
    throw new OpsError('BACKUP_CORRUPT', `cannot read tar archive: ${(error as Error).message}`, { cause: error });
  }
  return summary;
}
