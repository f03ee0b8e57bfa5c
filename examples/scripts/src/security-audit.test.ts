// The configuration/security audit: weak and strong secrets, debug flags, a JWT development key, and the expiry of
// real TLS certificates (self-signed, generated here with openssl, served on loopback) — never printing a secret.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScript } from './lib/script.js';
import { bitsPerCharacter, secretWeakness, securityAudit } from './security-audit.js';
import { captureIo, runCommand, runTsx } from './testing/run.js';

let work: string;
const servers: Server[] = [];

async function certificate(name: string, days: number): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(work, `${name}.crt`);
  const keyFile = join(work, `${name}.key`);
  const result = await runCommand('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    String(days),
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  expect(result.code, result.stderr).toBe(0);
  return { certFile, keyFile };
}

async function serveTls(files: { certFile: string; keyFile: string }): Promise<number> {
  const server = createServer({ cert: await readFile(files.certFile), key: await readFile(files.keyFile) }, (socket) =>
    socket.end(),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

let soonPort: number;
let laterPort: number;
let soonCa: string;
let laterCa: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ops-security-audit-'));
  const soon = await certificate('soon', 3);
  const later = await certificate('later', 400);
  soonCa = soon.certFile;
  laterCa = later.certFile;
  soonPort = await serveTls(soon);
  laterPort = await serveTls(later);
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  if (work) await rm(work, { recursive: true, force: true });
});

const STRONG_JWT = 'pX9v2QeL7sKdM4tRz8wYbN1cHfJ6uA3gTq5eWmV0xZ'; // 42 random-looking characters
const WEAK_SESSION = 'changeme-please';
const DB_PASSWORD = 'hunter2';

describe('security-audit', () => {
  it('fails on weak secrets, a JWT development key, DEBUG on in production and a certificate about to expire — and never prints a secret', async () => {
    const envFile = join(work, 'weak.env');
    await writeFile(
      envFile,
      [
        '# production settings',
        'NODE_ENV=production',
        'JWT_SECRET="your-256-bit-secret"',
        `SESSION_SECRET='${WEAK_SESSION}'`,
        `DATABASE_URL=postgresql://notes:${DB_PASSWORD}@db.internal:5432/notes`,
        'DEBUG=express:*',
        'API_TOKEN=Zq3',
      ].join('\n'),
      { mode: 0o644 },
    );
    await chmod(envFile, 0o644); // whatever the umask
    const result = await runTsx('src/security-audit.ts', [
      '--env-file',
      envFile,
      '--require',
      'JWT_SECRET',
      '--require',
      'SESSION_SECRET',
      '--require',
      'DATABASE_URL',
      '--require',
      'REDIS_PASSWORD',
      '--tls',
      `127.0.0.1:${soonPort}`,
      '--tls-ca',
      soonCa,
    ]);
    expect(result.code).toBe(1);
    const out = result.stdout;
    expect(out).toMatch(/jwt secret JWT_SECRET\s+FAIL\s+a known development or example value/);
    expect(out).toMatch(/secret SESSION_SECRET\s+FAIL\s+contains a known development word/);
    expect(out).toMatch(/secret DATABASE_URL\s+FAIL\s+password in the URL: .*too short/);
    expect(out).toMatch(/secret REDIS_PASSWORD\s+FAIL\s+not set/);
    expect(out).toMatch(/flag DEBUG\s+FAIL\s+on in production/);
    expect(out).toMatch(/env file permissions\s+FAIL\s+mode 644: readable by every user; chmod 600/);
    expect(out).toMatch(/flag DEVELOPMENT\s+PASS\s+off/);
    expect(out).toMatch(
      new RegExp(`tls 127\\.0\\.0\\.1:${soonPort}\\s+FAIL\\s+certificate expires in [23](\\.\\d)? days`),
    );
    for (const secret of ['your-256-bit-secret', WEAK_SESSION, DB_PASSWORD, 'express:*']) {
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).not.toContain(secret);
    }
  });

  it('passes (exit 0) a production configuration with strong secrets, flags off and a certificate valid for a year', async () => {
    const io = captureIo({
      NODE_ENV: 'production',
      JWT_SECRET: STRONG_JWT,
      DATABASE_URL: 'postgresql://notes:Vb7-kQ2xL9mZ4rT8@db.internal:5432/notes',
      DEBUG: 'false',
    });
    const code = await runScript(
      securityAudit,
      [
        '--require',
        'JWT_SECRET',
        '--require',
        'DATABASE_URL',
        '--tls',
        `127.0.0.1:${laterPort}`,
        '--tls-ca',
        laterCa,
        '--json',
      ],
      io.io,
    );
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(io.stdout()) as {
      ok: boolean;
      rows: Array<{ check: string; status: string; detail: string }>;
    };
    expect(report.ok).toBe(true);
    expect(report.rows.find((row) => row.check === 'jwt secret JWT_SECRET')).toMatchObject({ status: 'pass' });
    expect(report.rows.find((row) => row.check === `tls 127.0.0.1:${laterPort}`)?.detail).toMatch(/expires in 39\d/);
    expect(io.stdout()).not.toContain(STRONG_JWT);
    expect(io.stdout()).not.toContain('Vb7-kQ2xL9mZ4rT8');
  });

  it('a certificate from an unknown CA fails without --tls-ca, and a debug flag only warns outside production', async () => {
    const io = captureIo({ NODE_ENV: 'staging', JWT_SECRET: STRONG_JWT, DEBUG: '1' });
    const code = await runScript(securityAudit, ['--tls', `127.0.0.1:${laterPort}`, '--json'], io.io);
    expect(code).toBe(1);
    const rows = (JSON.parse(io.stdout()) as { rows: Array<{ check: string; status: string; detail: string }> }).rows;
    expect(rows.find((row) => row.check === 'flag DEBUG')).toMatchObject({ status: 'warn', detail: 'on in staging' });
    expect(rows.find((row) => row.check === `tls 127.0.0.1:${laterPort}`)).toMatchObject({ status: 'fail' });
    expect(rows.find((row) => row.check === `tls 127.0.0.1:${laterPort}`)?.detail).toMatch(/self[- ]signed/i);
  });

  it('exits 2 naming the flag for bad usage, without echoing a bad env-file line', async () => {
    const badFile = join(work, 'bad.env');
    await writeFile(badFile, 'JWT_SECRET=ok\nthis line is s3cr3t-value\n');
    const io = captureIo({});
    expect(await runScript(securityAudit, ['--env-file', badFile], io.io)).toBe(2);
    expect(io.stderr()).toContain('security-audit: --env-file: line 2 is not KEY=value');
    expect(io.stderr()).not.toContain('s3cr3t-value');
    const tls = captureIo({});
    expect(await runScript(securityAudit, ['--tls', 'no-port-here'], tls.io)).toBe(2);
    expect(tls.stderr()).toContain('--tls: expected host:port');
    const length = captureIo({});
    expect(await runScript(securityAudit, ['--min-length', 'long'], length.io)).toBe(2);
    expect(length.stderr()).toContain('--min-length: expected a number');
  });

  it('scores secrets by length, entropy and known development values', () => {
    expect(bitsPerCharacter('aaaa')).toBe(0);
    expect(bitsPerCharacter('abcd')).toBe(2);
    const rules = { minLength: 32, minBits: 128 };
    expect(secretWeakness('keyboard cat', rules)).toBe('a known development or example value');
    expect(secretWeakness('a'.repeat(40), rules)).toMatch(/^low entropy/);
    expect(secretWeakness('Zq3', rules)).toMatch(/^too short: 3 characters/);
    expect(secretWeakness(STRONG_JWT, rules)).toBeUndefined();
  });
});
