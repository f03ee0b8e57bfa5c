import { safeErrorMessage } from '@ops/core';
import { HealingError } from '../errors.js';
import type { HealingAction } from './action.js';

/** The parts of an ioredis client {@link reconnectRedis} uses (typed by shape: ioredis is an optional peer). */
export interface RedisClientLike {
  /** ioredis' connection status: `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `close`, `end`. */
  readonly status: string;
  connect(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
  once(event: 'ready' | 'end', listener: () => void): unknown;
  removeListener(event: 'ready' | 'end', listener: () => void): unknown;
  ping(): Promise<unknown>;
}

/** Options of {@link reconnectRedis}. */
export interface ReconnectRedisOptions {
  /** Step name. Default `'reconnect redis'`. */
  name?: string;
}

/**
 * A step that drops and re-opens an ioredis client's connection (`disconnect(true)`, or `connect()` when the client
 * had ended), waits until it is `ready` and PINGs. Commands sent meanwhile wait in ioredis' offline queue. The step
 * timeout bounds the wait.
 *
 * @example
 * ```ts
 * steps: [reconnectRedis(redis), escalate(sink)]
 * ```
 */
export function reconnectRedis(client: RedisClientLike, options: ReconnectRedisOptions = {}): HealingAction {
  if (typeof client?.disconnect !== 'function' || typeof client.connect !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'reconnectRedis: client must be an ioredis client');
  const { name = 'reconnect redis' } = options;
  return {
    kind: 'reconnect-redis',
    name,
    async run(context) {
      const { signal, clock } = context;
      const started = clock.monotonic();
      const before = client.status;
      const ready = new Promise<void>((resolve, reject) => {
        const cleanup = () => {
          client.removeListener('ready', onReady);
          client.removeListener('end', onEnd);
          signal.removeEventListener('abort', onAbort);
        };
        const onReady = () => {
          cleanup();
          resolve();
        };
        const onEnd = () => {
          cleanup();
          reject(new HealingError('ACTION_FAILED', 'redis client ended instead of reconnecting'));
        };
        const onAbort = () => {
          cleanup();
          reject(signal.reason);
        };
        client.once('ready', onReady);
        client.once('end', onEnd);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        if (before === 'end' || before === 'wait') {
          // An ended client does not reconnect by itself; connect() also emits 'ready'.
          await client.connect();
        } else {
          client.disconnect(true);
        }
        await ready;
        await client.ping();
      } catch (error) {
        ready.catch(() => undefined);
        if (signal.aborted) throw signal.reason;
        if (HealingError.isInstance(error)) throw error;
        throw new HealingError('ACTION_FAILED', `redis reconnect failed: ${safeErrorMessage(error)}`, { cause: error });
      }
      const durationMs = Math.round(clock.monotonic() - started);
      return { detail: `redis reconnected (was ${before}) in ${durationMs} ms`, data: { before, durationMs } };
    },
  };
}
