// POSIX ustar archives with pax extended headers (IEEE 1003.1-2001 `pax` format): what the files source and the
// directory-format PostgreSQL dump write, and what their restores and full-read verification read. Only what those
// need: regular files, directories, symlinks and hard links; long names, long link targets and sizes of 8 GiB and up
// through pax records. The reader also takes GNU long-name entries and base-256 numbers (archives of GNU tar), and
// reports devices, FIFOs and other types by name so the caller can refuse them.

/** Entry types as named in the archive (`typeflag`); the caller decides which it accepts. */
export type TarEntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'contiguous-file'
  | `unknown (typeflag ${string})`;

/** One header, pax records applied. */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  size: number;
  mtime: Date;
  linkname: string;
}

/** An entry of {@link readTar}: its header and its data, to be read (or left) before the next entry is asked for. */
export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

/** What {@link encodeTarHeader} writes. */
export interface TarHeaderInput {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  size?: number;
  mtime?: Date;
  linkname?: string;
}

/** A damaged or unreadable archive; `offset` is the byte where the problem is. */
export class TarFormatError extends Error {
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(`at byte ${offset}: ${message}`);
    this.name = 'TarFormatError';
    this.offset = offset;
  }
}

const BLOCK = 512;
/** Largest size an 11-digit octal field holds (8 GiB - 1); larger sizes go into a pax record. */
const MAX_OCTAL_SIZE = 0o77777777777;
/** pax and GNU long-name data is held in memory: more than this is a damaged archive, not a long name. */
const MAX_META_BYTES = 1024 * 1024;
const TYPEFLAGS: Record<TarHeaderInput['type'], string> = { file: '0', link: '1', symlink: '2', directory: '5' };

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** Zero bytes that fill an entry's data up to the next 512-byte boundary. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function writeText(block: Buffer, offset: number, length: number, value: string): void {
  Buffer.from(value, 'utf8').subarray(0, length).copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(
    `${Math.trunc(value)
      .toString(8)
      .padStart(length - 1, '0')}\0`,
    offset,
    length,
    'ascii',
  );
}

/** Base-256 (GNU): the top bit of the first byte set, the value big-endian in the rest of the field. */
function writeBase256(block: Buffer, offset: number, length: number, value: number): void {
  let rest = BigInt(Math.trunc(value));
  for (let index = offset + length - 1; index > offset; index--) {
    block[index] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  block[offset] = 0x80;
}

/** One pax record: `"<length> <key>=<value>\n"`, the length counting its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length = String(length).length + bodyBytes;
  return `${length}${body}`;
}

function ustarBlock(
  fields: { name: string; typeflag: string; mode: number; size: number; mtimeSeconds: number; linkname: string },
  sizeInPax: boolean,
): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeText(block, 0, 100, fields.name);
  writeOctal(block, 100, 8, fields.mode & 0o7777);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  if (sizeInPax) writeBase256(block, 124, 12, fields.size);
  else writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtimeSeconds);
  block.write(fields.typeflag, 156, 1, 'ascii');
  writeText(block, 157, 100, fields.linkname);
  block.write('ustar\x0000', 257, 8, 'ascii'); // magic "ustar\0", version "00"
  writeOctal(block, 329, 8, 0); // devmajor
  writeOctal(block, 337, 8, 0); // devminor
  block.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

/**
 * The header block(s) of one entry: a pax extended header first when the name or link target is longer than the
 * ustar fields (100 bytes) or the size does not fit 11 octal digits, then the ustar header. Directory names end
 * with `/`, as tar writes them.
 */
export function encodeTarHeader(input: TarHeaderInput): Buffer {
  const name = input.type === 'directory' && !input.name.endsWith('/') ? `${input.name}/` : input.name;
  const linkname = input.linkname ?? '';
  const size = input.type === 'file' ? (input.size ?? 0) : 0;
  const mtimeSeconds = Math.max(0, Math.floor((input.mtime?.getTime() ?? 0) / 1000));
  let pax = '';
  if (Buffer.byteLength(name, 'utf8') > 100) pax += paxRecord('path', name);
  if (Buffer.byteLength(linkname, 'utf8') > 100) pax += paxRecord('linkpath', linkname);
  const sizeInPax = size > MAX_OCTAL_SIZE;
  if (sizeInPax) pax += paxRecord('size', String(size));
  const header = ustarBlock(
    { name, typeflag: TYPEFLAGS[input.type], mode: input.mode, size, mtimeSeconds, linkname },
    sizeInPax,
  );
  if (pax === '') return header;
  const records = Buffer.from(pax, 'utf8');
  const base = name.replace(/\/+$/, '').split('/').pop() ?? 'entry';
  const paxHeader = ustarBlock(
    { name: `PaxHeader/${base}`, typeflag: 'x', mode: 0o644, size: records.length, mtimeSeconds, linkname: '' },
    false,
  );
  return Buffer.concat([paxHeader, records, tarPadding(records.length), header]);
}

/** Pull reader over the archive's chunks: exact reads, with the absolute offset for messages. */
class ChunkReader {
  readonly #iterator: AsyncIterator<Buffer | Uint8Array | string>;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;
  /** Absolute offset of the next unread byte. */
  offset = 0;

  constructor(iterator: AsyncIterator<Buffer | Uint8Array | string>) {
    this.#iterator = iterator;
  }

  async #more(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.#ended = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    return true;
  }

  /** Exactly `count` bytes; `undefined` when the archive ends before the first of them; throws when it ends inside. */
  async read(count: number, what: string): Promise<Buffer | undefined> {
    while (this.#buffer.length < count) {
      if (!(await this.#more())) {
        if (this.#buffer.length === 0) return undefined;
        throw new TarFormatError(this.offset + this.#buffer.length, `the archive is truncated inside ${what}`);
      }
    }
    const bytes = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    this.offset += count;
    return bytes;
  }

  /** Up to `count` bytes as they arrive (at least one); throws when the archive ends first. */
  async chunk(count: number, what: string): Promise<Buffer> {
    if (this.#buffer.length === 0 && !(await this.#more()))
      throw new TarFormatError(this.offset, `the archive is truncated inside ${what}`);
    const bytes = this.#buffer.subarray(0, Math.min(count, this.#buffer.length));
    this.#buffer = this.#buffer.subarray(bytes.length);
    this.offset += bytes.length;
    return bytes;
  }

  /** Reads and drops everything left, so the source's own end (and its errors) are seen. */
  async drain(): Promise<void> {
    this.offset += this.#buffer.length;
    this.#buffer = Buffer.alloc(0);
    while (await this.#more()) {
      this.offset += this.#buffer.length;
      this.#buffer = Buffer.alloc(0);
    }
  }
}

/** Text up to the first NUL. */
function readText(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** An octal field (spaces and NULs around it allowed) or a base-256 one. */
function readNumber(block: Buffer, offset: number, length: number, what: string, at: number): number {
  const field = block.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    if (field[0] === 0xff) throw new TarFormatError(at, `negative ${what} in a base-256 field`);
    let value = BigInt((field[0] ?? 0) & 0x7f);
    for (const byte of field.subarray(1)) value = (value << 8n) | BigInt(byte);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarFormatError(at, `${what} is too large`);
    return Number(value);
  }
  const text = field.toString('ascii').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(at, `${what} field ${JSON.stringify(text)} is not octal`);
  return Number.parseInt(text, 8);
}

function headerChecksumMatches(block: Buffer): boolean {
  const stored = block.toString('ascii', 148, 156).replace(/\0.*$/s, '').trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let unsigned = 0;
  let signed = 0; // some old tars summed signed bytes
  for (let index = 0; index < BLOCK; index++) {
    const byte = index >= 148 && index < 156 ? 0x20 : (block[index] as number);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  const value = Number.parseInt(stored, 8);
  return value === unsigned || value === signed;
}

function parsePax(data: Buffer, at: number): Record<string, string> {
  const records: Record<string, string> = {};
  let position = 0;
  while (position < data.length) {
    const space = data.indexOf(0x20, position);
    const length = space === -1 ? NaN : Number(data.toString('ascii', position, space));
    if (
      !Number.isInteger(length) ||
      length <= 0 ||
      position + length > data.length ||
      data[position + length - 1] !== 0x0a
    )
      throw new TarFormatError(at, 'malformed pax extended header record');
    const record = data.toString('utf8', space + 1, position + length - 1);
    const equals = record.indexOf('=');
    if (equals === -1) throw new TarFormatError(at, 'malformed pax extended header record');
    records[record.slice(0, equals)] = record.slice(equals + 1);
    position += length;
  }
  return records;
}

function entryType(typeflag: string, name: string): TarEntryType {
  switch (typeflag) {
    case '0':
    case '\0':
    case '':
      return name.endsWith('/') ? 'directory' : 'file'; // pre-POSIX tars marked directories by the slash only
    case '1':
      return 'link';
    case '2':
      return 'symlink';
    case '3':
      return 'character-device';
    case '4':
      return 'block-device';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    case '7':
      return 'contiguous-file';
    default:
      return `unknown (typeflag ${JSON.stringify(typeflag)})`;
  }
}

/**
 * Reads a tar archive entry by entry, streaming each entry's data. An entry's body is drained automatically when
 * the next entry is asked for. After the end-of-archive blocks the rest of the source is read (and dropped), so an
 * error of the source at its very end — an age chunk failing authentication — still rejects. A header whose
 * checksum does not match, a truncated archive and malformed numbers or pax records throw {@link TarFormatError}.
 */
export async function* readTar(source: AsyncIterator<Buffer | Uint8Array | string>): AsyncGenerator<TarEntry> {
  const reader = new ChunkReader(source);
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const at = reader.offset;
    const block = await reader.read(BLOCK, 'a header');
    if (block === undefined) return; // ended on an entry boundary without end-of-archive blocks: as tar does
    if (block.every((byte) => byte === 0)) {
      await reader.drain();
      return;
    }
    if (!headerChecksumMatches(block))
      throw new TarFormatError(at, 'tar header checksum mismatch (damaged archive, or not a tar archive)');
    const typeflag = block.toString('latin1', 156, 157);
    const rawName = readText(block, 0, 100);
    const prefix = block.toString('ascii', 257, 262) === 'ustar' ? readText(block, 345, 155) : '';
    let size = readNumber(block, 124, 12, 'size', at);
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_META_BYTES) throw new TarFormatError(at, `a ${size}-byte extended header is too large to be real`);
      const data = (await reader.read(size, 'an extended header')) ?? Buffer.alloc(0);
      if (data.length < size)
        throw new TarFormatError(reader.offset, 'the archive is truncated inside an extended header');
      await reader.read(tarPadding(size).length, 'padding');
      if (typeflag === 'x') pax = { ...pax, ...parsePax(data, at) };
      else if (typeflag === 'L') longName = readText(data, 0, data.length);
      else if (typeflag === 'K') longLink = readText(data, 0, data.length);
      // 'g' (global pax records): nothing this reader uses
      continue;
    }
    if (pax.size !== undefined) {
      if (!/^\d+$/.test(pax.size)) throw new TarFormatError(at, `pax size ${JSON.stringify(pax.size)} is not a number`);
      size = Number(pax.size);
    }
    const name = pax.path ?? longName ?? (prefix === '' ? rawName : `${prefix}/${rawName}`);
    const mtimeSeconds = pax.mtime === undefined ? readNumber(block, 136, 12, 'mtime', at) : Number(pax.mtime);
    const header: TarHeader = {
      name,
      type: entryType(typeflag, name),
      mode: readNumber(block, 100, 8, 'mode', at),
      size,
      mtime: new Date((Number.isFinite(mtimeSeconds) ? mtimeSeconds : 0) * 1000),
      linkname: pax.linkpath ?? longLink ?? readText(block, 157, 100),
    };
    pax = {};
    longName = undefined;
    longLink = undefined;
    let remaining = size;
    const what = `the data of ${JSON.stringify(name)}`;
    const body: AsyncIterable<Buffer> = {
      async *[Symbol.asyncIterator]() {
        while (remaining > 0) {
          const chunk = await reader.chunk(remaining, what);
          remaining -= chunk.length;
          yield chunk;
        }
      },
    };
    yield { header, body };
    while (remaining > 0) remaining -= (await reader.chunk(remaining, what)).length;
    const padding = tarPadding(size).length;
    if (padding > 0 && (await reader.read(padding, `the padding of ${JSON.stringify(name)}`)) === undefined)
      throw new TarFormatError(reader.offset, `the archive is truncated inside the padding of ${JSON.stringify(name)}`);
  }
}
