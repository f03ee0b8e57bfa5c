import { OpsError } from '../errors/ops-error.js';

/** How a signal combines several matching series into one number. `'single'` requires exactly one. */
export type SignalAggregation = 'sum' | 'min' | 'max' | 'avg' | 'single';

/** Combines `values` per `aggregation`; throws `SIGNAL_UNAVAILABLE` for no values or an ambiguous `'single'`. */
export function aggregateValues(values: readonly number[], aggregation: SignalAggregation, describe: string): number {
  if (values.length === 0) throw new OpsError('SIGNAL_UNAVAILABLE', `${describe}: no matching series`);
  switch (aggregation) {
    case 'single':
      if (values.length > 1) {
        throw new OpsError(
          'SIGNAL_UNAVAILABLE',
          `${describe}: ${values.length} series match but aggregate is 'single'; narrow the labels or choose sum/min/max/avg`,
        );
      }
      return values[0] as number;
    case 'sum':
      return values.reduce((total, value) => total + value, 0);
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'avg':
      return values.reduce((total, value) => total + value, 0) / values.length;
  }
}
