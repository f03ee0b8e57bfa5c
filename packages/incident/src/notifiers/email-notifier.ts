import { createRequire } from 'node:module';
import { IncidentError } from '../errors.js';
import { createCommsTemplates, type CommsMoment, type CommsTemplates } from '../comms/comms-templates.js';
import type { NotificationEventName, NotificationPayload } from '../model/records.js';
import { createSeverityPolicy } from '../severity/severity-policy.js';
import type { NotificationContext, Notifier } from './notifier.js';

/** The message the notifier hands its transport (a subset of nodemailer's `Mail.Options`). */
export interface MailMessage {
  from: string;
  to: string[];
  cc?: string[];
  replyTo?: string;
  subject: string;
  text: string;
  /** `<idempotency-key@domain>`: the same on every attempt, so a repeat is recognisable. */
  messageId: string;
  /** Threads every message of one incident (`<INC-…@domain>`). */
  references: string;
  headers: Record<string, string>;
}

/** What the notifier needs of a mail transport: nodemailer's `Transporter.sendMail` (structural, no import). */
export interface MailTransportLike {
  sendMail(message: MailMessage): Promise<{ accepted?: readonly unknown[]; rejected?: readonly unknown[] }>;
}

/** SMTP settings passed to nodemailer's `createTransport` (nodemailer is an optional peer dependency). */
export interface SmtpOptions {
  host: string;
  /** Default 587 (465 when `secure`). */
  port?: number;
  /** TLS from the first byte (port 465). Default false: STARTTLS when the server offers it. */
  secure?: boolean;
  /** Refuse to send without STARTTLS. Default false. */
  requireTLS?: boolean;
  /** Never use STARTTLS (a local relay). Default false. */
  ignoreTLS?: boolean;
  auth?: { user: string; pass: string };
  /** Milliseconds to wait for the connection / greeting / socket inactivity. Defaults 10 s / 10 s / 30 s. */
  connectionTimeout?: number;
  greetingTimeout?: number;
  socketTimeout?: number;
  /** Passed to `tls.connect` (e.g. `{ servername }`, a CA). */
  tls?: Record<string, unknown>;
}

/** Options of {@link emailNotifier}. */
export interface EmailNotifierOptions {
  /** Sender address (`'Incidents <incidents@example.com>'`). */
  from: string;
  /** Recipients. */
  to: string | readonly string[];
  cc?: string | readonly string[];
  replyTo?: string;
  /** SMTP server: a nodemailer transport is created from it (nodemailer must be installed)… */
  smtp?: SmtpOptions;
  /** …or your own transport (`nodemailer.createTransport(…)`, or anything with `sendMail`). */
  transport?: MailTransportLike;
  /**
   * The comms templates rendered (the `email` channel). Default: the built-in ones — the runbook's P0 e-mail —
   * with the default severity policy; pass `createCommsTemplates({ severityPolicy: incidents.severityPolicy })` for
   * yours.
   */
  templates?: CommsTemplates;
  /** Events that send an e-mail. Default: triggered, escalated, reopened, acknowledged, status updates, mitigated, resolved. */
  events?: readonly NotificationEventName[];
  /** Domain of `Message-ID` and `References`. Default: the domain of `from`. */
  messageIdDomain?: string;
}

const DEFAULT_EVENTS: readonly NotificationEventName[] = [
  'incident.triggered',
  'incident.escalated',
  'incident.reopened',
  'incident.acknowledged',
  'incident.status_updated',
  'incident.mitigated',
  'incident.resolved',
];

/** Which comms template an event renders, and the "current status" line when the change carries no text. */
const MOMENTS: Partial<Record<NotificationEventName, { moment: CommsMoment; update: string }>> = {
  'incident.triggered': { moment: 'initial', update: 'Investigating.' },
  'incident.escalated': { moment: 'initial', update: 'Not acknowledged yet: escalated.' },
  'incident.reopened': { moment: 'initial', update: 'The problem is back: reopened.' },
  'incident.acknowledged': { moment: 'update', update: 'Acknowledged; responders are working on it.' },
  'incident.unacknowledged': { moment: 'update', update: 'The acknowledgement lapsed; paging resumed.' },
  'incident.status_updated': { moment: 'update', update: '' },
  'incident.automation': { moment: 'update', update: '' },
  'incident.mitigated': { moment: 'mitigated', update: 'Mitigated; we are monitoring the results.' },
  'incident.resolved': { moment: 'resolved', update: 'Resolved.' },
  'incident.closed': { moment: 'postmortem_published', update: '' },
};

const asList = (value: string | readonly string[] | undefined) =>
  value === undefined ? [] : typeof value === 'string' ? [value] : [...value];

interface NodemailerModule {
  createTransport(options: Record<string, unknown>): MailTransportLike;
}

function smtpTransport(smtp: SmtpOptions): MailTransportLike {
  let nodemailer: NodemailerModule;
  try {
    const loaded = createRequire(import.meta.url)('nodemailer') as NodemailerModule & { default?: NodemailerModule };
    nodemailer = loaded.default ?? loaded;
  } catch (error) {
    throw new IncidentError(
      'CONFIG_INVALID',
      'emailNotifier: smtp needs the nodemailer package: npm install nodemailer',
      {
        cause: error,
      },
    );
  }
  return nodemailer.createTransport({
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    ...smtp,
  });
}

/**
 * Classifies an SMTP failure the way the outbox retries: a 4xx reply (`421`, `450`, `451`, `452`: the server says
 * "try again later") and connection errors are retryable; a 5xx reply (`550` no such mailbox, `554` refused) is
 * permanent, so the row dead-letters at once as a `notify_failed` timeline entry.
 */
function smtpError(error: unknown): IncidentError {
  const details = error as { responseCode?: unknown; response?: unknown; code?: unknown; message?: unknown };
  const status = typeof details.responseCode === 'number' ? details.responseCode : undefined;
  const reply = typeof details.response === 'string' ? details.response : String(details.message ?? error);
  const retryable = status === undefined || (status >= 400 && status < 500);
  return new IncidentError(
    'NOTIFICATION_FAILED',
    `email: ${status === undefined ? `${typeof details.code === 'string' ? `${details.code}: ` : ''}${reply}` : `SMTP ${status}: ${reply}`}`,
    { cause: error, isRetryable: retryable },
  );
}

/**
 * E-mail through SMTP (nodemailer), rendering the comms templates — the runbook's P0 e-mail by default (`Incident ID:
 * INC-2026-0113-001 … Next Update: 30 minutes`) — for the incident's changes, delivered through the outbox like every
 * other target: an SMTP 4xx or a lost connection is retried with backoff, a 5xx dead-letters on the timeline. Every
 * attempt of one message carries the same `Message-ID` (from the outbox row), and all messages of an incident share
 * `References`, so mail clients thread them.
 *
 * @example
 * ```ts
 * const email = emailNotifier({
 *   smtp: { host: 'smtp.example.com', port: 587, auth: { user: 'incidents', pass: process.env.SMTP_PASSWORD! } },
 *   from: 'Incidents <incidents@example.com>',
 *   to: ['oncall@example.com'],
 *   templates: createCommsTemplates({ severityPolicy: incidents.severityPolicy }),
 * });
 * ```
 */
export function emailNotifier(options: EmailNotifierOptions): Notifier {
  const { from, replyTo, events = DEFAULT_EVENTS } = options;
  const to = asList(options.to);
  const cc = asList(options.cc);
  if (typeof from !== 'string' || from.trim() === '')
    throw new IncidentError('ARGUMENT_INVALID', 'emailNotifier: from is required');
  if (to.length === 0) throw new IncidentError('ARGUMENT_INVALID', 'emailNotifier: to needs at least one address');
  if ((options.smtp === undefined) === (options.transport === undefined))
    throw new IncidentError('ARGUMENT_INVALID', 'emailNotifier: give smtp (host, port, auth) or a transport');
  for (const event of events)
    if (!(event in MOMENTS))
      throw new IncidentError('ARGUMENT_INVALID', `emailNotifier: no e-mail template for the event "${event}"`);
  const transport = options.transport ?? smtpTransport(options.smtp as SmtpOptions);
  const templates = options.templates ?? createCommsTemplates({ severityPolicy: createSeverityPolicy() });
  const domain = options.messageIdDomain ?? /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'ops-incident.invalid';

  return {
    kind: 'email',
    events,
    async send(payload: NotificationPayload, context: NotificationContext) {
      const { moment, update } = MOMENTS[payload.event] ?? { moment: 'update', update: '' };
      const rendered = templates.render(moment, 'email', payload.incident, {
        update: payload.message ?? update,
        now: payload.at,
        ...(payload.url === undefined ? {} : { url: payload.url }),
      });
      const message: MailMessage = {
        from,
        to,
        ...(cc.length ? { cc } : {}),
        ...(replyTo === undefined ? {} : { replyTo }),
        subject: rendered.subject ?? `[${payload.incident.severity}] ${payload.incident.id}: ${payload.incident.title}`,
        text: rendered.body,
        messageId: `<${context.idempotencyKey}@${domain}>`,
        references: `<${payload.incident.id}@${domain}>`,
        headers: {
          'X-Ops-Incident-Id': payload.incident.id,
          'X-Ops-Incident-Event': payload.event,
          'X-Ops-Incident-Severity': payload.incident.severity,
        },
      };
      let result: Awaited<ReturnType<MailTransportLike['sendMail']>>;
      try {
        result = await transport.sendMail(message);
      } catch (error) {
        throw smtpError(error);
      }
      // nodemailer resolves when at least one recipient was accepted; none accepted is a failure.
      if ((result.accepted?.length ?? 1) === 0)
        throw new IncidentError('NOTIFICATION_FAILED', `email: no recipient accepted (${to.join(', ')})`, {
          isRetryable: true,
        });
    },
  };
}
