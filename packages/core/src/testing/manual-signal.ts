import { OpsError } from '../errors/ops-error.js';
import type { Signal } from '../signals/signal.js';

/** A {@link Signal} whose value a test sets by hand. */
export interface ManualSignal extends Signal {
  /** Sets the value returned by the next reads (and clears a failure). */
  set(value: number): void;
  /** Makes the next reads throw `error` (default: an `OpsError` `SIGNAL_UNAVAILABLE`). */
  fail(error?: Error): void;
  /** How many times `read()` was called. */
  readonly reads: number;
}

/**
 * Creates a {@link ManualSignal}: drive sustained conditions and monitors from a test without real CPU, disk or
 * Prometheus.
 *
 * @example
 * ```ts
 * const cpu = createManualSignal({ name: 'cpu', value: 0.2 });
 * const monitor = createSustainedMonitor({ signal: cpu, when: (v) => v > 0.85, for: '1m', every: '15s', clock });
 * cpu.set(0.95);
 * ```
 */
export function createManualSignal(options: { name?: string; unit?: string; value?: number } = {}): ManualSignal {
  const { name = 'manual', unit } = options;
  let value = options.value;
  let failure: Error | undefined;
  let reads = 0;
  return {
    name,
    ...(unit === undefined ? {} : { unit }),
    get reads() {
      return reads;
    },
    read() {
      reads++;
      if (failure) throw failure;
      if (value === undefined) throw new OpsError('SIGNAL_UNAVAILABLE', `${name}: no value set`);
      return value;
    },
    set(next) {
      value = next;
      failure = undefined;
    },
    fail(error = new OpsError('SIGNAL_UNAVAILABLE', `${name}: failing on purpose`)) {
      failure = error;
    },
  };
}
