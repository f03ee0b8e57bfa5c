// Reading the header and table of contents of pg_dump's custom and directory formats
// (src/bin/pg_dump/pg_backup_archiver.c, pg_backup_custom.c and pg_backup_directory.c), as far as this package needs
// them:
//
//   header  "PGDMP", major, minor, revision, intSize, offSize, format (1 = custom; a directory's toc.dat: 3, as
//           pg_dump 15 writes it, or 5, archDirectory),
//           compression (>= 1.15: one algorithm byte; before: an int level),
//           creation time (7 ints), database name, server version, pg_dump version (strings)
//   TOC     an int count, then per entry: dumpId, hadDumper (ints), tableoid, oid, tag, desc (strings), section (int),
//           defn, dropStmt, copyStmt, namespace, tablespace, tableam (strings), relkind (int, >= 1.16), owner,
//           "false" (strings), dependencies (strings ending with a null string), and the format's own field: for the
//           custom format the data offset, one flag byte (1 not set, 2 set, 3 no data) and offSize bytes, least
//           significant first; for the directory format the entry's data file name (a string, empty when none)
//   data    (custom format) blocks: a type byte (1 table data, 3 large objects), the dumpId (int), then for table data
//           length-prefixed chunks (an int length, that many bytes) ending with a zero length; for large objects, per
//           object an oid (int) and such chunks, ending with a zero oid
//
// An int is a sign byte (0 or 1) and intSize bytes of magnitude, least significant first; a string is an int length
// (negative: null) and that many bytes. A custom-format dump written to a pipe starts with its header and whole TOC,
// so they can be read from the first bytes of the stream.

const MAGIC = 'PGDMP';
const FORMAT_CODES = { custom: [1], directory: [3, 5] } as const;
/** Archive minor versions (major 1, revision 0) whose layout this module knows: PG 12–15, PG 16, PG 17 and 18. */
const SUPPORTED_MINORS: ReadonlySet<number> = new Set([14, 15, 16]);
const VERSION_ALGORITHM_BYTE = 15; // K_VERS_1_15: the header's compression field is an algorithm byte
const VERSION_RELKIND = 16; // K_VERS_1_16: each TOC entry has an int relkind after tableam
/** pg_compress_algorithm: none, gzip, lz4, zstd. */
const MAX_COMPRESSION_ALGORITHM = 3;

/** The data offset flags of a custom-format TOC entry. */
export const OFFSET_NOT_SET = 1;
export const OFFSET_SET = 2;
export const OFFSET_NO_DATA = 3;

const INT_SIZE = 4;
const READ_SIZE = 1024 * 1024;

/** An archive's format, as this module reads it. */
export type ArchiveFormat = keyof typeof FORMAT_CODES;

/**
 * One TOC entry, as {@link readArchiveHeaderAndToc} reports it.
 *
 * @internal
 */
export interface CustomDumpTocEntry {
  /** The entry's dump ID. */
  dumpId: number;
  /** The entry's kind (`TABLE`, `TABLE DATA`, `BLOBS`, `INDEX`, …). */
  desc: string;
  /** The entry's tag (usually the object's name). */
  tag: string;
  /** Custom format: the data offset flag, 1 not set, 2 set, 3 no data. Directory format: 0. */
  offsetFlag: number;
  /** The stored data offset (meaningful only when `offsetFlag` is 2). */
  offset: number;
  /** File position of the offset field's flag byte (custom format). */
  fieldPosition: number;
}

/**
 * The header and TOC of an archive.
 *
 * @internal
 */
export interface CustomDumpToc {
  /** Archive version, e.g. `1.14`. */
  version: string;
  /** Size of an offset field's value, in bytes. */
  offSize: number;
  /** File position just after the TOC, where the first data block starts (custom format). */
  dataStart: number;
  /** Size of the file, in bytes. */
  size: number;
  /** The TOC entries, in file order. */
  entries: CustomDumpTocEntry[];
}

/** An archive this module does not understand: the reason is reported, nothing is written. */
export class Unsupported extends Error {}

/** The bytes at hand end before the header or TOC does: more of the archive is needed (or it is truncated). */
export class ArchiveEndsEarly extends Unsupported {}

/** Reads `length` bytes at `position` into `buffer` at `offset`; resolves how many it read (0 at the end). */
export type ReadAt = (buffer: Buffer, offset: number, length: number, position: number) => Promise<number>;

/** Reads an archive sequentially through a large buffer; skipping moves the position without reading. */
export class ArchiveReader {
  private buffer = Buffer.allocUnsafe(READ_SIZE);
  private bufferStart = 0;
  private bufferLength = 0;
  /** File position of the next byte to read. */
  position = 0;

  constructor(
    private readonly readAt: ReadAt,
    readonly size: number,
    private readonly onRefill?: () => void,
  ) {}

  /** A reader of bytes already in memory (the start of a streamed archive, a small TOC file). */
  static of(bytes: Buffer): ArchiveReader {
    return new ArchiveReader(async (buffer, offset, length, position) => {
      return bytes.copy(buffer, offset, position, Math.min(bytes.length, position + length));
    }, bytes.length);
  }

  /** Makes `count` bytes from `position` available in the buffer. */
  private async ensure(count: number): Promise<number> {
    const offset = this.position - this.bufferStart;
    if (offset >= 0 && offset + count <= this.bufferLength) return offset;
    if (this.position + count > this.size)
      throw new ArchiveEndsEarly(`the archive ends early (needed ${count} byte(s) at offset ${this.position})`);
    // Each refill is a 1 MiB read of a file that may be many GB: the place to notice an abort.
    this.onRefill?.();
    const want = Math.max(count, Math.min(READ_SIZE, this.size - this.position));
    if (want > this.buffer.length) this.buffer = Buffer.allocUnsafe(want);
    let filled = 0;
    while (filled < want) {
      const bytesRead = await this.readAt(this.buffer, filled, want - filled, this.position + filled);
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
      throw new ArchiveEndsEarly(`${what} at offset ${this.position} runs past the end of the archive`);
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

/**
 * Reads the header and TOC of an archive of the given format (versions 1.14–1.16). Throws {@link Unsupported} for
 * anything else, {@link ArchiveEndsEarly} when the bytes end first.
 *
 * @internal
 */
export async function readArchiveHeaderAndToc(reader: ArchiveReader, format: ArchiveFormat): Promise<CustomDumpToc> {
  if (reader.size < MAGIC.length || (await reader.bytes(MAGIC.length)).toString('latin1') !== MAGIC)
    throw new Unsupported(`not a pg_dump ${format}-format archive (no PGDMP magic)`);
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
  const formatCode = await reader.byte();
  if (!(FORMAT_CODES[format] as readonly number[]).includes(formatCode))
    throw new Unsupported(`archive format ${formatCode} is not the ${format} format`);
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
    if (format === 'directory') {
      await reader.skipString('data file name');
      entries.push({ dumpId, desc, tag, offsetFlag: 0, offset: 0, fieldPosition });
      continue;
    }
    const offsetFlag = await reader.byte();
    if (offsetFlag !== OFFSET_NOT_SET && offsetFlag !== OFFSET_SET && offsetFlag !== OFFSET_NO_DATA)
      throw new Unsupported(`dump ID ${dumpId} has data offset flag ${offsetFlag}`);
    const offset = decodeOffset(await reader.bytes(offSize));
    entries.push({ dumpId, desc, tag, offsetFlag, offset, fieldPosition });
  }
  return {
    version: `${major}.${minor}`,
    offSize,
    dataStart: reader.position,
    size: reader.size,
    entries,
  };
}

/** How many tables an archive's TOC creates (`TABLE` entries: ordinary and partitioned tables, partitions). */
export function countTocTables(toc: CustomDumpToc): number {
  return toc.entries.filter((entry) => entry.desc === 'TABLE').length;
}
