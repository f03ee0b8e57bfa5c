/**
 * Bech32 (BIP 173) encoding as used by age keys. age relaxes BIP 173's 90-character limit, so no length limit is
 * applied here; the callers check the decoded key length instead.
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: readonly number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let bit = 0; bit < 5; bit += 1) {
      if ((top >>> bit) & 1) checksum ^= GENERATORS[bit] as number;
    }
  }
  return checksum;
}

function expandPrefix(prefix: string): number[] {
  const out: number[] = [];
  for (let index = 0; index < prefix.length; index += 1) out.push(prefix.charCodeAt(index) >>> 5);
  out.push(0);
  for (let index = 0; index < prefix.length; index += 1) out.push(prefix.charCodeAt(index) & 31);
  return out;
}

function convertBits(
  data: Uint8Array | readonly number[],
  fromBits: number,
  toBits: number,
  pad: boolean,
): number[] | undefined {
  let accumulator = 0;
  let bits = 0;
  const out: number[] = [];
  const maxValue = (1 << toBits) - 1;
  for (const value of data) {
    if (value >>> fromBits !== 0) return undefined;
    accumulator = (accumulator << fromBits) | value;
    bits += fromBits;
    while (bits >= toBits) {
      bits -= toBits;
      out.push((accumulator >>> bits) & maxValue);
    }
  }
  if (pad) {
    if (bits > 0) out.push((accumulator << (toBits - bits)) & maxValue);
  } else if (bits >= fromBits || ((accumulator << (toBits - bits)) & maxValue) !== 0) {
    return undefined;
  }
  return out;
}

/** Encodes `data` as lower-case bech32 with the human-readable `prefix`. */
export function bech32Encode(prefix: string, data: Uint8Array): string {
  const lowerPrefix = prefix.toLowerCase();
  const words = convertBits(data, 8, 5, true) as number[];
  const checksumInput = [...expandPrefix(lowerPrefix), ...words, 0, 0, 0, 0, 0, 0];
  const checksum = polymod(checksumInput) ^ 1;
  let out = `${lowerPrefix}1`;
  for (const word of words) out += CHARSET[word];
  for (let index = 0; index < 6; index += 1) out += CHARSET[(checksum >>> (5 * (5 - index))) & 31];
  return out;
}

/** Result of {@link bech32Decode}: either the prefix and bytes, or the reason the text is not valid bech32. */
export type Bech32DecodeResult = { ok: true; prefix: string; data: Uint8Array } | { ok: false; reason: string };

/**
 * Decodes bech32 text. The reason given on failure never contains the input, so it is safe for secret keys.
 */
export function bech32Decode(text: string): Bech32DecodeResult {
  if (text !== text.toLowerCase() && text !== text.toUpperCase())
    return { ok: false, reason: 'mixed upper and lower case' };
  const lower = text.toLowerCase();
  const separator = lower.lastIndexOf('1');
  if (separator < 1) return { ok: false, reason: 'missing the "1" separator after the prefix' };
  if (separator + 7 > lower.length) return { ok: false, reason: 'too short for a checksum' };
  const prefix = lower.slice(0, separator);
  for (let index = 0; index < prefix.length; index += 1) {
    const code = prefix.charCodeAt(index);
    if (code < 33 || code > 126) return { ok: false, reason: 'invalid character in the prefix' };
  }
  const words: number[] = [];
  for (const character of lower.slice(separator + 1)) {
    const word = CHARSET.indexOf(character);
    if (word === -1) return { ok: false, reason: 'invalid bech32 character' };
    words.push(word);
  }
  if (polymod([...expandPrefix(prefix), ...words]) !== 1) return { ok: false, reason: 'checksum mismatch (typo?)' };
  const bytes = convertBits(words.slice(0, -6), 5, 8, false);
  if (bytes === undefined) return { ok: false, reason: 'invalid padding' };
  return { ok: true, prefix, data: Uint8Array.from(bytes) };
}
