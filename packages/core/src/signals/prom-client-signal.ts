import { OpsError } from '../errors/ops-error.js';
import { aggregateValues, type SignalAggregation } from './aggregate.js';
import type { Signal } from './signal.js';

/** The part of a prom-client `Registry` this signal uses (structural, so prom-client stays an optional peer). */
export interface MetricRegistryLike {
  getSingleMetric(name: string):
    | {
        get():
          | Promise<{
              values: ReadonlyArray<{
                value: number;
                labels: Record<string, string | number | undefined>;
                metricName?: string;
              }>;
            }>
          | {
              values: ReadonlyArray<{
                value: number;
                labels: Record<string, string | number | undefined>;
                metricName?: string;
              }>;
            };
      }
    | undefined;
}

/** Options of {@link createPromClientSignal}. */
export interface PromClientSignalOptions {
  /** The prom-client `Registry` the metric is registered on (e.g. `register` or your own). */
  registry: MetricRegistryLike;
  /** Metric name as registered, e.g. `'http_requests_total'`. */
  metric: string;
  /** Label values the series must have (a subset match), e.g. `{ route: '/api', code: '500' }`. */
  labels?: Record<string, string | number>;
  /**
   * For histograms and summaries: which sample series to read, e.g. `'http_request_duration_seconds_count'` or
   * `'..._sum'` (a summary's quantiles are the metric's own name with a `quantile` label). Default: the metric name.
   */
  series?: string;
  /** How several matching series combine. Default `'sum'`. */
  aggregate?: SignalAggregation;
  /** Signal name. Default the metric name. */
  name?: string;
}

/**
 * The current value of a prom-client metric in the user's registry, read with `registry.getSingleMetric(name).get()`,
 * filtered by labels and aggregated. A missing metric or no matching series throws `SIGNAL_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const inFlight = createPromClientSignal({ registry, metric: 'http_requests_in_flight', labels: { route: '/api' } });
 * ```
 */
export function createPromClientSignal(options: PromClientSignalOptions): Signal {
  const { registry, metric, labels = {}, series = metric, aggregate = 'sum', name = metric } = options;
  if (typeof metric !== 'string' || metric === '')
    throw new OpsError('ARGUMENT_INVALID', 'metric: expected a non-empty metric name');
  const wanted = Object.entries(labels).map(([key, value]) => [key, String(value)] as const);
  const describe = `${name}: ${metric}${wanted.length ? `{${wanted.map(([key, value]) => `${key}="${value}"`).join(',')}}` : ''}`;
  return {
    name,
    async read() {
      const found = registry.getSingleMetric(metric);
      if (!found)
        throw new OpsError('SIGNAL_UNAVAILABLE', `${name}: metric ${metric} is not registered in the registry`);
      const snapshot = await found.get();
      const values = snapshot.values
        .filter((sample) => (sample.metricName ?? metric) === series)
        .filter((sample) =>
          wanted.every(([key, value]) => sample.labels[key] !== undefined && String(sample.labels[key]) === value),
        )
        .map((sample) => sample.value);
      return aggregateValues(values, aggregate, describe);
    },
  };
}
