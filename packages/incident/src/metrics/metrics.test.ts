import { createManualClock } from '@ops/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createIncidentManager } from '../lifecycle/incident-manager.js';
import { sampleIncident } from '../testing/incident-store-contract.js';
import { computeIncidentMetrics, mergedLength } from './mttx.js';
import { createIncidentMetrics } from './prometheus-metrics.js';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const DAY = 86_400_000;

describe('computeIncidentMetrics', () => {
  it('computes MTTA over acknowledged incidents only, counts the never-acknowledged apart, and MTTM/MTTR/MTTD', () => {
    const report = computeIncidentMetrics(
      [
        sampleIncident({
          id: 'a',
          triggeredAt: T0,
          acknowledgedAt: T0 + 2 * MINUTE,
          mitigatedAt: T0 + 10 * MINUTE,
          resolvedAt: T0 + 30 * MINUTE,
          impactStartedAt: T0 - MINUTE,
          status: 'resolved',
        }),
        sampleIncident({
          id: 'b',
          triggeredAt: T0 + DAY,
          acknowledgedAt: T0 + DAY + 4 * MINUTE,
          resolvedAt: T0 + DAY + 10 * MINUTE,
          status: 'resolved',
          dedupKey: 'b',
        }),
        sampleIncident({
          id: 'c',
          triggeredAt: T0 + 2 * DAY,
          resolvedAt: T0 + 2 * DAY + 5 * MINUTE,
          resolveReason: 'source',
          status: 'resolved',
          dedupKey: 'c',
        }), // auto-resolved, never acked
        sampleIncident({
          id: 'd',
          triggeredAt: T0 + 3 * DAY,
          status: 'resolved',
          resolveReason: 'merged',
          resolvedAt: T0 + 3 * DAY,
          dedupKey: 'd',
        }), // merged: left out
      ],
      { from: T0, to: T0 + 7 * DAY },
    );
    expect(report.overall).toEqual({
      count: 3,
      mttaMs: 3 * MINUTE,
      neverAcknowledged: 1,
      mttmMs: 10 * MINUTE,
      mttrMs: 15 * MINUTE,
      mttdMs: MINUTE,
      open: 0,
    });
  });

  it('merges overlapping outages for MTBF and availability, and clips them to the window', () => {
    expect(
      mergedLength([
        [0, 10],
        [5, 20],
        [30, 40],
        [35, 36],
      ]),
    ).toBe(30);
    const report = computeIncidentMetrics(
      [
        sampleIncident({
          id: 'a',
          triggeredAt: T0 + DAY,
          resolvedAt: T0 + DAY + 60 * MINUTE,
          severity: 'P0',
          status: 'resolved',
        }),
        sampleIncident({
          id: 'b',
          triggeredAt: T0 + DAY + 30 * MINUTE,
          resolvedAt: T0 + DAY + 90 * MINUTE,
          severity: 'P1',
          status: 'resolved',
          dedupKey: 'b',
        }),
        sampleIncident({
          id: 'c',
          triggeredAt: T0 + 2 * DAY,
          resolvedAt: T0 + 2 * DAY + 10 * MINUTE,
          severity: 'P3',
          status: 'resolved',
          dedupKey: 'c',
        }), // not an outage
        sampleIncident({
          id: 'd',
          triggeredAt: T0 - 30 * MINUTE,
          resolvedAt: T0 + 30 * MINUTE,
          severity: 'P0',
          status: 'resolved',
          dedupKey: 'd',
        }), // began before the window
      ],
      { from: T0, to: T0 + 10 * DAY },
    );
    const checkout = report.byService.find((entry) => entry.service === 'checkout')!;
    expect(checkout.reliability.outageMs).toBe(120 * MINUTE); // 90 merged + 30 inside the window
    expect(checkout.reliability.failures).toBe(2);
    expect(checkout.reliability.mtbfMs).toBe((10 * DAY - 120 * MINUTE) / 2);
    const mttr = 60 * MINUTE; // both failures took an hour to resolve
    expect(checkout.reliability.availability).toBeCloseTo(
      checkout.reliability.mtbfMs! / (checkout.reliability.mtbfMs! + mttr),
      12,
    );
    expect(report.byServiceSeverity.map((entry) => [entry.severity, entry.metrics.count])).toEqual([
      ['P0', 1],
      ['P1', 1],
      ['P3', 1],
    ]);
  });
});

describe('createIncidentMetrics', () => {
  it('records time to ack/mitigate/resolve, breaches and open incidents on the registry', async () => {
    const clock = createManualClock(T0);
    const incidents = createIncidentManager({ clock, autoStart: false });
    const registry = new Registry();
    const metrics = createIncidentMetrics({ registry, incidents });
    const { incident } = await incidents.trigger({ service: 'checkout', title: 'x', severity: 'P0' });
    await incidents.trigger({ service: 'search', title: 'y', severity: 'P2' });
    clock.advance(6 * MINUTE);
    await incidents.runDueTimers(); // ack target of 5m missed
    await incidents.acknowledge(incident!.id);
    clock.advance(4 * MINUTE);
    await incidents.mitigate(incident!.id);
    clock.advance(10 * MINUTE);
    await incidents.resolve(incident!.id, { reason: 'source' });
    const text = await registry.metrics();
    expect(text).toContain('ops_incident_time_to_ack_seconds_bucket{le="600",service="checkout",severity="P0"} 1');
    expect(text).toContain('ops_incident_time_to_ack_seconds_sum{service="checkout",severity="P0"} 360');
    expect(text).toContain('ops_incident_time_to_mitigate_seconds_sum{service="checkout",severity="P0"} 600');
    expect(text).toContain('ops_incident_time_to_resolve_seconds_sum{service="checkout",severity="P0"} 1200');
    expect(text).toContain('ops_incident_target_breaches_total{service="checkout",severity="P0",target="ack"} 1');
    expect(text).toContain('ops_incident_triggered_total{service="search",severity="P2"} 1');
    expect(text).toContain('ops_incident_open{service="search",severity="P2"} 1');
    expect(text).not.toContain('ops_incident_open{service="checkout"');
    metrics.remove();
    expect(await registry.metrics()).not.toContain('ops_incident_');
  });
});
