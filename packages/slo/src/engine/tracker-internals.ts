import type { ResolvedSlo } from '../spec/slo-spec.js';
import type { SloSeries } from './slo-series.js';
import type { SloStatus } from './slo-status.js';

/** The in-process state of one SLO that the metrics read on every scrape. */
export interface SloSeriesSource {
  slo: ResolvedSlo;
  /** The label sets exported: every group of an SLO with `groupBy`, else the SLO as a whole. */
  series: SloSeries[];
  status(series: SloSeries): SloStatus;
}

// Trackers made by createSloTracker, mapped to their state: lets createSloMetrics({ tracker }) take the public
// tracker without the tracker interface exposing its series.
const sources = new WeakMap<object, () => SloSeriesSource[]>();

export function attachSeriesSource(tracker: object, source: () => SloSeriesSource[]): void {
  sources.set(tracker, source);
}

export function seriesSourceOf(tracker: object): (() => SloSeriesSource[]) | undefined {
  return sources.get(tracker);
}
