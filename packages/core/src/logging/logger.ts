import { systemClock, type Clock } from '../time/clock.js';
/**
 * The logging contract of every `@ops/*` package: the subset of pino's API we call, so a pino (or compatible)
 * logger can be passed as is. Structured fields go first, the message second.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
}

const noop = () => undefined;

/** A logger that drops everything: the default, so libraries are silent unless asked. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/** Options of {@link createConsoleLogger}. */
export interface ConsoleLoggerOptions {
  /** Lowest level written. Default `'info'`. */
  level?: LogLevel;
  /** Where lines go. Default `process.stderr`. */
  stream?: { write(chunk: string): unknown };
  /** Fields added to every line (e.g. `{ service: 'api' }`). */
  base?: Record<string, unknown>;
  /** Source of the `time` field. Default {@link systemClock}. */
  clock?: Pick<Clock, 'now'>;
}

/**
 * A tiny JSON-lines logger with pino's line shape (`level`, `time`, `msg`), for scripts and examples that do not
 * bring their own logger.
 */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const { level = 'info', stream = process.stderr, base = {}, clock = systemClock } = options;
  const threshold = LEVELS[level];
  const write = (name: LogLevel) => (fields: Record<string, unknown>, message?: string) => {
    if (LEVELS[name] < threshold) return;
    // The line's own keys come last: a field named `level`, `time` or `msg` must not disguise the line.
    const line = {
      ...base,
      ...fields,
      level: LEVELS[name],
      time: clock.now(),
      ...(message === undefined ? {} : { msg: message }),
    };
    stream.write(`${safeStringify(line)}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner instanceof Error) return { type: inner.name, message: inner.message };
    if (typeof inner === 'bigint') return inner.toString();
    if (typeof inner === 'object' && inner !== null) {
      if (seen.has(inner)) return '[Circular]';
      seen.add(inner);
    }
    return inner;
  });
}

const GUARDED = Symbol.for('@ops/core.guarded-logger');

/**
 * Wraps a user's logger so that a throwing method is ignored: logging must never take an engine (or the process,
 * through an unhandled rejection in a timer) down. Engines guard the logger they are given once, at creation.
 * Guarding a guarded logger returns it as is.
 */
export function guardLogger(logger: Logger): Logger {
  if ((logger as unknown as Record<symbol, unknown>)[GUARDED] === true || logger === silentLogger) return logger;
  const wrap =
    (level: LogLevel) =>
    (fields: Record<string, unknown>, message?: string): void => {
      try {
        logger[level](fields, message);
      } catch {
        // a broken logger loses this line; the engine goes on
      }
    };
  return Object.assign(
    { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') },
    { [GUARDED]: true },
  );
}
