import { parseOptionalDuration, systemClock, type Check, type Clock, type Duration } from '@ops/core';
import { HealingError } from '../errors.js';
import type { Healer } from './healer.js';

/** Options of {@link healerProbe}. */
export interface HealerProbeOptions {
  /** The healer to watch. */
  healer: Pick<Healer, 'heartbeat'>;
  /** A last tick older than this fails the check. Default 3 × the healer's `every`. */
  staleAfter?: Duration;
  /** Source of time. Default the system clock (pass the healer's clock in tests). */
  clock?: Clock;
}

/**
 * The healer's own health as a core `Check` (docker-autoheal's users asked for it: a healer that silently stops is
 * worse than none): `fail` when its loop is stopped or has not ticked for `staleAfter`, `warn` when it cannot reach
 * its state store (it is not acting, on purpose), `pass` otherwise. Register it with @ops/health.
 *
 * @example
 * ```ts
 * health.register('healer', healerProbe({ healer }));
 * ```
 */
export function healerProbe(options: HealerProbeOptions): Check {
  const { healer, clock = systemClock } = options;
  if (!healer || typeof healer !== 'object' || !('heartbeat' in healer))
    throw new HealingError('ARGUMENT_INVALID', 'healerProbe: healer must be made by createHealer');
  const staleAfterMs = parseOptionalDuration(options.staleAfter, 'staleAfter');
  return async () => {
    const beat = healer.heartbeat;
    const limit = staleAfterMs ?? 3 * beat.everyMs;
    if (!beat.running) return { status: 'fail', output: 'the healer is not running' };
    const age = beat.lastTickAt === undefined ? undefined : clock.now() - beat.lastTickAt;
    if (age !== undefined && age > limit)
      return {
        status: 'fail',
        output: `no evaluation for ${age} ms (limit ${limit} ms)`,
        observed: age,
        observedUnit: 'ms',
      };
    if (!beat.storeAvailable) return { status: 'warn', output: 'state store unavailable: not acting (fail safe)' };
    return { status: 'pass', ...(age === undefined ? {} : { observed: age, observedUnit: 'ms' }) };
  };
}
