import {
  jsonResponse,
  parseOptionalDuration,
  systemClock,
  type Clock,
  type Duration,
  type OpsHandler,
  type OpsResponse,
} from '@ops/core';
import { IncidentError } from '../errors.js';
import type { IncidentManager } from '../lifecycle/incident-manager.js';
import type { ComponentStatus, Incident, TimelineEvent } from '../model/records.js';
import { renderStatusAtom, renderStatusHtml } from './render.js';
import { buildStatusSnapshot, isPublic, type StatusComponent, type StatusSnapshot } from './status-model.js';

/** Options of {@link createStatusPage}. */
export interface StatusPageOptions {
  /** Page identity: `name` shown, `url` the public base URL, `id` in the JSON. */
  page: { id?: string; name: string; url: string };
  /** Components, in display order. */
  components: readonly StatusComponent[];
  /**
   * Which components an incident affects (and how). Default: the incident's own `components`, plus a component whose
   * id is the incident's service, with the status of its severity.
   */
  componentsOf?: (incident: Incident) => { id: string; status: ComponentStatus }[];
  /** Mount path. Default `'/status'`. */
  basePath?: string;
  /** Days of history (uptime bars, past incidents). Default 90. */
  historyDays?: number;
  /** How long a built page is reused (public endpoints get `cache-control: max-age` of the same). Default `'10s'`. */
  cacheTtl?: Duration;
  clock?: Clock;
}

/** The status page: an `OpsHandler` plus the snapshot it serves. */
export interface StatusPage {
  /** Serves `GET {basePath}/` (HTML), `/history.atom`, and the Statuspage v2 JSON under `/api/v2/`. */
  handler: OpsHandler;
  /** Builds the current snapshot (bypassing the cache). */
  snapshot(): Promise<StatusSnapshot>;
}

/**
 * A public status page from the incidents: Statuspage-compatible JSON (`/api/v2/summary.json`, `status.json`,
 * `components.json`, `incidents.json`, `incidents/unresolved.json`, `scheduled-maintenances.json`,
 * `scheduled-maintenances/upcoming.json`, `…/active.json`), an HTML page without JavaScript (components with 90-day
 * uptime bars, active incidents with their public updates, maintenance, past incidents) and an Atom feed. Only
 * incidents that affect a component or have a public update appear, and only public timeline entries are shown.
 *
 * @example
 * ```ts
 * const statusPage = createStatusPage(incidents, {
 *   page: { name: 'Acme', url: 'https://status.acme.example' },
 *   components: [{ id: 'checkout', name: 'Checkout' }, { id: 'search', name: 'Search' }],
 * });
 * await listen(composeHandlers(statusPage.handler, receiver), { port: 8080 });
 * ```
 */
export function createStatusPage(
  incidents: Pick<IncidentManager, 'list' | 'timeline' | 'maintenance' | 'severityPolicy'>,
  options: StatusPageOptions,
): StatusPage {
  const { components, basePath = '/status', historyDays = 90, clock = systemClock } = options;
  if (!options.page?.name || !options.page.url)
    throw new IncidentError('ARGUMENT_INVALID', 'createStatusPage: page.name and page.url are required');
  const page = { id: options.page.id ?? 'ops-status', name: options.page.name, url: options.page.url };
  const cacheTtlMs = parseOptionalDuration(options.cacheTtl, 'cacheTtl') ?? 10_000;
  const policy = incidents.severityPolicy;
  const componentIds = new Set(components.map((component) => component.id));
  const componentsOf =
    options.componentsOf ??
    ((incident: Incident) => {
      const status = policy.has(incident.severity)
        ? policy.level(incident.severity).componentStatus
        : 'degraded_performance';
      const own = incident.components.filter((component) => componentIds.has(component.id));
      if (componentIds.has(incident.service) && !own.some((component) => component.id === incident.service))
        own.push({ id: incident.service, status });
      return own.filter((component) => component.status !== 'operational');
    });
  const prefix = basePath.replace(/\/$/, '');

  const build = async (): Promise<StatusSnapshot> => {
    const now = clock.now();
    const recent = await incidents.list({ since: now - historyDays * 86_400_000, limit: 10_000 });
    const publicUpdates = new Map<string, TimelineEvent[]>();
    await Promise.all(
      recent.map(async (incident) =>
        publicUpdates.set(incident.id, await incidents.timeline(incident.id, { visibility: 'public' })),
      ),
    );
    const shown = recent.filter((incident) => isPublic(incident, { componentsOf, publicUpdates }));
    const maintenance = await incidents.maintenance({ from: now - 86_400_000, to: now + 30 * 86_400_000 });
    return buildStatusSnapshot({
      page,
      components,
      incidents: shown,
      publicUpdates,
      maintenance,
      policy,
      componentsOf,
      now,
      historyDays,
    });
  };

  let cached: { at: number; snapshot: Promise<StatusSnapshot> } | undefined;
  const current = (): Promise<StatusSnapshot> => {
    const now = clock.monotonic();
    if (!cached || now - cached.at >= cacheTtlMs) {
      const snapshot = build();
      cached = { at: now, snapshot };
      snapshot.catch(() => {
        if (cached?.snapshot === snapshot) cached = undefined;
      });
    }
    return cached.snapshot;
  };

  const headers = {
    'cache-control': `public, max-age=${Math.floor(cacheTtlMs / 1000)}`,
    'access-control-allow-origin': '*',
  };
  const json = (value: unknown): OpsResponse => jsonResponse(200, value, headers);
  const summaryPage = (snapshot: StatusSnapshot) => snapshot.page;
  const routes: Record<string, (snapshot: StatusSnapshot) => OpsResponse> = {
    '/api/v2/summary.json': (snapshot) =>
      json({
        page: summaryPage(snapshot),
        status: snapshot.status,
        components: snapshot.components,
        incidents: snapshot.unresolved,
        scheduled_maintenances: snapshot.scheduled_maintenances.filter((entry) => entry.status !== 'completed'),
      }),
    '/api/v2/status.json': (snapshot) => json({ page: summaryPage(snapshot), status: snapshot.status }),
    '/api/v2/components.json': (snapshot) => json({ page: summaryPage(snapshot), components: snapshot.components }),
    '/api/v2/incidents.json': (snapshot) => json({ page: summaryPage(snapshot), incidents: snapshot.incidents }),
    '/api/v2/incidents/unresolved.json': (snapshot) =>
      json({ page: summaryPage(snapshot), incidents: snapshot.unresolved }),
    '/api/v2/scheduled-maintenances.json': (snapshot) =>
      json({ page: summaryPage(snapshot), scheduled_maintenances: snapshot.scheduled_maintenances }),
    '/api/v2/scheduled-maintenances/upcoming.json': (snapshot) =>
      json({
        page: summaryPage(snapshot),
        scheduled_maintenances: snapshot.scheduled_maintenances.filter((entry) => entry.status === 'scheduled'),
      }),
    '/api/v2/scheduled-maintenances/active.json': (snapshot) =>
      json({
        page: summaryPage(snapshot),
        scheduled_maintenances: snapshot.scheduled_maintenances.filter((entry) => entry.status === 'in_progress'),
      }),
    '/history.atom': (snapshot) => ({
      status: 200,
      headers: { ...headers, 'content-type': 'application/atom+xml; charset=utf-8' },
      body: renderStatusAtom(snapshot, { selfUrl: `${page.url.replace(/\/$/, '')}/history.atom` }),
    }),
    '/': (snapshot) => ({
      status: 200,
      headers: { ...headers, 'content-type': 'text/html; charset=utf-8' },
      body: renderStatusHtml(snapshot, { feedUrl: `${prefix}/history.atom` }),
    }),
  };

  // A cached snapshot answers from bytes rendered once (per route), not by serializing it again per request.
  const rendered = new WeakMap<StatusSnapshot, Map<string, OpsResponse>>();
  const respond = (key: string, route: (snapshot: StatusSnapshot) => OpsResponse, snapshot: StatusSnapshot) => {
    let byRoute = rendered.get(snapshot);
    if (!byRoute) rendered.set(snapshot, (byRoute = new Map()));
    let response = byRoute.get(key);
    if (!response) byRoute.set(key, (response = route(snapshot)));
    return { ...response, headers: { ...response.headers } };
  };

  return {
    snapshot: build,
    handler: async (request) => {
      if (request.path !== prefix && !request.path.startsWith(`${prefix}/`)) return undefined;
      const sub = request.path === prefix ? '/' : request.path.slice(prefix.length);
      const route = routes[sub === '' ? '/' : sub];
      if (!route) return undefined;
      if (request.method !== 'GET' && request.method !== 'HEAD')
        return {
          status: 405,
          headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' },
          body: 'method not allowed\n',
        };
      return respond(sub === '' ? '/' : sub, route, await current());
    },
  };
}
