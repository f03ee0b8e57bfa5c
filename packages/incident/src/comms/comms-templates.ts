import { IncidentError } from '../errors.js';
import { statuspageStatusOf } from '../lifecycle/incident-manager.js';
import type { Incident } from '../model/records.js';
import type { SeverityPolicy } from '../severity/severity-policy.js';

/** When a message goes out. */
export type CommsMoment = 'initial' | 'update' | 'mitigated' | 'resolved' | 'postmortem_published';
/** Where it goes. */
export type CommsChannel = 'email' | 'slack' | 'statuspage';

/** A template: `{{name}}` placeholders (see {@link COMMS_PLACEHOLDERS}); `subject` for e-mail. */
export interface CommsTemplate {
  subject?: string;
  body: string;
}

/** The placeholders templates may use. */
export const COMMS_PLACEHOLDERS = [
  'id',
  'title',
  'summary',
  'severity',
  'severityDescription',
  'urgency',
  'status',
  'service',
  'components',
  'startedAt',
  'detectedAt',
  'resolvedAt',
  'commander',
  'update',
  'nextUpdate',
  'nextUpdateAt',
  'url',
] as const;

type Placeholder = (typeof COMMS_PLACEHOLDERS)[number];

const P0_EMAIL: CommsTemplate = {
  subject: '[{{severity}}] {{id}}: {{title}}',
  body: [
    'Incident ID: {{id}}',
    'Severity: {{severity}} ({{severityDescription}})',
    'Status: {{status}}',
    'Started: {{startedAt}}',
    'Services affected: {{service}}{{components}}',
    'Incident Commander: {{commander}}',
    '',
    'Impact: {{summary}}',
    '',
    'Current status: {{update}}',
    '',
    'Next Update: {{nextUpdate}}',
    '{{url}}',
  ].join('\n'),
};

/** The defaults: the runbook's P0 e-mail for e-mail, one-liners for Slack, plain updates for the status page. */
export const DEFAULT_COMMS_TEMPLATES: Record<CommsChannel, Record<CommsMoment, CommsTemplate>> = {
  email: {
    initial: P0_EMAIL,
    update: { ...P0_EMAIL, subject: '[{{severity}}] Update: {{id}}: {{title}}' },
    mitigated: { ...P0_EMAIL, subject: '[{{severity}}] Mitigated: {{id}}: {{title}}' },
    resolved: {
      subject: '[{{severity}}] Resolved: {{id}}: {{title}}',
      body: 'Incident ID: {{id}}\nSeverity: {{severity}}\nStatus: Resolved at {{resolvedAt}}\nStarted: {{startedAt}}\n\n{{update}}\n\nA postmortem follows.\n{{url}}',
    },
    postmortem_published: {
      subject: 'Postmortem: {{id}}: {{title}}',
      body: 'The postmortem of {{id}} ({{title}}) is published.\n\n{{update}}\n{{url}}',
    },
  },
  slack: {
    initial: {
      body: ':rotating_light: *[{{severity}}] {{id}}* {{title}} — {{service}}. {{update}} Next update in {{nextUpdate}}. {{url}}',
    },
    update: { body: ':mega: *[{{severity}}] {{id}}* {{status}}: {{update}} Next update in {{nextUpdate}}.' },
    mitigated: { body: ':adhesive_bandage: *[{{severity}}] {{id}}* mitigated: {{update}}' },
    resolved: { body: ':white_check_mark: *[{{severity}}] {{id}}* resolved: {{update}}' },
    postmortem_published: { body: ':memo: Postmortem of *{{id}}* published. {{url}}' },
  },
  statuspage: {
    initial: { body: 'We are investigating {{title}}. {{update}}' },
    update: { body: '{{update}}' },
    mitigated: { body: 'A fix has been implemented and we are monitoring the results. {{update}}' },
    resolved: { body: 'This incident has been resolved. {{update}}' },
    postmortem_published: { body: 'The postmortem of this incident is published. {{update}}' },
  },
};

/** Options of {@link createCommsTemplates}. */
export interface CommsTemplatesOptions {
  /** Your templates, replacing defaults per channel and moment. */
  templates?: Partial<Record<CommsChannel, Partial<Record<CommsMoment, CommsTemplate>>>>;
  /** The severity policy: `updateEvery` gives "next update". */
  severityPolicy: SeverityPolicy;
  /** Link to the incident. */
  url?: (incident: Incident) => string | undefined;
}

/** What a render gets besides the incident. */
export interface CommsContext {
  /** The text of this update. */
  update?: string;
  /** When this message goes out (epoch ms). */
  now: number;
  /** The `{{url}}` of this message (a notification's link); default from the `url` option. */
  url?: string;
}

/** Renders the comms templates. */
export interface CommsTemplates {
  render(
    moment: CommsMoment,
    channel: CommsChannel,
    incident: Incident,
    context: CommsContext,
  ): { subject?: string; body: string };
}

/** `1800000` → `'30 minutes'`, `3600000` → `'1 hour'`, `5400000` → `'1 hour 30 minutes'`. */
export function durationInWords(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms));
  for (const [size, name] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count} ${name}${count === 1 ? '' : 's'}`);
    rest -= count * size;
  }
  return parts.slice(0, 2).join(' ') || '0 seconds';
}

function check(template: CommsTemplate, where: string): void {
  for (const text of [template.subject ?? '', template.body]) {
    for (const [, name] of text.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)) {
      if (!COMMS_PLACEHOLDERS.includes(name as Placeholder)) {
        throw new IncidentError(
          'ARGUMENT_INVALID',
          `${where}: unknown placeholder {{${name}}}; use ${COMMS_PLACEHOLDERS.map((entry) => `{{${entry}}}`).join(', ')}`,
        );
      }
    }
  }
}

/**
 * Comms templates for initial / update / mitigated / resolved / postmortem-published messages per channel, with the
 * runbook's P0 e-mail as the default and "next update" from the severity's `updateEvery` cadence.
 *
 * @example
 * ```ts
 * const comms = createCommsTemplates({ severityPolicy: incidents.severityPolicy });
 * const { subject, body } = comms.render('initial', 'email', incident, { update: 'Checkout fails for 30% of users', now: Date.now() });
 * ```
 */
export function createCommsTemplates(options: CommsTemplatesOptions): CommsTemplates {
  const templates = structuredClone(DEFAULT_COMMS_TEMPLATES);
  for (const [channel, moments] of Object.entries(options.templates ?? {})) {
    if (!(channel in templates))
      throw new IncidentError('ARGUMENT_INVALID', `templates: unknown channel "${channel}" (email, slack, statuspage)`);
    for (const [moment, template] of Object.entries(moments ?? {})) {
      if (!(moment in templates.email))
        throw new IncidentError('ARGUMENT_INVALID', `templates.${channel}: unknown moment "${moment}"`);
      check(template, `templates.${channel}.${moment}`);
      templates[channel as CommsChannel][moment as CommsMoment] = template;
    }
  }
  const policy = options.severityPolicy;
  return {
    render(moment, channel, incident, context) {
      const template = templates[channel]?.[moment];
      if (!template) throw new IncidentError('ARGUMENT_INVALID', `no template for ${channel}/${moment}`);
      const level = policy.has(incident.severity) ? policy.level(incident.severity) : undefined;
      const cadence = level?.updateEveryMs;
      const values: Record<Placeholder, string> = {
        id: incident.id,
        title: incident.title,
        summary: incident.summary,
        severity: incident.severity,
        severityDescription: level ? `${level.urgency} urgency, ${level.impact} impact` : incident.severity,
        urgency: incident.urgency,
        status: statuspageStatusOf(incident.status).replace(/^./, (first) => first.toUpperCase()),
        service: incident.service,
        components: incident.components.length
          ? ` (${incident.components.map((component) => component.id).join(', ')})`
          : '',
        startedAt: new Date(incident.impactStartedAt ?? incident.triggeredAt).toISOString(),
        detectedAt: new Date(incident.triggeredAt).toISOString(),
        resolvedAt: incident.resolvedAt === undefined ? '' : new Date(incident.resolvedAt).toISOString(),
        commander: incident.roles.commander ?? 'to be assigned',
        update: context.update ?? '',
        nextUpdate: cadence === undefined ? 'when there is news' : durationInWords(cadence),
        nextUpdateAt: cadence === undefined ? '' : new Date(context.now + cadence).toISOString(),
        url: context.url ?? options.url?.(incident) ?? '',
      };
      const fill = (text: string) =>
        text.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_, name: Placeholder) => values[name]).trim();
      return {
        ...(template.subject === undefined ? {} : { subject: fill(template.subject) }),
        body: fill(template.body),
      };
    },
  };
}
