// The backend's operator endpoints (`ADMIN_ENABLED=true`, loopback callers), as the e2e tests read them.
import { okJson } from './http.js';

/** One incident of `GET /admin/incidents`. */
export interface IncidentSummary {
  id: string;
  severity: string;
  status: string;
  dedupKey: string;
  service: string;
  occurrences: number;
  [field: string]: unknown;
}

/** One healing action of `GET /admin/healing` (from the shared audit store). */
export interface HealingAction {
  rule: string;
  target: string;
  step: number | string;
  action: string;
  instance: string;
  outcome: string;
  at: number | string;
  [field: string]: unknown;
}

/** `GET /admin/incidents?open=true`. */
export async function openIncidents(baseUrl: string): Promise<IncidentSummary[]> {
  return (await okJson<{ incidents: IncidentSummary[] }>(`${baseUrl}/admin/incidents?open=true`)).incidents;
}

/** `GET /admin/incidents` (open and closed). */
export async function listIncidents(baseUrl: string): Promise<IncidentSummary[]> {
  return (await okJson<{ incidents: IncidentSummary[] }>(`${baseUrl}/admin/incidents`)).incidents;
}

/** `GET /admin/incidents/:id`. */
export async function getIncident(baseUrl: string, id: string): Promise<IncidentSummary> {
  return (await okJson<{ incident: IncidentSummary }>(`${baseUrl}/admin/incidents/${encodeURIComponent(id)}`)).incident;
}

/** One entry of `GET /admin/incidents/:id/timeline`. */
export interface TimelineEntry {
  at: number;
  kind: string;
  actor: { type: string; id?: string };
  description: string;
  visibility: 'internal' | 'public';
  details?: Record<string, any>;
  [field: string]: unknown;
}

/** `GET /admin/incidents/:id/timeline`. */
export async function incidentTimeline(
  baseUrl: string,
  id: string,
): Promise<{ id: string; timeline: TimelineEntry[] }> {
  return okJson(`${baseUrl}/admin/incidents/${encodeURIComponent(id)}/timeline`);
}

/** `GET /admin/healing`. */
export async function healingActions(baseUrl: string): Promise<HealingAction[]> {
  return (await okJson<{ actions: HealingAction[] }>(`${baseUrl}/admin/healing`)).actions;
}

/** `GET /admin/faults`: the faults in force, plus `local`, `shared`, `sharedStore`, `instance`. */
export function getFaults(baseUrl: string): Promise<Record<string, unknown>> {
  return okJson(`${baseUrl}/admin/faults`);
}

/** One closed or escalated healing episode of `GET /admin/healing`. */
export interface HealingEpisode {
  rule: string;
  target: string;
  instance: string;
  episodeId: string | null;
  kind: 'episode.closed' | 'episode.escalated';
  outcome: string | null;
  at: number;
}

/** The `episodes` of `GET /admin/healing`. */
export async function healingEpisodes(baseUrl: string): Promise<HealingEpisode[]> {
  return (await okJson<{ episodes: HealingEpisode[] }>(`${baseUrl}/admin/healing`)).episodes;
}

/** `PUT /admin/faults`. */
export function setFaults(baseUrl: string, patch: Record<string, unknown>): Promise<unknown> {
  return okJson(`${baseUrl}/admin/faults`, { method: 'PUT', body: patch });
}

/** `DELETE /admin/faults` (every fault off; shared ones too when `shared` is passed as the README says). */
export function clearFaults(baseUrl: string, query = ''): Promise<unknown> {
  return okJson(`${baseUrl}/admin/faults${query}`, { method: 'DELETE' });
}
