import { CapacityError } from '../errors.js';
import { countReadyPods, groupPods, sampleValue, type HpaPod, type PodSample } from './pods.js';
import { intDivide, toMilli } from './quantity.js';
import { isWithinTolerance, type Tolerances } from './tolerances.js';

/**
 * A metric the HPA scales on, with its current readings. Values are in the metric's own units (cores, bytes,
 * requests per second); the calculator compares them in integer milli-units as Kubernetes does.
 *
 * - `resource` + `averageUtilization`: per-pod usage against per-pod requests, in percent (HPA `Resource`
 *   `Utilization` target). `name: 'cpu'` turns on the CPU start-up rules.
 * - `resource` + `averageValue`, and `pods`: the average per-pod value against a target (`AverageValue`).
 * - `object` / `external` + `value`: one value against a target, scaled by the ready pods (`Value`).
 * - `object` / `external` + `averageValue`: one value divided by the target gives the replica count (`AverageValue`).
 *
 * Readings left out (`usage`, `values`, `value` undefined), or `unavailable` set, make the metric invalid: the
 * decision may still scale up on the other metrics, never down.
 */
export type HpaMetric =
  | {
      type: 'resource';
      /** Resource name, e.g. `'cpu'` or `'memory'`. */
      name: string;
      target: { averageUtilization: number } | { averageValue: number };
      /** Requests per pod (sum over containers), in the resource's unit; needed for `averageUtilization`. */
      requests?: Readonly<Record<string, number>>;
      /** Usage per pod name. */
      usage?: Readonly<Record<string, PodSample>>;
      /** Why the readings could not be fetched. */
      unavailable?: string;
    }
  | {
      type: 'pods';
      name: string;
      target: { averageValue: number };
      /** Value per pod name. */
      values?: Readonly<Record<string, PodSample>>;
      unavailable?: string;
    }
  | {
      type: 'object' | 'external';
      name: string;
      target: { value: number } | { averageValue: number };
      /** The object's value, or the sum of the external series. */
      value?: number;
      unavailable?: string;
    };

/** What every metric calculation shares. */
export interface ReplicaCalculationContext {
  /** Current replica count (`scale.status.replicas`). */
  currentReplicas: number;
  /** The pods behind the scale target. */
  pods: readonly HpaPod[];
  /** Decision time (epoch ms). */
  nowMs: number;
  tolerances: Tolerances;
  cpuInitializationPeriodMs: number;
  initialReadinessDelayMs: number;
}

/** The replica count one metric asks for, with the readings it was computed from. */
export type MetricProposal =
  | {
      ok: true;
      /** `type/name`, e.g. `'resource/cpu'`, `'pods/qps'`. */
      metric: string;
      replicas: number;
      /** usage ÷ target before missing/unready pods are accounted for. */
      usageRatio: number;
      /** Current average utilization in percent (utilization targets). */
      averageUtilization?: number;
      /** Current average per pod (averageValue targets; resource utilization targets too), in the metric's unit. */
      averageValue?: number;
      /** Current value (object/external `value` targets). */
      value?: number;
      readyPodCount: number;
      unreadyPods: string[];
      missingPods: string[];
      ignoredPods: string[];
    }
  | { ok: false; metric: string; error: string };

/** Computes the replica count one metric proposes, exactly as the Kubernetes replica calculator does. */
export function calculateMetricReplicas(metric: HpaMetric, context: ReplicaCalculationContext): MetricProposal {
  const id = `${metric.type}/${metric.name}`;
  try {
    if (metric.unavailable !== undefined) throw new CapacityError('METRIC_UNAVAILABLE', metric.unavailable);
    switch (metric.type) {
      case 'resource':
        if ('averageUtilization' in metric.target)
          return resourceUtilizationReplicas(id, metric, metric.target.averageUtilization, context);
        if (metric.usage === undefined) throw unavailable(metric.name);
        return plainMetricReplicas(
          id,
          metric.usage,
          toMilli(metric.target.averageValue),
          metric.name === 'cpu',
          context,
        );
      case 'pods':
        if (metric.values === undefined) throw unavailable(metric.name);
        return plainMetricReplicas(id, metric.values, toMilli(metric.target.averageValue), false, context);
      case 'object':
      case 'external':
        if (metric.value === undefined || !Number.isFinite(metric.value)) throw unavailable(metric.name);
        return singleValueReplicas(id, metric.value, metric.target, context);
    }
  } catch (error) {
    return { ok: false, metric: id, error: error instanceof Error ? error.message : String(error) };
  }
}

function unavailable(name: string): CapacityError {
  return new CapacityError('METRIC_UNAVAILABLE', `unable to get metric ${name}: no readings`);
}

function toMilliMap(samples: Readonly<Record<string, PodSample>>): {
  samples: Map<string, PodSample>;
  milli: Map<string, number>;
} {
  const sampleMap = new Map<string, PodSample>();
  const milli = new Map<string, number>();
  for (const [name, sample] of Object.entries(samples)) {
    const value = sampleValue(sample);
    if (!Number.isFinite(value)) continue; // a NaN reading is no reading
    sampleMap.set(name, sample);
    milli.set(name, toMilli(value));
  }
  return { samples: sampleMap, milli };
}

interface Grouped {
  milli: Map<string, number>;
  readyPodCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

function group(
  samples: Readonly<Record<string, PodSample>>,
  cpu: boolean,
  context: ReplicaCalculationContext,
): Grouped {
  if (context.pods.length === 0)
    throw new CapacityError('METRIC_UNAVAILABLE', 'no pods returned by selector while calculating replica count');
  const { samples: sampleMap, milli } = toMilliMap(samples);
  const groups = groupPods(context.pods, sampleMap, {
    cpu,
    nowMs: context.nowMs,
    cpuInitializationPeriodMs: context.cpuInitializationPeriodMs,
    initialReadinessDelayMs: context.initialReadinessDelayMs,
  });
  for (const name of groups.ignored) milli.delete(name);
  for (const name of groups.unready) milli.delete(name);
  return { milli, ...groups };
}

/** The calculator's shared second pass: missing pods count against the move, unready pods count as 0 on a scale-up. */
function rebalance(
  grouped: Grouped,
  usageRatio: number,
  ratioOf: (metrics: Map<string, number>) => number,
  missingValue: (pod: string) => number,
  context: ReplicaCalculationContext,
): number {
  const { milli, readyPodCount, unready, missing } = grouped;
  const scaleUpWithUnready = unready.size > 0 && usageRatio > 1;
  if (!scaleUpWithUnready && missing.size === 0) {
    if (isWithinTolerance(usageRatio, context.tolerances)) return context.currentReplicas;
    return Math.ceil(usageRatio * readyPodCount);
  }
  if (missing.size > 0) {
    // Scale-down: a pod we cannot see may be busy, so it counts as using (at least) the target; scale-up: as idle.
    if (usageRatio < 1) for (const name of missing) milli.set(name, missingValue(name));
    else if (usageRatio > 1) for (const name of missing) milli.set(name, 0);
  }
  if (scaleUpWithUnready) for (const name of unready) milli.set(name, 0);
  const newUsageRatio = ratioOf(milli);
  if (
    isWithinTolerance(newUsageRatio, context.tolerances) ||
    (usageRatio < 1 && newUsageRatio > 1) ||
    (usageRatio > 1 && newUsageRatio < 1)
  ) {
    return context.currentReplicas;
  }
  const replicas = Math.ceil(newUsageRatio * milli.size);
  if (
    (newUsageRatio < 1 && replicas > context.currentReplicas) ||
    (newUsageRatio > 1 && replicas < context.currentReplicas)
  )
    return context.currentReplicas;
  return replicas;
}

function resourceUtilizationReplicas(
  id: string,
  metric: Extract<HpaMetric, { type: 'resource' }>,
  targetUtilization: number,
  context: ReplicaCalculationContext,
): MetricProposal {
  if (metric.usage === undefined) throw unavailable(metric.name);
  if (Object.keys(metric.usage).length === 0) {
    throw new CapacityError(
      'METRIC_UNAVAILABLE',
      `unable to get metrics for resource ${metric.name}: no metrics returned from resource metrics API`,
    );
  }
  const grouped = group(metric.usage, metric.name === 'cpu', context);
  const requests = new Map<string, number>();
  for (const pod of context.pods) {
    const request = metric.requests?.[pod.name];
    if (request === undefined)
      throw new CapacityError('METRIC_UNAVAILABLE', `missing request for ${metric.name} in pod ${pod.name}`);
    requests.set(pod.name, toMilli(request));
  }
  if (grouped.milli.size === 0)
    throw new CapacityError('METRIC_UNAVAILABLE', 'did not receive metrics for targeted pods (pods might be unready)');
  const utilizationOf = (metrics: Map<string, number>) => {
    let usageTotal = 0;
    let requestTotal = 0;
    let entities = 0;
    for (const [name, value] of metrics) {
      const request = requests.get(name);
      if (request === undefined) continue; // a sample of a pod we do not manage
      usageTotal += value;
      requestTotal += request;
      entities++;
    }
    if (requestTotal === 0) throw new CapacityError('METRIC_UNAVAILABLE', `no metrics returned matched known pods`);
    const utilization = intDivide(usageTotal * 100, requestTotal);
    return { ratio: utilization / targetUtilization, utilization, rawAverage: intDivide(usageTotal, entities) };
  };
  const first = utilizationOf(grouped.milli);
  const fallbackPercent = Math.max(100, targetUtilization);
  const replicas = rebalance(
    grouped,
    first.ratio,
    (metrics) => utilizationOf(metrics).ratio,
    (name) => intDivide((requests.get(name) as number) * fallbackPercent, 100),
    context,
  );
  return {
    ok: true,
    metric: id,
    replicas,
    usageRatio: first.ratio,
    averageUtilization: first.utilization,
    averageValue: first.rawAverage / 1000,
    ...podLists(grouped),
  };
}

function plainMetricReplicas(
  id: string,
  samples: Readonly<Record<string, PodSample>>,
  targetMilli: number,
  cpu: boolean,
  context: ReplicaCalculationContext,
): MetricProposal {
  const grouped = group(samples, cpu, context);
  if (grouped.milli.size === 0)
    throw new CapacityError('METRIC_UNAVAILABLE', 'did not receive metrics for targeted pods (pods might be unready)');
  const averageOf = (metrics: Map<string, number>) => {
    let total = 0;
    for (const value of metrics.values()) total += value;
    const average = intDivide(total, metrics.size);
    return { ratio: average / targetMilli, average };
  };
  const first = averageOf(grouped.milli);
  const replicas = rebalance(
    grouped,
    first.ratio,
    (metrics) => averageOf(metrics).ratio,
    () => targetMilli,
    context,
  );
  return {
    ok: true,
    metric: id,
    replicas,
    usageRatio: first.ratio,
    averageValue: first.average / 1000,
    ...podLists(grouped),
  };
}

function singleValueReplicas(
  id: string,
  value: number,
  target: { value: number } | { averageValue: number },
  context: ReplicaCalculationContext,
): MetricProposal {
  const usage = toMilli(value);
  const current = context.currentReplicas;
  const empty = { readyPodCount: countReadyPods(context.pods), unreadyPods: [], missingPods: [], ignoredPods: [] };
  if ('value' in target) {
    const usageRatio = usage / toMilli(target.value);
    let replicas: number;
    if (current === 0) replicas = Math.ceil(usageRatio);
    else if (isWithinTolerance(usageRatio, context.tolerances)) replicas = current;
    else replicas = Math.ceil(usageRatio * empty.readyPodCount);
    return { ok: true, metric: id, replicas, usageRatio, value: usage / 1000, ...empty };
  }
  const targetMilli = toMilli(target.averageValue);
  const usageRatio = usage / (targetMilli * current);
  const replicas = isWithinTolerance(usageRatio, context.tolerances) ? current : Math.ceil(usage / targetMilli);
  return { ok: true, metric: id, replicas, usageRatio, averageValue: Math.ceil(usage / current) / 1000, ...empty };
}

function podLists(grouped: Grouped) {
  return {
    readyPodCount: grouped.readyPodCount,
    unreadyPods: [...grouped.unready],
    missingPods: [...grouped.missing],
    ignoredPods: [...grouped.ignored],
  };
}
