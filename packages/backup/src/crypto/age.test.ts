import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { OpsError } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createAgeDecryptStream } from './age-decrypt-stream.js';
import { createAgeEncryptStream } from './age-encrypt-stream.js';
import { encodeHeader, findHeaderEnd } from './age-header.js';
import {
  generateAgeIdentity,
  identityToRecipient,
  parseIdentity,
  parseIdentityFile,
  parseRecipient,
} from './age-keys.js';
import { encodeBase64 } from './age-primitives.js';
import { bech32Encode } from './bech32.js';
import { runThrough } from './age-test-helpers.js';

const CHUNK = 64 * 1024;
const alice = generateAgeIdentity();
const bob = generateAgeIdentity();
const carol = generateAgeIdentity();

async function encrypt(plaintext: Buffer, options: Parameters<typeof createAgeEncryptStream>[0]): Promise<Buffer> {
  const { output, error } = await runThrough(createAgeEncryptStream(options), plaintext);
  if (error !== undefined) throw error;
  return output;
}

async function decrypt(ciphertext: Buffer, options: Parameters<typeof createAgeDecryptStream>[0]): Promise<Buffer> {
  const { output, error } = await runThrough(createAgeDecryptStream(options), ciphertext);
  if (error !== undefined) throw error;
  return output;
}

async function decryptError(
  ciphertext: Buffer,
  options: Parameters<typeof createAgeDecryptStream>[0],
): Promise<{ error: OpsError; output: Buffer }> {
  const { output, error } = await runThrough(createAgeDecryptStream(options), ciphertext);
  expect(OpsError.isInstance(error), `expected an OpsError, got ${String(error)}`).toBe(true);
  return { error: error as OpsError, output };
}

function payloadStart(ciphertext: Buffer): number {
  return findHeaderEnd(ciphertext) + 16;
}

describe('age keys', () => {
  it('derives the recipient of the specification test identity', () => {
    expect(identityToRecipient('AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX')).toBe(
      'age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj',
    );
  });

  it('generates identities whose recipient parses and matches', () => {
    expect(alice.identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    expect(alice.recipient).toMatch(/^age1[0-9a-z]{58}$/);
    expect(identityToRecipient(alice.identity)).toBe(alice.recipient);
    expect(parseRecipient(alice.recipient).publicKey).toEqual(parseIdentity(alice.identity).publicKey);
    expect(alice.identity).not.toBe(bob.identity);
  });

  it('rejects a recipient with a typo, naming the value and the reason', () => {
    const typo = `${alice.recipient.slice(0, 20)}${alice.recipient[20] === 'q' ? 'p' : 'q'}${alice.recipient.slice(21)}`;
    expect(() => parseRecipient(typo)).toThrow(/invalid age recipient "age1.*": checksum mismatch/);
    expect(() => parseRecipient('age1')).toThrow(/invalid age recipient "age1"/);
    expect(() => parseRecipient('ssh-ed25519 AAAA')).toThrow(/SSH recipients are not supported/);
  });

  it('never echoes a secret key in errors', () => {
    const broken = `${alice.identity.slice(0, -1)}${alice.identity.endsWith('Q') ? 'P' : 'Q'}`;
    let message = '';
    try {
      parseIdentity(broken);
    } catch (error) {
      message = (error as Error).message;
      expect(OpsError.hasCode(error, 'ARGUMENT_INVALID')).toBe(true);
    }
    expect(message).toMatch(/checksum mismatch/);
    expect(message).not.toContain(broken.slice(16, 40));
    let recipientMessage = '';
    try {
      parseRecipient(alice.identity);
    } catch (error) {
      recipientMessage = (error as Error).message;
    }
    expect(recipientMessage).toMatch(/this is a secret key/);
    expect(recipientMessage).not.toContain(alice.identity.slice(16, 40));
    expect(JSON.stringify(parseIdentity(alice.identity))).not.toContain(alice.identity.slice(16));
  });

  it('parses age-keygen style identity files and reports the bad line number', () => {
    const file = `# created: 2026-11-22T08:00:00Z\n# public key: ${alice.recipient}\n${alice.identity}\n\n${bob.identity}\n`;
    expect(parseIdentityFile(file).map((identity) => identity.recipient)).toEqual([alice.recipient, bob.recipient]);
    expect(() => parseIdentityFile(`# comment\nAGE-SECRET-KEY-1NOPE\n`)).toThrow(/line 2: invalid age identity/);
    expect(() => parseIdentityFile('# nothing\n')).toThrow(/no AGE-SECRET-KEY-1/);
  });
});

describe('age round trips', () => {
  const sizes: Array<[string, number]> = [
    ['empty', 0],
    ['1 byte', 1],
    ['exactly 64 KiB', CHUNK],
    ['64 KiB + 1', CHUNK + 1],
    ['exactly two chunks', 2 * CHUNK],
    ['3 MiB + 7 random', 3 * 1024 * 1024 + 7],
  ];
  for (const [name, size] of sizes) {
    it(`X25519: ${name}`, async () => {
      const plaintext = randomBytes(size);
      const ciphertext = await encrypt(plaintext, { recipients: [alice.recipient] });
      const chunks = Math.max(1, Math.ceil(size / CHUNK));
      expect(ciphertext.length).toBe(payloadStart(ciphertext) + size + 16 * chunks);
      expect((await decrypt(ciphertext, { identities: [alice.identity] })).equals(plaintext)).toBe(true);
    });
  }

  it('writes a header in the documented shape', async () => {
    const ciphertext = await encrypt(Buffer.from('x'), { recipients: [alice.recipient, bob.recipient] });
    const header = ciphertext.subarray(0, findHeaderEnd(ciphertext)).toString('latin1');
    expect(header).toMatch(
      /^age-encryption\.org\/v1\n-> X25519 [A-Za-z0-9+/]{43}\n[A-Za-z0-9+/]{43}\n-> X25519 [A-Za-z0-9+/]{43}\n[A-Za-z0-9+/]{43}\n--- [A-Za-z0-9+/]{43}\n$/,
    );
  });

  it('decrypts with any one of several recipients and refuses a stranger', async () => {
    const plaintext = randomBytes(100_000);
    const ciphertext = await encrypt(plaintext, { recipients: [alice.recipient, bob.recipient] });
    expect((await decrypt(ciphertext, { identities: [alice.identity] })).equals(plaintext)).toBe(true);
    expect((await decrypt(ciphertext, { identities: [carol.identity, bob.identity] })).equals(plaintext)).toBe(true);
    const { error, output } = await decryptError(ciphertext, { identities: [carol.identity] });
    expect(error.code).toBe('BACKUP_DECRYPT_FAILED');
    expect(error.message).toMatch(/no identity matches/);
    expect(error.message).not.toContain(carol.identity);
    expect(output.length).toBe(0);
  });

  it('accepts identity file contents (age-keygen format) as an identities entry', async () => {
    const plaintext = randomBytes(1000);
    const ciphertext = await encrypt(plaintext, { recipients: [bob.recipient] });
    const file = `# created: 2026-11-22T08:00:00Z\n# public key: ${alice.recipient}\n${alice.identity}\n${bob.identity}\n`;
    expect((await decrypt(ciphertext, { identities: [file] })).equals(plaintext)).toBe(true);
  });

  it('encrypts with a passphrase and refuses a wrong one', async () => {
    const plaintext = randomBytes(CHUNK + 10);
    const ciphertext = await encrypt(plaintext, { passphrase: 'correct horse', scryptWorkFactor: 10 });
    expect(ciphertext.subarray(0, 80).toString('latin1')).toMatch(
      /^age-encryption\.org\/v1\n-> scrypt [A-Za-z0-9+/]{22} 10\n/,
    );
    expect((await decrypt(ciphertext, { passphrase: 'correct horse' })).equals(plaintext)).toBe(true);
    const wrong = await decryptError(ciphertext, { passphrase: 'battery staple' });
    expect(wrong.error.code).toBe('BACKUP_DECRYPT_FAILED');
    expect(wrong.error.message).toMatch(/wrong passphrase/);
    const noPassphrase = await decryptError(ciphertext, { identities: [alice.identity] });
    expect(noPassphrase.error.code).toBe('BACKUP_DECRYPT_FAILED');
    expect(noPassphrase.error.message).toMatch(/no passphrase was given/);
  });

  it('refuses a scrypt work factor above the configured maximum before running scrypt', async () => {
    const ciphertext = await encrypt(Buffer.from('data'), { passphrase: 'pw', scryptWorkFactor: 12 });
    const { error } = await decryptError(ciphertext, { passphrase: 'pw', maxScryptWorkFactor: 11 });
    expect(error.code).toBe('BACKUP_DECRYPT_FAILED');
    expect(error.message).toMatch(/2\^12, above the allowed maximum 2\^11/);
  });

  it('rejects invalid options synchronously', () => {
    expect(() => createAgeEncryptStream({ recipients: [alice.recipient], passphrase: 'x' })).toThrow(
      /either recipients or a passphrase, not both/,
    );
    expect(() => createAgeEncryptStream({})).toThrow(/at least one recipient or a passphrase/);
    expect(() => createAgeEncryptStream({ passphrase: 'x', scryptWorkFactor: 40 })).toThrow(/scryptWorkFactor/);
    expect(() => createAgeEncryptStream({ recipients: ['age1nope'] })).toThrow(/invalid age recipient "age1nope"/);
    expect(() => createAgeDecryptStream({})).toThrow(/at least one identity or a passphrase/);
  });
});

describe('age tampering and truncation', () => {
  const plaintext = randomBytes(3 * CHUNK + 500);
  let ciphertext: Buffer;
  const ready = encrypt(plaintext, { recipients: [alice.recipient, bob.recipient] }).then((value) => {
    ciphertext = value;
  });

  function flipped(position: number): Buffer {
    const copy = Buffer.from(ciphertext);
    copy[position] = (copy[position] as number) ^ 0x01;
    return copy;
  }

  it('a flipped byte in the MAC is BACKUP_CORRUPT', async () => {
    await ready;
    const macPosition = findHeaderEnd(ciphertext) - 10;
    // The MAC is base64 text: swap in another base64 letter (flipping a bit could leave the alphabet, which is a
    // different failure than the one under test).
    const tampered = Buffer.from(ciphertext);
    tampered[macPosition] = tampered[macPosition] === 0x41 ? 0x42 : 0x41;
    const { error, output } = await decryptError(tampered, { identities: [alice.identity] });
    expect(error.code).toBe('BACKUP_CORRUPT');
    expect(error.message).toMatch(/header MAC does not match/);
    expect(output.length).toBe(0);
  });

  it("a flipped byte in another recipient's stanza is BACKUP_CORRUPT (caught by the MAC)", async () => {
    await ready;
    const header = ciphertext.subarray(0, findHeaderEnd(ciphertext)).toString('latin1');
    const lines = header.split('\n');
    // lines: version, stanza 1 args, stanza 1 body, stanza 2 args, stanza 2 body, MAC; find bob's stanza by trying.
    const secondBodyOffset = header.indexOf(lines[4] as string);
    const tampered = Buffer.from(ciphertext);
    tampered[secondBodyOffset] = tampered[secondBodyOffset] === 0x41 ? 0x42 : 0x41;
    const withAlice = await runThrough(createAgeDecryptStream({ identities: [alice.identity] }), tampered);
    const withBob = await runThrough(createAgeDecryptStream({ identities: [bob.identity] }), tampered);
    const codes = [withAlice.error, withBob.error].map((error) => (error as OpsError).code).sort();
    // The holder of the untouched stanza sees a MAC failure; the holder of the damaged one cannot unwrap at all.
    expect(codes).toEqual(['BACKUP_CORRUPT', 'BACKUP_DECRYPT_FAILED']);
  });

  it('a flipped byte in the payload is BACKUP_CORRUPT and nothing past the damaged chunk is emitted', async () => {
    await ready;
    const start = payloadStart(ciphertext);
    const sealedChunk = CHUNK + 16;
    const { error, output } = await decryptError(flipped(start + sealedChunk + 100), { identities: [alice.identity] });
    expect(error.code).toBe('BACKUP_CORRUPT');
    expect(error.message).toMatch(/chunk 1 failed authentication/);
    expect(output.length).toBeLessThanOrEqual(CHUNK);
    expect(output.equals(plaintext.subarray(0, output.length))).toBe(true);
  });

  it('a flipped byte in the payload nonce is BACKUP_CORRUPT', async () => {
    await ready;
    const { error } = await decryptError(flipped(findHeaderEnd(ciphertext) + 3), { identities: [alice.identity] });
    expect(error.code).toBe('BACKUP_CORRUPT');
  });

  it('truncation at a chunk boundary fails (last-chunk flag)', async () => {
    await ready;
    const start = payloadStart(ciphertext);
    for (const chunks of [1, 2, 3]) {
      const { error } = await decryptError(ciphertext.subarray(0, start + chunks * (CHUNK + 16)), {
        identities: [alice.identity],
      });
      expect(error.code).toBe('BACKUP_CORRUPT');
      expect(error.message).toMatch(/truncated/);
    }
  });

  it('truncation inside a chunk, after the nonce, inside the header or to nothing fails', async () => {
    await ready;
    const start = payloadStart(ciphertext);
    for (const length of [ciphertext.length - 1, start + 5, start, start - 3, 30, 0]) {
      const { error } = await decryptError(ciphertext.subarray(0, length), { identities: [alice.identity] });
      expect(error.code, `length ${length}`).toBe('BACKUP_CORRUPT');
    }
  });

  it('appended garbage fails', async () => {
    await ready;
    const { error } = await decryptError(Buffer.concat([ciphertext, Buffer.from('x')]), {
      identities: [alice.identity],
    });
    expect(error.code).toBe('BACKUP_CORRUPT');
  });

  it('rejects a scrypt stanza mixed with another stanza', async () => {
    const fileKey = randomBytes(16);
    const header = encodeHeader(fileKey, [
      { args: ['scrypt', encodeBase64(randomBytes(16)), '10'], body: randomBytes(32) },
      { args: ['X25519', encodeBase64(randomBytes(32))], body: randomBytes(32) },
    ]);
    const { error } = await decryptError(Buffer.concat([header, randomBytes(16), randomBytes(40)]), {
      passphrase: 'pw',
    });
    expect(error.code).toBe('BACKUP_CORRUPT');
    expect(error.message).toMatch(/scrypt stanza must be the only stanza/);
  });

  it('rejects a low-order recipient when encrypting and a low-order share when decrypting', async () => {
    const zeroRecipient = bech32Encode('age', new Uint8Array(32));
    expect(() => createAgeEncryptStream({ recipients: [zeroRecipient] })).toThrow(/low-order point/);
    const fileKey = randomBytes(16);
    const header = encodeHeader(fileKey, [
      { args: ['X25519', encodeBase64(new Uint8Array(32))], body: randomBytes(32) },
    ]);
    const { error } = await decryptError(Buffer.concat([header, randomBytes(16), randomBytes(40)]), {
      identities: [alice.identity],
    });
    expect(error.code).toBe('BACKUP_CORRUPT');
    expect(error.message).toMatch(/low-order point/);
  });

  it('fails fast on a header that never ends, even when written in tiny pieces', async () => {
    const endless = Buffer.concat([
      Buffer.from('age-encryption.org/v1\n-> X25519 '),
      Buffer.alloc(1024 * 1024 + 10, 0x41),
    ]);
    const { error } = await decryptError(endless, { identities: [alice.identity] });
    expect(error.message).toMatch(/header is larger than 1048576 bytes/);
    const tiny = await runThrough(
      createAgeDecryptStream({ identities: [alice.identity] }),
      endless.subarray(0, 200_000),
      7,
    );
    expect((tiny.error as OpsError).message).toMatch(/truncated inside the header/);
  });

  it('rejects input that is not an age file and armored input with a clear message', async () => {
    expect(
      (await decryptError(Buffer.from('PGDMP binary dump data that is long enough'), { identities: [alice.identity] }))
        .error.message,
    ).toMatch(/not an age v1 file/);
    expect(
      (await decryptError(Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n'), { identities: [alice.identity] }))
        .error.message,
    ).toMatch(/ASCII-armored/);
  });
});

describe('age streaming', () => {
  it.each([
    { workers: 0, label: 'on the main thread' },
    { workers: 2, label: 'in worker threads' },
  ])('seals and opens multi-batch payloads $label, byte-identical to the other path', async ({ workers }) => {
    const plaintext = randomBytes(3 * 1024 * 1024 + 5); // 49 chunks: several 16-chunk batches and a short final one
    const sealed = await runThrough(
      createAgeEncryptStream({ recipients: [alice.recipient] }, { workers }),
      plaintext,
      1024 * 1024,
    );
    expect(sealed.error).toBeUndefined();
    // Both paths open what either wrote.
    for (const openWorkers of [0, 2]) {
      const opened = await runThrough(
        createAgeDecryptStream({ identities: [alice.identity] }, { workers: openWorkers }),
        sealed.output,
        1024 * 1024,
      );
      expect(opened.error).toBeUndefined();
      expect(opened.output.equals(plaintext)).toBe(true);
    }
    // A flipped byte in chunk 20 (the second batch): the stream fails and emits nothing from that batch on.
    const tampered = Buffer.from(sealed.output);
    tampered[payloadStart(tampered) + 20 * (CHUNK + 16) + 100]! ^= 1;
    const { output, error } = await runThrough(
      createAgeDecryptStream({ identities: [alice.identity] }, { workers }),
      tampered,
      1024 * 1024,
    );
    expect(error).toMatchObject({ code: 'BACKUP_CORRUPT', message: expect.stringContaining('chunk 20 failed') });
    expect(output.length).toBeLessThanOrEqual(20 * CHUNK);
    expect(plaintext.subarray(0, output.length).equals(output)).toBe(true);
  });

  it('applies backpressure: an unread encrypt stream stops pulling from its source', async () => {
    let produced = 0;
    const total = 256 * 1024 * 1024;
    const source = new Readable({
      read() {
        if (produced >= total) return this.push(null);
        produced += CHUNK;
        this.push(Buffer.alloc(CHUNK));
      },
    });
    const encryptStream = createAgeEncryptStream({ recipients: [alice.recipient] });
    source.pipe(encryptStream);
    for (let turn = 0; turn < 200; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    // Nothing reads the encrypted side, so only the stream buffers (1 MiB on each side, plus one 1 MiB batch) may
    // have been pulled — not the 256 MiB on offer.
    expect(produced).toBeLessThan(4 * 1024 * 1024);
    source.unpipe(encryptStream);
    source.destroy();
    encryptStream.destroy();
  });

  it('hands each piece written back only once it is read through: a reader that refills them still gets its bytes', async () => {
    const plaintext = randomBytes(3 * 1024 * 1024 + 5);
    const short = plaintext.subarray(0, CHUNK + 3);
    const ciphertext = await encrypt(plaintext, { recipients: [alice.recipient] });
    // Pieces that split the header, the payload nonce and the chunks anywhere; one byte at a time for a short one.
    for (const [plain, writeSize] of [
      [plaintext, 1024 * 1024],
      [plaintext, 70_001],
      [plaintext, 997],
      [short, 1],
    ] as const) {
      const written =
        plain === short ? await encrypt(short, { recipients: [alice.recipient] }) : Buffer.from(ciphertext);
      const pieces = Math.ceil(written.length / writeSize);
      let released = 0;
      const release = (piece: Buffer): void => {
        released += 1;
        // What the reader does: read the next bytes into it.
        piece.fill(0xa5);
      };
      const { output, error } = await runThrough(
        createAgeDecryptStream({ identities: [alice.identity] }, { workers: 0, release }),
        written,
        writeSize,
      );
      expect(error, `pieces of ${writeSize}`).toBeUndefined();
      expect(output.equals(plain), `pieces of ${writeSize}`).toBe(true);
      // All came back but those still held at the end: at most two sealed chunks' worth, the final one waiting.
      expect(released, `pieces of ${writeSize}`).toBeGreaterThanOrEqual(
        pieces - Math.ceil((2 * (CHUNK + 16)) / writeSize) - 2,
      );
    }
    // Batches opened by a worker are given the bytes: nothing comes back.
    let released = 0;
    const pooled = await runThrough(
      createAgeDecryptStream({ identities: [alice.identity] }, { workers: 1, release: () => (released += 1) }),
      ciphertext,
      1024 * 1024,
    );
    expect(pooled.output.equals(plaintext)).toBe(true);
    expect(released).toBe(0);
  });

  it('decrypts when the input arrives one byte at a time', async () => {
    const plaintext = randomBytes(CHUNK + 3);
    const ciphertext = await encrypt(plaintext, { recipients: [alice.recipient] });
    const { output, error } = await runThrough(
      createAgeDecryptStream({ identities: [alice.identity] }),
      ciphertext.subarray(0, 400),
      1,
    );
    expect(error).toBeInstanceOf(Error);
    expect(output.length).toBe(0);
    const whole = await runThrough(createAgeDecryptStream({ identities: [alice.identity] }), ciphertext, 997);
    expect(whole.error).toBeUndefined();
    expect(whole.output.equals(plaintext)).toBe(true);
  });
});
