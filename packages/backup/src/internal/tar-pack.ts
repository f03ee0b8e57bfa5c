import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { DigestStream } from '../pipeline/digest-stream.js';
import type { SymlinkPolicy } from '../sources/files-source.js';
import { globToRegExp, matchesAny } from './glob.js';

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
 * Streams `root` as a POSIX tar (pax headers for long names), one file at a time with backpressure. Regular files,
 * directories and (by policy) symlinks are archived; sockets, FIFOs and devices are skipped and reported.
 */
export function packDirectory(options: PackDirectoryOptions): PackedDirectory {
  const { root, exclude = [], symlinks = 'preserve', signal } = options;
  const patterns = exclude.map(globToRegExp);
  const pack = tar.pack();
  const entries: TarEntryRecord[] = [];
  const skipped: string[] = [];
  let totalBytes = 0;
  let fileCount = 0;

  const addEntry = (header: Partial<tar.Header> & { name: string }, body?: Buffer): Promise<tar.Pack> =>
    new Promise((resolve, reject) => {
      pack.entry(header, body ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve(pack)));
    });

  async function walk(directory: string, relative: string): Promise<void> {
    const names = (await readdir(directory)).sort();
    for (const name of names) {
      signal?.throwIfAborted();
      const path = join(directory, name);
      const entryPath = relative ? `${relative}/${name}` : name;
      if (matchesAny(entryPath, patterns)) continue;
      const facts = await lstat(path);
      const mode = facts.mode & 0o7777;
      if (facts.isDirectory()) {
        await addEntry({ name: entryPath, type: 'directory', mode, mtime: facts.mtime });
        entries.push({ path: entryPath, type: 'directory', size: 0, mode });
        await walk(path, entryPath);
      } else if (facts.isFile()) {
        const digest = new DigestStream();
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry(
            { name: entryPath, type: 'file', mode, size: facts.size, mtime: facts.mtime },
            (error) => (error ? reject(error) : resolve()),
          );
          pipeline(createReadStream(path), digest, sink as unknown as NodeJS.WritableStream).catch(reject);
        });
        if (digest.bytes !== facts.size) throw new Error(`${entryPath} changed size while it was archived`);
        entries.push({ path: entryPath, type: 'file', size: facts.size, mode, sha256: digest.sha256 });
        totalBytes += facts.size;
        fileCount++;
      } else if (facts.isSymbolicLink()) {
        if (symlinks === 'skip') {
          skipped.push(`${entryPath} (symlink)`);
          continue;
        }
        const linkTarget = await readlink(path);
        await addEntry({ name: entryPath, type: 'symlink', linkname: linkTarget, mode: 0o777, mtime: facts.mtime });
        entries.push({ path: entryPath, type: 'symlink', size: 0, mode: 0o777, linkTarget });
      } else {
        skipped.push(`${entryPath} (special file)`);
      }
    }
  }

  const done = walk(root, '').then(
    () => {
      pack.finalize();
      return { entries, fileCount, totalBytes, skipped };
    },
    (error: unknown) => {
      pack.destroy(error as Error);
      throw error;
    },
  );
  done.catch(() => undefined);
  return { stream: Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false }), done };
}
