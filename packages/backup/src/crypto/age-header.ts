import { decodeBase64, encodeBase64, hkdfSha256, hmacSha256 } from './age-primitives.js';
import { BackupError } from '../errors.js';

/** The first line of every age v1 file. */
export const AGE_VERSION_LINE = 'age-encryption.org/v1';
/** Largest header the decoder buffers before giving up (bounds memory on garbage input). */
export const MAX_HEADER_BYTES = 1024 * 1024;
const COLUMNS = 64;

/** One recipient stanza: its arguments (the first one is the type) and its binary body. */
export interface AgeStanza {
  args: string[];
  body: Buffer;
}

/** A parsed header: stanzas plus the bytes the MAC covers and the MAC itself. */
export interface ParsedAgeHeader {
  stanzas: AgeStanza[];
  /** Header bytes from the version line up to and including `---`. */
  macInput: Buffer;
  mac: Buffer;
}

function corrupt(reason: string): BackupError {
  return new BackupError('BACKUP_CORRUPT', `age header is malformed: ${reason}`);
}

/** Encodes a stanza as `-> args\n` followed by the body wrapped at 64 columns (last line always shorter). */
export function encodeStanza(stanza: AgeStanza): string {
  let out = `-> ${stanza.args.join(' ')}\n`;
  const body = encodeBase64(stanza.body);
  let index = 0;
  for (; index + COLUMNS <= body.length; index += COLUMNS) out += `${body.slice(index, index + COLUMNS)}\n`;
  out += `${body.slice(index)}\n`;
  return out;
}

/** The HMAC key for the header MAC. */
export function headerMacKey(fileKey: Uint8Array): Buffer {
  return hkdfSha256(fileKey, Buffer.alloc(0), 'header');
}

/** Builds the full header (with MAC) for `fileKey` and `stanzas`. */
export function encodeHeader(fileKey: Uint8Array, stanzas: readonly AgeStanza[]): Buffer {
  let text = `${AGE_VERSION_LINE}\n`;
  for (const stanza of stanzas) text += encodeStanza(stanza);
  text += '---';
  const macInput = Buffer.from(text, 'ascii');
  const mac = hmacSha256(headerMacKey(fileKey), macInput);
  return Buffer.concat([macInput, Buffer.from(` ${encodeBase64(mac)}\n`, 'ascii')]);
}

const ARGUMENT = /^[\x21-\x7e]+$/;

/** Throws unless `bytes` (possibly only the first few bytes of the input) can start an age v1 header. */
export function assertAgePrefix(bytes: Buffer): void {
  const prefix = Buffer.from(`${AGE_VERSION_LINE}\n`, 'ascii');
  const comparable = Math.min(prefix.length, bytes.length);
  if (bytes.subarray(0, comparable).equals(prefix.subarray(0, comparable))) return;
  if (bytes.subarray(0, 10).toString('latin1').startsWith('-----BEGIN')) {
    throw corrupt('ASCII-armored (PEM) age files are not supported; use the binary format');
  }
  throw new BackupError('BACKUP_CORRUPT', 'not an age v1 file: it does not start with "age-encryption.org/v1"');
}

/**
 * Finds the end of the header in `bytes`: the index just past the MAC line's newline, or `-1` when more input is
 * needed. Throws when what is there already cannot be an age v1 header.
 */
export function findHeaderEnd(bytes: Buffer): number {
  assertAgePrefix(bytes);
  const marker = bytes.indexOf('\n---', 0, 'ascii');
  if (marker === -1) return -1;
  const lineEnd = bytes.indexOf(0x0a, marker + 1);
  return lineEnd === -1 ? -1 : lineEnd + 1;
}

/** Parses a complete header (as delimited by {@link findHeaderEnd}). */
export function parseHeader(header: Buffer): ParsedAgeHeader {
  const text = header.toString('latin1');
  const lines = text.split('\n');
  // The text ends with "\n", so the last element is empty.
  if (lines.pop() !== '') throw corrupt('missing final newline');
  if (lines[0] !== AGE_VERSION_LINE) throw corrupt('bad version line');
  const stanzas: AgeStanza[] = [];
  let index = 1;
  for (;;) {
    const line = lines[index];
    if (line === undefined) throw corrupt('missing MAC line');
    if (line.startsWith('---')) break;
    if (!line.startsWith('-> ')) throw corrupt(`line ${index + 1} is neither a stanza nor the MAC line`);
    const args = line.slice(3).split(' ');
    if (args.length === 0 || !args.every((argument) => ARGUMENT.test(argument)))
      throw corrupt(`line ${index + 1}: bad stanza arguments`);
    index += 1;
    let body = '';
    for (;;) {
      const bodyLine = lines[index];
      if (bodyLine === undefined) throw corrupt('stanza body is not terminated by a short line');
      index += 1;
      if (bodyLine.length > COLUMNS) throw corrupt(`line ${index}: stanza body line longer than 64 columns`);
      body += bodyLine;
      if (bodyLine.length < COLUMNS) break;
    }
    const decoded = decodeBase64(body);
    if (decoded === undefined) throw corrupt('stanza body is not canonical unpadded base64');
    stanzas.push({ args, body: decoded });
  }
  const macLine = lines[index] as string;
  if (index !== lines.length - 1) throw corrupt('data after the MAC line');
  if (!macLine.startsWith('--- ')) throw corrupt('MAC line must be "--- <mac>"');
  const mac = decodeBase64(macLine.slice(4));
  if (mac === undefined || mac.length !== 32) throw corrupt('MAC is not a canonical base64 32-byte value');
  if (stanzas.length === 0) throw corrupt('no recipient stanza');
  const macInputEnd = text.length - macLine.length - 1 + 3;
  return { stanzas, macInput: header.subarray(0, macInputEnd), mac };
}
