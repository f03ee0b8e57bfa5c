import type { MetricRegistryLike } from '../signals/prom-client-signal.js';

/**
 * The part of a prom-client `Registry` the `@ops` engines use to register, look up and remove their `ops_*`
 * metrics. Structural, so prom-client stays an optional peer: a user who does not install it never needs its
 * types, and a user who does passes their `Registry` (or prom-client's default `register`) as it is.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * const registry: RegistryLike = new Registry();
 * ```
 */
export interface RegistryLike extends MetricRegistryLike {
  /** Adds a metric (prom-client's metric constructors call it for each of their `registers`). */
  registerMetric(metric: unknown): void;
  /** Removes the metric registered under `name`. */
  removeSingleMetric(name: string): void;
}
