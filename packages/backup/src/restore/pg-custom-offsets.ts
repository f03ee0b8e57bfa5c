import { open, type FileHandle } from 'node:fs/promises';
import { BackupError } from '../errors.js';
import {
  ArchiveReader,
  OFFSET_NO_DATA,
  OFFSET_NOT_SET,
  OFFSET_SET,
  readArchiveHeaderAndToc,
  Unsupported,
  type CustomDumpToc,
} from '../internal/pg-archive.js';

export type { CustomDumpToc, CustomDumpTocEntry } from '../internal/pg-archive.js';

// The archive's layout is described in ../internal/pg-archive.ts; this module walks the custom format's data blocks
// and fills in their offsets.

const BLK_DATA = 1;
const BLK_BLOBS = 3;

function ioError(path: string, action: string, cause: unknown): BackupError {
  return new BackupError('RESTORE_FAILED', `cannot ${action} ${path}: ${(cause as Error).message}`, { cause });
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
    const readAt = async (buffer: Buffer, offset: number, length: number, position: number) => {
      try {
        return (await handle.read(buffer, offset, length, position)).bytesRead;
      } catch (error) {
        throw ioError(path, 'read', error);
      }
    };
    const checkAbort = () => {
      if (signal?.aborted)
        throw new BackupError('ABORTED', `filling in the data offsets of ${path} was aborted`, {
          cause: signal.reason,
        });
    };
    return await use(new ArchiveReader(readAt, size, checkAbort), handle);
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
      return await readArchiveHeaderAndToc(reader, 'custom');
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
        toc = await readArchiveHeaderAndToc(reader, 'custom');
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
