// The configuration and security audit from the runbooks: required secrets set and not weak (length, entropy, known
// development values), DEBUG/DEVELOPMENT off in production, the JWT secret not a development key, and the TLS
// certificates' expiry — reported without ever printing a secret value.
//
//   npx tsx src/security-audit.ts --env-file /etc/notes/env --require JWT_SECRET --require DATABASE_URL --tls api.example.com:443
import { readFile, stat } from 'node:fs/promises';
import {
  parseDuration,
  redactText,
  safeErrorMessage,
  systemClock,
  UsageError,
  type CliContext,
  type CliIo,
  type Clock,
} from '@ops/core';
import { tlsCertificateProbe } from '@ops/health';
import { checkRow, runCheckOnce } from './lib/checks.js';
import {
  isMain,
  listOption,
  numberOption,
  optionOrEnv,
  reportRows,
  runScript,
  type ScriptDefinition,
  type StatusRow,
} from './lib/script.js';

/**
 * Values that ship in tutorials, framework READMEs and `.env.example` files. Compared case-insensitively, after
 * trimming; a secret that contains one of the longer ones (`changeme-please`) is weak too.
 */
export const KNOWN_DEVELOPMENT_VALUES = [
  'secret',
  'secretkey',
  'secret-key',
  'mysecret',
  'supersecret',
  'topsecret',
  'changeme',
  'change-me',
  'changethis',
  'password',
  'passw0rd',
  'admin',
  'root',
  'postgres',
  'default',
  'example',
  'test',
  'testing',
  'dev',
  'development',
  'local',
  'localdev',
  'keyboard cat', // express-session's README
  'shhhhh', // jsonwebtoken's README
  'your-256-bit-secret', // jwt.io's default
  'your-secret-key',
  'your_jwt_secret',
  'jwt-secret',
  'jwt_secret',
  'jwtsecret',
  'dev-secret',
  'development-secret',
  'insecure',
  'notasecret',
  '123456',
  '12345678',
  'qwerty',
  'letmein',
];

/** Variables that must be off in production (truthy values: anything but empty, 0, false, no, off). */
const DEFAULT_PRODUCTION_FLAGS = ['DEBUG', 'DEVELOPMENT', 'NODE_DEBUG', 'APP_DEBUG'];

/** Shannon entropy of the characters of `value`, in bits per character. */
export function bitsPerCharacter(value: string): number {
  const counts = new Map<string, number>();
  for (const character of value) counts.set(character, (counts.get(character) ?? 0) + 1);
  const length = [...value].length;
  let bits = 0;
  for (const count of counts.values()) bits -= (count / length) * Math.log2(count / length);
  return bits;
}

/** Why a secret is weak, in words that never contain it; `undefined` when it looks strong. */
export function secretWeakness(value: string, options: { minLength: number; minBits: number }): string | undefined {
  const normalized = value.trim().toLowerCase();
  if (KNOWN_DEVELOPMENT_VALUES.includes(normalized)) return 'a known development or example value';
  const contained = KNOWN_DEVELOPMENT_VALUES.find((known) => known.length >= 6 && normalized.includes(known));
  if (contained !== undefined) return `contains a known development word (${contained.length} characters)`;
  const length = [...value].length;
  if (length < options.minLength) return `too short: ${length} characters (at least ${options.minLength})`;
  const totalBits = bitsPerCharacter(value) * length;
  if (totalBits < options.minBits)
    return `low entropy: about ${Math.round(totalBits)} bits (at least ${options.minBits}); generate it with openssl rand -base64 48`;
  return undefined;
}

function isTruthyFlag(value: string | undefined): boolean {
  if (value === undefined) return false;
  return !['', '0', 'false', 'no', 'off', 'none'].includes(value.trim().toLowerCase());
}

/** Parses `KEY=value` lines (dotenv: comments, `export `, single or double quotes). */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    // The message names the line, never its content: the line may be a secret.
    if (!match) throw new UsageError(`--env-file: line ${index + 1} is not KEY=value`);
    let value = match[2] as string;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    values[match[1] as string] = value;
  }
  return values;
}

/** The secret part of a value: a URL's password, else the whole value. */
function secretPart(value: string): { secret: string | undefined; isUrl: boolean } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const url = new URL(value);
      return { secret: url.password === '' ? undefined : decodeURIComponent(url.password), isUrl: true };
    } catch {}
  }
  return { secret: value, isUrl: false };
}

/** Builds the audit with an injectable clock (tests); `securityAudit` uses the system clock. */
export function createSecurityAudit(options: { clock?: Clock } = {}): ScriptDefinition {
  const { clock = systemClock } = options;
  return {
    name: 'security-audit',
    summary:
      'Configuration and security audit: required secrets set and strong, debug flags off in production, the JWT secret not a development key, TLS certificate expiry. Secret values are never printed.',
    options: {
      'env-file': {
        type: 'string',
        valueName: 'file',
        description: 'read the configuration from this KEY=value file instead of the environment',
      },
      require: {
        type: 'string',
        multiple: true,
        valueName: 'name',
        description: 'a secret that must be set and strong (default JWT_SECRET; URLs: their password is checked)',
      },
      'jwt-secret': {
        type: 'string',
        valueName: 'name',
        description: 'the variable holding the JWT signing secret (default JWT_SECRET)',
      },
      environment: {
        type: 'string',
        valueName: 'name',
        description: 'the environment audited (default NODE_ENV, else production)',
      },
      'production-flag': {
        type: 'string',
        multiple: true,
        valueName: 'name',
        description: `a variable that must be off in production (default ${DEFAULT_PRODUCTION_FLAGS.join(', ')})`,
      },
      'min-length': { type: 'string', valueName: 'n', description: 'minimum secret length (default 32)' },
      'min-bits': {
        type: 'string',
        valueName: 'n',
        description: 'minimum estimated entropy of a secret, in bits (default 128)',
      },
      tls: {
        type: 'string',
        multiple: true,
        valueName: 'host:port',
        description: 'a TLS endpoint whose certificate expiry is checked',
      },
      'tls-ca': {
        type: 'string',
        valueName: 'file',
        description: 'PEM of a private CA that signs the --tls certificates',
      },
      'tls-warn-days': { type: 'string', valueName: 'n', description: 'warn when fewer days are left (default 30)' },
      'tls-fail-days': { type: 'string', valueName: 'n', description: 'fail when fewer days are left (default 7)' },
      timeout: {
        type: 'string',
        short: 't',
        valueName: 'duration',
        description: 'deadline of each TLS check (default 5s)',
      },
    },
    examples: [
      'npx tsx src/security-audit.ts --env-file /etc/notes/env --require JWT_SECRET --require DATABASE_URL',
      'NODE_ENV=production npx tsx src/security-audit.ts --tls api.example.com:443 --tls db.internal:5432 --json',
    ],
    exitCodes: ['0  no finding failed (warnings allowed)', '1  a finding failed', '2  usage or configuration error'],
    run: (context) => runAudit(context, clock),
  };
}

async function runAudit(context: CliContext, clock: Clock): Promise<number> {
  const envFile = optionOrEnv(context, 'env-file');
  let config: Record<string, string | undefined>;
  if (envFile !== undefined) {
    try {
      config = parseEnvFile(await readFile(envFile, 'utf8'));
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`--env-file: cannot read ${envFile}: ${safeErrorMessage(error)}`);
    }
  } else {
    config = context.io.env;
  }
  const required = listOption(context, 'require');
  const jwtVariable = optionOrEnv(context, 'jwt-secret') ?? 'JWT_SECRET';
  if (required.length === 0) required.push(jwtVariable);
  for (const name of required)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new UsageError(`--require: ${JSON.stringify(name)} is not a variable name`);
  const environment = optionOrEnv(context, 'environment') ?? config.NODE_ENV ?? 'production';
  const flags = listOption(context, 'production-flag');
  if (flags.length === 0) flags.push(...DEFAULT_PRODUCTION_FLAGS);
  const minLength = numberOption(context, 'min-length', 32, 1);
  const minBits = numberOption(context, 'min-bits', 128, 0);
  const warnDays = numberOption(context, 'tls-warn-days', 30, 0);
  const failDays = numberOption(context, 'tls-fail-days', 7, 0);
  const timeoutMs = parseDuration(optionOrEnv(context, 'timeout') ?? '5s', '--timeout');
  const caFile = optionOrEnv(context, 'tls-ca');
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = await readFile(caFile, 'utf8');
    } catch (error) {
      throw new UsageError(`--tls-ca: cannot read ${caFile}: ${safeErrorMessage(error)}`);
    }
  }
  const endpoints = listOption(context, 'tls').map((entry) => {
    const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535)
      throw new UsageError(`--tls: expected host:port, got ${JSON.stringify(entry)}`);
    return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port, label: entry };
  });

  const rows: StatusRow[] = [];
  const production = environment === 'production' || environment === 'prod';
  rows.push({
    check: 'environment',
    status: 'pass',
    detail: `${environment}${envFile === undefined ? ' (process environment)' : ` (${envFile})`}`,
  });
  if (envFile !== undefined) {
    // A secrets file others can read leaks every secret in it, however strong.
    const mode = (await stat(envFile)).mode & 0o777;
    rows.push({
      check: 'env file permissions',
      status: (mode & 0o077) === 0 ? 'pass' : production ? 'fail' : 'warn',
      detail:
        (mode & 0o077) === 0
          ? `mode ${mode.toString(8)}`
          : `mode ${mode.toString(8)}: readable by ${(mode & 0o007) !== 0 ? 'every user' : 'the group'}; chmod 600 ${envFile}`,
    });
  }
  const audited = new Set([...required, jwtVariable]);
  for (const name of audited) {
    const value = config[name];
    const label = name === jwtVariable ? `jwt secret ${name}` : `secret ${name}`;
    if (value === undefined || value === '') {
      rows.push({
        check: label,
        status: required.includes(name) ? 'fail' : 'warn',
        detail: 'not set',
      });
      continue;
    }
    const { secret, isUrl } = secretPart(value);
    if (secret === undefined) {
      rows.push({ check: label, status: 'warn', detail: 'a URL without a password (is the server open?)' });
      continue;
    }
    // URLs carry server-generated or operator-chosen passwords: a shorter one is a warning, a development one fails.
    const weakness = secretWeakness(secret, isUrl ? { minLength: 12, minBits: 48 } : { minLength, minBits });
    const known = weakness?.startsWith('a known') === true || weakness?.startsWith('contains a known') === true;
    rows.push({
      check: label,
      status: weakness === undefined ? 'pass' : known || production ? 'fail' : 'warn',
      detail:
        weakness === undefined
          ? `set, ${[...secret].length} characters, about ${Math.round(bitsPerCharacter(secret) * [...secret].length)} bits`
          : `${isUrl ? 'password in the URL: ' : ''}${weakness}`,
    });
  }
  for (const flag of flags) {
    const on = isTruthyFlag(config[flag]);
    rows.push({
      check: `flag ${flag}`,
      status: on ? (production ? 'fail' : 'warn') : 'pass',
      detail: on ? `on in ${environment}` : 'off',
    });
  }
  if (production && (config.NODE_ENV ?? 'production') !== 'production')
    rows.push({
      check: 'flag NODE_ENV',
      status: 'fail',
      detail: `NODE_ENV is ${JSON.stringify(config.NODE_ENV)} in production`,
    });

  const certificates = await Promise.all(
    endpoints.map(async ({ host, port, label }) =>
      checkRow(
        `tls ${label}`,
        await runCheckOnce(
          tlsCertificateProbe({ host, port, warnDays, failDays, clock, ...(ca === undefined ? {} : { tls: { ca } }) }),
          { timeoutMs, label: `tls ${label}`, clock },
        ),
        (result) => {
          const validTo = (result.details as { validTo?: string } | undefined)?.validTo;
          if (result.status === 'pass') return `expires in ${String(result.observed)} days (${validTo ?? '?'})`;
          return `${result.output ?? 'failed'}${validTo ? ` (${validTo})` : ''}`;
        },
      ),
    ),
  );
  rows.push(...certificates);

  // Defence in depth: whatever a row or an error says, no configured value leaves this process verbatim.
  const secrets = Object.entries(config)
    .filter(
      ([name, value]) =>
        value !== undefined &&
        value.length >= 4 &&
        (audited.has(name) || /SECRET|TOKEN|PASSWORD|KEY|_URL$/i.test(name)),
    )
    .flatMap(([, value]) => {
      const part = secretPart(value as string).secret;
      return part !== undefined && part.length >= 4 ? [value as string, part] : [value as string];
    });
  return reportRows(scrubbed(context, secrets), rows);
}

/** A context whose stdout and stderr replace every listed secret with `[REDACTED]`. */
function scrubbed(context: CliContext, secrets: readonly string[]): CliContext {
  const scrub = (text: string) => redactText(text, { secrets: [...secrets].sort((a, b) => b.length - a.length) });
  const io: CliIo = {
    ...context.io,
    stdout: { write: (chunk: string) => context.io.stdout.write(scrub(chunk)) },
    stderr: { write: (chunk: string) => context.io.stderr.write(scrub(chunk)) },
  };
  return {
    ...context,
    io,
    print: (line = '') => void io.stdout.write(`${line}\n`),
    printJson: (value) => void io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    warn: (line) => void io.stderr.write(`${line}\n`),
  };
}

/** The audit on the system clock. */
export const securityAudit = createSecurityAudit();

if (isMain(import.meta.url)) process.exitCode = await runScript(securityAudit, process.argv.slice(2));
