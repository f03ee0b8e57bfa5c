import { createIncidentManager, pagerDutyNotifier, slackNotifier, ticketWebhookNotifier, webhookNotifier } from '@ops/incident';

export function pagingManager(env: { slackUrl: string; pagerDutyKey: string; pagerDutyUrl?: string; ticketsUrl: string; hookUrl: string; hookSecret: string }) {
  return createIncidentManager({
    notifiers: {
      oncall: pagerDutyNotifier({ routingKey: env.pagerDutyKey, ...(env.pagerDutyUrl ? { url: env.pagerDutyUrl } : {}) }),
      channel: slackNotifier({ webhookUrl: env.slackUrl }),
      platform: webhookNotifier({ url: env.hookUrl, secret: env.hookSecret }),
      tickets: ticketWebhookNotifier({ url: env.ticketsUrl, format: 'github' }),
    },
    automations: {
      // L1 "automated": try the fix, report the outcome; 'resolved' stops the human levels.
      restartWorkers: async () => ({ outcome: 'failed', detail: 'no safe restart for this service' }),
    },
    escalationPolicies: [
      {
        id: 'runbook',
        levels: [
          { startAfter: 0, targets: [{ automation: 'restartWorkers' }] }, // L1 automated, 0–5 min
          { startAfter: '5m', targets: ['oncall'] }, // L2 platform engineer, 5–15 min
          { startAfter: '15m', targets: ['oncall', 'platform'] }, // L3 senior
          { startAfter: '30m', targets: ['platform'], severities: ['P0'] }, // L4 manager, P0 only
        ],
        repeat: { times: 2, after: '10m' },
        onExhausted: { notify: ['channel'] },
      },
    ],
    routes: [
      { when: { route: 'page' }, escalationPolicy: 'runbook', notify: ['channel'] }, // P0/P1: page
      { when: { route: 'ticket' }, notify: ['tickets'] }, // P2/P3: a ticket
    ],
  });
}
