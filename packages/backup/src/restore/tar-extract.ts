import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readlink, realpath, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { OpsError } from '@ops/core';
import { BackupError } from '../errors.js';
import { readTar } from '../internal/ustar.js';

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
const quote = (text: string): string => JSON.stringify(text);

/** Normalises an archive entry name into safe relative segments, or throws `RESTORE_UNSAFE_PATH`. */
export function safeEntryPath(name: string): string {
  if (name.includes('\0')) throw unsafe(`archive entry ${quote(name)} contains NUL`);
  if (name.includes('\\')) throw unsafe(`archive entry ${quote(name)} contains a backslash`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafe(`archive entry ${quote(name)} is an absolute path`);
  const segments = name.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) throw unsafe(`archive entry ${quote(name)} contains ".."`);
  if (segments.length === 0) throw unsafe(`archive entry ${quote(name)} is empty`);
  return segments.join('/');
}

/** What is at a path of the tree being extracted, without following a link there. */
type TreeNode = { kind: 'directory' | 'file' | 'other' } | { kind: 'symlink'; target: string };

/**
 * The tree an archive is extracted into: the real staging directory, or a model of it when only checking (full-read
 * verification). Both run the same rules below, so verification refuses exactly what a restore would refuse.
 * Paths are arrays of safe segments relative to the root; no operation follows a link at its last segment, and the
 * rules only ever call them with parents that are real directories.
 */
interface ExtractTree {
  lookup(segments: readonly string[]): Promise<TreeNode | undefined>;
  makeDirectory(segments: readonly string[], mode: number): Promise<void>;
  writeFile(
    segments: readonly string[],
    mode: number,
    mtime: Date | undefined,
    body: AsyncIterable<Buffer>,
  ): Promise<number>;
  makeSymlink(segments: readonly string[], target: string): Promise<void>;
  makeHardLink(segments: readonly string[], target: readonly string[]): Promise<void>;
}

function restoreFailed(what: string, error: unknown): BackupError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return new BackupError('RESTORE_FAILED', `cannot ${what}: ${code ?? (error as Error).message}`, { cause: error });
}

function directoryTree(root: string): ExtractTree {
  const at = (segments: readonly string[]): string => join(root, ...segments);
  return {
    async lookup(segments) {
      const path = at(segments);
      const facts = await lstat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
        throw restoreFailed(`inspect ${path}`, error);
      });
      if (!facts) return undefined;
      if (facts.isSymbolicLink()) return { kind: 'symlink', target: await readlink(path) };
      return { kind: facts.isDirectory() ? 'directory' : facts.isFile() ? 'file' : 'other' };
    },
    async makeDirectory(segments, mode) {
      await mkdir(at(segments), { mode }).catch((error: unknown) => {
        throw restoreFailed(`create directory ${at(segments)}`, error);
      });
    },
    async writeFile(segments, mode, mtime, body) {
      // O_EXCL never reuses an existing path and O_NOFOLLOW never opens through a link at the last segment.
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
      const handle = await open(at(segments), flags, mode).catch((error: unknown) => {
        throw restoreFailed(`create file ${at(segments)}`, error);
      });
      let bytes = 0;
      try {
        for await (const chunk of body) {
          await handle.write(chunk);
          bytes += chunk.length;
        }
        if (mtime) await handle.utimes(mtime, mtime).catch(() => undefined);
      } finally {
        await handle.close();
      }
      return bytes;
    },
    async makeSymlink(segments, target) {
      await symlink(target, at(segments)).catch((error: unknown) => {
        throw restoreFailed(`create symlink ${at(segments)}`, error);
      });
    },
    async makeHardLink(segments, target) {
      // link(2) does not follow a symlink at `target` (no AT_SYMLINK_FOLLOW); the rules checked it is a regular file.
      await link(at(target), at(segments)).catch((error: unknown) => {
        throw restoreFailed(`create hard link ${at(segments)}`, error);
      });
    },
  };
}

function modelTree(): ExtractTree {
  const nodes = new Map<string, TreeNode>([['', { kind: 'directory' }]]);
  const add = (segments: readonly string[], node: TreeNode): void => {
    nodes.set(segments.join('/'), node);
  };
  return {
    lookup: async (segments) => nodes.get(segments.join('/')),
    makeDirectory: async (segments) => add(segments, { kind: 'directory' }),
    async writeFile(segments, _mode, _mtime, body) {
      let bytes = 0;
      for await (const chunk of body) bytes += chunk.length;
      add(segments, { kind: 'file' });
      return bytes;
    },
    makeSymlink: async (segments, target) => add(segments, { kind: 'symlink', target }),
    makeHardLink: async (segments) => add(segments, { kind: 'file' }),
  };
}

/** A symlink entry, created only after every other entry and only once every link of the archive resolves inside. */
interface PendingSymlink {
  name: string;
  segments: string[];
  target: string;
}

/** The extraction rules, the same for the real staging directory and for the model of a check-only read. */
class Extraction {
  readonly summary: ExtractSummary = { files: 0, directories: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  readonly #tree: ExtractTree;
  readonly #pending: PendingSymlink[] = [];
  readonly #pendingPaths = new Set<string>();

  constructor(tree: ExtractTree) {
    this.#tree = tree;
  }

  /** Creates missing parents as real directories; refuses a parent that is a link (even one inside) or not a directory. */
  async #ensureParents(name: string, segments: readonly string[]): Promise<void> {
    for (let depth = 1; depth < segments.length; depth++) {
      const prefix = segments.slice(0, depth);
      const path = prefix.join('/');
      const node = this.#pendingPaths.has(path)
        ? ({ kind: 'symlink', target: '' } as const)
        : await this.#tree.lookup(prefix);
      if (node === undefined) await this.#tree.makeDirectory(prefix, 0o700);
      else if (node.kind === 'symlink')
        throw unsafe(
          `archive entry ${quote(name)} would be written through the symlink ${quote(path)} (links are never followed while extracting)`,
        );
      else if (node.kind !== 'directory')
        throw unsafe(
          `archive entry ${quote(name)} needs ${quote(path)} to be a directory, but the archive made it a ${node.kind}`,
        );
    }
  }

  async #assertFree(name: string, segments: readonly string[]): Promise<void> {
    if (this.#pendingPaths.has(segments.join('/')) || (await this.#tree.lookup(segments)) !== undefined) {
      throw unsafe(`archive entry ${quote(name)} appears twice (an entry never replaces an earlier one)`);
    }
  }

  async file(name: string, mode: number, mtime: Date | undefined, body: AsyncIterable<Buffer>): Promise<void> {
    const segments = name.split('/');
    await this.#ensureParents(name, segments);
    await this.#assertFree(name, segments);
    this.summary.bytes += await this.#tree.writeFile(segments, mode & 0o777, mtime, body);
    this.summary.files++;
  }

  async directory(name: string, mode: number): Promise<void> {
    const segments = name.split('/');
    await this.#ensureParents(name, segments);
    const node = this.#pendingPaths.has(name)
      ? ({ kind: 'symlink', target: '' } as const)
      : await this.#tree.lookup(segments);
    if (node !== undefined && node.kind !== 'directory')
      throw unsafe(`archive entry ${quote(name)} is a directory over an earlier ${node.kind} entry`);
    if (node === undefined) await this.#tree.makeDirectory(segments, (mode & 0o777) | 0o700);
    this.summary.directories++;
  }

  /** Checks what can be checked now and defers the link: nothing is ever created or written through it. */
  async symlink(name: string, target: string): Promise<void> {
    if (
      target === '' ||
      target.includes('\0') ||
      target.startsWith('/') ||
      /^[A-Za-z]:/.test(target) ||
      target.includes('\\')
    ) {
      throw unsafe(`symlink ${quote(name)} points to an absolute or empty target ${quote(target)}`);
    }
    const lexical = posix.normalize(posix.join(posix.dirname(name), target));
    if (lexical === '..' || lexical.startsWith('../'))
      throw unsafe(`symlink ${quote(name)} -> ${quote(target)} points outside the staging directory`);
    const segments = name.split('/');
    await this.#ensureParents(name, segments);
    await this.#assertFree(name, segments);
    this.#pending.push({ name, segments, target });
    this.#pendingPaths.add(name);
    this.summary.symlinks++;
  }

  async hardLink(name: string, linkName: string): Promise<void> {
    const targetName = safeEntryPath(linkName);
    const targetSegments = targetName.split('/');
    const segments = name.split('/');
    await this.#ensureParents(name, segments);
    await this.#assertFree(name, segments);
    let reachable = true;
    for (let depth = 1; depth <= targetSegments.length && reachable; depth++) {
      const prefix = targetSegments.slice(0, depth);
      const node = this.#pendingPaths.has(prefix.join('/')) ? undefined : await this.#tree.lookup(prefix);
      reachable = node?.kind === (depth === targetSegments.length ? 'file' : 'directory');
    }
    if (!reachable)
      throw unsafe(
        `hard link ${quote(name)} -> ${quote(targetName)} must point to a regular file extracted before it (not through a link)`,
      );
    await this.#tree.makeHardLink(segments, targetSegments);
    this.summary.hardlinks++;
  }

  /**
   * Resolves every deferred link against the final tree (what is on disk plus the deferred links, since nothing else
   * comes), and only when each one ends inside creates them all: a refused archive leaves no link behind.
   */
  async finish(): Promise<void> {
    const deferred = new Map(this.#pending.map((pending) => [pending.name, pending.target]));
    const lookup = async (segments: readonly string[]): Promise<TreeNode | undefined> => {
      const target = deferred.get(segments.join('/'));
      return target === undefined ? this.#tree.lookup(segments) : { kind: 'symlink', target };
    };
    for (const pending of this.#pending) {
      const resolved = await this.#resolve(lookup, pending.segments.slice(0, -1), pending.target, 0, pending);
      if (resolved === undefined)
        throw unsafe(
          `symlink ${quote(pending.name)} -> ${quote(pending.target)} resolves outside the staging directory (through other links of the archive)`,
        );
    }
    for (const pending of this.#pending) await this.#tree.makeSymlink(pending.segments, pending.target);
  }

  /**
   * Resolves `target` from the real directory `from` as the kernel would (links followed, `..` taken physically);
   * `undefined` when it leaves the root. A missing segment is taken as written: nothing more can be extracted.
   */
  async #resolve(
    lookup: ExtractTree['lookup'],
    from: readonly string[],
    target: string,
    hops: number,
    origin: PendingSymlink,
  ): Promise<string[] | undefined> {
    if (hops > 40)
      throw unsafe(
        `symlink ${quote(origin.name)} -> ${quote(origin.target)} is part of a loop or a chain of more than 40 links`,
      );
    if (target.startsWith('/')) return undefined;
    let current = [...from];
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (current.length === 0) return undefined;
        current.pop();
        continue;
      }
      const next = [...current, part];
      const node = await lookup(next);
      if (node?.kind === 'symlink') {
        const resolved = await this.#resolve(lookup, current, node.target, hops + 1, origin);
        if (resolved === undefined) return undefined;
        current = resolved;
      } else current = next;
    }
    return current;
  }
}

/**
 * Reads a tar stream and (when `directory` is given) extracts it into an empty staging directory. Safe by
 * construction rather than by checking paths as written:
 * - names are relative, without `..`, NUL or backslashes; devices, FIFOs and other types are refused;
 * - parents are created one segment at a time as real directories, and a parent that is a link (even one pointing
 *   inside) refuses the entry — no directory or file is ever created through a link;
 * - files are opened with `O_CREAT | O_EXCL | O_NOFOLLOW`: an entry never replaces or writes through an earlier one;
 * - hard links must point to a regular file extracted before them, reached without links;
 * - symlinks are deferred until every other entry is extracted, resolved against the final tree as the kernel would
 *   (following links, `..` physically) and created only when every one ends inside the staging directory.
 * Without `directory` the same rules run against a model of the tree, so a full-read verification refuses exactly
 * what a restore would. Refusals are `RESTORE_UNSAFE_PATH`; a damaged archive is `BACKUP_CORRUPT`. setuid, setgid
 * and sticky bits are dropped.
 */
export async function extractTar(options: ExtractTarOptions): Promise<ExtractSummary> {
  const { stream, directory, signal } = options;
  // Wired before anything is awaited: a stream that fails early (wrong key, bad header, early damage) must reject
  // this call with its own error, never leave it pending; the iterator is created here for the same reason.
  let sourceError: unknown = stream.errored ?? undefined;
  const onSourceError = (error: unknown): void => {
    sourceError ??= error;
  };
  stream.on('error', onSourceError);
  const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const entries = readTar(iterator);

  try {
    let tree: ExtractTree = modelTree();
    if (directory !== undefined) {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      if ((await readdir(directory)).length > 0)
        throw new BackupError(
          'RESTORE_FAILED',
          `staging directory ${directory} is not empty; restore into an empty directory`,
        );
      tree = directoryTree(await realpath(directory));
    }
    const extraction = new Extraction(tree);
    for await (const entry of entries) {
      signal?.throwIfAborted();
      const { header } = entry;
      const name = safeEntryPath(header.name);
      switch (header.type) {
        case 'file':
        case 'contiguous-file':
          await extraction.file(name, header.mode, header.mtime, entry.body);
          break;
        case 'directory':
          await extraction.directory(name, header.mode);
          break;
        case 'symlink':
          await extraction.symlink(name, header.linkname);
          break;
        case 'link':
          await extraction.hardLink(name, header.linkname);
          break;
        default:
          throw unsafe(
            `archive entry ${quote(name)} has unsupported type ${String(header.type)} (devices and FIFOs are refused)`,
          );
      }
    }
    await extraction.finish();
    return extraction.summary;
  } catch (error) {
    await entries.return(undefined).catch(() => undefined);
    stream.destroy();
    // The source's own error (a wrong key, a damaged chunk) explains more than what it did to the tar parser.
    const reason = OpsError.isInstance(sourceError) ? sourceError : error;
    if (OpsError.isInstance(reason)) throw reason;
    const cause = sourceError ?? error;
    throw new BackupError('BACKUP_CORRUPT', `cannot read tar archive: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
}
