import { createRequire } from 'node:module';
import type { CheckStatus, RegistryLike } from '@ops/core';
// Types only, for the implementation: the public declarations name core's structural RegistryLike instead, so a
// user without prom-client installed never resolves it.
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CHECK_STATUSES } from '../registry/aggregate.js';
import type { CapturedResult } from '../registry/types.js';

/** Options of the metrics a health registers on a prom-client registry. */
export interface HealthMetricsOptions {
  /** The application's prom-client `Registry` (prom-client is a peer dependency: one copy, shared). */
  registry: RegistryLike;
  /** Metric name prefix. Default `'ops_health_'`. */
  prefix?: string;
  /** Buckets of the duration histogram, in seconds. */
  durationBuckets?: readonly number[];
}

/** The handle of the health metrics: updated from captured results (a scrape never runs a check). */
export interface HealthMetrics {
  /** Records one run of check `name`; `previous` is its status before the run (`undefined` for the first). */
  record(name: string, result: CapturedResult, previous: CheckStatus | undefined): void;
  /** Sets `ops_health_shutting_down`. */
  setShuttingDown(value: boolean): void;
  /** Unregisters every metric of this handle from the registry (the names can be registered again). */
  remove(): void;
}

interface PromClientModule {
  Gauge: typeof Gauge;
  Histogram: typeof Histogram;
  Counter: typeof Counter;
}

function loadPromClient(): PromClientModule {
  // prom-client is an optional peer: load it only when the user passes a registry. `createRequire` works in both
  // builds (tsup shims import.meta.url in CJS); a bare `require` would become a throwing shim in the ESM build.
  return createRequire(import.meta.url)('prom-client') as PromClientModule;
}

/**
 * Registers the health metrics on `options.registry`:
 * - `ops_health_check_status{check,status}` gauge: 1 for the check's current status, 0 for the others;
 * - `ops_health_check_duration_seconds{check}` histogram of run durations;
 * - `ops_health_check_transitions_total{check,from,to}` counter of status changes;
 * - `ops_health_shutting_down` gauge: 1 once graceful shutdown started.
 *
 * `createHealth({ registry })` does this for you; call it directly to feed the metrics yourself.
 *
 * @example
 * ```ts
 * const metrics = createHealthMetrics({ registry });
 * metrics.record('db', capturedResult, previousStatus);
 * metrics.remove(); // unregisters the ops_health_* metrics again
 * ```
 */
export function createHealthMetrics(options: HealthMetricsOptions): HealthMetrics {
  const {
    registry,
    prefix = 'ops_health_',
    durationBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  } = options;
  const promClient = loadPromClient();
  // prom-client's own Registry in practice; its metric constructors only call registerMetric on it.
  const registers = [registry as Registry];
  const status = new promClient.Gauge({
    name: `${prefix}check_status`,
    help: 'Current status of each health check (1 for the current status, 0 otherwise), from cached results.',
    labelNames: ['check', 'status'],
    registers,
  });
  const duration = new promClient.Histogram({
    name: `${prefix}check_duration_seconds`,
    help: 'Duration of health check runs.',
    labelNames: ['check'],
    buckets: [...durationBuckets],
    registers,
  });
  const transitions = new promClient.Counter({
    name: `${prefix}check_transitions_total`,
    help: 'Status changes of health checks.',
    labelNames: ['check', 'from', 'to'],
    registers,
  });
  const shuttingDown = new promClient.Gauge({
    name: `${prefix}shutting_down`,
    help: '1 once graceful shutdown has started.',
    registers,
  });
  shuttingDown.set(0);
  const registered = new Map<string, object>([
    [`${prefix}check_status`, status],
    [`${prefix}check_duration_seconds`, duration],
    [`${prefix}check_transitions_total`, transitions],
    [`${prefix}shutting_down`, shuttingDown],
  ]);
  return {
    record(name, result, previous) {
      for (const candidate of CHECK_STATUSES)
        status.set({ check: name, status: candidate }, Number(candidate === result.status));
      duration.observe({ check: name }, result.durationMs / 1000);
      if (previous !== undefined && previous !== result.status)
        transitions.inc({ check: name, from: previous, to: result.status });
    },
    setShuttingDown(value) {
      shuttingDown.set(Number(value));
    },
    remove() {
      // Only our own instances: a metric registered under the same name later by someone else stays.
      for (const [name, metric] of registered)
        if (registry.getSingleMetric(name) === metric) registry.removeSingleMetric(name);
    },
  };
}
