import { OpsError } from '../errors/ops-error.js';
import type { PrometheusClient } from '../prometheus/prometheus-client.js';
import { aggregateValues, type SignalAggregation } from './aggregate.js';
import type { Signal } from './signal.js';

/** Options of {@link createPrometheusQuerySignal}. */
export interface PrometheusQuerySignalOptions {
  /** A client from {@link createPrometheusClient}. */
  client: PrometheusClient;
  /** PromQL evaluated at each read (instant query at the server's now). */
  query: string;
  /** How several result series combine. Default `'single'`: aggregate in PromQL (`sum(...)`) instead. */
  aggregate?: SignalAggregation;
  /** Signal name. Default `'prometheus_query'`. */
  name?: string;
  /** Unit of the value, when known. */
  unit?: string;
}

/**
 * The value of a PromQL instant query: a scalar, or the (aggregated) values of a vector. An empty result or a NaN
 * value throws `SIGNAL_UNAVAILABLE` ("no data" is not zero); request and query failures are the client's
 * `PrometheusError`s.
 *
 * @example
 * ```ts
 * const errorRatio = createPrometheusQuerySignal({
 *   client: prometheus,
 *   query: 'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
 * });
 * ```
 */
export function createPrometheusQuerySignal(options: PrometheusQuerySignalOptions): Signal {
  const { client, query, aggregate = 'single', name = 'prometheus_query', unit } = options;
  if (typeof query !== 'string' || query.trim() === '')
    throw new OpsError('ARGUMENT_INVALID', 'query: expected a non-empty PromQL expression');
  return {
    name,
    ...(unit === undefined ? {} : { unit }),
    async read(abortSignal) {
      const result = await client.query(query, abortSignal ? { signal: abortSignal } : {});
      let values: number[];
      if (result.resultType === 'scalar') values = [result.sample.value];
      else if (result.resultType === 'vector') values = result.series.map((item) => item.sample.value);
      else
        throw new OpsError(
          'SIGNAL_UNAVAILABLE',
          `${name}: query returned a ${result.resultType}, expected a vector or scalar`,
        );
      if (values.length === 0) throw new OpsError('SIGNAL_UNAVAILABLE', `${name}: query returned no series: ${query}`);
      const value = aggregateValues(values, aggregate, `${name}: ${query}`);
      if (Number.isNaN(value)) throw new OpsError('SIGNAL_UNAVAILABLE', `${name}: query returned NaN: ${query}`);
      return value;
    },
  };
}
