import assert from 'node:assert/strict';
import { createManualClock } from '@ops/core';
import { createIncidentManager } from '@ops/incident';

export async function embeddedExample(): Promise<void> {
  const clock = createManualClock(Date.UTC(2026, 0, 13, 9, 0));
  const incidents = createIncidentManager({ clock, reopenWindow: '10m' });

  // Anything that speaks core's AlertSink (forwardHealthAlerts, forwardSloAlerts) can feed it.
  await incidents.alertSink({
    key: 'slo:checkout-availability:page',
    status: 'firing',
    severity: 'critical',
    summary: 'Checkout availability burning error budget 14x',
    source: 'slo',
    labels: { service: 'checkout', slo: 'checkout-availability' },
    annotations: {},
    startsAt: clock.now() - 120_000,
  });
  // A repeat of the same key is the same incident.
  await incidents.alertSink({
    key: 'slo:checkout-availability:page',
    status: 'firing',
    severity: 'critical',
    summary: 'Checkout availability burning error budget 14x',
    source: 'slo',
    labels: { service: 'checkout', slo: 'checkout-availability' },
    annotations: {},
    startsAt: clock.now() - 120_000,
  });

  const [incident] = await incidents.list({ open: true });
  assert.equal(incident?.id, 'INC-2026-0113-001');
  assert.equal(incident?.severity, 'P0'); // critical → P0: page, ack within 5 minutes
  assert.equal(incident?.occurrences, 2);

  await incidents.acknowledge(incident.id, { by: 'alice' });
  await incidents.postUpdate(incident.id, { body: 'Checkout is failing for some customers; we are on it.' });
  await assert.rejects(incidents.closeIncident(incident.id), /it is acknowledged; close is allowed from resolved/);
  await incidents.mitigate(incident.id, { by: 'alice', note: 'rolled back 1.4.2' });
  await incidents.resolve(incident.id, { reason: 'user', by: 'alice', note: 'the rollback fixed it' });

  const kinds = (await incidents.timeline(incident.id)).map((event) => event.kind);
  assert.deepEqual(kinds, ['triggered', 'acknowledged', 'status_update', 'mitigated', 'resolved']);
  await incidents.close();
}
