import { createRequire } from 'node:module';
import type { RegistryLike } from '@ops/core';
// Types only, for the implementation: the public declarations name core's structural RegistryLike instead, so a
// user without prom-client installed never resolves it.
import type { Counter, Gauge, Registry } from 'prom-client';
import type { Exhaustion } from '../planning/exhaustion.js';

/** Options of {@link createCapacityMetrics}. */
export interface CapacityMetricsOptions {
  /** The application's prom-client `Registry` (prom-client is an optional peer dependency: one copy, shared). */
  registry: RegistryLike;
  /** Metric name prefix. Default `'ops_capacity_'`. */
  prefix?: string;
}

/** What a scaler's `decision.made` event carries that the metrics read (HPA autoscaler and band scaler alike). */
export interface ScalingDecisionLike {
  currentReplicas: number;
  desiredReplicas: number;
  proposedReplicas?: number | undefined;
}

/** Something that emits decisions: `createHpaAutoscaler()` or `createBandScaler()`. */
export interface DecisionSource {
  on(name: 'decision.made', listener: (event: { at: number; decision: ScalingDecisionLike }) => unknown): () => void;
}

/** The handle of the capacity metrics. */
export interface CapacityMetrics {
  /** Records one scaling decision of `scaler`. */
  recordDecision(scaler: string, decision: ScalingDecisionLike): void;
  /** Follows a scaler's decisions; returns the unsubscribe. */
  track(scaler: string, source: DecisionSource): () => void;
  /** Records a time to exhaustion of `resource` (seconds left; +Inf when not growing; 0 when exhausted). */
  recordExhaustion(resource: string, exhaustion: Exhaustion): void;
  /** Unregisters every metric of this handle. */
  remove(): void;
}

interface PromClientModule {
  Gauge: typeof Gauge;
  Counter: typeof Counter;
}

/**
 * Registers the capacity metrics on `options.registry`:
 * - `ops_capacity_current_replicas{scaler}`, `ops_capacity_desired_replicas{scaler}`,
 *   `ops_capacity_proposed_replicas{scaler}` gauges (the proposal before stabilization and limits);
 * - `ops_capacity_scale_recommendations_total{scaler,direction}` counter (`up`/`down`) — the flap rate to alert on;
 * - `ops_capacity_exhaustion_seconds{resource}` (expected, +Inf when not growing) and
 *   `ops_capacity_exhaustion_earliest_seconds{resource}` gauges, and `ops_capacity_used_ratio{resource}`.
 *
 * @example
 * ```ts
 * const metrics = createCapacityMetrics({ registry });
 * metrics.track('api', hpa);
 * metrics.recordExhaustion('orders-db', timeToExhaustion(dbSize, { capacity: 10e9 }));
 * ```
 */
export function createCapacityMetrics(options: CapacityMetricsOptions): CapacityMetrics {
  const { registry, prefix = 'ops_capacity_' } = options;
  const promClient = createRequire(import.meta.url)('prom-client') as PromClientModule;
  const registers = [registry as Registry];
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new promClient.Gauge({ name: `${prefix}${name}`, help, labelNames, registers });
  const current = gauge('current_replicas', 'Replica count the last scaling decision started from.', ['scaler']);
  const desired = gauge('desired_replicas', 'Replica count of the last scaling decision.', ['scaler']);
  const proposed = gauge(
    'proposed_replicas',
    'Largest metric proposal of the last decision, before stabilization and limits.',
    ['scaler'],
  );
  const recommendations = new promClient.Counter({
    name: `${prefix}scale_recommendations_total`,
    help: 'Scaling decisions that change the replica count, by direction.',
    labelNames: ['scaler', 'direction'],
    registers,
  });
  const exhaustionSeconds = gauge(
    'exhaustion_seconds',
    'Expected seconds until the resource reaches its capacity (+Inf when not growing).',
    ['resource'],
  );
  const earliestSeconds = gauge(
    'exhaustion_earliest_seconds',
    'Earliest plausible seconds until capacity (the band), +Inf when none.',
    ['resource'],
  );
  const usedRatio = gauge('used_ratio', 'Current use of the resource over its capacity.', ['resource']);
  const metrics: CapacityMetrics = {
    recordDecision(scaler, decision) {
      current.set({ scaler }, decision.currentReplicas);
      desired.set({ scaler }, decision.desiredReplicas);
      if (decision.proposedReplicas !== undefined) proposed.set({ scaler }, decision.proposedReplicas);
      if (decision.desiredReplicas !== decision.currentReplicas)
        recommendations.inc({ scaler, direction: decision.desiredReplicas > decision.currentReplicas ? 'up' : 'down' });
    },
    track(scaler, source) {
      return source.on('decision.made', (event) => metrics.recordDecision(scaler, event.decision));
    },
    recordExhaustion(resource, exhaustion) {
      const seconds = (ms: number | null) => (ms === null ? Number.POSITIVE_INFINITY : Math.max(0, ms) / 1000);
      exhaustionSeconds.set({ resource }, exhaustion.status === 'exhausted' ? 0 : seconds(exhaustion.remainingMs));
      const now =
        exhaustion.atMs !== null && exhaustion.remainingMs !== null
          ? exhaustion.atMs - exhaustion.remainingMs
          : undefined;
      earliestSeconds.set(
        { resource },
        exhaustion.earliestMs === null || now === undefined
          ? exhaustion.status === 'exhausted'
            ? 0
            : Number.POSITIVE_INFINITY
          : seconds(exhaustion.earliestMs - now),
      );
      usedRatio.set({ resource }, exhaustion.usedRatio);
    },
    remove() {
      for (const name of [
        'current_replicas',
        'desired_replicas',
        'proposed_replicas',
        'scale_recommendations_total',
        'exhaustion_seconds',
        'exhaustion_earliest_seconds',
        'used_ratio',
      ]) {
        (registry as Registry).removeSingleMetric(`${prefix}${name}`);
      }
    },
  };
  return metrics;
}
