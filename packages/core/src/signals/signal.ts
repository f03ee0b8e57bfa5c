/**
 * Something that yields a number now: process CPU, RSS, event-loop delay, disk used ratio, a prom-client metric,
 * a Prometheus instant query, or any function. Sustained conditions and monitors sample signals.
 *
 * A read that cannot produce a value throws (an `OpsError` with code `SIGNAL_UNAVAILABLE` for the built-in
 * signals); it never returns a made-up number.
 *
 * @example
 * ```ts
 * const queueDepth: Signal = { name: 'queue_depth', read: () => queue.length };
 * ```
 */
export interface Signal {
  /** Stable name used in logs and transitions, e.g. `'process_cpu_ratio'`. */
  name: string;
  /** Unit of the value, e.g. `'ratio'`, `'bytes'`, `'ms'`. */
  unit?: string;
  /** Reads the current value. `abortSignal` cancels slow reads (network queries). */
  read(abortSignal?: AbortSignal): Promise<number> | number;
}
