import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { SymlinkPolicy } from '../sources/files-source.js';
import { globToRegExp, matchesAny } from './glob.js';
import { encodeTarHeader, TAR_END, tarPadding } from './ustar.js';

/** One archived entry, as listed in the manifest. */
export interface TarEntryRecord {
  path: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  mode: number;
  sha256?: string;
  linkTarget?: string;
}

/** Options of {@link packDirectory}. */
export interface PackDirectoryOptions {
  /** Directory to archive; entry names are relative to it. */
  root: string;
  /** Glob patterns to leave out (see the README). */
  exclude?: readonly string[];
  symlinks?: SymlinkPolicy;
  signal?: AbortSignal;
}

/** The archive stream and a promise of what went into it. */
export interface PackedDirectory {
  stream: Readable;
  done: Promise<{ entries: TarEntryRecord[]; fileCount: number; totalBytes: number; skipped: string[] }>;
}

/**
 * Streams `root` as a POSIX tar (pax headers for long names), one file at a time with backpressure: the next bytes
 * are read only when the consumer wants them. Regular files, directories and (by policy) symlinks are archived;
 * sockets, FIFOs and devices are skipped and reported. A file is archived with the size it had when listed and its
 * sha256; one that changes size meanwhile fails the archive.
 */
export function packDirectory(options: PackDirectoryOptions): PackedDirectory {
  const { root, exclude = [], symlinks = 'preserve', signal } = options;
  const patterns = exclude.map(globToRegExp);
  const entries: TarEntryRecord[] = [];
  const skipped: string[] = [];
  let totalBytes = 0;
  let fileCount = 0;

  async function* file(path: string, entryPath: string, size: number): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    let bytes = 0;
    // Never more than the size in the header: a file growing meanwhile cannot shift the archive.
    if (size > 0) {
      for await (const chunk of createReadStream(path, { start: 0, end: size - 1 }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    }
    // A file that shrank ends early; one that grew is longer than the size the header promised.
    if (bytes !== size || (await stat(path)).size !== size)
      throw new Error(`${entryPath} changed size while it was archived`);
    yield tarPadding(size);
    return hash.digest('hex');
  }

  async function* walk(directory: string, relative: string): AsyncGenerator<Buffer> {
    const names = (await readdir(directory)).sort();
    for (const name of names) {
      signal?.throwIfAborted();
      const path = join(directory, name);
      const entryPath = relative ? `${relative}/${name}` : name;
      if (matchesAny(entryPath, patterns)) continue;
      const facts = await lstat(path);
      const mode = facts.mode & 0o7777;
      if (facts.isDirectory()) {
        yield encodeTarHeader({ name: entryPath, type: 'directory', mode, mtime: facts.mtime });
        entries.push({ path: entryPath, type: 'directory', size: 0, mode });
        yield* walk(path, entryPath);
      } else if (facts.isFile()) {
        yield encodeTarHeader({ name: entryPath, type: 'file', mode, size: facts.size, mtime: facts.mtime });
        const sha256 = yield* file(path, entryPath, facts.size);
        entries.push({ path: entryPath, type: 'file', size: facts.size, mode, sha256 });
        totalBytes += facts.size;
        fileCount++;
      } else if (facts.isSymbolicLink()) {
        if (symlinks === 'skip') {
          skipped.push(`${entryPath} (symlink)`);
          continue;
        }
        const linkTarget = await readlink(path);
        yield encodeTarHeader({
          name: entryPath,
          type: 'symlink',
          linkname: linkTarget,
          mode: 0o777,
          mtime: facts.mtime,
        });
        entries.push({ path: entryPath, type: 'symlink', size: 0, mode: 0o777, linkTarget });
      } else {
        skipped.push(`${entryPath} (special file)`);
      }
    }
  }

  let settle: { resolve(listing: Awaited<PackedDirectory['done']>): void; reject(error: unknown): void };
  const done = new Promise<Awaited<PackedDirectory['done']>>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => undefined);
  async function* archive(): AsyncGenerator<Buffer> {
    let finished = false;
    try {
      yield* walk(root, '');
      yield TAR_END;
      finished = true;
      settle.resolve({ entries, fileCount, totalBytes, skipped });
    } catch (error) {
      settle.reject(error);
      throw error;
    } finally {
      // The consumer stopped reading (its own failure or an abort) before the end.
      if (!finished) settle.reject(new Error('the archive stream was closed before the whole directory was read'));
    }
  }
  return { stream: Readable.from(coalesce(archive(), 64 * 1024), { objectMode: false }), done };
}

/**
 * Joins small buffers (headers, padding, small files) into chunks of at least `size` bytes: every chunk pays the
 * cost of every stage after it (hash, compression, encryption), so a directory of tiny files must not become
 * thousands of tiny chunks. Buffers already that large pass through without a copy.
 */
async function* coalesce(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const buffer of source) {
    if (buffer.length === 0) continue;
    if (pendingBytes === 0 && buffer.length >= size) {
      yield buffer;
      continue;
    }
    pending.push(buffer);
    pendingBytes += buffer.length;
    if (pendingBytes >= size) {
      yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
