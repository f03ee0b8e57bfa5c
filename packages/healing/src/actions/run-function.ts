import { HealingError } from '../errors.js';
import type { ActionContext, ActionOutcome, HealingAction } from './action.js';

/** Options of {@link runFunction}. */
export interface RunFunctionOptions {
  /** Name of the step in audit records and dry-run output: `'clear caches'`. */
  name: string;
  /** Undo for a temporary change, called by the engine after `revertAfterMs` or when the episode ends. */
  revert?: (context: ActionContext) => Promise<ActionOutcome | void> | ActionOutcome | void;
  /** How long the change stays before `revert` runs (ms). */
  revertAfterMs?: number;
}

/**
 * A step that calls your function: clear a cache, drop idle WebSocket connections, warm a cache. It receives the
 * {@link ActionContext} (honour `context.signal`); throwing or rejecting counts as a failed step.
 *
 * @example
 * ```ts
 * const clearCaches = runFunction(async () => { cache.clear(); return { detail: 'cleared the LRU' }; }, { name: 'clear caches' });
 * ```
 */
export function runFunction(
  fn: (context: ActionContext) => Promise<ActionOutcome | void> | ActionOutcome | void,
  options: RunFunctionOptions,
): HealingAction {
  if (typeof fn !== 'function') throw new HealingError('ARGUMENT_INVALID', 'runFunction: fn must be a function');
  if (typeof options?.name !== 'string' || options.name === '')
    throw new HealingError('ARGUMENT_INVALID', 'runFunction: options.name must be a non-empty string');
  const { name, revert, revertAfterMs } = options;
  return {
    kind: 'function',
    name,
    async run(context) {
      return (await fn(context)) ?? undefined;
    },
    ...(revert === undefined ? {} : { revert: async (context: ActionContext) => (await revert(context)) ?? undefined }),
    ...(revertAfterMs === undefined ? {} : { revertAfterMs }),
  };
}
