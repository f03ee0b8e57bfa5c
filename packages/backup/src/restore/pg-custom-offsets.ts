import { open, type FileHandle } from 'node:fs/promises';
import { BackupError } from '../errors.js';

// Layout of a pg_dump custom-format archive (src/bin/pg_dump/pg_backup_archiver.c and pg_backup_custom.c), as far as
// this module needs it:
//
//   header  "PGDMP", major, minor, revision, intSize, offSize, format (1 = custom),
//           compression (>= 1.15: one algorithm byte; before: an int level),
//           creation time (7 ints), database name, server version, pg_dump version (strings)
//   TOC     an int count, then per entry: dumpId, hadDumper (ints), tableoid, oid, tag, desc (strings), section (int),
//           defn, dropStmt, copyStmt, namespace, tablespace, tableam (strings), relkind (int, >= 1.16), owner,
//           "false" (strings), dependencies (strings ending with a null string), and the custom format's data offset:
//           one flag byte (1 not set, 2 set, 3 no data) and offSize bytes, least significant first
//   data    blocks: a type byte (1 table data, 3 large objects), the dumpId (int), then for table data length-prefixed
//           chunks (an int length, that many bytes) ending with a zero length; for large objects, per object an oid
//           (int) and such chunks, ending with a zero oid
//
// An int is a sign byte (0 or 1) and intSize bytes of magnitude, least significant first; a string is an int length
// (negative: null) and that many bytes.

const MAGIC = 'PGDMP';
const FORMAT_CUSTOM = 1;
/** Archive minor versions (major 1, revision 0) whose layout this module knows: PG 12–15, PG 16, PG 17 and 18. */
const SUPPORTED_MINORS: ReadonlySet<number> = new Set([14, 15, 16]);
const VERSION_ALGORITHM_BYTE = 15; // K_VERS_1_15: the header's compression field is an algorithm byte
const VERSION_RELKIND = 16; // K_VERS_1_16: each TOC entry has an int relkind after tableam
/** pg_compress_algorithm: none, gzip, lz4, zstd. */
const MAX_COMPRESSION_ALGORITHM = 3;

const BLK_DATA = 1;
const BLK_BLOBS = 3;

const OFFSET_NOT_SET = 1;
const OFFSET_SET = 2;
const OFFSET_NO_DATA = 3;

const INT_SIZE = 4;
const READ_SIZE = 1024 * 1024;

/**
 * One TOC entry of a custom-format archive, as {@link readCustomDumpToc} reports it.
 *
 * @internal
 */
export interface CustomDumpTocEntry {
  /** The entry's dump ID. */
  dumpId: number;
  /** The entry's kind (`TABLE DATA`, `BLOBS`, `INDEX`, …). */
  desc: string;
  /** The entry's tag (usually the object's name). */
  tag: string;
  /** The data offset flag: 1 not set, 2 set, 3 no data. */
  offsetFlag: number;
  /** The stored data offset (meaningful only when `offsetFlag` is 2). */
  offset: number;
  /** File position of the offset field's flag byte. */
  fieldPosition: number;
}

/**
 * The header and TOC of a custom-format archive, as {@link readCustomDumpToc} reports them.
 *
 * @internal
 */
export interface CustomDumpToc {
  /** Archive version, e.g. `1.14`. */
  version: string;
  /** Size of an offset field's value, in bytes. */
  offSize: number;
  /** File position just after the TOC, where the first data block starts. */
  dataStart: number;
  /** Size of the file, in bytes. */
  size: number;
  /** The TOC entries, in file order. */
  entries: CustomDumpTocEntry[];
}

/** An archive this module does not understand: the reason is reported, nothing is written. */
class Unsupported extends Error {}

function ioError(path: string, action: string, cause: unknown): BackupError {
  return new BackupError('RESTORE_FAILED', `cannot ${action} ${path}: ${(cause as Error).message}`, { cause });
}

/** Reads an archive sequentially through a large buffer; skipping moves the position without reading. */
class ArchiveReader {
  private buffer = Buffer.allocUnsafe(READ_SIZE);
  private bufferStart = 0;
  private bufferLength = 0;
  /** File position of the next byte to read. */
  position = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    readonly size: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Makes `count` bytes from `position` available in the buffer. */
  private async ensure(count: number): Promise<number> {
    const offset = this.position - this.bufferStart;
    if (offset >= 0 && offset + count <= this.bufferLength) return offset;
    if (this.position + count > this.size)
      throw new Unsupported(`the archive ends early (needed ${count} byte(s) at offset ${this.position})`);
    // Each refill is a 1 MiB read of a file that may be many GB: the place to notice an abort.
    if (this.signal?.aborted)
      throw new BackupError('ABORTED', `filling in the data offsets of ${this.path} was aborted`, {
        cause: this.signal.reason,
      });
    const want = Math.max(count, Math.min(READ_SIZE, this.size - this.position));
    if (want > this.buffer.length) this.buffer = Buffer.allocUnsafe(want);
    let filled = 0;
    while (filled < want) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(this.buffer, filled, want - filled, this.position + filled));
      } catch (error) {
        throw ioError(this.path, 'read', error);
      }
      if (bytesRead === 0) throw new Unsupported(`the archive shrank while it was read (at offset ${this.position})`);
      filled += bytesRead;
    }
    this.bufferStart = this.position;
    this.bufferLength = filled;
    return 0;
  }

  async byte(): Promise<number> {
    const offset = await this.ensure(1);
    this.position += 1;
    return this.buffer[offset] ?? 0;
  }

  async bytes(count: number): Promise<Buffer> {
    const offset = await this.ensure(count);
    this.position += count;
    return Buffer.from(this.buffer.subarray(offset, offset + count));
  }

  /** Decodes the int at `offset` in the buffer (the caller made it available). */
  private intAt(offset: number, what: string): number {
    const sign = this.buffer[offset];
    if (sign !== 0 && sign !== 1)
      throw new Unsupported(`bad sign byte ${String(sign)} in ${what} at offset ${this.bufferStart + offset}`);
    const magnitude = this.buffer.readUInt32LE(offset + 1);
    return sign === 1 ? -magnitude : magnitude;
  }

  async int(what: string): Promise<number> {
    const offset = await this.ensure(1 + INT_SIZE);
    const value = this.intAt(offset, what);
    this.position += 1 + INT_SIZE;
    return value;
  }

  /** An int that must not be negative. */
  async count(what: string): Promise<number> {
    const at = this.position;
    const value = await this.int(what);
    if (value < 0) throw new Unsupported(`negative ${what} ${value} at offset ${at}`);
    return value;
  }

  skip(count: number, what: string): void {
    if (this.position + count > this.size)
      throw new Unsupported(`${what} at offset ${this.position} runs past the end of the archive`);
    this.position += count;
  }

  /** Reads a string; `null` for the null string. */
  async string(what: string): Promise<string | null> {
    const length = await this.int(`${what} length`);
    if (length < 0) return null;
    return (await this.bytes(length)).toString('utf8');
  }

  /** Skips a string. */
  async skipString(what: string): Promise<boolean> {
    const length = await this.int(`${what} length`);
    if (length < 0) return false;
    this.skip(length, what);
    return true;
  }

  /** Skips length-prefixed chunks up to and including the zero length that ends them. */
  async skipChunks(dumpId: number): Promise<void> {
    for (;;) {
      let offset = this.position - this.bufferStart;
      if (offset < 0 || offset + 1 + INT_SIZE > this.bufferLength) offset = await this.ensure(1 + INT_SIZE);
      const length = this.intAt(offset, `chunk length of dump ID ${dumpId}`);
      if (length < 0) throw new Unsupported(`negative chunk length in dump ID ${dumpId} at offset ${this.position}`);
      this.position += 1 + INT_SIZE;
      if (length === 0) return;
      this.skip(length, `a chunk of dump ID ${dumpId}`);
    }
  }
}

function decodeOffset(field: Buffer): number {
  let value = 0;
  for (let index = field.length - 1; index >= 0; index -= 1) value = value * 256 + (field[index] ?? 0);
  return value;
}

async function readHeaderAndToc(reader: ArchiveReader): Promise<CustomDumpToc> {
  if (reader.size < MAGIC.length || (await reader.bytes(MAGIC.length)).toString('latin1') !== MAGIC)
    throw new Unsupported('not a pg_dump custom-format archive (no PGDMP magic)');
  const major = await reader.byte();
  const minor = await reader.byte();
  const revision = await reader.byte();
  const version = `${major}.${minor}.${revision}`;
  if (major !== 1 || !SUPPORTED_MINORS.has(minor) || revision !== 0)
    throw new Unsupported(`archive version ${version} is not one this code understands (1.14, 1.15, 1.16)`);
  const intSize = await reader.byte();
  if (intSize !== INT_SIZE) throw new Unsupported(`integer size ${intSize} is not supported (only ${INT_SIZE})`);
  const offSize = await reader.byte();
  if (offSize !== 4 && offSize !== 8) throw new Unsupported(`offset size ${offSize} is not supported (only 4 or 8)`);
  const format = await reader.byte();
  if (format !== FORMAT_CUSTOM) throw new Unsupported(`archive format ${format} is not the custom format`);
  if (minor >= VERSION_ALGORITHM_BYTE) {
    const algorithm = await reader.byte();
    if (algorithm > MAX_COMPRESSION_ALGORITHM)
      throw new Unsupported(`unknown compression algorithm ${algorithm} in the header`);
  } else {
    const level = await reader.int('compression level');
    if (level < -1 || level > 9) throw new Unsupported(`compression level ${level} is out of range`);
  }
  for (let field = 0; field < 7; field += 1) await reader.int('creation time');
  for (const what of ['database name', 'server version', 'pg_dump version']) await reader.skipString(what);

  const tocCount = await reader.count('TOC entry count');
  const entries: CustomDumpTocEntry[] = [];
  const seen = new Set<number>();
  for (let index = 0; index < tocCount; index += 1) {
    const dumpId = await reader.int('dump ID');
    if (dumpId <= 0) throw new Unsupported(`TOC entry ${index} has dump ID ${dumpId}`);
    if (seen.has(dumpId)) throw new Unsupported(`dump ID ${dumpId} appears twice in the TOC`);
    seen.add(dumpId);
    await reader.int('hadDumper');
    await reader.skipString('tableoid');
    await reader.skipString('oid');
    const tag = (await reader.string('tag')) ?? '';
    const desc = (await reader.string('desc')) ?? '';
    await reader.int('section');
    for (const what of ['defn', 'dropStmt', 'copyStmt', 'namespace', 'tablespace', 'tableam'])
      await reader.skipString(what);
    if (minor >= VERSION_RELKIND) await reader.int('relkind');
    await reader.skipString('owner');
    await reader.skipString('withOids');
    while (await reader.skipString('dependency'));
    const fieldPosition = reader.position;
    const offsetFlag = await reader.byte();
    if (offsetFlag !== OFFSET_NOT_SET && offsetFlag !== OFFSET_SET && offsetFlag !== OFFSET_NO_DATA)
      throw new Unsupported(`dump ID ${dumpId} has data offset flag ${offsetFlag}`);
    const offset = decodeOffset(await reader.bytes(offSize));
    entries.push({ dumpId, desc, tag, offsetFlag, offset, fieldPosition });
  }
  return { version: `${major}.${minor}`, offSize, dataStart: reader.position, size: reader.size, entries };
}

/**
 * Finds where each data block starts: the position of its type byte, by dump ID. Checks every block against the TOC
 * and requires the data section to end exactly at the end of the file.
 */
async function scanDataBlocks(reader: ArchiveReader, toc: CustomDumpToc): Promise<Map<number, number>> {
  const byId = new Map(toc.entries.map((entry) => [entry.dumpId, entry]));
  const found = new Map<number, number>();
  reader.position = toc.dataStart;
  while (reader.position < reader.size) {
    const blockStart = reader.position;
    const type = await reader.byte();
    if (type !== BLK_DATA && type !== BLK_BLOBS)
      throw new Unsupported(`unknown data block type ${type} at offset ${blockStart}`);
    const dumpId = await reader.int('block dump ID');
    const entry = byId.get(dumpId);
    if (entry === undefined) throw new Unsupported(`data block at offset ${blockStart} has unknown dump ID ${dumpId}`);
    if (entry.offsetFlag === OFFSET_NO_DATA)
      throw new Unsupported(`data block at offset ${blockStart} belongs to dump ID ${dumpId}, which has no data`);
    if (entry.offsetFlag === OFFSET_SET && entry.offset !== blockStart)
      throw new Unsupported(`dump ID ${dumpId}'s data is at offset ${blockStart}, its TOC says ${entry.offset}`);
    if (found.has(dumpId)) throw new Unsupported(`dump ID ${dumpId} has two data blocks`);
    if ((type === BLK_BLOBS) !== (entry.desc === 'BLOBS'))
      throw new Unsupported(`data block type ${type} at offset ${blockStart} does not fit a ${entry.desc} entry`);
    found.set(dumpId, blockStart);
    if (type === BLK_DATA) {
      await reader.skipChunks(dumpId);
    } else {
      // Large objects: per object its oid and chunks, ending with a zero oid. Oids above 2^31 are written negative.
      while ((await reader.int(`large object oid in dump ID ${dumpId}`)) !== 0) await reader.skipChunks(dumpId);
    }
  }
  for (const entry of toc.entries)
    if (entry.offsetFlag === OFFSET_NOT_SET && !found.has(entry.dumpId))
      throw new Unsupported(`no data block found for dump ID ${entry.dumpId} (${entry.desc} ${entry.tag})`);
  return found;
}

async function withArchive<T>(
  path: string,
  flags: 'r' | 'r+',
  use: (reader: ArchiveReader, handle: FileHandle) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    throw ioError(path, 'open', error);
  }
  try {
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      throw ioError(path, 'stat', error);
    }
    return await use(new ArchiveReader(handle, path, size, signal), handle);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Reads the header and TOC of a pg_dump custom-format archive (versions 1.14–1.16).
 *
 * @internal For tests: throws a `BackupError` (`BACKUP_CORRUPT`) when the archive is not one this module understands.
 */
export async function readCustomDumpToc(path: string): Promise<CustomDumpToc> {
  return withArchive(path, 'r', async (reader) => {
    try {
      return await readHeaderAndToc(reader);
    } catch (error) {
      if (error instanceof Unsupported) throw new BackupError('BACKUP_CORRUPT', `${path}: ${error.message}`);
      throw error;
    }
  });
}

/**
 * Fills in the data offsets of a pg_dump custom-format archive that pg_dump wrote to a pipe, in place, so that
 * `pg_restore -j` can seek straight to each table's data instead of scanning for it.
 *
 * pg_dump only rewrites its TOC with the data offsets when its output is seekable; through a pipe every entry says
 * "position not set". This reads the header and TOC, walks the data blocks (skipping their length-prefixed chunks
 * without decompressing them) to learn where each dump ID's block starts, and then writes flag "set" and the offset
 * into each such entry's fixed-size offset field. Nothing else in the file changes.
 *
 * The archive is only written once the whole file parsed: anything unexpected (not a custom-format archive, an
 * archive version other than 1.14, 1.15 or 1.16, an unusual integer or offset size, a truncated file, an unknown
 * block type, a block that does not match the TOC) leaves the file untouched and is reported as `reason`.
 *
 * @param path - A local, seekable archive file, writable by this process.
 * @param options - `signal` stops the scan (nothing is written then).
 * @returns How many offsets were written, and why none were when `patched` is 0.
 * @throws {BackupError} `RESTORE_FAILED` when the file cannot be opened, read or written; `ABORTED` when `signal`
 *   aborts before the offsets are written.
 *
 * @example
 * ```ts
 * const { patched, reason } = await patchCustomDumpOffsets('/var/tmp/restore/db.dump');
 * if (patched === 0) logger.info(`data offsets left as they are: ${reason}`);
 * ```
 */
export async function patchCustomDumpOffsets(
  path: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<{ patched: number; reason?: string }> {
  return withArchive(
    path,
    'r+',
    async (reader, handle) => {
      let toc: CustomDumpToc;
      let found: Map<number, number>;
      try {
        toc = await readHeaderAndToc(reader);
        if (!toc.entries.some((entry) => entry.offsetFlag === OFFSET_NOT_SET))
          return { patched: 0, reason: 'no TOC entry lacks its data offset' };
        found = await scanDataBlocks(reader, toc);
      } catch (error) {
        if (error instanceof Unsupported) return { patched: 0, reason: error.message };
        throw error;
      }

      const fieldSize = 1 + toc.offSize;
      const patches = toc.entries.filter((entry) => entry.offsetFlag === OFFSET_NOT_SET);
      for (const entry of patches) {
        const offset = found.get(entry.dumpId) ?? 0;
        if (toc.offSize < 8 && offset >= 2 ** (8 * toc.offSize))
          return { patched: 0, reason: `offset ${offset} does not fit the archive's ${toc.offSize}-byte offsets` };
      }

      // The fields all lie in the TOC: read that stretch once, patch it in memory, write it back in one go.
      // Entries are in file order, so the first and last patched fields bound the stretch.
      const first = patches[0]?.fieldPosition ?? 0;
      const end = (patches.at(-1)?.fieldPosition ?? 0) + fieldSize;
      const region = Buffer.alloc(end - first);
      try {
        const { bytesRead } = await handle.read(region, 0, region.length, first);
        if (bytesRead !== region.length) return { patched: 0, reason: 'the archive shrank while it was read' };
      } catch (error) {
        throw ioError(path, 'read', error);
      }
      for (const entry of patches) {
        const at = entry.fieldPosition - first;
        if (region[at] !== OFFSET_NOT_SET) return { patched: 0, reason: 'the archive changed while it was read' };
        region[at] = OFFSET_SET;
        let value = found.get(entry.dumpId) ?? 0;
        for (let index = 1; index < fieldSize; index += 1) {
          region[at + index] = value % 256;
          value = Math.floor(value / 256);
        }
      }
      try {
        let written = 0;
        while (written < region.length) {
          const { bytesWritten } = await handle.write(region, written, region.length - written, first + written);
          written += bytesWritten;
        }
      } catch (error) {
        throw ioError(path, 'write the data offsets into', error);
      }
      return { patched: patches.length };
    },
    options.signal,
  );
}
