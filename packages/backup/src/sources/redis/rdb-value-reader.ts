import type { ByteReader } from './byte-reader.js';
import { checkIntset } from './intset.js';
import { checkListpack } from './listpack.js';
import { RdbCorruption } from './rdb-corruption.js';
import type { RdbStringReader } from './rdb-string-reader.js';
import { checkZiplist } from './ziplist.js';
import { checkZipmap } from './zipmap.js';

/**
 * Walks one value of every RDB value type (see `RDB_VALUE_TYPE_NAMES`), validating the listpacks, ziplists, intsets
 * and zipmaps inside, without keeping the value. Module values in the pre-release MODULE format cannot be skipped and
 * are refused.
 */
export class RdbValueReader {
  readonly #reader: ByteReader;
  readonly #strings: RdbStringReader;

  constructor(reader: ByteReader, strings: RdbStringReader) {
    this.#reader = reader;
    this.#strings = strings;
  }

  /** Walks a value of `type`; `describeKey` names its key in error messages (called only when needed). */
  async value(type: number, describeKey: () => string): Promise<void> {
    const strings = this.#strings;
    if (type === 0 && strings.syncString()) return;
    const what = `the value of ${describeKey()}`;
    switch (type) {
      case 0: // string
        await strings.string(what, false);
        return;
      case 1: // list
      case 2: // set
        return this.#elements(what);
      case 3: // zset (scores as text)
      case 5: // zset-2 (binary double scores)
        return this.#sortedSet(type, what);
      case 4: // hash
        return this.#hash(what);
      case 6:
        throw new RdbCorruption(
          this.#reader.offset,
          `${what} is a module value in the pre-release MODULE format, which cannot be skipped without the module`,
        );
      case 7: // module-2
        await strings.plainLength(`${what} module id`, true);
        return this.moduleValue(what);
      case 9:
        return strings.blob(`${what} (zipmap)`, checkZipmap);
      case 10: // list-ziplist
      case 12: // zset-ziplist
      case 13: // hash-ziplist
        return strings.blob(`${what} (ziplist)`, checkZiplist);
      case 11:
        return strings.blob(`${what} (intset)`, checkIntset);
      case 16: // hash-listpack
      case 17: // zset-listpack
      case 20: // set-listpack
        return strings.blob(`${what} (listpack)`, checkListpack);
      case 14:
        return this.#quicklist(what);
      case 18:
        return this.#quicklist2(what);
      case 15: // stream-listpacks
      case 19: // stream-listpacks-2
      case 21: // stream-listpacks-3
        return this.#stream(type, what);
      case 22: // hash-metadata-pre-ga
      case 24: // hash-metadata
        return this.#hashWithFieldExpiry(type, what);
      case 23: // hash-listpack-ex-pre-ga
      case 25: // hash-listpack-ex
        return this.#listpackHashWithFieldExpiry(type, what);
      default:
        throw new RdbCorruption(this.#reader.offset - 1, `unknown value type ${type} (for a key)`);
    }
  }

  /** A module value in the MODULE_2 format: typed opcodes ending with 0, so any module's value can be skipped. */
  async moduleValue(what: string): Promise<void> {
    for (;;) {
      const start = this.#reader.offset;
      const opcode = await this.#strings.plainLength(`${what} opcode`);
      if (opcode === 0) return;
      if (opcode === 1 || opcode === 2) await this.#strings.plainLength(`${what} integer`, true);
      else if (opcode === 3) await this.#reader.take(4, `${what} float`);
      else if (opcode === 4) await this.#reader.take(8, `${what} double`);
      else if (opcode === 5) await this.#strings.string(`${what} string`, false);
      else throw new RdbCorruption(start, `${what} has the unknown module opcode ${opcode}`);
    }
  }

  async #elements(what: string): Promise<void> {
    const strings = this.#strings;
    const count = strings.syncLength() ?? (await strings.plainLength(`${what} element count`));
    for (let index = 0; index < count; index++)
      if (!strings.syncString()) await strings.string(`${what} element ${index}`, false);
  }

  async #sortedSet(type: number, what: string): Promise<void> {
    const reader = this.#reader;
    const strings = this.#strings;
    const count = strings.syncLength() ?? (await strings.plainLength(`${what} member count`));
    for (let index = 0; index < count; index++) {
      if (!strings.syncString()) await strings.string(`${what} member ${index}`, false);
      if (type === 5) {
        if (reader.available >= 8) reader.advance(8);
        else await reader.take(8, `${what} score ${index}`);
      } else {
        // Text scores: a length byte, where 253 to 255 stand for NaN and the infinities without any bytes after.
        const scoreLength = await reader.byte(`${what} score ${index}`);
        if (scoreLength < 253) await reader.take(scoreLength, `${what} score ${index}`);
      }
    }
  }

  async #hash(what: string): Promise<void> {
    const strings = this.#strings;
    const count = strings.syncLength() ?? (await strings.plainLength(`${what} field count`));
    for (let index = 0; index < count; index++) {
      if (!strings.syncString()) await strings.string(`${what} field ${index}`, false);
      if (!strings.syncString()) await strings.string(`${what} field ${index} value`, false);
    }
  }

  /** A list as quicklist v1: ziplist nodes. */
  async #quicklist(what: string): Promise<void> {
    const count = await this.#strings.plainLength(`${what} node count`);
    for (let index = 0; index < count; index++)
      await this.#strings.blob(`${what} node ${index} (ziplist)`, checkZiplist);
  }

  /** A list as quicklist v2: nodes that are a plain string (one large element) or a listpack. */
  async #quicklist2(what: string): Promise<void> {
    const strings = this.#strings;
    const count = await strings.plainLength(`${what} node count`);
    for (let index = 0; index < count; index++) {
      const start = this.#reader.offset;
      const container = await strings.plainLength(`${what} node ${index} container`);
      if (container === 1) await strings.string(`${what} node ${index} (plain)`, false);
      else if (container === 2) await strings.blob(`${what} node ${index} (listpack)`, checkListpack);
      else throw new RdbCorruption(start, `${what} node ${index} has the unknown container ${container}`);
    }
  }

  /** Hashes with field expiry (Redis 7.4+), one field at a time: the GA form starts with the smallest expiry time. */
  async #hashWithFieldExpiry(type: number, what: string): Promise<void> {
    const strings = this.#strings;
    if (type === 24) await this.#reader.take(8, `${what} minimum field expiry`);
    const count = await strings.plainLength(`${what} field count`);
    for (let index = 0; index < count; index++) {
      await strings.plainLength(`${what} field ${index} expiry`, true);
      if (!strings.syncString()) await strings.string(`${what} field ${index}`, false);
      if (!strings.syncString()) await strings.string(`${what} field ${index} value`, false);
    }
  }

  /** Hashes with field expiry (Redis 7.4+) as one listpack of field, value, expiry triples. */
  async #listpackHashWithFieldExpiry(type: number, what: string): Promise<void> {
    if (type === 25) await this.#reader.take(8, `${what} minimum field expiry`);
    await this.#strings.blob(`${what} (listpack of field, value, expiry)`, (blob) => {
      const elements = checkListpack(blob);
      if (elements % 3 !== 0) throw new Error(`listpack has ${elements} elements, not field/value/expiry triples`);
    });
  }

  /** A stream: listpack nodes keyed by a 16-byte ID, the stream's metadata, then its consumer groups. */
  async #stream(type: number, what: string): Promise<void> {
    const reader = this.#reader;
    const strings = this.#strings;
    const nodes = await strings.plainLength(`${what} listpack count`);
    for (let index = 0; index < nodes; index++) {
      const start = reader.offset;
      const nodeKey = await strings.string(`${what} node ${index} key`, true);
      if (nodeKey.length !== 16)
        throw new RdbCorruption(start, `${what} node ${index} key is ${nodeKey.length} bytes, a stream ID has 16`);
      await strings.blob(`${what} node ${index} (listpack)`, checkListpack);
    }
    await strings.plainLength(`${what} length`, true);
    await strings.plainLength(`${what} last id`, true);
    await strings.plainLength(`${what} last id sequence`, true);
    if (type >= 19) {
      await strings.plainLength(`${what} first id`, true);
      await strings.plainLength(`${what} first id sequence`, true);
      await strings.plainLength(`${what} max deleted id`, true);
      await strings.plainLength(`${what} max deleted id sequence`, true);
      await strings.plainLength(`${what} entries added`, true);
    }
    const groups = await strings.plainLength(`${what} consumer group count`);
    for (let group = 0; group < groups; group++) await this.#consumerGroup(type, `${what} consumer group ${group}`);
  }

  /** One stream consumer group: its last ID, pending entries, and consumers with the IDs they own. */
  async #consumerGroup(type: number, what: string): Promise<void> {
    const reader = this.#reader;
    const strings = this.#strings;
    await strings.string(`${what} name`, false);
    await strings.plainLength(`${what} last id`, true);
    await strings.plainLength(`${what} last id sequence`, true);
    if (type >= 19) await strings.plainLength(`${what} entries read`, true);
    const pending = await strings.plainLength(`${what} pending count`);
    for (let entry = 0; entry < pending; entry++) {
      await reader.take(16, `${what} pending id`);
      await reader.take(8, `${what} pending delivery time`);
      await strings.plainLength(`${what} pending delivery count`);
    }
    const consumers = await strings.plainLength(`${what} consumer count`);
    for (let consumer = 0; consumer < consumers; consumer++) {
      await strings.string(`${what} consumer name`, false);
      await reader.take(8, `${what} consumer seen time`);
      if (type >= 21) await reader.take(8, `${what} consumer active time`);
      const owned = await strings.plainLength(`${what} consumer pending count`);
      await reader.skip(16 * owned, `${what} consumer pending ids`);
    }
  }
}
