import type { RequestObservation, RequestObserver } from '@ops/core';
import type { SloEvent, SloTracker } from '../engine/slo-tracker.js';

/** Options of {@link createSloRequestObserver}. */
export interface SloRequestObserverOptions {
  tracker: SloTracker;
  /** Availability SLO(s) fed with `good = isGood(observation)`. */
  availability?: string | string[];
  /** Latency SLO(s) fed with `latencyMs = durationMs` (and `good: false` when `isGood` says the request failed). */
  latency?: string | string[];
  /** Which outcomes are good. Default: status below 500 (4xx are the client's fault). */
  isGood?: (observation: RequestObservation) => boolean;
  /** Which requests count at all. Default: all but aborted ones (the client left; neither good nor bad). */
  include?: (observation: RequestObservation) => boolean;
  /** Labels passed with each event (only the SLO's `groupBy` names are used). Default `{ route, method }`. */
  labels?: (observation: RequestObservation) => Record<string, string>;
}

const defaultIsGood = (observation: RequestObservation) =>
  observation.statusCode < 500 && observation.error === undefined;
const defaultInclude = (observation: RequestObservation) => !observation.aborted;
const defaultLabels = (observation: RequestObservation) => ({ route: observation.route, method: observation.method });

/**
 * Turns HTTP observations into SLO events. Plug it into any of core's observing adapters
 * (`observeNodeRequests`, `observeExpressRequests`, `observeFastifyRequests`, `observeFetchRequests`).
 *
 * @example
 * ```ts
 * const observer = createSloRequestObserver({ tracker, availability: 'api-availability', latency: 'api-latency' });
 * app.use(observeExpressRequests({ observer }));
 * ```
 */
export function createSloRequestObserver(options: SloRequestObserverOptions): RequestObserver {
  const { tracker, isGood = defaultIsGood, include = defaultInclude, labels = defaultLabels } = options;
  const list = (value: string | string[] | undefined) =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];
  const availability = list(options.availability).map((name) => tracker.get(name));
  const latency = list(options.latency).map((name) => tracker.get(name));
  const needsLabels = [...availability, ...latency].some((recorder) => recorder.slo.groupBy.length > 0);
  return (observation) => {
    if (!include(observation)) return;
    const good = isGood(observation);
    const eventLabels = needsLabels ? labels(observation) : undefined;
    const availabilityEvent: SloEvent = { good };
    if (eventLabels) availabilityEvent.labels = eventLabels;
    for (const recorder of availability) recorder.record(availabilityEvent);
    // Plain literals on purpose: object spread here costs microseconds per request.
    const latencyEvent: SloEvent = { latencyMs: observation.durationMs };
    if (!good) latencyEvent.good = false;
    if (eventLabels) latencyEvent.labels = eventLabels;
    for (const recorder of latency) recorder.record(latencyEvent);
  };
}
