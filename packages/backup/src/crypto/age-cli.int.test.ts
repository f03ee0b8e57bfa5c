import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgeDecryptStream } from './age-decrypt-stream.js';
import { createAgeEncryptStream } from './age-encrypt-stream.js';
import { generateAgeIdentity, identityToRecipient, parseIdentityFile } from './age-keys.js';
import { runThrough } from './age-test-helpers.js';

const run = promisify(execFile);
const AGE = '/usr/bin/age';
const AGE_KEYGEN = '/usr/bin/age-keygen';
const SCRIPT = '/usr/bin/script';

function requireTool(path: string, hint: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${hint}`);
}

let directory: string;

beforeAll(async () => {
  requireTool(AGE, 'install the reference CLI with `apt-get install -y age`');
  requireTool(AGE_KEYGEN, 'install the reference CLI with `apt-get install -y age`');
  requireTool(SCRIPT, 'install util-linux (`apt-get install -y bsdutils`) to drive the passphrase prompt');
  directory = await mkdtemp(join(tmpdir(), 'ops-backup-age-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function ourEncrypt(plaintext: Buffer, options: Parameters<typeof createAgeEncryptStream>[0]): Promise<Buffer> {
  const { output, error } = await runThrough(createAgeEncryptStream(options), plaintext);
  if (error !== undefined) throw error;
  return output;
}

async function ourDecrypt(ciphertext: Buffer, options: Parameters<typeof createAgeDecryptStream>[0]): Promise<Buffer> {
  const { output, error } = await runThrough(createAgeDecryptStream(options), ciphertext);
  if (error !== undefined) throw error;
  return output;
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** age reads passphrases from the terminal only; `script` gives it a pseudo-terminal fed from our stdin. */
async function withTerminal(command: string, typed: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile(SCRIPT, ['-qec', command, '/dev/null'], { timeout: 60_000 }, (error) =>
      error ? reject(error) : resolve(),
    );
    child.stdin?.end(typed);
  });
}

describe('interoperability with the age CLI (age 1.1.1)', () => {
  it('parses keys made by age-keygen, and age-keygen accepts ours', async () => {
    const keyFile = join(directory, 'cli-key.txt');
    await run(AGE_KEYGEN, ['-o', keyFile]);
    const text = await readFile(keyFile, 'utf8');
    const [identity] = parseIdentityFile(text);
    const { stdout: cliRecipient } = await run(AGE_KEYGEN, ['-y', keyFile]);
    expect(identity?.recipient).toBe(cliRecipient.trim());
    expect(text).toContain(`# public key: ${identity?.recipient ?? 'missing'}`);

    const ours = generateAgeIdentity();
    const ourKeyFile = join(directory, 'our-key.txt');
    await writeFile(ourKeyFile, `${ours.identity}\n`, { mode: 0o600 });
    const { stdout } = await run(AGE_KEYGEN, ['-y', ourKeyFile]);
    expect(stdout.trim()).toBe(ours.recipient);
    expect(identityToRecipient(ours.identity)).toBe(ours.recipient);
  });

  for (const size of [0, 1, 64 * 1024, 200_003]) {
    it(`age -d decrypts what we encrypted to recipients (${size} bytes)`, async () => {
      const keyFile = join(directory, `cli-key-${size}.txt`);
      await run(AGE_KEYGEN, ['-o', keyFile]);
      const { stdout: cliRecipient } = await run(AGE_KEYGEN, ['-y', keyFile]);
      const other = generateAgeIdentity();
      const plaintext = randomBytes(size);
      const encrypted = join(directory, `ours-${size}.age`);
      await writeFile(encrypted, await ourEncrypt(plaintext, { recipients: [other.recipient, cliRecipient.trim()] }));
      // Read stdout: with -o, age 1.1.1 creates the output file lazily, so an empty plaintext leaves no file.
      const { stdout } = await run(AGE, ['-d', '-i', keyFile, encrypted], {
        encoding: 'buffer',
        maxBuffer: 16 * 1024 * 1024,
      });
      expect(stdout.equals(plaintext)).toBe(true);
    });
  }

  it('we decrypt what `age -r` and `age -e -i` wrote', async () => {
    const ours = generateAgeIdentity();
    const plaintext = randomBytes(3 * 64 * 1024 + 11);
    const input = join(directory, 'cli-plain.bin');
    await writeFile(input, plaintext);
    const byRecipient = join(directory, 'cli-r.age');
    await run(AGE, ['-r', ours.recipient, '-o', byRecipient, input]);
    expect((await ourDecrypt(await readFile(byRecipient), { identities: [ours.identity] })).equals(plaintext)).toBe(
      true,
    );

    const keyFile = join(directory, 'our-identity.txt');
    await writeFile(keyFile, `# ours\n${ours.identity}\n`, { mode: 0o600 });
    const byIdentity = join(directory, 'cli-i.age');
    await run(AGE, ['-e', '-i', keyFile, '-o', byIdentity, input]);
    expect((await ourDecrypt(await readFile(byIdentity), { identities: [ours.identity] })).equals(plaintext)).toBe(
      true,
    );
  });

  it('age -d rejects our file when a payload byte is flipped (same integrity rules)', async () => {
    const keyFile = join(directory, 'cli-key-flip.txt');
    await run(AGE_KEYGEN, ['-o', keyFile]);
    const { stdout: cliRecipient } = await run(AGE_KEYGEN, ['-y', keyFile]);
    const ciphertext = await ourEncrypt(randomBytes(1000), { recipients: [cliRecipient.trim()] });
    ciphertext[ciphertext.length - 20] = (ciphertext[ciphertext.length - 20] as number) ^ 0x80;
    const encrypted = join(directory, 'flipped.age');
    await writeFile(encrypted, ciphertext);
    await expect(run(AGE, ['-d', '-i', keyFile, '-o', join(directory, 'flipped.out'), encrypted])).rejects.toThrow();
  });

  it('passphrase: age -d decrypts ours, and we decrypt age -p output (through a pseudo-terminal)', async () => {
    const passphrase = 'interop test passphrase';
    const plaintext = randomBytes(70_000);
    const ours = join(directory, 'ours-pass.age');
    await writeFile(ours, await ourEncrypt(plaintext, { passphrase, scryptWorkFactor: 15 }));
    const oursOut = join(directory, 'ours-pass.out');
    await withTerminal(`${AGE} -d -o ${shellQuote(oursOut)} ${shellQuote(ours)}`, `${passphrase}\n`);
    expect((await readFile(oursOut)).equals(plaintext)).toBe(true);

    const input = join(directory, 'cli-pass-plain.bin');
    await writeFile(input, plaintext);
    const theirs = join(directory, 'cli-pass.age');
    await withTerminal(`${AGE} -p -o ${shellQuote(theirs)} ${shellQuote(input)}`, `${passphrase}\n${passphrase}\n`);
    const ciphertext = await readFile(theirs);
    expect(ciphertext.subarray(0, 60).toString('latin1')).toMatch(/-> scrypt \S+ 18\n/);
    expect((await ourDecrypt(ciphertext, { passphrase })).equals(plaintext)).toBe(true);
  });
});
