import { redact, redactText, type Logger, type LogLevel } from '@ops/core';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * Wraps the user's logger for every line `@ops/health` writes: fields and message pass through `redact()` with the
 * `secrets` option (so the verbatim secrets reach no log line, whichever path writes it), and a logger that throws
 * is ignored — a user's logger must never take the service down (a throw from the poller's log call would be an
 * unhandled rejection).
 */
export function guardLogger(logger: Logger, secrets: readonly string[]): Logger {
  const options = { secrets };
  const guarded = {} as Logger;
  for (const level of LEVELS) {
    guarded[level] = (fields, message) => {
      try {
        const clean = redact(fields, options);
        if (message === undefined) logger[level](clean);
        else logger[level](clean, redactText(message, options));
      } catch {
        // Nothing sensible to do with a logger that throws: dropping the line keeps the checks running.
      }
    };
  }
  return guarded;
}
