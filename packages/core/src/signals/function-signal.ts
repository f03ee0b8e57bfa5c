import { OpsError } from '../errors/ops-error.js';
import type { Signal } from './signal.js';

/** Options of {@link createFunctionSignal}. */
export interface FunctionSignalOptions {
  /** Signal name, e.g. `'queue_depth'`. */
  name: string;
  /** Unit of the value. */
  unit?: string;
  /** Produces the value; may be async and may use the abort signal. */
  read: (abortSignal?: AbortSignal) => Promise<number> | number;
}

/**
 * A signal backed by any function. The result is checked: a non-number or `NaN` throws `SIGNAL_UNAVAILABLE`
 * instead of being passed on as a value.
 *
 * @example
 * ```ts
 * const backlog = createFunctionSignal({ name: 'jobs_waiting', read: async () => (await queue.getWaitingCount()) });
 * ```
 */
export function createFunctionSignal(options: FunctionSignalOptions): Signal {
  const { name, unit, read } = options;
  if (typeof name !== 'string' || name === '')
    throw new OpsError('ARGUMENT_INVALID', 'name: expected a non-empty string');
  if (typeof read !== 'function') throw new OpsError('ARGUMENT_INVALID', 'read: expected a function');
  return {
    name,
    ...(unit === undefined ? {} : { unit }),
    async read(abortSignal) {
      const value: unknown = await read(abortSignal);
      if (typeof value !== 'number' || Number.isNaN(value)) {
        throw new OpsError(
          'SIGNAL_UNAVAILABLE',
          `${name}: read() returned ${typeof value === 'number' ? 'NaN' : typeof value}, expected a number`,
        );
      }
      return value;
    },
  };
}
