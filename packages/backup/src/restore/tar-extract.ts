import { link, lstat, mkdir, open, readdir, realpath, symlink, utimes } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { OpsError } from '@ops/core';
import { BackupError } from '../errors.js';

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

const unsafe = (message: string): BackupError => new BackupError('RESTORE_UNSAFE_PATH', message);

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
    if ((await readdir(directory)).length > 0) throw new BackupError('RESTORE_FAILED', `staging directory ${directory} is not empty; restore into an empty directory`);
    root = await realpath(directory);
  }
  const extract = tar.extract();
  stream.on('error', (error) => extract.destroy(error));
  stream.pipe(extract as unknown as NodeJS.WritableStream);

  try {
    for await (const entry of extract) {
      signal?.throwIfAborted();
      const { header } = entry;
      const name = safeEntryPath(header.name);
      const target: EntryTarget = { root, name, full: root ? join(root, ...name.split('/')) : name };
      switch (header.type) {
        case 'file':
        case 'contiguous-file':
          summary.bytes += await extractFile(entry, target);
          summary.files++;
          continue; // the entry was read to its end
        case 'directory':
          await extractDirectory(target, (header.mode ?? 0o644) & 0o777);
          summary.directories++;
          break;
        case 'symlink':
          await extractSymlink(target, header.linkname ?? '');
          summary.symlinks++;
          break;
        case 'link':
          await extractHardLink(target, header.linkname ?? '');
          summary.hardlinks++;
          break;
        default:
          throw unsafe(`archive entry ${JSON.stringify(name)} has unsupported type ${String(header.type)} (devices and FIFOs are refused)`);
      }
      entry.resume();
    }
  } catch (error) {
    extract.destroy();
    stream.destroy();
    if (OpsError.isInstance(error)) throw error;
    throw new BackupError('BACKUP_CORRUPT', `cannot read tar archive: ${(error as Error).message}`, { cause: error });
  }
  return summary;
}

/** Where an entry goes: `root` is the real staging directory (`undefined` when only checking), `full` the entry's path in it. */
interface EntryTarget {
  root: string | undefined;
  /** The safe relative entry name. */
  name: string;
  full: string;
}

/** Creates the parent directories of `full` and refuses when the real parent is outside the staging directory. */
async function assertParentInside(target: EntryTarget): Promise<void> {
  const { root, full, name } = target;
  if (!root) return;
  await mkdir(dirname(full), { recursive: true, mode: 0o700 });
  const parent = await realpath(dirname(full));
  if (!within(root, parent)) throw unsafe(`archive entry ${JSON.stringify(name)} would be written through a symlink outside the staging directory`);
}

/** Reads a file entry to its end, writing it to a new file (never over an existing path); returns its bytes. */
async function extractFile(entry: AsyncIterable<unknown> & { header: tar.Header }, target: EntryTarget): Promise<number> {
  const { root, full } = target;
  const { header } = entry;
  let bytes = 0;
  if (!root) {
    for await (const chunk of entry as AsyncIterable<Buffer>) bytes += chunk.length;
    return bytes;
  }
  await assertParentInside(target);
  const handle = await open(full, 'wx', (header.mode ?? 0o644) & 0o777);
  try {
    for await (const chunk of entry as AsyncIterable<Buffer>) {
      await handle.write(chunk);
      bytes += chunk.length;
    }
  } finally {
    await handle.close();
  }
  if (header.mtime) await utimes(full, header.mtime, header.mtime).catch(() => undefined);
  return bytes;
}

async function extractDirectory(target: EntryTarget, mode: number): Promise<void> {
  const { root, full, name } = target;
  if (!root) return;
  await assertParentInside(target);
  const existing = await lstat(full).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw unsafe(`archive entry ${JSON.stringify(name)} is a directory over an existing non-directory (symlink?)`);
  if (!existing) await mkdir(full, { mode: mode | 0o700 });
}

/** A symlink whose target is relative and stays inside the staging directory (checked even when not extracting). */
async function extractSymlink(target: EntryTarget, linkTarget: string): Promise<void> {
  const { root, full, name } = target;
  if (linkTarget === '' || isAbsolute(linkTarget) || linkTarget.includes('\0')) throw unsafe(`symlink ${JSON.stringify(name)} points to an absolute or empty target ${JSON.stringify(linkTarget)}`);
  const lexical = posix.normalize(posix.join(posix.dirname(name), linkTarget));
  if (lexical === '..' || lexical.startsWith('../')) throw unsafe(`symlink ${JSON.stringify(name)} -> ${JSON.stringify(linkTarget)} points outside the staging directory`);
  if (!root) return;
  await assertParentInside(target);
  await symlink(linkTarget, full);
}

/** A hard link to a regular file already extracted inside the staging directory. */
async function extractHardLink(target: EntryTarget, linkName: string): Promise<void> {
  const { root, full, name } = target;
  const targetName = safeEntryPath(linkName);
  if (!root) return;
  await assertParentInside(target);
  const targetPath = resolve(root, ...targetName.split('/'));
  const real = await realpath(targetPath).catch(() => undefined);
  if (!real || !within(root, real)) throw unsafe(`hard link ${JSON.stringify(name)} -> ${JSON.stringify(targetName)} points outside the staging directory`);
  const facts = await lstat(real);
  if (!facts.isFile()) throw unsafe(`hard link ${JSON.stringify(name)} must point to a regular file`);
  await link(real, full);
}
