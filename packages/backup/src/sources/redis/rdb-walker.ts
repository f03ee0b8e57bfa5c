import type { Readable } from 'node:stream';
import { ByteReader } from './byte-reader.js';
import { MAX_RDB_VERSION, RDB_OPCODE, RDB_VALUE_TYPE_NAMES } from './rdb-constants.js';
import { RdbCorruption } from './rdb-corruption.js';
import { RdbStringReader } from './rdb-string-reader.js';
import { RdbValueReader } from './rdb-value-reader.js';
import { BackupError } from '../../errors.js';

/** Keys found in one logical database of an RDB file. */
export interface RdbDatabaseCounts {
  /** Keys in this database. */
  keys: number;
  /** Keys with an expiry time (EXPIRETIME / EXPIRETIME_MS before the key). */
  expiringKeys: number;
}

/** What {@link walkRdbStream} found. */
export interface RdbSummary {
  /** The four-digit version after the `REDIS` magic (Redis 7.0 writes 10). */
  rdbVersion: number;
  /** Bytes read, checksum included. */
  bytes: number;
  /** `false` when the file was written with `rdbchecksum no` (checksum field 0). */
  checksumVerified: boolean;
  /** Keys per database number (only databases with at least one key). */
  databases: Record<number, RdbDatabaseCounts>;
  /** Keys in all databases. */
  keys: number;
  /** Keys with an expiry in all databases. */
  expiringKeys: number;
  /** Keys per value type name (`string`, `list-quicklist-2`, `hash-listpack`, `stream-listpacks-2`, ...). */
  valueTypes: Record<string, number>;
  /** AUX fields (`redis-ver`, `redis-bits`, `ctime`, ...) as text. */
  auxiliary: Record<string, string>;
  /** Function libraries (FUNCTION2 opcode) in the file. */
  functionLibraries: number;
  /** Module auxiliary records (MODULE_AUX opcode) skipped. */
  moduleAuxiliaryRecords: number;
}

/** Options of {@link walkRdbStream}. */
export interface RdbWalkOptions {
  /**
   * LZF-compressed strings up to this decompressed size are decompressed to validate them (and to parse listpacks,
   * ziplists and intsets inside); larger ones are skipped by their length. Bounds the memory of the walk. Default 64 MiB.
   */
  maxDecompressedBytes?: number;
}

/** The top level of an RDB file: header, opcodes and keys up to EOF and the checksum; values go to {@link RdbValueReader}. */
class RdbWalker {
  readonly #reader: ByteReader;
  readonly #strings: RdbStringReader;
  readonly #values: RdbValueReader;
  readonly #databases: Record<number, RdbDatabaseCounts> = {};
  readonly #valueTypes: Record<string, number> = {};
  readonly #auxiliary: Record<string, string> = {};
  #database = 0;
  #keys = 0;
  #expiringKeys = 0;
  #functionLibraries = 0;
  #moduleAuxiliaryRecords = 0;
  /** An expiry time was read and its key is next. */
  #expiring = false;

  constructor(reader: ByteReader, maxDecompressedBytes: number) {
    this.#reader = reader;
    this.#strings = new RdbStringReader(reader, maxDecompressedBytes);
    this.#values = new RdbValueReader(reader, this.#strings);
  }

  async walk(): Promise<Omit<RdbSummary, 'bytes'>> {
    const reader = this.#reader;
    const rdbVersion = await this.#header();
    for (;;) {
      const start = reader.offset;
      const opcode =
        reader.available > 0 ? (reader.buffer[reader.position++] as number) : await reader.byte('an opcode');
      if (opcode === RDB_OPCODE.EOF) {
        const checksumVerified = await this.#end(start, rdbVersion);
        return {
          rdbVersion,
          checksumVerified,
          databases: this.#databases,
          keys: this.#keys,
          expiringKeys: this.#expiringKeys,
          valueTypes: this.#valueTypes,
          auxiliary: this.#auxiliary,
          functionLibraries: this.#functionLibraries,
          moduleAuxiliaryRecords: this.#moduleAuxiliaryRecords,
        };
      }
      const typeName = RDB_VALUE_TYPE_NAMES[opcode];
      if (typeName === undefined) await this.#opcode(opcode, start);
      else await this.#key(opcode, typeName);
    }
  }

  /** The `REDIS` magic and the four-digit version. */
  async #header(): Promise<number> {
    const header = await this.#reader.take(9, 'the header');
    const version = header.subarray(5, 9).toString('latin1');
    if (header.subarray(0, 5).toString('latin1') !== 'REDIS' || !/^\d{4}$/.test(version))
      throw new RdbCorruption(0, 'RDB does not start with the REDIS magic and a version');
    const rdbVersion = Number(version);
    if (rdbVersion < 1 || rdbVersion > MAX_RDB_VERSION)
      throw new RdbCorruption(5, `RDB version ${rdbVersion} is not supported (1 to ${MAX_RDB_VERSION})`);
    return rdbVersion;
  }

  /** After the EOF opcode at `start`: the CRC-64 (from version 5); whether it was checked (0 means written without). */
  async #end(start: number, rdbVersion: number): Promise<boolean> {
    if (this.#expiring) throw new RdbCorruption(start, 'RDB ends after an expiry time without a key');
    if (rdbVersion < 5) return false;
    const reader = this.#reader;
    const computed = reader.digest();
    const stored = (await reader.takeUnchecked(8, 'the checksum')).readBigUInt64LE(0);
    if (stored !== 0n && stored !== computed)
      throw new RdbCorruption(
        start + 1,
        `RDB checksum mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)})`,
      );
    return stored !== 0n;
  }

  /** An opcode other than EOF and the value types, at `start`. */
  async #opcode(opcode: number, start: number): Promise<void> {
    const reader = this.#reader;
    const strings = this.#strings;
    switch (opcode) {
      case RDB_OPCODE.SELECTDB:
        this.#database = await strings.plainLength('the SELECTDB number');
        return;
      case RDB_OPCODE.RESIZEDB:
        await strings.plainLength('the RESIZEDB key count');
        await strings.plainLength('the RESIZEDB expires count');
        return;
      case RDB_OPCODE.AUX:
        return this.#auxiliaryField();
      case RDB_OPCODE.EXPIRETIME_MS:
        await reader.take(8, 'an expiry time');
        this.#expiring = true;
        return;
      case RDB_OPCODE.EXPIRETIME:
        await reader.take(4, 'an expiry time');
        this.#expiring = true;
        return;
      case RDB_OPCODE.IDLE:
        await strings.plainLength('an LRU idle time');
        return;
      case RDB_OPCODE.FREQ:
        await reader.byte('an LFU frequency');
        return;
      case RDB_OPCODE.SLOT_INFO:
        await strings.plainLength('the slot number');
        await strings.plainLength('the slot size');
        await strings.plainLength('the slot expires size');
        return;
      case RDB_OPCODE.MODULE_AUX:
        return this.#moduleAuxiliary(start);
      case RDB_OPCODE.FUNCTION2:
        await strings.string('a function library', false);
        this.#functionLibraries++;
        return;
      case RDB_OPCODE.FUNCTION_PRE_GA:
        throw new RdbCorruption(
          start,
          'RDB holds functions in the pre-release FUNCTION format, which Redis 7 itself refuses',
        );
      default:
        throw new RdbCorruption(start, `unknown opcode or value type 0x${opcode.toString(16)}`);
    }
  }

  async #auxiliaryField(): Promise<void> {
    const name = await this.#strings.string('an AUX field name', true);
    const value = await this.#strings.string('an AUX field value', false);
    const text = (name.bytes as Buffer).toString('utf8');
    if (value.bytes && value.length <= 1024) this.#auxiliary[text] = value.bytes.toString('utf8');
  }

  async #moduleAuxiliary(start: number): Promise<void> {
    const strings = this.#strings;
    await strings.plainLength('a module id', true);
    const when = await strings.plainLength('a module aux "when" opcode');
    if (when !== 2) throw new RdbCorruption(start, `module aux record has the invalid "when" opcode ${when}`);
    await strings.plainLength('a module aux "when"', true);
    await this.#values.moduleValue('a module aux record');
    this.#moduleAuxiliaryRecords++;
  }

  /** A key and its value of `type`, counted in the current database. */
  async #key(type: number, typeName: string): Promise<void> {
    const keyStart = this.#reader.offset;
    const key = this.#strings.syncString() ?? (await this.#strings.string('a key', false)).bytes;
    await this.#values.value(
      type,
      () =>
        `key ${key ? JSON.stringify(key.subarray(0, 64).toString('latin1')) : 'of more than 1 MiB'} at offset ${keyStart}`,
    );
    const counts = (this.#databases[this.#database] ??= { keys: 0, expiringKeys: 0 });
    counts.keys++;
    this.#keys++;
    if (this.#expiring) {
      counts.expiringKeys++;
      this.#expiringKeys++;
      this.#expiring = false;
    }
    this.#valueTypes[typeName] = (this.#valueTypes[typeName] ?? 0) + 1;
  }
}

/**
 * Walks a whole RDB stream structurally with bounded memory: the header, every opcode (AUX, SELECTDB, RESIZEDB,
 * expiry times, LRU/LFU, module aux, functions), every key and value of every Redis 7 type and the field-expiry
 * hashes of Redis 7.4+ (including the
 * listpacks, ziplists and intsets inside, and LZF-compressed strings, which are decompressed to validate them up to
 * `maxDecompressedBytes`), the EOF opcode and the trailing CRC-64, and nothing after it. Counts keys and expiring
 * keys per database.
 *
 * Throws `BACKUP_CORRUPT` naming the byte offset of the first problem (truncation, unknown opcode or type, bad
 * length, malformed listpack or LZF data, checksum mismatch, trailing bytes). Module values in the pre-release
 * MODULE format cannot be skipped and are refused with a message saying so.
 *
 * @example
 * ```ts
 * const summary = await walkRdbStream(createReadStream('dump.rdb'));
 * console.log(summary.keys, summary.databases[0]?.expiringKeys);
 * ```
 */
export async function walkRdbStream(stream: Readable, options: RdbWalkOptions = {}): Promise<RdbSummary> {
  const { maxDecompressedBytes = 64 * 1024 * 1024 } = options;
  const reader = new ByteReader(stream);
  try {
    const summary = await new RdbWalker(reader, maxDecompressedBytes).walk();
    const end = reader.offset;
    const trailing = await reader.rest();
    if (trailing > 0) throw new RdbCorruption(end, `RDB has ${trailing} bytes after its checksum`);
    return { ...summary, bytes: end };
  } catch (error) {
    if (error instanceof RdbCorruption)
      throw new BackupError('BACKUP_CORRUPT', `RDB is corrupt at byte offset ${error.offset}: ${error.message}`);
    throw error;
  }
}
