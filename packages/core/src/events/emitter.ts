import { guardLogger, silentLogger, type Logger } from '../logging/logger.js';
import { safeErrorMessage } from '../redaction/redact.js';

/** What every event carries: when it happened, as epoch milliseconds from the engine's clock. */
export interface OpsEvent {
  /** Epoch milliseconds (the engine's `Clock.now()`) at which the event happened. */
  at: number;
}

/**
 * A map from event name (past-tense `noun.verb`, e.g. `'check.failed'`) to its payload. Every payload extends
 * {@link OpsEvent}.
 */
export type EventMap<Events> = { [Name in keyof Events]: OpsEvent };

/**
 * A listener; it may be async (a returned promise is watched for rejection, any other return value is ignored).
 * Whatever it throws or rejects with is logged, never passed to the engine.
 */
export type EventListener<Payload> = (event: Payload) => unknown;

/** The subscribe side every engine exposes: `engine.on('noun.verb', listener)` returns the unsubscribe. */
export interface EventSource<Events extends EventMap<Events>> {
  /** Subscribes to one event; returns the function that unsubscribes (safe to call twice). */
  on<Name extends keyof Events & string>(name: Name, listener: EventListener<Events[Name]>): () => void;
}

/** The engine side: {@link EventSource} plus emitting. Keep it private; expose `on` only. */
export interface Emitter<Events extends EventMap<Events>> extends EventSource<Events> {
  /** Calls every listener of `name` synchronously, in subscription order; a throwing listener is isolated. */
  emit<Name extends keyof Events & string>(name: Name, event: Events[Name]): void;
  /** Whether anyone listens to `name` (lets engines skip building payloads nobody reads). */
  has(name: keyof Events & string): boolean;
  /** Removes every listener (engines call it on close). */
  clear(): void;
}

/** Options of {@link createEmitter}. */
export interface EmitterOptions {
  /** Where a throwing listener is logged (error). Default silent. */
  logger?: Logger;
  /** The engine's name in that log line, e.g. `'health'`. */
  source?: string;
}

/**
 * Creates the one typed emitter every `@ops` engine uses. Listeners run synchronously in subscription order; a
 * listener that throws, or returns a promise that rejects, is logged at error level with the event name and a
 * redacted message, and the other listeners still run: a faulty listener never breaks the engine.
 *
 * @example
 * ```ts
 * interface QueueEvents { 'job.failed': { at: number; jobId: string; error: string } }
 * const events = createEmitter<QueueEvents>({ logger, source: 'queue' });
 * const off = events.on('job.failed', (event) => console.log(event.jobId));
 * events.emit('job.failed', { at: clock.now(), jobId: 'j1', error: 'timeout' });
 * off();
 * ```
 */
export function createEmitter<Events extends EventMap<Events>>(options: EmitterOptions = {}): Emitter<Events> {
  const { source = 'ops' } = options;
  const logger = guardLogger(options.logger ?? silentLogger);
  const listeners = new Map<string, Set<EventListener<never>>>();

  const report = (name: string, error: unknown) => {
    logger.error({ source, event: name, error: safeErrorMessage(error) }, `${source} event listener threw`);
  };

  return {
    on(name, listener) {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
      const entry: EventListener<never> = (event) => (listener as EventListener<unknown>)(event);
      set.add(entry);
      return () => {
        set.delete(entry);
      };
    },
    emit(name, event) {
      const set = listeners.get(name);
      if (!set || set.size === 0) return;
      for (const listener of [...set]) {
        try {
          const result = (listener as EventListener<unknown>)(event);
          if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
            (result as Promise<void>).then(undefined, (error: unknown) => report(name, error));
          }
        } catch (error) {
          report(name, error);
        }
      }
    },
    has: (name) => (listeners.get(name)?.size ?? 0) > 0,
    clear: () => listeners.clear(),
  };
}
