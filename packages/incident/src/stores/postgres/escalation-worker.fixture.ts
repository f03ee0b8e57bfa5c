// A replica for the crash test: `node --import tsx <this> URL SCHEMA TARGET_URL MODE`.
// MODE trigger-then-die-after-timer-claim: opens a P0 incident and is SIGKILLed right after claiming its escalation timer.
// MODE trigger-then-die-before-send: opens a P0 incident and is SIGKILLed when the page is about to be sent.
// MODE run: runs timers and deliveries until its stdin closes.
import pg from 'pg';
import { createIncidentManager } from '../../lifecycle/incident-manager.js';
import type { Notifier } from '../../notifiers/notifier.js';
import { webhookNotifier } from '../../notifiers/webhook-notifier.js';
import type { IncidentStore } from '../incident-store.js';
import { createPostgresIncidentStore } from './postgres-incident-store.js';

const [connectionString, schema, targetUrl, mode] = process.argv.slice(2) as [string, string, string, string];
const pool = new pg.Pool({ connectionString, max: 4 });
pool.on('error', () => {});
const base = createPostgresIncidentStore({ pool, schema });
const die = () => process.kill(process.pid, 'SIGKILL');

const store: IncidentStore = {
  ...base,
  async claimDueTimers(options) {
    const claimed = await base.claimDueTimers(options);
    if (mode === 'trigger-then-die-after-timer-claim' && claimed.some((timer) => timer.kind === 'escalation')) die();
    return claimed;
  },
};
const webhook = webhookNotifier({ url: `${targetUrl}/page` });
const pager: Notifier = {
  kind: 'webhook',
  async send(payload, context) {
    if (mode === 'trigger-then-die-before-send') die();
    await webhook.send(payload, context);
  },
};

const incidents = createIncidentManager({
  store,
  owner: `replica-${process.pid}`,
  tickEvery: '100ms',
  timerLease: '1s',
  delivery: { lease: '1s', initialDelay: '100ms', maxDelay: '1s' },
  notifiers: { pager },
  escalationPolicies: [{ id: 'oncall', levels: [{ startAfter: 0, targets: ['pager'] }] }],
});

if (mode !== 'run') {
  await incidents.trigger({ service: 'checkout', dedupKey: 'crash-test', title: 'Checkout down', severity: 'P0' });
  process.stdout.write('triggered\n');
}
await new Promise<void>((resolve) => {
  process.stdin.on('data', () => {});
  process.stdin.once('end', () => resolve());
});
await incidents.close();
await pool.end();
