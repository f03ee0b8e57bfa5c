import { compareStatus, worstStatus, type CheckStatus } from '@ops/core';

/** Statuses from worst to best; the first one present wins. */
export type StatusOrder = readonly CheckStatus[];

/** Every status, in no particular order (the ranking is core's). */
export const CHECK_STATUSES: readonly CheckStatus[] = ['pass', 'warn', 'fail'];

/** The default order, worst first by core's {@link compareStatus}: `fail` beats `warn` beats `pass`. */
export const DEFAULT_STATUS_ORDER: StatusOrder = [...CHECK_STATUSES].sort((a, b) => compareStatus(b, a));

/**
 * Aggregates statuses: by default the worst one (core's {@link worstStatus}); with an `order` (as Spring's
 * `SimpleStatusAggregator`) the first status of `order` found among `statuses` wins. No statuses at all is `pass`.
 */
export function aggregateStatus(statuses: readonly CheckStatus[], order?: StatusOrder): CheckStatus {
  if (order === undefined) return statuses.reduce<CheckStatus>(worstStatus, 'pass');
  for (const status of order) if (statuses.includes(status)) return status;
  return 'pass';
}

/** What a check contributes to its endpoint: a failing non-critical check only degrades it (`warn`). */
export function contribution(status: CheckStatus, critical: boolean): CheckStatus {
  return !critical && status === 'fail' ? 'warn' : status;
}
