import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createIncidentManager } from '../lifecycle/incident-manager.js';
import { createSeverityPolicy } from '../severity/severity-policy.js';
import { sampleIncident } from '../testing/incident-store-contract.js';
import { createCommsTemplates, durationInWords } from './comms-templates.js';

const T0 = Date.UTC(2025, 0, 13, 9, 30, 0);

describe('comms templates', () => {
  it("renders the runbook's P0 e-mail with the next update from the severity's cadence", () => {
    const comms = createCommsTemplates({
      severityPolicy: createSeverityPolicy(),
      url: (incident) => `https://status.acme.example/incidents/${incident.id}`,
    });
    const incident = sampleIncident({
      id: 'INC-2025-0113-001',
      triggeredAt: T0,
      impactStartedAt: T0 - 120_000,
      roles: { commander: 'alice', responders: [] },
      components: [{ id: 'payments', status: 'major_outage' }],
    });
    const email = comms.render('initial', 'email', incident, {
      update: 'Checkout fails for most customers; rolling back.',
      now: T0,
    });
    expect(email.subject).toBe('[P0] INC-2025-0113-001: Checkout errors above 90%');
    expect(email.body).toBe(
      [
        'Incident ID: INC-2025-0113-001',
        'Severity: P0 (high urgency, critical impact)',
        'Status: Investigating',
        'Started: 2025-01-13T09:28:00.000Z',
        'Services affected: checkout (payments)',
        'Incident Commander: alice',
        '',
        'Impact: Error ratio 0.93 for 3 minutes',
        '',
        'Current status: Checkout fails for most customers; rolling back.',
        '',
        'Next Update: 30 minutes',
        'https://status.acme.example/incidents/INC-2025-0113-001',
      ].join('\n'),
    );
    expect(
      comms.render('update', 'slack', { ...incident, severity: 'P3' }, { update: 'Still looking.', now: T0 }).body,
    ).toBe(':mega: *[P3] INC-2025-0113-001* Investigating: Still looking. Next update in when there is news.');
  });

  it('takes your templates and refuses unknown placeholders, channels and moments', () => {
    const policy = createSeverityPolicy();
    const comms = createCommsTemplates({
      severityPolicy: policy,
      templates: { statuspage: { resolved: { body: '{{title}} is fixed ({{resolvedAt}}).' } } },
    });
    expect(comms.render('resolved', 'statuspage', sampleIncident({ resolvedAt: T0 }), { now: T0 }).body).toBe(
      'Checkout errors above 90% is fixed (2025-01-13T09:30:00.000Z).',
    );
    expect(() =>
      createCommsTemplates({ severityPolicy: policy, templates: { email: { initial: { body: '{{incidentId}}' } } } }),
    ).toThrow(/templates\.email\.initial: unknown placeholder \{\{incidentId\}\}/);
    expect(() => createCommsTemplates({ severityPolicy: policy, templates: { sms: {} } as never })).toThrow(
      'templates: unknown channel "sms" (email, slack, statuspage)',
    );
    expect(durationInWords(5_400_000)).toBe('1 hour 30 minutes');
  });
});

describe('postmortem draft', () => {
  it('is written when a P0 is mitigated, from the timeline, alerts and response times against the targets', async () => {
    const clock = createManualClock(T0);
    const incidents = createIncidentManager({ clock, autoStart: false });
    const { incident } = await incidents.ingest({
      action: 'trigger',
      service: 'checkout',
      dedupKey: 'errors',
      summary: 'Checkout errors above 90%',
      source: 'alertmanager',
      severity: 'P0',
      startsAt: T0 - 60_000,
      labels: { alertname: 'CheckoutErrors', instance: 'checkout-1' },
    });
    clock.advance(7 * 60_000);
    await incidents.runDueTimers();
    await incidents.acknowledge(incident!.id, { by: 'alice' });
    await incidents.assignRole(incident!.id, 'commander', 'alice');
    clock.advance(13 * 60_000);
    await incidents.mitigate(incident!.id, { by: 'alice', note: 'rolled back' });
    const markdown = await incidents.postmortemMarkdown(incident!.id);
    expect(markdown).toContain(
      '## Impact\n\n- Impact window: 2025-01-13T09:29:00Z → 2025-01-13T09:50:00Z (21 minutes)',
    );
    expect(markdown).toContain('- Time to detect: 1 minute');
    expect(markdown).toContain('- Time to acknowledge: 7 minutes (target 5 minutes: missed)');
    expect(markdown).toContain('- Time to mitigate: 20 minutes (target 30 minutes: met)');
    expect(markdown).toContain('- Commander: alice; responders: none');
    expect(markdown).toContain('| 2025-01-13T09:50:00Z | mitigated: Mitigated by alice: rolled back | alice |');
    expect(markdown).toContain(
      '- Checkout errors above 90% — alertname=CheckoutErrors, instance=checkout-1 (1×, firing)',
    );
    expect(markdown).toContain('## Root cause\n\n_To be written._');
    const second = await incidents.generatePostmortem(incident!.id);
    expect(second.status).toBe('draft');
  });
});
