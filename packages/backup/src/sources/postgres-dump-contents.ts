import { readFile } from 'node:fs/promises';
import { pipeline, Transform, type Readable } from 'node:stream';
import { ArchiveEndsEarly, ArchiveReader, countTocTables, readArchiveHeaderAndToc } from '../internal/pg-archive.js';

/**
 * What a dump holds, read from the dump itself: the tables it creates are the ones its snapshot saw, less those
 * pg_dump was told to leave out (`--exclude-table`, `--schema`, …). A test restore compares against this.
 */
export interface DumpContents {
  /** Tables the dump creates (ordinary and partitioned tables and partitions; not extension members). */
  tables: number;
}

/** A custom-format TOC longer than this is not read (the dump is still stored; its table count is not recorded). */
const MAX_HEAD_BYTES = 64 * 1024 * 1024;

/** Reads what a dump holds from its chunks as they pass ({@link watchDump}). */
interface DumpReader {
  /** Takes the next chunk (a reader that keeps bytes copies them). */
  write(chunk: Buffer): void | Promise<void>;
  /** What the dump holds, once it ended; `undefined` when it cannot be told. */
  result(): DumpContents | undefined | Promise<DumpContents | undefined>;
}

/**
 * Passes a dump through unchanged while `reader` reads it. Never fails the dump: what cannot be read is not recorded.
 * Either side's failure or early close ends the other, and `contents` then resolves `undefined`.
 */
function watchDump(
  input: Readable,
  reader: DumpReader,
): { stream: Readable; contents: Promise<DumpContents | undefined> } {
  let settle!: (contents: DumpContents | undefined) => void;
  const contents = new Promise<DumpContents | undefined>((resolve) => (settle = resolve));
  const stream = new Transform({
    // One block at a time, as the stream it wraps hands them over.
    readableHighWaterMark: input.readableHighWaterMark,
    writableHighWaterMark: input.readableHighWaterMark,
    transform(chunk: Buffer, _encoding, callback) {
      void Promise.resolve(reader.write(chunk)).then(() => callback(null, chunk));
    },
    flush(callback) {
      void Promise.resolve(reader.result()).then((result) => {
        settle(result);
        callback();
      });
    },
  });
  stream.once('close', () => settle(undefined));
  pipeline(input, stream, () => undefined);
  return { stream, contents };
}

/**
 * Reads the header and TOC of a custom-format dump, which pg_dump writes first. The bytes are kept only until the
 * TOC is complete; when they end too early it tries again once twice as many have come. The result is `undefined`
 * when the dump is not one this package can read (an archive version it does not know, a TOC over 64 MiB, a stream
 * that ended early).
 */
class CustomDumpTocReader implements DumpReader {
  private head: Buffer[] | undefined = [];
  private headBytes = 0;
  private nextAttempt = 0;
  private contents: DumpContents | undefined;

  async write(chunk: Buffer): Promise<void> {
    if (!this.head) return;
    this.head.push(Buffer.from(chunk)); // a copy: the stream's consumers may reuse the chunk once done with it
    this.headBytes += chunk.length;
    if (this.headBytes >= this.nextAttempt) await this.attempt(false);
  }

  async result(): Promise<DumpContents | undefined> {
    await this.attempt(true);
    return this.contents;
  }

  private async attempt(final: boolean): Promise<void> {
    const head = this.head;
    if (!head) return;
    try {
      const toc = await readArchiveHeaderAndToc(ArchiveReader.of(Buffer.concat(head, this.headBytes)), 'custom');
      this.contents = { tables: countTocTables(toc) };
      this.head = undefined;
    } catch (error) {
      if (final || !(error instanceof ArchiveEndsEarly) || this.headBytes > MAX_HEAD_BYTES) this.head = undefined;
      else this.nextAttempt = this.headBytes * 2;
    }
  }
}

/** Passes a custom-format dump through unchanged while reading its TOC ({@link CustomDumpTocReader}). */
export function watchCustomDump(input: Readable): { stream: Readable; contents: Promise<DumpContents | undefined> } {
  return watchDump(input, new CustomDumpTocReader());
}

/**
 * What a directory-format dump holds, from its `toc.dat`; `undefined` when this package cannot read it (the dump is
 * still stored: its table count is not recorded).
 */
export async function readDirectoryDumpContents(tocPath: string): Promise<DumpContents | undefined> {
  try {
    const bytes = await readFile(tocPath);
    return { tables: countTocTables(await readArchiveHeaderAndToc(ArchiveReader.of(bytes), 'directory')) };
  } catch {
    return undefined;
  }
}

const NEWLINE = 0x0a;
const COPY_END = Buffer.from('\n\\.\n');
const COPY_START = Buffer.from('\nCOPY ');
const ENTRY_HEADER = Buffer.from('\n-- Name: ');
/** pg_dump's comment above each object of a plain dump: `-- Name: t; Type: TABLE; Schema: public; Owner: app`. */
const TABLE_HEADER = /^-- Name: .*; Type: TABLE; Schema: /;
/** A `-- Name:` or `COPY` line longer than this is not one pg_dump writes: the count is given up. */
const MAX_HEADER_LINE_BYTES = 64 * 1024;

/**
 * Counts the tables of a plain (SQL) dump as it streams: pg_dump's `-- Name: …; Type: TABLE; …` comment lines,
 * outside the `COPY … FROM stdin;` data, which ends at a line `\.` (a backslash in the data is written `\\`).
 * Chunks are searched where they lie; only the seam between two chunks is copied.
 *
 * @internal Exported for tests.
 */
export class PlainDumpTableCounter implements DumpReader {
  /**
   * The end of what came so far that may begin a pattern running into the next chunk, or an unfinished `-- Name:` or
   * `COPY` line. The stream "starts" with a newline, so its first line can match.
   */
  private carry: Buffer = Buffer.from('\n');
  private inCopy = false;
  private tables = 0;
  private broken = false;

  write(chunk: Buffer): void {
    if (this.broken) return;
    // The seam: the carry and enough of the chunk to finish any line begun in the carry. Only matches that start in
    // the carry are taken there; the rest are found in the chunk itself.
    const seam = Buffer.concat([this.carry, chunk.subarray(0, MAX_HEADER_LINE_BYTES)]);
    const inSeam = this.scan(seam, 0, this.carry.length);
    if (this.broken) return;
    if (inSeam.open >= 0) {
      // A line begun in the carry is still open at the end of the seam.
      this.keep(seam, inSeam.open, chunk.length <= MAX_HEADER_LINE_BYTES);
      return;
    }
    const start = Math.max(0, inSeam.position - this.carry.length);
    const inChunk = this.scan(chunk, start, chunk.length);
    if (this.broken) return;
    if (inChunk.open >= 0) {
      this.keep(chunk, inChunk.open, true);
      return;
    }
    // No line is open: keep only what could begin a pattern that runs into the next chunk, counted over the carry and
    // the chunk together (a chunk may be shorter than a pattern), and not before where the search stopped.
    const scanned = start === 0 && inChunk.position === 0 ? inSeam.position : this.carry.length + inChunk.position;
    const longest = (this.inCopy ? COPY_END.length : ENTRY_HEADER.length) - 1;
    const tail = Math.max(scanned, this.carry.length + chunk.length - longest) - this.carry.length;
    this.carry =
      tail >= 0
        ? Buffer.from(chunk.subarray(tail))
        : Buffer.concat([this.carry.subarray(this.carry.length + tail), chunk]);
  }

  /** Keeps `buffer` from `from` as the carry, unless that line is too long to be one of pg_dump's. */
  private keep(buffer: Buffer, from: number, complete: boolean): void {
    if (!complete || buffer.length - from > MAX_HEADER_LINE_BYTES) {
      this.broken = true;
      return;
    }
    this.carry = Buffer.from(buffer.subarray(from));
  }

  /**
   * Follows `buffer` from `position` (a newline before a line start), taking only matches that start before
   * `limit`. Returns where it stopped and, when a `-- Name:` or `COPY` line has no end in `buffer`, where it began.
   */
  private scan(buffer: Buffer, position: number, limit: number): { position: number; open: number } {
    for (;;) {
      if (this.inCopy) {
        const end = buffer.indexOf(COPY_END, position);
        if (end < 0 || end >= limit) return { position, open: -1 };
        this.inCopy = false;
        position = end + COPY_END.length - 1;
        continue;
      }
      const copy = buffer.indexOf(COPY_START, position);
      const header = buffer.indexOf(ENTRY_HEADER, position);
      const at = copy < 0 ? header : header < 0 ? copy : Math.min(copy, header);
      if (at < 0 || at >= limit) return { position, open: -1 };
      const lineEnd = buffer.indexOf(NEWLINE, at + 1);
      if (lineEnd < 0) return { position, open: at };
      if (lineEnd - at > MAX_HEADER_LINE_BYTES) {
        this.broken = true;
        return { position, open: -1 };
      }
      const line = buffer.toString('utf8', at + 1, lineEnd);
      if (at === header) {
        if (TABLE_HEADER.test(line)) this.tables += 1;
      } else if (line.endsWith(' FROM stdin;')) {
        this.inCopy = true;
      }
      position = lineEnd;
    }
  }

  /** The tables counted, once the dump ended; `undefined` when it ended inside data or a line was too long. */
  result(): DumpContents | undefined {
    if (this.broken || this.inCopy) return undefined;
    return { tables: this.tables };
  }
}

/** Passes a plain dump through unchanged while counting its tables ({@link PlainDumpTableCounter}). */
export function watchPlainDump(input: Readable): { stream: Readable; contents: Promise<DumpContents | undefined> } {
  return watchDump(input, new PlainDumpTableCounter());
}
