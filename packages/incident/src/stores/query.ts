import { IncidentError } from '../errors.js';
import { isOpenStatus, type Incident } from '../model/records.js';
import type { IncidentQuery } from './incident-store.js';

/** Default and largest page of {@link IncidentQuery.limit}. */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 10_000;

/** Validates `limit`. */
export function normaliseLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIST_LIMIT)) {
    throw new IncidentError('ARGUMENT_INVALID', `limit must be an integer in [1, ${MAX_LIST_LIMIT}], got ${limit}`);
  }
  return limit;
}

/** Whether `incident` passes `query` (the in-memory filter; the PostgreSQL store builds SQL instead). */
export function matchesQuery(incident: Incident, query: IncidentQuery): boolean {
  if (query.status && !query.status.includes(incident.status)) return false;
  if (query.open !== undefined && isOpenStatus(incident.status) !== query.open) return false;
  if (query.service !== undefined && incident.service !== query.service) return false;
  if (query.severity && !query.severity.includes(incident.severity)) return false;
  if (query.since !== undefined && incident.triggeredAt < query.since) return false;
  if (query.until !== undefined && incident.triggeredAt >= query.until) return false;
  return true;
}
