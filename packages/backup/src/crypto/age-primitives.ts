import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

/** Length of an X25519 key (secret or public) in bytes. */
export const X25519_KEY_BYTES = 32;
const ZERO_NONCE = Buffer.alloc(12);
const TAG_BYTES = 16;

// DER prefixes that wrap a raw 32-byte X25519 key (RFC 8410), so node:crypto can import raw keys.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** HKDF-SHA-256 with a 32-byte output, as age uses everywhere. */
export function hkdfSha256(inputKey: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', inputKey, salt, Buffer.from(info, 'utf8'), 32));
}

/** HMAC-SHA-256. */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Buffer {
  return createHmac('sha256', key).update(message).digest();
}

/** Constant-time equality of two byte strings. */
export function bytesEqual(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && timingSafeEqual(left, right);
}

/** ChaCha20-Poly1305 seal; returns ciphertext || 16-byte tag. */
export function chachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return Buffer.concat([head, tail, cipher.getAuthTag()]);
}

/** ChaCha20-Poly1305 open; returns `undefined` when authentication fails (never partial plaintext). */
export function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG_BYTES) return undefined;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const head = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return undefined;
  }
}

/** Wraps a 16-byte file key under a 32-byte wrap key with the fixed all-zero nonce (age stanza bodies). */
export function wrapFileKey(wrapKey: Uint8Array, fileKey: Uint8Array): Buffer {
  return chachaSeal(wrapKey, ZERO_NONCE, fileKey);
}

/** Unwraps a stanza body; `undefined` when the key does not fit. */
export function unwrapFileKey(wrapKey: Uint8Array, body: Uint8Array): Buffer | undefined {
  return chachaOpen(wrapKey, ZERO_NONCE, body);
}

/** Imports a raw X25519 secret key. */
export function x25519PrivateKey(secret: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
}

/** Imports a raw X25519 public key. */
export function x25519PublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/** The raw public key of a raw X25519 secret key (`X25519(secret, basepoint)`). */
export function x25519PublicFromSecret(secret: Uint8Array): Buffer {
  const der = createPublicKey(x25519PrivateKey(secret)).export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - X25519_KEY_BYTES));
}

/** The raw secret key bytes of an X25519 private key object. */
export function x25519RawSecret(privateKey: KeyObject): Buffer {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(der.subarray(der.length - X25519_KEY_BYTES));
}

/** X25519 shared secret of a raw secret and a raw public key. */
export function x25519SharedSecret(secret: Uint8Array, publicKey: Uint8Array): Buffer {
  return diffieHellman({ privateKey: x25519PrivateKey(secret), publicKey: x25519PublicKey(publicKey) });
}

const BASE64_BODY = /^[A-Za-z0-9+/]*$/;

/** Unpadded standard base64, as age writes it. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/**
 * Strict unpadded base64 decoding: rejects padding, foreign characters and non-canonical trailing bits, as the age
 * specification requires. Returns `undefined` for invalid input.
 */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64_BODY.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (encodeBase64(bytes) !== text) return undefined;
  return bytes;
}
