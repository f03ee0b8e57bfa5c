import { timingSafeEqual } from 'node:crypto';
import type { Clock, Duration, Logger, OpsAlert, OpsHandler } from '@ops/core';
import { parseDuration } from '@ops/core';
import {
  createAlertmanagerReceiver,
  createIncidentManager,
  createMemoryIncidentStore,
  createPostgresIncidentStore,
  createStatusPage,
  emailNotifier,
  migrateIncidentSchema,
  webhookNotifier,
  type Automation,
  type ComponentStatus,
  type EscalationPolicy,
  type Incident,
  type IncidentManager,
  type IncidentStore,
  type Notifier,
  type Route,
  type SmtpOptions,
  type StatusPage,
} from '@ops/incident';
import pg from 'pg';
import type { BackendConfig } from '../config.js';
import { createNotificationLog, logOnlyNotifier, type NotificationLog } from './notification-log.js';
import type { ProblemGrouping } from './problem-sink.js';

/** The service name of the notes API in incidents, SLOs and the status page component. */
export const NOTES_SERVICE = 'notes';

/** The one problem key of the notes API being degraded (health checks and page-tier SLO burns fold into it). */
export const NOTES_DEGRADED_PROBLEM = 'notes:degraded';

/** The runbooks' escalation levels, before `ESCALATION_SCALE`. */
export const ESCALATION_LEVELS = [
  { level: 'L1', role: 'automated (healing ladder)', startAfter: '0s' },
  { level: 'L2', role: 'platform engineer', startAfter: '5m' },
  { level: 'L3', role: 'senior engineer', startAfter: '15m' },
  { level: 'L4', role: 'engineering manager (P0 only)', startAfter: '30m' },
] as const;

/** The incident side of the backend. */
export interface NotesIncidents {
  readonly incidents: IncidentManager;
  readonly statusPage: StatusPage;
  /** `POST /hooks/alertmanager` (Alertmanager webhook v4, group mode). */
  readonly alertmanagerReceiver: OpsHandler;
  /** What this process's notifiers sent. */
  readonly notifications: NotificationLog;
  /** Offsets of L1–L4 after `ESCALATION_SCALE`, in ms. */
  readonly levelOffsetsMs: readonly number[];
  close(): Promise<void>;
}

/** Options of {@link createNotesIncidents}. */
export interface NotesIncidentsOptions {
  config: BackendConfig;
  clock: Clock;
  logger: Logger;
  /** L1's automation: runs the healing ladder (late-bound: the healer is created after the incident manager). */
  heal: Automation;
  /** Base URL of this service (the status page links there). */
  publicUrl: () => string;
  /** Start the timer and delivery loop (every `INCIDENT_TICK_EVERY`). Default `true`. */
  autoStart?: boolean;
}

const scaled = (duration: Duration, scale: number): number => Math.round(parseDuration(duration) * scale);

/** SMTP options from `smtp://[user:pass@]host:port` (`smtps://` for TLS from the first byte). */
export function smtpOptionsOf(url: string): SmtpOptions {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'smtps:';
  const options: SmtpOptions = {
    host: parsed.hostname,
    port: parsed.port === '' ? (secure ? 465 : 587) : Number(parsed.port),
    secure,
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 10_000,
  };
  if (!secure && ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(parsed.hostname)) options.ignoreTLS = true;
  if (parsed.username !== '')
    options.auth = { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) };
  return options;
}

/**
 * Which incident an in-process alert belongs to: the critical health checks and the page-tier SLO burns of the
 * notes API are one problem ({@link NOTES_DEGRADED_PROBLEM}); a ticket-tier burn is inhibited while that problem of
 * its service is open (an Alertmanager inhibit rule with `equal: [service]`: the page's incident covers it), and is
 * its own P2 ticket otherwise; healing escalations keep their own key; non-critical health checks (disk, backup freshness, the Redis
 * cache) are not incidents here — they warn readiness and have their own runbooks.
 */
export function groupNotesAlert(alert: OpsAlert, firing: ReadonlySet<string>): ProblemGrouping {
  if (alert.source === 'health') return alert.severity === 'critical' ? { problem: NOTES_DEGRADED_PROBLEM } : 'drop';
  if (alert.source === 'slo') {
    if (alert.severity === 'critical') return { problem: NOTES_DEGRADED_PROBLEM };
    const service = alert.labels['service'] ?? NOTES_SERVICE;
    const inhibited = [...firing].some(
      (key) => key.startsWith(`health:${service}:`) || key.startsWith(`slo:${service}/`),
    );
    return inhibited ? 'drop' : 'pass';
  }
  return 'pass';
}

/** Constant-time check of `Authorization: Bearer <token>`. */
function bearerMatches(header: string | string[] | undefined, token: string): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !value.startsWith('Bearer ')) return false;
  const given = Buffer.from(value.slice('Bearer '.length));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const COMPONENT_STATUS: Record<string, ComponentStatus> = { P0: 'major_outage', P1: 'partial_outage' };

/**
 * Creates the incident manager of the notes service: PostgreSQL store when `DATABASE_URL` is set (its own small
 * pool, so healing's pool resets never touch it), the runbooks' escalation policy, P0/P1 page and P2/P3 ticket
 * routing, Standard-Webhooks and SMTP notifiers, the status page and the Alertmanager receiver.
 */
export async function createNotesIncidents(options: NotesIncidentsOptions): Promise<NotesIncidents> {
  const { config, clock, logger, heal, publicUrl } = options;
  let incidentPool: pg.Pool | undefined;
  let store: IncidentStore;
  if (config.databaseUrl !== undefined) {
    incidentPool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: 4,
      connectionTimeoutMillis: 5_000,
      application_name: `ops-reference-backend-incidents:${config.instanceId}`,
    });
    incidentPool.on('error', () => undefined);
    await migrateIncidentSchema(incidentPool);
    store = createPostgresIncidentStore({ pool: incidentPool, migrate: false });
  } else {
    store = createMemoryIncidentStore();
  }

  const notifications = createNotificationLog({ now: () => clock.now(), logger });
  const roleNotifier = (role: string): [string, Notifier] => {
    if (config.notifyWebhookUrl === undefined)
      return [role, notifications.record(role, role, 'log', logOnlyNotifier())];
    const webhook = webhookNotifier({
      url: config.notifyWebhookUrl,
      ...(config.notifyWebhookSecret === undefined ? {} : { secret: config.notifyWebhookSecret }),
      headers: { 'x-notes-oncall-role': role, 'x-notes-instance': config.instanceId },
      clock,
    });
    return [role, notifications.record(role, role, 'webhook', webhook)];
  };
  const notifiers: Record<string, Notifier> = Object.fromEntries(
    ['platform-engineer', 'senior-engineer', 'engineering-manager', 'incident-channel', 'ticket-queue'].map(
      roleNotifier,
    ),
  );
  const email = config.smtpUrl !== undefined;
  if (email) {
    notifiers['email'] = notifications.record(
      'email',
      'on-call mailbox',
      'email',
      emailNotifier({
        smtp: smtpOptionsOf(config.smtpUrl as string),
        from: 'Notes incidents <incidents@notes.invalid>',
        to: config.notifyEmailTo,
        events: ['incident.escalated', 'incident.mitigated', 'incident.resolved'],
      }),
    );
  }
  const withEmail = (targets: string[]) => (email ? [...targets, 'email'] : targets);
  const scale = config.escalationScale;
  const levelOffsetsMs = ESCALATION_LEVELS.map((level) => scaled(level.startAfter, scale));
  const runbook: EscalationPolicy = {
    id: 'runbook',
    name: 'Runbook escalation: L1 automated → L2 platform engineer → L3 senior → L4 manager',
    levels: [
      { startAfter: levelOffsetsMs[0]!, targets: [{ automation: 'heal' }] }, // L1 automated, 0–5 min
      { startAfter: levelOffsetsMs[1]!, targets: withEmail(['platform-engineer']) }, // L2, 5–15 min
      { startAfter: levelOffsetsMs[2]!, targets: withEmail(['senior-engineer']) }, // L3, 15–30 min
      { startAfter: levelOffsetsMs[3]!, targets: withEmail(['engineering-manager']), severities: ['P0'] }, // L4
    ],
    repeat: { times: 1, after: scaled('10m', scale) },
    onExhausted: { notify: ['incident-channel'] },
  };
  const routes: Route[] = [
    {
      when: { route: 'page' }, // P0/P1: page through the escalation policy
      escalationPolicy: 'runbook',
      notify: ['incident-channel'],
      events: ['incident.triggered', 'incident.acknowledged', 'incident.mitigated', 'incident.resolved'],
    },
    { when: { route: 'ticket' }, notify: ['ticket-queue'] }, // P2/P3: a ticket, nobody is paged
  ];

  const incidents = createIncidentManager({
    store,
    clock,
    logger,
    owner: config.instanceId,
    tickEvery: config.incidentTickEvery,
    autoStart: options.autoStart ?? true,
    defaultService: NOTES_SERVICE,
    severityPolicy: {
      // Alertmanager alerts of `ops-slo rules` carry severity=page|ticket; in-process ones critical/warning.
      rules: [
        { severity: 'P0', labels: { severity: 'page' } },
        { severity: 'P2', labels: { severity: 'ticket' } },
      ],
    },
    notifiers,
    automations: { heal },
    escalationPolicies: [runbook],
    routes,
    delivery: { initialDelay: '1s', maxDelay: '30s', automationTimeout: '2m' },
    publicUrl: () => `${publicUrl()}/status`,
  });

  // Every new paging incident gets a first public update, so the status page says something at once.
  // Every new paging incident of the notes API names its status-page component and gets a first public update,
  // so the status page says something at once.
  incidents.on('incident.triggered', ({ incident }) => {
    if (incident.urgency !== 'high') return;
    void (async () => {
      if (incident.service === NOTES_SERVICE && incident.components.length === 0)
        await incidents.setComponents(incident.id, [NOTES_SERVICE], { by: 'notes-service' });
      await incidents.postUpdate(incident.id, {
        body: `We are investigating errors and slow responses of the notes API (${incident.title}).`,
        by: 'notes-service',
        statuspageStatus: 'investigating',
      });
    })().catch((error: unknown) =>
      logger.warn({ incident: incident.id, error: (error as Error).message }, 'first status update failed'),
    );
  });

  // Built on first use, once the listener knows its port (the page links to its public URL).
  let built: StatusPage | undefined;
  const build = () =>
    (built ??= createStatusPage(incidents, {
      page: { id: 'notes', name: 'Notes', url: `${publicUrl()}/status` },
      components: [{ id: NOTES_SERVICE, name: 'Notes API', description: 'Create, read and list notes' }],
      componentsOf: (incident: Incident) => {
        const own = incident.components ?? [];
        if (own.length > 0) return own;
        const status = COMPONENT_STATUS[incident.severity];
        return incident.service === NOTES_SERVICE && status !== undefined ? [{ id: NOTES_SERVICE, status }] : [];
      },
      cacheTtl: '1s',
      clock,
    }));
  const statusPage: StatusPage = {
    handler: (request) =>
      request.path === '/status' || request.path.startsWith('/status/')
        ? build().handler(request)
        : Promise.resolve(undefined),
    snapshot: () => build().snapshot(),
  };
  const token = config.alertmanagerToken;
  const alertmanagerReceiver = createAlertmanagerReceiver(incidents, {
    path: '/hooks/alertmanager',
    serviceLabel: 'slo_service',
    defaultService: NOTES_SERVICE,
    logger,
    ...(token === undefined ? {} : { authorize: (request) => bearerMatches(request.headers['authorization'], token) }),
  });

  return {
    incidents,
    statusPage,
    alertmanagerReceiver,
    notifications,
    levelOffsetsMs,
    async close() {
      await incidents.close();
      await incidentPool?.end();
    },
  };
}
