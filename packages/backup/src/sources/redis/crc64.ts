// CRC-64/Jones as used by Redis for RDB files and DUMP payloads: reflected polynomial 0x95ac9329ac4bc9b5, init 0,
// no final xor. Check value of "123456789": 0xe9c6d914c4b8d9ca. Computed on two 32-bit halves for speed.
const POLY = 0x95ac9329ac4bc9b5n;
const TABLE_HIGH = new Uint32Array(256);
const TABLE_LOW = new Uint32Array(256);
for (let index = 0; index < 256; index++) {
  let crc = BigInt(index);
  for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ POLY : crc >> 1n;
  TABLE_HIGH[index] = Number(crc >> 32n);
  TABLE_LOW[index] = Number(crc & 0xffffffffn);
}

/** Incremental CRC-64/Jones (Redis flavour). */
export class Crc64 {
  #high = 0;
  #low = 0;

  update(bytes: Uint8Array): this {
    let high = this.#high;
    let low = this.#low;
    for (let offset = 0; offset < bytes.length; offset++) {
      const index = (low ^ (bytes[offset] as number)) & 0xff;
      low = ((low >>> 8) | ((high & 0xff) << 24)) >>> 0;
      high = high >>> 8;
      low = (low ^ (TABLE_LOW[index] as number)) >>> 0;
      high = (high ^ (TABLE_HIGH[index] as number)) >>> 0;
    }
    this.#high = high;
    this.#low = low;
    return this;
  }

  /** The checksum as a bigint. */
  digest(): bigint {
    return (BigInt(this.#high) << 32n) | BigInt(this.#low);
  }
}
