import { createEmitter, systemClock, type Clock, type EventSource, type Logger } from '@ops/core';
import { HealingError } from '../errors.js';

/** A runtime flag's value. */
export type FlagValue = boolean | number | string;

/** Events of {@link Flags}. */
export interface FlagsEvents {
  /** A flag changed value (`previous` undefined when it was unset). */
  'flag.changed': { at: number; name: string; value: FlagValue | undefined; previous: FlagValue | undefined };
}

/** Options of {@link createFlags}. */
export interface FlagsOptions {
  /** Values before any change: `{ 'rate-limiting': false, 'read-only': false }`. */
  initial?: Record<string, FlagValue>;
  /** Source of time for event timestamps. */
  clock?: Clock;
  /** Where a throwing listener is logged. */
  logger?: Logger;
}

/**
 * Runtime flags the application reads on its hot path (rate limiting on, read-only mode on) and healing steps
 * flip with {@link setFlag}. In-process: each replica has its own.
 */
export interface Flags extends EventSource<FlagsEvents> {
  /** The value, or undefined when unset. */
  get(name: string): FlagValue | undefined;
  /** True when the flag is `true` (or a non-empty string / non-zero number). */
  isOn(name: string): boolean;
  /** Sets a value; emits `flag.changed` when it differs. */
  set(name: string, value: FlagValue): void;
  /** Removes a value; emits `flag.changed` when it was set. */
  unset(name: string): void;
  /** Every set flag. */
  snapshot(): Record<string, FlagValue>;
}

/**
 * Creates a runtime flag store.
 *
 * @example
 * ```ts
 * const flags = createFlags({ initial: { 'read-only': false } });
 * app.use((request, response, next) => flags.isOn('read-only') && request.method !== 'GET' ? response.status(503).end() : next());
 * flags.on('flag.changed', ({ name, value }) => log.warn({ name, value }, 'flag changed'));
 * ```
 */
export function createFlags(options: FlagsOptions = {}): Flags {
  const { initial = {}, clock = systemClock, logger } = options;
  const values = new Map<string, FlagValue>(Object.entries(initial));
  const events = createEmitter<FlagsEvents>({ ...(logger === undefined ? {} : { logger }), source: 'flags' });
  const change = (name: string, value: FlagValue | undefined) => {
    const previous = values.get(name);
    if (previous === value) return;
    if (value === undefined) values.delete(name);
    else values.set(name, value);
    events.emit('flag.changed', { at: clock.now(), name, value, previous });
  };
  return {
    on: events.on,
    get: (name) => values.get(name),
    isOn(name) {
      const value = values.get(name);
      return (
        value === true || (typeof value === 'number' && value !== 0) || (typeof value === 'string' && value !== '')
      );
    },
    set(name, value) {
      if (typeof name !== 'string' || name === '')
        throw new HealingError('ARGUMENT_INVALID', 'flags.set: name must be a non-empty string');
      if (!['boolean', 'number', 'string'].includes(typeof value))
        throw new HealingError('ARGUMENT_INVALID', `flags.set(${name}): value must be a boolean, number or string`);
      change(name, value);
    },
    unset: (name) => change(name, undefined),
    snapshot: () => Object.fromEntries(values),
  };
}
