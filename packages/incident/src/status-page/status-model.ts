import { statuspageStatusOf } from '../lifecycle/incident-manager.js';
import { mergedLength } from '../metrics/mttx.js';
import { isOpenStatus, type ComponentStatus, type Incident, type TimelineEvent } from '../model/records.js';
import type { SeverityPolicy, StatuspageImpact } from '../severity/severity-policy.js';
import type { MaintenanceOccurrence } from '../suppression/suppression.js';

/** A status-page component. */
export interface StatusComponent {
  id: string;
  name: string;
  description?: string;
  /** Group name, for grouped display. */
  group?: string;
  /** Hide it while operational. */
  onlyShowIfDegraded?: boolean;
}

/** What the page shows, in Statuspage's public API v2 vocabulary (snake_case as on the wire). */
export interface StatusSnapshot {
  page: { id: string; name: string; url: string; time_zone: string; updated_at: string };
  status: { indicator: 'none' | 'minor' | 'major' | 'critical' | 'maintenance'; description: string };
  components: StatuspageComponent[];
  incidents: StatuspageIncident[];
  unresolved: StatuspageIncident[];
  scheduled_maintenances: StatuspageMaintenance[];
  /** Per component: uptime ratio over the history and one status per day, oldest first (for the bars). */
  uptime: Record<string, { ratio: number; days: { date: string; status: ComponentStatus }[] }>;
}

export interface StatuspageComponent {
  id: string;
  name: string;
  status: ComponentStatus;
  created_at: string;
  updated_at: string;
  position: number;
  description: string | null;
  showcase: boolean;
  group_id: string | null;
  page_id: string;
  group: boolean;
  only_show_if_degraded: boolean;
}

export interface StatuspageUpdate {
  id: string;
  status: string;
  body: string;
  incident_id: string;
  created_at: string;
  updated_at: string;
  display_at: string;
}

export interface StatuspageIncident {
  id: string;
  name: string;
  status: 'investigating' | 'identified' | 'monitoring' | 'resolved' | 'postmortem';
  created_at: string;
  updated_at: string;
  monitoring_at: string | null;
  resolved_at: string | null;
  impact: StatuspageImpact;
  shortlink: string;
  started_at: string;
  page_id: string;
  incident_updates: StatuspageUpdate[];
  components: { id: string; name: string; status: ComponentStatus }[];
}

export interface StatuspageMaintenance {
  id: string;
  name: string;
  status: 'scheduled' | 'in_progress' | 'completed';
  created_at: string;
  updated_at: string;
  scheduled_for: string;
  scheduled_until: string;
  impact: 'maintenance';
  shortlink: string;
  page_id: string;
  incident_updates: StatuspageUpdate[];
  components: { id: string; name: string; status: ComponentStatus }[];
}

const SEVERITY_ORDER: readonly ComponentStatus[] = [
  'operational',
  'under_maintenance',
  'degraded_performance',
  'partial_outage',
  'major_outage',
];
const IMPACT_ORDER: readonly StatuspageImpact[] = ['none', 'minor', 'major', 'critical'];
const worse = (a: ComponentStatus, b: ComponentStatus) =>
  SEVERITY_ORDER.indexOf(a) >= SEVERITY_ORDER.indexOf(b) ? a : b;
const iso = (ms: number) => new Date(ms).toISOString();

const DESCRIPTIONS: Record<StatusSnapshot['status']['indicator'], string> = {
  none: 'All Systems Operational',
  minor: 'Minor Service Outage',
  major: 'Partial System Outage',
  critical: 'Major Service Outage',
  maintenance: 'Service Under Maintenance',
};

/** Inputs of {@link buildStatusSnapshot}. */
export interface SnapshotInput {
  page: { id: string; name: string; url: string };
  components: readonly StatusComponent[];
  /** Incidents of the history window, newest first. */
  incidents: readonly Incident[];
  /** Public timeline entries by incident id. */
  publicUpdates: ReadonlyMap<string, readonly TimelineEvent[]>;
  maintenance: readonly MaintenanceOccurrence[];
  policy: SeverityPolicy;
  /** Which components an incident affects. */
  componentsOf: (incident: Incident) => { id: string; status: ComponentStatus }[];
  now: number;
  historyDays: number;
}

/** Whether an incident belongs on the public page: it affects a component or has a public update. */
export function isPublic(incident: Incident, input: Pick<SnapshotInput, 'componentsOf' | 'publicUpdates'>): boolean {
  return (
    incident.resolveReason !== 'merged' &&
    (input.componentsOf(incident).length > 0 || (input.publicUpdates.get(incident.id)?.length ?? 0) > 0)
  );
}

/** Builds what the status page shows (JSON and HTML render it). */
export function buildStatusSnapshot(input: SnapshotInput): StatusSnapshot {
  const { page, components, policy, now, historyDays } = input;
  const nameOf = new Map(components.map((component) => [component.id, component.name]));
  const impactOf = (incident: Incident): StatuspageImpact =>
    policy.has(incident.severity) ? policy.level(incident.severity).impact : 'minor';
  const visible = input.incidents.filter((incident) => isPublic(incident, input));

  const toIncident = (incident: Incident): StatuspageIncident => {
    const updates = (input.publicUpdates.get(incident.id) ?? []).filter((event) => event.kind === 'status_update');
    const lastChange = Math.max(incident.lastStatusChangeAt, ...updates.map((update) => update.at));
    const status = incident.status === 'closed' ? 'postmortem' : statuspageStatusOf(incident.status);
    return {
      id: incident.id,
      name: incident.title,
      status,
      created_at: iso(incident.triggeredAt),
      updated_at: iso(lastChange),
      monitoring_at: incident.mitigatedAt === undefined ? null : iso(incident.mitigatedAt),
      resolved_at: incident.resolvedAt === undefined ? null : iso(incident.resolvedAt),
      impact: impactOf(incident),
      shortlink: `${page.url.replace(/\/$/, '')}/incidents/${encodeURIComponent(incident.id)}`,
      started_at: iso(incident.impactStartedAt ?? incident.triggeredAt),
      page_id: page.id,
      incident_updates: updates
        .map((update) => ({
          id: update.id,
          status: ((update.details as { statuspageStatus?: string } | undefined)?.statuspageStatus ?? status) as string,
          body: update.description,
          incident_id: incident.id,
          created_at: iso(update.at),
          updated_at: iso(update.at),
          display_at: iso(update.at),
        }))
        .reverse(),
      components: input.componentsOf(incident).map((component) => ({
        id: component.id,
        name: nameOf.get(component.id) ?? component.id,
        status: component.status,
      })),
    };
  };

  const maintenances: StatuspageMaintenance[] = input.maintenance
    .filter((occurrence) => occurrence.window.components?.length)
    .map((occurrence) => {
      const status = occurrence.startsAt > now ? 'scheduled' : occurrence.endsAt > now ? 'in_progress' : 'completed';
      const id = `${occurrence.window.id}-${occurrence.startsAt}`;
      return {
        id,
        name: occurrence.window.title,
        status,
        created_at: iso(occurrence.window.createdAt),
        updated_at: iso(Math.min(now, Math.max(occurrence.window.createdAt, occurrence.startsAt))),
        scheduled_for: iso(occurrence.startsAt),
        scheduled_until: iso(occurrence.endsAt),
        impact: 'maintenance',
        shortlink: `${page.url.replace(/\/$/, '')}/maintenance/${encodeURIComponent(id)}`,
        page_id: page.id,
        incident_updates: occurrence.window.description
          ? [
              {
                id: `${id}-1`,
                status,
                body: occurrence.window.description,
                incident_id: id,
                created_at: iso(occurrence.window.createdAt),
                updated_at: iso(occurrence.window.createdAt),
                display_at: iso(occurrence.window.createdAt),
              },
            ]
          : [],
        components: (occurrence.window.components ?? []).map((componentId) => ({
          id: componentId,
          name: nameOf.get(componentId) ?? componentId,
          status: 'under_maintenance' as const,
        })),
      };
    });

  const open = visible.filter((incident) => isOpenStatus(incident.status));
  const statusOf = new Map<string, ComponentStatus>(components.map((component) => [component.id, 'operational']));
  for (const maintenance of maintenances) {
    if (maintenance.status !== 'in_progress') continue;
    for (const component of maintenance.components)
      if (statusOf.has(component.id))
        statusOf.set(component.id, worse(statusOf.get(component.id)!, 'under_maintenance'));
  }
  for (const incident of open) {
    for (const component of input.componentsOf(incident))
      if (statusOf.has(component.id)) statusOf.set(component.id, worse(statusOf.get(component.id)!, component.status));
  }
  const updatedAt = iso(Math.max(0, ...visible.map((incident) => incident.lastStatusChangeAt)) || now);

  const worstImpact = open.reduce<StatuspageImpact>(
    (current, incident) =>
      IMPACT_ORDER.indexOf(impactOf(incident)) > IMPACT_ORDER.indexOf(current) ? impactOf(incident) : current,
    'none',
  );
  const anyDegraded = [...statusOf.values()].some(
    (status) => status !== 'operational' && status !== 'under_maintenance',
  );
  const indicator: StatusSnapshot['status']['indicator'] =
    worstImpact !== 'none'
      ? worstImpact
      : anyDegraded
        ? 'minor'
        : maintenances.some((maintenance) => maintenance.status === 'in_progress')
          ? 'maintenance'
          : 'none';

  // Uptime bars: per component and day, the worst status an incident gave it; the ratio counts outages only.
  const dayMs = 86_400_000;
  const firstDay = Math.floor(now / dayMs) * dayMs - (historyDays - 1) * dayMs;
  const uptime: StatusSnapshot['uptime'] = {};
  for (const component of components) {
    const affecting = visible
      .map((incident) => ({
        incident,
        status: input.componentsOf(incident).find((entry) => entry.id === component.id)?.status,
      }))
      .filter((entry): entry is { incident: Incident; status: ComponentStatus } => entry.status !== undefined);
    const outages = affecting
      .filter((entry) => entry.status === 'major_outage' || entry.status === 'partial_outage')
      .map(({ incident }): [number, number] => [
        Math.max(firstDay, incident.impactStartedAt ?? incident.triggeredAt),
        Math.min(now, incident.resolvedAt ?? now),
      ]);
    const days = Array.from({ length: historyDays }, (_, index) => {
      const start = firstDay + index * dayMs;
      const end = start + dayMs;
      let status: ComponentStatus = 'operational';
      for (const { incident, status: impact } of affecting) {
        const from = incident.impactStartedAt ?? incident.triggeredAt;
        const to = incident.resolvedAt ?? now;
        if (from < end && to > start) status = worse(status, impact);
      }
      return { date: iso(start).slice(0, 10), status };
    });
    uptime[component.id] = { ratio: 1 - mergedLength(outages) / Math.max(1, now - firstDay), days };
  }

  return {
    page: { ...page, time_zone: 'Etc/UTC', updated_at: updatedAt },
    status: { indicator, description: DESCRIPTIONS[indicator] },
    components: components.map((component, position) => ({
      id: component.id,
      name: component.name,
      status: statusOf.get(component.id) ?? 'operational',
      created_at: iso(0),
      updated_at: updatedAt,
      position: position + 1,
      description: component.description ?? null,
      showcase: true,
      group_id: component.group ?? null,
      page_id: page.id,
      group: false,
      only_show_if_degraded: component.onlyShowIfDegraded ?? false,
    })),
    incidents: visible.slice(0, 50).map(toIncident),
    unresolved: open.map(toIncident),
    scheduled_maintenances: maintenances,
    uptime,
  };
}
