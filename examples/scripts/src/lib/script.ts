// The small frame every runbook script shares: one command on core's runCli (its --help, --json, option parsing and
// exit codes), a status table, and helpers for required settings and redacted URLs.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ExitCode,
  formatTable,
  redactText,
  renderHelp,
  runCli,
  UsageError,
  type CliCommand,
  type CliContext,
  type CliDefinition,
  type CliIo,
} from '@ops/core';

/** A runbook script: one command with its options, examples and the exit codes it documents. */
export interface ScriptDefinition extends Omit<CliCommand, 'summary'> {
  /** File name without extension, e.g. `morning-check`; shown in help and messages. */
  name: string;
  /** One sentence of what it does. */
  summary: string;
  /** One line per exit code, shown at the end of `--help`. */
  exitCodes: string[];
}

/** Runs a script against `argv` (without node and the script path) and returns its exit code. */
export async function runScript(
  script: ScriptDefinition,
  argv: readonly string[],
  io: Partial<CliIo> = {},
): Promise<number> {
  const { name, summary, exitCodes, ...command } = script;
  const definition: CliDefinition = {
    name,
    description: summary,
    commands: { [name]: { ...command, summary } },
    defaultCommand: name,
  };
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  // The command carries the script's name: `morning-check morning-check: …` reads `morning-check: …`.
  const tidy = (text: string) => text.split(`${name} ${name}`).join(name);
  // `--help` of the script, not of a command given after `--` (the maintenance window's task).
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (own.includes('--help') || own.includes('-h')) {
    const help = tidy(renderHelp(definition, name)).replace(
      /\nExit codes: .*\n$/,
      `\nExit codes:\n${exitCodes.map((line) => `  ${line}`).join('\n')}\n`,
    );
    stdout.write(help);
    return ExitCode.ok;
  }
  return runCli(definition, [name, ...argv], {
    stdout: { write: (chunk: string) => stdout.write(tidy(chunk)) },
    stderr: { write: (chunk: string) => stderr.write(tidy(chunk)) },
    env: io.env ?? process.env,
  });
}

/** True when `importMetaUrl` is the file node was asked to run (`tsx src/x.ts`), false when it is imported. */
export function isMain(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(importMetaUrl));
  } catch {
    return false;
  }
}

/** Status of one row of a report. */
export type RowStatus = 'pass' | 'warn' | 'fail';

/** One line of a status table. */
export interface StatusRow {
  /** What was checked, e.g. `endpoint notes-ready`. */
  check: string;
  status: RowStatus;
  /** What was seen, already free of secrets. */
  detail: string;
}

/** Renders status rows as the table the scripts print. */
export function formatStatusTable(rows: readonly StatusRow[]): string {
  return formatTable(rows, [
    { header: 'CHECK', value: (row) => row.check },
    { header: 'STATUS', value: (row) => row.status.toUpperCase() },
    { header: 'DETAIL', value: (row) => row.detail },
  ]);
}

/** `fail` if any row failed, else `warn` if any warned, else `pass`. */
export function overallStatus(rows: readonly StatusRow[]): RowStatus {
  if (rows.some((row) => row.status === 'fail')) return 'fail';
  if (rows.some((row) => row.status === 'warn')) return 'warn';
  return 'pass';
}

/** Prints rows as a table (or `{ ok, status, rows, ...extra }` with `--json`) and returns 1 when a row failed. */
export function reportRows(
  context: CliContext,
  rows: readonly StatusRow[],
  extra: Record<string, unknown> = {},
): number {
  const status = overallStatus(rows);
  if (context.json) {
    context.printJson({ ok: status !== 'fail', status, rows, ...extra });
  } else {
    context.io.stdout.write(formatStatusTable(rows));
    const counts = (['pass', 'warn', 'fail'] as const).map(
      (kind) => `${rows.filter((row) => row.status === kind).length} ${kind}`,
    );
    context.print(`\n${status.toUpperCase()}: ${counts.join(', ')}`);
  }
  return status === 'fail' ? ExitCode.failure : ExitCode.ok;
}

/** A string option, else the environment variable, else `undefined`. */
export function optionOrEnv(context: CliContext, option: string, variable?: string): string | undefined {
  const value = context.values[option];
  if (typeof value === 'string' && value !== '') return value;
  if (variable === undefined) return undefined;
  const fromEnv = context.io.env[variable];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/** Like {@link optionOrEnv}, but a missing value is a usage error naming the flag and the variable. */
export function requireOptionOrEnv(
  context: CliContext,
  option: string,
  variable: string | undefined,
  what: string,
): string {
  const value = optionOrEnv(context, option, variable);
  if (value === undefined)
    throw new UsageError(`--${option}${variable ? ` (or ${variable})` : ''} is required: ${what}`);
  return value;
}

/** The values of a repeatable string option. */
export function listOption(context: CliContext, option: string): string[] {
  const value = context.values[option];
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** A number option in [min, max], or the default; anything else is a usage error naming the flag. */
export function numberOption(context: CliContext, option: string, fallback: number, min = 0, max = Infinity): number {
  const value = context.values[option];
  if (value === undefined) return fallback;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(number) || number < min || number > max)
    throw new UsageError(`--${option}: expected a number between ${min} and ${max}, got ${JSON.stringify(value)}`);
  return number;
}

/** A URL with its password (and any token-looking value) replaced by `[REDACTED]`, for messages and tables. */
export function redactUrl(url: string): string {
  return redactText(url);
}

/** A URL option checked to be http(s) or the given protocols; a usage error names the flag otherwise. */
export function urlOption(value: string, flag: string, protocols: readonly string[] = ['http:', 'https:']): URL {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new UsageError(`${flag}: not a URL: ${JSON.stringify(redactUrl(value))}`);
  }
  if (!protocols.includes(parsed.protocol))
    throw new UsageError(`${flag}: expected a ${protocols.join(' or ')} URL, got ${JSON.stringify(redactUrl(value))}`);
  return parsed;
}

/** `0.1234` → `'12.3%'`. */
export function percent(ratio: number, digits = 1): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(digits)}%` : '–';
}
