import type { EventSource, RegistryLike } from '@ops/core';
import { HealingError } from '../errors.js';
import type { HealerEvents } from '../engine/healer-events.js';

/** Options of {@link createHealingMetrics}. */
export interface HealingMetricsOptions {
  /** Your prom-client `Registry` (typed structurally: prom-client stays an optional peer). */
  registry: RegistryLike;
  /** The healer whose events are counted. */
  healer: EventSource<HealerEvents>;
}

/** A handle on the registered metrics. */
export interface HealingMetrics {
  /** Unsubscribes from the healer and removes the metrics from the registry. */
  remove(): void;
}

/** Names of the metrics {@link createHealingMetrics} registers. */
export const HEALING_METRIC_NAMES = {
  actions: 'ops_healing_actions_total',
  episodes: 'ops_healing_episodes_total',
  escalations: 'ops_healing_escalations_total',
  budgetDenials: 'ops_healing_budget_denials_total',
  skips: 'ops_healing_skips_total',
  verifies: 'ops_healing_verifies_total',
  storeErrors: 'ops_healing_store_errors_total',
} as const;

interface MetricValue {
  value: number;
  labels: Record<string, string>;
}

/** Counts per label set, kept in process and read by the registry when it collects. */
class LabelledCounter {
  readonly #values = new Map<string, MetricValue>();
  inc(labels: Record<string, string>): void {
    const key = JSON.stringify(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value++;
    else this.#values.set(key, { labels, value: 1 });
  }
  values(): MetricValue[] {
    return [...this.#values.values()].map((entry) => ({ labels: { ...entry.labels }, value: entry.value }));
  }
}

function collectedCounter(name: string, help: string, counter: LabelledCounter) {
  const metric = {
    name,
    help,
    type: 'counter' as const,
    aggregator: 'sum' as const,
    // `metric.name`: for OpenMetrics the registry renames counters (drops `_total`) before collecting.
    get: async () => ({
      name: metric.name,
      help,
      type: 'counter' as const,
      aggregator: 'sum' as const,
      values: counter.values(),
    }),
    reset: () => undefined,
  };
  return metric;
}

/**
 * Registers the `ops_healing_*` counters of a healer on a prom-client registry: actions by rule and result
 * (`ok`, `failed`, `timed-out`, `skipped`, `would-run`), episodes opened, escalations by reason, budget denials,
 * skips by reason, verifies by outcome, and state-store errors. Values are counted from the healer's events and
 * read when the registry collects; prom-client is only needed as the registry you pass.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * const metrics = createHealingMetrics({ registry, healer });
 * // on shutdown
 * metrics.remove();
 * ```
 */
export function createHealingMetrics(options: HealingMetricsOptions): HealingMetrics {
  const { registry, healer } = options;
  if (!registry || typeof registry.registerMetric !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'createHealingMetrics: registry must be a prom-client Registry');
  if (!healer || typeof healer.on !== 'function')
    throw new HealingError('ARGUMENT_INVALID', 'createHealingMetrics: healer must be made by createHealer');
  const counters = {
    actions: new LabelledCounter(),
    episodes: new LabelledCounter(),
    escalations: new LabelledCounter(),
    budgetDenials: new LabelledCounter(),
    skips: new LabelledCounter(),
    verifies: new LabelledCounter(),
    storeErrors: new LabelledCounter(),
  };
  const help: Record<keyof typeof counters, string> = {
    actions: 'Healing actions run (or would run, in dry-run), by rule and result.',
    episodes: 'Healing episodes opened, by rule.',
    escalations: 'Healing episodes escalated to a human, by rule and reason.',
    budgetDenials: 'Actions refused by the fleet disruption budget, by rule.',
    skips: 'Firing conditions not acted on, by rule and reason (counted when the reason changes).',
    verifies: 'Step verifications, by rule and outcome.',
    storeErrors: 'Failed state-store calls, by operation.',
  };
  const unsubscribe = [
    healer.on('step.completed', (event) => counters.actions.inc({ rule: event.rule, result: event.result })),
    healer.on('episode.opened', (event) => counters.episodes.inc({ rule: event.rule })),
    healer.on('episode.escalated', (event) => counters.escalations.inc({ rule: event.rule, reason: event.reason })),
    healer.on('action.skipped', (event) => {
      counters.skips.inc({ rule: event.rule, reason: event.reason });
      if (event.reason === 'budget-exhausted') counters.budgetDenials.inc({ rule: event.rule });
    }),
    healer.on('verify.completed', (event) =>
      counters.verifies.inc({ rule: event.rule, outcome: event.passed ? 'passed' : 'failed' }),
    ),
    healer.on('store.failed', (event) => counters.storeErrors.inc({ operation: event.operation })),
  ];
  const names: string[] = [];
  for (const key of Object.keys(counters) as (keyof typeof counters)[]) {
    const name = HEALING_METRIC_NAMES[key];
    registry.registerMetric(collectedCounter(name, help[key], counters[key]));
    names.push(name);
  }
  let removed = false;
  return {
    remove() {
      if (removed) return;
      removed = true;
      for (const stop of unsubscribe) stop();
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}
