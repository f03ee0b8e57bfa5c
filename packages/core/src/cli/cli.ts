import { parseArgs, type ParseArgsConfig } from 'node:util';
import { suggestKey } from '../config/suggest-key.js';
import { ConfigError } from '../errors/config-error.js';
import { OpsError } from '../errors/ops-error.js';
import { parseDuration } from '../time/duration.js';
import { redactErrorMessage, safeErrorMessage } from '../redaction/redact.js';

/** Exit codes shared by every `ops-*` CLI. */
export const ExitCode = {
  /** Everything ran and every check passed. */
  ok: 0,
  /** The job ran but failed, or a check failed. */
  failure: 1,
  /** Bad usage or configuration: nothing was attempted. */
  usage: 2,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Where a command writes. Injected so tests capture output without touching the process. */
export interface CliIo {
  stdout: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
}

/**
 * One option of a command: node's `parseArgs` option plus its help text. `valueName` is shown in `--help`
 * (`--timeout <duration>`); `'duration'` also makes the CLI check the value as a duration before `run` (exit 2 with
 * `--timeout: invalid duration "5 mins": … (did you mean "5m"?)`).
 */
type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; valueName?: string };

/** One subcommand of a CLI. */
export interface CliCommand {
  /** One line shown in the command list. */
  summary: string;
  /** Positional arguments, e.g. `'<url...>'`. */
  usage?: string;
  /** Command-specific options (`--json` and `--help` are added for every command). */
  options?: Record<string, OptionSpec>;
  /** Shown under "Examples" in `--help`. */
  examples?: string[];
  /** Does the work; returns the exit code. Throw `ConfigError`/`UsageError` for exit 2. */
  run(context: CliContext): Promise<number> | number;
}

/** What a command's `run` receives. */
export interface CliContext {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  /** `--json` was given: write one JSON document to stdout and nothing else there. */
  json: boolean;
  io: CliIo;
  /** Writes one JSON document followed by a newline to stdout. */
  printJson(value: unknown): void;
  /** Writes a line to stdout. */
  print(line?: string): void;
  /** Writes a diagnostic line to stderr. */
  warn(line: string): void;
}

/** Definition of a CLI with subcommands. */
export interface CliDefinition {
  /** Binary name, e.g. `ops-backup`. */
  name: string;
  /** One sentence shown at the top of `--help`. */
  description: string;
  /** Version printed by `--version`. */
  version?: string;
  commands: Record<string, CliCommand>;
  /** A command to run when the first argument is not a command name (e.g. `ops-health URL`). */
  defaultCommand?: string;
  /**
   * Exit codes this CLI adds to {@link ExitCode}'s 0, 1 and 2, each with what it means, listed in `--help` after the
   * shared ones: `{ 3: 'could not evaluate (Prometheus unreachable or a query failed)' }`. Integers from 3 to 125
   * (0–2 are shared; 126 and up mean "not executable", "not found" and signals to a shell).
   */
  exitCodes?: Readonly<Record<number, string>>;
}

/** An error in how the CLI was called. Exits with code 2. */
export class UsageError extends OpsError {
  constructor(message: string) {
    super('ARGUMENT_INVALID', message);
  }
}

const COMMON: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'write one JSON document to stdout (for scripts)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

function renderOptions(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const value = spec.type === 'string' ? ` <${spec.valueName ?? 'value'}>` : '';
    return [`  ${short}--${name}${value}`, spec.description + (spec.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => left.padEnd(width) + right);
}

/** Renders the `--help` text of a CLI, or of one command when `commandName` is given. */
export function renderHelp(definition: CliDefinition, commandName?: string): string {
  const lines: string[] = [];
  const command = commandName ? definition.commands[commandName] : undefined;
  if (command && commandName) {
    lines.push(`${definition.name} ${commandName} — ${command.summary}`, '');
    lines.push(
      `Usage: ${definition.name} ${commandName} [options]${command.usage ? ` ${command.usage}` : ''}`,
      '',
      'Options:',
    );
    lines.push(...renderOptions({ ...command.options, ...COMMON }));
    if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((example) => `  ${example}`));
  } else {
    lines.push(
      `${definition.name} — ${definition.description}`,
      '',
      `Usage: ${definition.name} <command> [options]`,
      '',
      'Commands:',
    );
    const width = Math.max(...Object.keys(definition.commands).map((name) => name.length)) + 2;
    for (const [name, spec] of Object.entries(definition.commands))
      lines.push(`  ${name.padEnd(width)}${spec.summary}`);
    lines.push('', `Run '${definition.name} <command> --help' for a command's options and examples.`);
  }
  lines.push('', `Exit codes: ${describeExitCodes(definition)}.`);
  return `${lines.join('\n')}\n`;
}

/** `0 ok, 1 check or job failed, 2 usage or configuration error` and the CLI's own codes, in order. */
function describeExitCodes(definition: CliDefinition): string {
  const shared = ['0 ok', '1 check or job failed', '2 usage or configuration error'];
  const own = Object.entries(definition.exitCodes ?? {})
    .map(([code, meaning]) => {
      const value = Number(code);
      if (!Number.isInteger(value) || value < 3 || value > 125)
        throw new OpsError(
          'ARGUMENT_INVALID',
          `${definition.name}: exit code ${code} cannot be declared in exitCodes: use 3 to 125 (0, 1 and 2 are shared)`,
        );
      return [value, `${value} ${meaning}`] as const;
    })
    .sort(([left], [right]) => left - right)
    .map(([, text]) => text);
  return [...shared, ...own].join(', ');
}

/**
 * Runs a CLI defined with {@link CliDefinition} against `argv` (without `node` and the script). Returns the exit
 * code instead of exiting, so it is testable; the bin file does `process.exitCode = await runCli(...)`.
 *
 * Errors: `UsageError`/`ConfigError` → message on stderr, exit 2; anything else → redacted message, exit 1.
 */
export async function runCli(
  definition: CliDefinition,
  argv: readonly string[],
  io: Partial<CliIo> = {},
): Promise<number> {
  const fullIo: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
  };
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const target = first === 'help' ? rest[0] : undefined;
    if (first === undefined && definition.defaultCommand === undefined) {
      fullIo.stderr.write(renderHelp(definition));
      return ExitCode.usage;
    }
    if (first !== undefined || definition.defaultCommand === undefined) {
      fullIo.stdout.write(renderHelp(definition, target && definition.commands[target] ? target : undefined));
      return ExitCode.ok;
    }
  }
  if (first === '--version' || first === '-V') {
    fullIo.stdout.write(`${definition.version ?? '0.0.0'}\n`);
    return ExitCode.ok;
  }
  let commandName: string;
  let args: readonly string[];
  if (first !== undefined && Object.hasOwn(definition.commands, first)) {
    commandName = first;
    args = rest;
  } else if (definition.defaultCommand) {
    commandName = definition.defaultCommand;
    args = argv;
  } else {
    const message = `unknown command ${JSON.stringify(first)}${didYouMean(first, Object.keys(definition.commands), JSON.stringify)}`;
    writeUsageError(fullIo, argv, message);
    fullIo.stderr.write(`${definition.name}: ${message}\n\n${renderHelp(definition)}`);
    return ExitCode.usage;
  }
  const command = definition.commands[commandName] as CliCommand;
  const optionSpecs = { ...command.options, ...COMMON };
  let parsed: { values: CliContext['values']; positionals: string[] };
  try {
    const config = Object.fromEntries(
      Object.entries(optionSpecs).map(([name, spec]) => {
        const { description: _description, valueName: _valueName, ...rest } = spec;
        return [name, rest];
      }),
    );
    parsed = parseArgs({ args: [...args], options: config, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    // node:util's parseArgs names an unknown flag; say which one was probably meant.
    const unknown = /^Unknown option '--([^']+)'/.exec((error as Error).message)?.[1];
    const message =
      unknown === undefined
        ? (error as Error).message
        : `unknown option --${unknown}${didYouMean(unknown, Object.keys(optionSpecs), (name) => `--${name}`)}`;
    writeUsageError(fullIo, args, message);
    fullIo.stderr.write(
      `${definition.name} ${commandName}: ${message}\nRun '${definition.name} ${commandName} --help' for usage.\n`,
    );
    return ExitCode.usage;
  }
  if (parsed.values.help === true) {
    fullIo.stdout.write(renderHelp(definition, commandName));
    return ExitCode.ok;
  }
  // Options shown as `<duration>` are checked here, so the error names the flag (`--timeout: invalid duration …`)
  // whatever the command does with the value later.
  for (const [name, spec] of Object.entries(optionSpecs)) {
    if (spec.valueName !== 'duration') continue;
    const given = parsed.values[name];
    for (const value of Array.isArray(given) ? given : [given]) {
      if (typeof value !== 'string') continue;
      try {
        parseDuration(value, `--${name}`);
      } catch (error) {
        const message = redactErrorMessage(error as Error);
        if (parsed.values.json === true)
          fullIo.stdout.write(
            `${JSON.stringify({ ok: false, error: { code: 'DURATION_INVALID', message } }, null, 2)}\n`,
          );
        fullIo.stderr.write(`${definition.name} ${commandName}: ${message}\n`);
        return ExitCode.usage;
      }
    }
  }
  const json = parsed.values.json === true;
  const context: CliContext = {
    values: parsed.values,
    positionals: parsed.positionals,
    json,
    io: fullIo,
    printJson: (value) => void fullIo.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    print: (line = '') => void fullIo.stdout.write(`${line}\n`),
    warn: (line) => void fullIo.stderr.write(`${line}\n`),
  };
  try {
    return await command.run(context);
  } catch (error) {
    const usage =
      error instanceof UsageError ||
      (ConfigError.isInstance(error) && error.code === 'CONFIG_INVALID') ||
      OpsError.hasCode(error, 'DURATION_INVALID');
    // Usage and config messages are written for the person at the terminal: no error-code prefix.
    const message = usage ? redactErrorMessage(error as Error) : safeErrorMessage(error);
    if (json)
      context.printJson({ ok: false, error: { code: OpsError.isInstance(error) ? error.code : 'INTERNAL', message } });
    fullIo.stderr.write(`${definition.name} ${commandName}: ${message}\n`);
    return usage ? ExitCode.usage : ExitCode.failure;
  }
}

/** Column of {@link formatTable}. */
export interface TableColumn<Row> {
  header: string;
  value: (row: Row) => string | number | undefined;
  align?: 'left' | 'right';
}

/** Formats rows as a plain-text table with a header line, for human output on a terminal. */
export function formatTable<Row>(rows: readonly Row[], columns: readonly TableColumn<Row>[]): string {
  const cells = rows.map((row) => columns.map((column) => String(column.value(row) ?? '')));
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((row) => (row[index] ?? '').length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, index) =>
        columns[index]?.align === 'right' ? value.padStart(widths[index] ?? 0) : value.padEnd(widths[index] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...cells.map(line)].join('\n') + '\n';
}

/** Formats a byte count with binary units: `1536` → `'1.5 KiB'`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : value.toFixed(value >= 100 ? 0 : 1);
  return `${bytes < 0 ? '-' : ''}${text} ${units[unit]}`;
}

/** A progress line redrawn in place on a TTY; silent elsewhere. */
export interface ProgressBar {
  /** Updates the bar with the bytes done so far (and the total when known). */
  update(doneBytes: number, totalBytes?: number): void;
  /** Clears the line. */
  done(): void;
}

/**
 * Creates a bytes-and-rate progress bar on `stream` when it is a TTY (no output otherwise, so logs stay clean).
 * Redraws at most every `intervalMs`.
 */
export function createProgressBar(
  stream: CliIo['stderr'],
  label: string,
  options: { intervalMs?: number; now?: () => number } = {},
): ProgressBar {
  const { intervalMs = 100, now = () => performance.now() } = options;
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  const started = now();
  let lastDraw = -Infinity;
  return {
    update(doneBytes, totalBytes) {
      const time = now();
      if (time - lastDraw < intervalMs) return;
      lastDraw = time;
      const seconds = Math.max((time - started) / 1000, 0.001);
      const rate = `${formatBytes(doneBytes / seconds)}/s`;
      let bar = '';
      if (totalBytes && totalBytes > 0) {
        const ratio = Math.min(1, doneBytes / totalBytes);
        const width = 24;
        const filled = Math.round(ratio * width);
        bar = ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(0)}%`;
      }
      stream.write(
        `\r\u001b[2K${label}${bar} ${formatBytes(doneBytes)}${totalBytes ? ` / ${formatBytes(totalBytes)}` : ''} ${rate}`,
      );
    },
    done() {
      stream.write('\r\u001b[2K');
    },
  };
}

/** ` (did you mean X?)` for the closest of `known`, or nothing. */
function didYouMean(word: string | undefined, known: Iterable<string>, show: (name: string) => string): string {
  const suggestion = word === undefined ? undefined : suggestKey(word, known);
  return suggestion === undefined ? '' : ` (did you mean ${show(suggestion)}?)`;
}

/** With `--json` among the arguments, a usage error is also written to stdout as `{ ok: false, error }`. */
function writeUsageError(io: CliIo, args: readonly string[], message: string): void {
  if (args.includes('--json'))
    io.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'ARGUMENT_INVALID', message } }, null, 2)}\n`);
}
