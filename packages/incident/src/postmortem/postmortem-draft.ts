import type { Incident, IncidentAlert, Postmortem, TimelineEvent } from '../model/records.js';
import type { SeverityPolicy } from '../severity/severity-policy.js';
import { durationInWords } from '../comms/comms-templates.js';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** The sections a draft has; `Root cause` and `Summary` are required, so a draft cannot be published unread. */
export const POSTMORTEM_SECTIONS = [
  'Summary',
  'Impact',
  'Detection',
  'Response',
  'Timeline',
  'Contributing signals',
  'Root cause',
  'Action items',
] as const;

function target(actualMs: number | undefined, targetMs: number | undefined): string {
  if (actualMs === undefined) return 'not reached';
  const actual = durationInWords(actualMs);
  if (targetMs === undefined) return actual;
  return `${actual} (target ${durationInWords(targetMs)}: ${actualMs <= targetMs ? 'met' : 'missed'})`;
}

/**
 * A postmortem draft from what the incident recorded (Dispatch creates its review document when an incident turns
 * stable): summary, impact window, detection (MTTD), response times against the severity's targets, the timeline,
 * contributing signals (the alerts), an empty required root cause, and the action items.
 */
export function generatePostmortemDraft(input: {
  incident: Incident;
  timeline: readonly TimelineEvent[];
  alerts: readonly IncidentAlert[];
  policy: SeverityPolicy;
  now: number;
}): Postmortem {
  const { incident, timeline, alerts, policy, now } = input;
  const level = policy.has(incident.severity) ? policy.level(incident.severity) : undefined;
  const impactStart = incident.impactStartedAt ?? incident.triggeredAt;
  const impactEnd = incident.mitigatedAt ?? incident.resolvedAt;
  const section = (title: string, body: string, required = false) => ({ title, required, body });
  return {
    incidentId: incident.id,
    status: 'draft',
    createdAt: now,
    updatedAt: now,
    actionItems: structuredClone(incident.actionItems),
    sections: [
      section(
        'Summary',
        `${incident.title} (${incident.id}, ${incident.severity}, service ${incident.service}).\n\n${incident.summary}`,
        true,
      ),
      section(
        'Impact',
        [
          `- Impact window: ${iso(impactStart)} → ${impactEnd === undefined ? 'ongoing' : iso(impactEnd)}${impactEnd === undefined ? '' : ` (${durationInWords(impactEnd - impactStart)})`}`,
          `- Components: ${incident.components.map((component) => `${component.id} (${component.status})`).join(', ') || 'none recorded'}`,
          `- Alerts received: ${incident.occurrences}`,
        ].join('\n'),
      ),
      section(
        'Detection',
        [
          `- Detected by ${incident.source} at ${iso(incident.triggeredAt)}`,
          `- Time to detect: ${incident.impactStartedAt === undefined ? 'unknown (no impact start recorded)' : durationInWords(incident.triggeredAt - incident.impactStartedAt)}`,
        ].join('\n'),
      ),
      section(
        'Response',
        [
          `- Time to acknowledge: ${target(incident.acknowledgedAt === undefined ? undefined : incident.acknowledgedAt - incident.triggeredAt, level?.ackWithinMs)}`,
          `- Time to mitigate: ${target(incident.mitigatedAt === undefined ? undefined : incident.mitigatedAt - incident.triggeredAt, level?.mitigateWithinMs)}`,
          `- Time to resolve: ${target(incident.resolvedAt === undefined ? undefined : incident.resolvedAt - incident.triggeredAt, undefined)}`,
          `- Escalation: ${incident.escalation.level < 0 ? 'nobody paged' : `level ${incident.escalation.level + 1} reached${incident.escalation.exhausted ? ', policy exhausted' : ''}`}`,
          `- Commander: ${incident.roles.commander ?? 'none'}; responders: ${incident.roles.responders.join(', ') || 'none'}`,
          `- Targets missed: ${
            timeline
              .filter((event) => event.kind === 'target_breached')
              .map((event) => event.description)
              .join('; ') || 'none'
          }`,
        ].join('\n'),
      ),
      section(
        'Timeline',
        [
          '| time (UTC) | what | who |',
          '|---|---|---|',
          ...timeline
            .filter((event) => event.kind !== 'notified')
            .map(
              (event) =>
                `| ${iso(event.at)} | ${event.kind}: ${event.description.replaceAll('|', '\\|').replaceAll('\n', ' ')} | ${event.actor.id} |`,
            ),
        ].join('\n'),
      ),
      section(
        'Contributing signals',
        alerts.length
          ? alerts
              .map(
                (alert) =>
                  `- ${alert.summary} — ${Object.entries(alert.labels)
                    .map(([name, value]) => `${name}=${value}`)
                    .join(', ')} (${alert.occurrences}×, ${alert.status})`,
              )
              .join('\n')
          : 'No alerts recorded.',
      ),
      section('Root cause', '', true),
      section(
        'Action items',
        incident.actionItems
          .map(
            (item) => `- [${item.status === 'done' ? 'x' : ' '}] ${item.title}${item.owner ? ` (${item.owner})` : ''}`,
          )
          .join('\n') || '- [ ] …',
      ),
    ],
  };
}

/** The postmortem as one Markdown document. */
export function renderPostmortemMarkdown(postmortem: Postmortem, incident: Incident): string {
  const lines = [
    `# Postmortem: ${incident.title} (${incident.id})`,
    '',
    `Status: ${postmortem.status} · severity ${incident.severity} · service ${incident.service}`,
    '',
  ];
  for (const section of postmortem.sections)
    lines.push(`## ${section.title}`, '', section.body.trim() || '_To be written._', '');
  return `${lines.join('\n').trimEnd()}\n`;
}
