import { generateKeyPairSync } from 'node:crypto';
import { bech32Decode, bech32Encode } from './bech32.js';
import { X25519_KEY_BYTES, x25519PublicFromSecret, x25519RawSecret } from './age-primitives.js';
import { BackupError } from '../errors.js';

const RECIPIENT_PREFIX = 'age';
const IDENTITY_PREFIX = 'age-secret-key-';

/** A parsed X25519 age recipient (public key). */
export interface AgeRecipient {
  /** Always `'X25519'`. */
  readonly type: 'X25519';
  /** The canonical `age1…` text. */
  readonly recipient: string;
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
}

/**
 * A parsed X25519 age identity (secret key). The secret bytes are not an enumerable property, so logging or
 * JSON-serialising the object shows only the public recipient.
 */
export interface AgeIdentity {
  /** Always `'X25519'`. */
  readonly type: 'X25519';
  /** The matching public `age1…` recipient. */
  readonly recipient: string;
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
}

const secrets = new WeakMap<AgeIdentity, Uint8Array>();

/** @internal The raw secret key of an identity created by this module. */
export function identitySecret(identity: AgeIdentity): Uint8Array {
  const secret = secrets.get(identity);
  if (secret === undefined) throw new BackupError('ARGUMENT_INVALID', 'age identity was not created by parseIdentity');
  return secret;
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return `a ${typeof value}`;
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

function makeIdentity(secret: Uint8Array): AgeIdentity {
  const publicKey = x25519PublicFromSecret(secret);
  const identity: AgeIdentity = Object.freeze({
    type: 'X25519' as const,
    recipient: bech32Encode(RECIPIENT_PREFIX, publicKey),
    publicKey: Uint8Array.from(publicKey),
  });
  secrets.set(identity, Uint8Array.from(secret));
  return identity;
}

/**
 * Parses an `age1…` X25519 recipient.
 *
 * @throws BackupError `ARGUMENT_INVALID` naming the bad value and why it is invalid.
 *
 * @example
 * ```ts
 * const recipient = parseRecipient('age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj');
 * ```
 */
export function parseRecipient(text: string): AgeRecipient {
  if (typeof text !== 'string')
    throw new BackupError('ARGUMENT_INVALID', `invalid age recipient ${describe(text)}: expected a string "age1..."`);
  const trimmed = text.trim();
  const fail = (reason: string): BackupError =>
    new BackupError('ARGUMENT_INVALID', `invalid age recipient ${describe(trimmed)}: ${reason}`);
  if (trimmed.toUpperCase().startsWith('AGE-SECRET-KEY-')) {
    // Never echo a secret key back: this is the one input where describing the value would leak it.
    throw new BackupError(
      'ARGUMENT_INVALID',
      'invalid age recipient: this is a secret key (AGE-SECRET-KEY-1...), pass its public "age1..." recipient instead',
    );
  }
  if (trimmed.startsWith('ssh-')) throw fail('SSH recipients are not supported; use an X25519 "age1..." recipient');
  if (trimmed !== trimmed.toLowerCase()) throw fail('age recipients are lower case');
  const decoded = bech32Decode(trimmed);
  if (!decoded.ok) throw fail(decoded.reason);
  if (decoded.prefix !== RECIPIENT_PREFIX) {
    throw fail(
      decoded.prefix.startsWith('age1')
        ? `recipient type "${decoded.prefix}" (plugin or post-quantum) is not supported; use X25519`
        : `expected the prefix "age1", got "${decoded.prefix}1"`,
    );
  }
  if (decoded.data.length !== X25519_KEY_BYTES)
    throw fail(`expected a ${X25519_KEY_BYTES}-byte key, got ${decoded.data.length} bytes`);
  return Object.freeze({ type: 'X25519' as const, recipient: trimmed, publicKey: decoded.data });
}

/**
 * Parses an `AGE-SECRET-KEY-1…` X25519 identity. Error messages never contain the key.
 *
 * @throws BackupError `ARGUMENT_INVALID` saying why the key is invalid (without echoing it).
 */
export function parseIdentity(text: string): AgeIdentity {
  const fail = (reason: string): BackupError =>
    new BackupError('ARGUMENT_INVALID', `invalid age identity (AGE-SECRET-KEY-1..., value not shown): ${reason}`);
  if (typeof text !== 'string') throw fail(`expected a string, got ${typeof text}`);
  const trimmed = text.trim();
  if (trimmed.startsWith('age1')) throw fail('this is a public recipient ("age1..."); decryption needs the secret key');
  if (!trimmed.toUpperCase().startsWith('AGE-SECRET-KEY-1')) throw fail('expected the prefix "AGE-SECRET-KEY-1"');
  if (trimmed !== trimmed.toUpperCase()) throw fail('age identities are upper case');
  const decoded = bech32Decode(trimmed);
  if (!decoded.ok) throw fail(decoded.reason);
  if (decoded.prefix !== IDENTITY_PREFIX) throw fail('unsupported identity type (plugin or post-quantum); use X25519');
  if (decoded.data.length !== X25519_KEY_BYTES)
    throw fail(`expected a ${X25519_KEY_BYTES}-byte key, got ${decoded.data.length} bytes`);
  return makeIdentity(decoded.data);
}

/**
 * Parses the contents of an identity file as written by `age-keygen`: one key per line, `#` comments and blank
 * lines ignored.
 *
 * @throws BackupError `ARGUMENT_INVALID` naming the line number of a bad key (never the key itself).
 */
export function parseIdentityFile(text: string): AgeIdentity[] {
  const identities: AgeIdentity[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      identities.push(parseIdentity(line));
    } catch (error) {
      throw new BackupError('ARGUMENT_INVALID', `identity file line ${index + 1}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  if (identities.length === 0)
    throw new BackupError('ARGUMENT_INVALID', 'identity file contains no AGE-SECRET-KEY-1... line');
  return identities;
}

/**
 * Generates a new X25519 identity and its recipient.
 *
 * @example
 * ```ts
 * const { identity, recipient } = generateAgeIdentity();
 * // keep `identity` offline (restore hosts); give `recipient` to the backup hosts
 * ```
 */
export function generateAgeIdentity(): { identity: string; recipient: string } {
  const { privateKey } = generateKeyPairSync('x25519');
  const secret = x25519RawSecret(privateKey);
  return {
    identity: bech32Encode(IDENTITY_PREFIX, secret).toUpperCase(),
    recipient: bech32Encode(RECIPIENT_PREFIX, x25519PublicFromSecret(secret)),
  };
}

/**
 * The public `age1…` recipient of an `AGE-SECRET-KEY-1…` identity (what `age-keygen -y` prints).
 */
export function identityToRecipient(identity: string): string {
  return parseIdentity(identity).recipient;
}
