import type { Logger } from '@ops/core';

/** Where signals come from: `process` by default; tests pass an `EventEmitter`. */
export interface SignalSource {
  on(signal: string, listener: () => void): unknown;
  off(signal: string, listener: () => void): unknown;
}

/** Options of {@link listenForShutdownSignals}. */
export interface ShutdownSignalOptions {
  /** Signal names, e.g. `['SIGTERM', 'SIGINT']`; `[]` installs no listener. */
  signals: readonly string[];
  /** Where the signals are listened for (`process` in production). */
  source: SignalSource;
  logger: Logger;
  /** Whether a shutdown already started: a later signal is logged and otherwise ignored. */
  isShuttingDown(): boolean;
  /** Starts the graceful shutdown; receives the signal's name as the reason. */
  shutdown(signal: string): void;
}

/**
 * Starts a graceful shutdown on the first of `signals`. Returns the function that removes the listeners again
 * (safe to call more than once).
 */
export function listenForShutdownSignals(options: ShutdownSignalOptions): () => void {
  const { signals, source, logger, isShuttingDown, shutdown } = options;
  const listeners = signals.map((signal) => ({
    signal,
    listener: () => {
      if (isShuttingDown()) {
        logger.warn({ signal }, 'signal received during shutdown; already shutting down');
        return;
      }
      logger.info({ signal }, 'signal received; starting graceful shutdown');
      shutdown(signal);
    },
  }));
  for (const { signal, listener } of listeners) source.on(signal, listener);
  return () => {
    for (const { signal, listener } of listeners) source.off(signal, listener);
  };
}
