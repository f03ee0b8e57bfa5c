import type { CheckStatus } from '@ops/core';

/** Statuses from worst to best; the first one present wins. */
export type StatusOrder = readonly CheckStatus[];

/** The default order: `fail` beats `warn` beats `pass`. */
export const DEFAULT_STATUS_ORDER: StatusOrder = ['fail', 'warn', 'pass'];

/**
 * Aggregates statuses with an ordered list (as Spring's `SimpleStatusAggregator`): the first status of `order`
 * found among `statuses` wins; no statuses at all is `pass`.
 */
export function aggregateStatus(statuses: readonly CheckStatus[], order: StatusOrder = DEFAULT_STATUS_ORDER): CheckStatus {
  for (const status of order) if (statuses.includes(status)) return status;
  return 'pass';
}

/** What a check contributes to its endpoint: a failing non-critical check only degrades it (`warn`). */
export function contribution(status: CheckStatus, critical: boolean): CheckStatus {
  return !critical && status === 'fail' ? 'warn' : status;
}
