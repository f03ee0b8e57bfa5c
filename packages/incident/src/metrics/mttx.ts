import type { Incident, Severity } from '../model/records.js';

/** Response metrics of one group of incidents (a service × severity, a service, or all). */
export interface ResponseMetrics {
  /** Incidents triggered in the window (merged and duplicates left out). */
  count: number;
  /** Mean time to acknowledge (ms) over incidents that **were** acknowledged; `undefined` when none was. */
  mttaMs: number | undefined;
  /** Incidents never acknowledged (resolved without an ack, or still waiting): counted apart, not as zero. */
  neverAcknowledged: number;
  /** Mean time to mitigate (ms), over mitigated incidents. */
  mttmMs: number | undefined;
  /** Mean time to resolve (ms), `resolvedAt − triggeredAt`, over resolved incidents. */
  mttrMs: number | undefined;
  /** Mean time to detect (ms), `triggeredAt − impactStartedAt`, over incidents where the impact start is known. */
  mttdMs: number | undefined;
  /** Incidents still open at the end of the window. */
  open: number;
}

/** Failure metrics of one service over the window. */
export interface ReliabilityMetrics {
  /** Incidents at or above the outage threshold. */
  failures: number;
  /** Total outage time in the window (ms), overlapping incidents merged. */
  outageMs: number;
  /** Mean time between failures (ms): `(window − outage) ÷ failures`; `undefined` without failures. */
  mtbfMs: number | undefined;
  /** `MTBF ÷ (MTBF + MTTR)` with MTTR over the same failures; `(window − outage) ÷ window` without failures (1). */
  availability: number;
}

/** What {@link computeIncidentMetrics} returns. */
export interface IncidentMetricsReport {
  from: number;
  to: number;
  /** All incidents together. */
  overall: ResponseMetrics;
  /** Per service and severity. */
  byServiceSeverity: { service: string; severity: Severity; metrics: ResponseMetrics }[];
  /** Per service: response metrics and MTBF / availability. */
  byService: { service: string; metrics: ResponseMetrics; reliability: ReliabilityMetrics }[];
}

/** Options of {@link computeIncidentMetrics}. */
export interface ComputeIncidentMetricsOptions {
  from: number;
  to: number;
  /** Whether an incident counts as an outage for MTBF/availability. Default: P0 and P1. */
  isOutage?: (incident: Incident) => boolean;
}

const mean = (values: number[]) =>
  values.length === 0 ? undefined : values.reduce((sum, value) => sum + value, 0) / values.length;

function response(incidents: readonly Incident[], to: number): ResponseMetrics {
  const acknowledged = incidents.filter(
    (incident) => incident.acknowledgedAt !== undefined && incident.acknowledgedAt <= to,
  );
  return {
    count: incidents.length,
    mttaMs: mean(acknowledged.map((incident) => incident.acknowledgedAt! - incident.triggeredAt)),
    neverAcknowledged: incidents.length - acknowledged.length,
    mttmMs: mean(
      incidents
        .filter((incident) => incident.mitigatedAt !== undefined && incident.mitigatedAt <= to)
        .map((incident) => incident.mitigatedAt! - incident.triggeredAt),
    ),
    mttrMs: mean(
      incidents
        .filter((incident) => incident.resolvedAt !== undefined && incident.resolvedAt <= to)
        .map((incident) => incident.resolvedAt! - incident.triggeredAt),
    ),
    mttdMs: mean(
      incidents
        .filter((incident) => incident.impactStartedAt !== undefined)
        .map((incident) => incident.triggeredAt - incident.impactStartedAt!),
    ),
    open: incidents.filter((incident) => incident.resolvedAt === undefined || incident.resolvedAt > to).length,
  };
}

/** Merges intervals and returns their total length. */
export function mergedLength(intervals: readonly [number, number][]): number {
  const sorted = [...intervals].filter(([start, end]) => end > start).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let current: [number, number] | undefined;
  for (const [start, end] of sorted) {
    if (!current || start > current[1]) {
      if (current) total += current[1] - current[0];
      current = [start, end];
    } else current[1] = Math.max(current[1], end);
  }
  if (current) total += current[1] - current[0];
  return total;
}

/**
 * MTTA, MTTM, MTTR, MTTD, MTBF and availability (reference §c) over incidents triggered in [from, to): merged and
 * duplicate incidents are left out; never-acknowledged incidents are counted apart; outage time per service merges
 * overlapping incidents (`impactStartedAt ?? triggeredAt` to `resolvedAt`, clipped to the window; an open incident
 * lasts to `to`).
 */
export function computeIncidentMetrics(
  incidents: readonly Incident[],
  options: ComputeIncidentMetricsOptions,
): IncidentMetricsReport {
  const { from, to, isOutage = (incident) => incident.severity === 'P0' || incident.severity === 'P1' } = options;
  const counted = incidents.filter((incident) => incident.resolveReason !== 'merged');
  const inWindow = counted.filter((incident) => incident.triggeredAt >= from && incident.triggeredAt < to);
  const groups = new Map<string, Incident[]>();
  for (const incident of inWindow) {
    const key = JSON.stringify([incident.service, incident.severity]);
    groups.set(key, [...(groups.get(key) ?? []), incident]);
  }
  const services = [...new Set(counted.map((incident) => incident.service))].sort();
  const windowMs = to - from;
  return {
    from,
    to,
    overall: response(inWindow, to),
    byServiceSeverity: [...groups.entries()]
      .map(([key, group]) => {
        const [service, severity] = JSON.parse(key) as [string, string];
        return { service, severity, metrics: response(group, to) };
      })
      .sort((a, b) => (a.service === b.service ? (a.severity < b.severity ? -1 : 1) : a.service < b.service ? -1 : 1)),
    byService: services.map((service) => {
      const own = inWindow.filter((incident) => incident.service === service);
      // Outages that overlap the window count, even when they started before it.
      const outages = counted.filter((incident) => incident.service === service && isOutage(incident));
      const intervals = outages
        .map((incident): [number, number] => [
          Math.max(from, incident.impactStartedAt ?? incident.triggeredAt),
          Math.min(to, incident.resolvedAt ?? to),
        ])
        .filter(([start, end]) => end > start);
      const outageMs = mergedLength(intervals);
      const failures = own.filter(isOutage);
      const mtbfMs = failures.length === 0 ? undefined : (windowMs - outageMs) / failures.length;
      const mttr = response(failures, to).mttrMs;
      const availability =
        mtbfMs === undefined || mttr === undefined ? (windowMs - outageMs) / windowMs : mtbfMs / (mtbfMs + mttr);
      return {
        service,
        metrics: response(own, to),
        reliability: { failures: failures.length, outageMs, mtbfMs, availability },
      };
    }),
  };
}
