import { parseOptionalDuration, type Duration } from '@ops/core';
import { HealingError } from '../errors.js';
import type { HealingAction } from './action.js';
import type { FlagValue, Flags } from './flags.js';

/** Options of {@link setFlag}. */
export interface SetFlagOptions {
  /**
   * Put the previous value back after this long (the engine calls `revert`). Without it, the engine reverts when
   * the episode ends.
   */
  revertAfter?: Duration;
  /** Step name. Default `set <flag>=<value>`. */
  name?: string;
}

/**
 * A step that flips a runtime flag the application reads (`rate-limiting` on, `read-only` on), with automatic
 * revert: `revert` restores the value the flag had before the step, after `revertAfter` or at the end of the
 * episode. Several episodes may hold the flag at once; the original value comes back when the last one reverts.
 *
 * @example
 * ```ts
 * const flags = createFlags({ initial: { 'read-only': false } });
 * steps: [resetPgPool(pools), setFlag(flags, 'read-only', true, { revertAfter: '15m' }), escalate(sink)]
 * ```
 */
export function setFlag(flags: Flags, flag: string, value: FlagValue, options: SetFlagOptions = {}): HealingAction {
  if (typeof flags?.set !== 'function' || typeof flags.get !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'setFlag: flags must come from createFlags()');
  if (typeof flag !== 'string' || flag === '')
    throw new HealingError('ARGUMENT_INVALID', 'setFlag: the flag name must be a non-empty string');
  const revertAfterMs = parseOptionalDuration(options.revertAfter, 'revertAfter');
  const { name = `set ${flag}=${String(value)}` } = options;
  // Episodes holding the flag, and the value it had before the first of them.
  const holders = new Set<string>();
  let original: { value: FlagValue | undefined } | undefined;
  return {
    kind: 'set-flag',
    name,
    ...(revertAfterMs === undefined ? {} : { revertAfterMs }),
    async run(context) {
      const previous = flags.get(flag);
      if (holders.size === 0) original = { value: previous };
      holders.add(context.episodeId);
      flags.set(flag, value);
      return {
        detail: `${flag}: ${String(previous)} → ${String(value)}`,
        data: { flag, value, previous: previous ?? null },
      };
    },
    async revert(context) {
      if (!holders.delete(context.episodeId)) return { skipped: `${flag} was not set by episode ${context.episodeId}` };
      if (holders.size > 0) return { detail: `${flag} stays ${String(value)}: ${holders.size} episode(s) hold it` };
      const restore = original?.value;
      original = undefined;
      if (restore === undefined) flags.unset(flag);
      else flags.set(flag, restore);
      return { detail: `${flag}: ${String(value)} → ${String(restore)}`, data: { flag, value: restore ?? null } };
    },
  };
}
