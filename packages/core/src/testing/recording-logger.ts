import type { Logger, LogLevel } from '../logging/logger.js';

/** One line captured by {@link createRecordingLogger}. */
export interface LogRecord {
  level: LogLevel;
  fields: Record<string, unknown>;
  message: string | undefined;
}

/** A {@link Logger} that keeps every line, for asserting on logs in tests. */
export interface RecordingLogger extends Logger {
  readonly records: LogRecord[];
  /** Every record serialized as JSON lines, for "no secret in the logs" assertions. */
  text(): string;
}

/** Creates a {@link RecordingLogger}. */
export function createRecordingLogger(): RecordingLogger {
  const records: LogRecord[] = [];
  const at = (level: LogLevel) => (fields: Record<string, unknown>, message?: string) =>
    void records.push({ level, fields, message });
  return {
    records,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () =>
      records
        .map((record) =>
          JSON.stringify(record, (_key, value: unknown) =>
            value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value,
          ),
        )
        .join('\n'),
  };
}
