import { parseOptionalDuration, type AlertSeverity, type Duration } from '@ops/core';
import { IncidentError } from '../errors.js';
import type { ComponentStatus, Severity, Urgency } from '../model/records.js';

/** Statuspage incident `impact`. */
export type StatuspageImpact = 'none' | 'minor' | 'major' | 'critical';

/** One severity level as configured; every field but `name` has a runbook default (see {@link DEFAULT_SEVERITY_LEVELS}). */
export interface SeverityLevelOptions {
  /** `'P0'`, `'SEV1'`… Unique within the policy. */
  name: string;
  /** What the level means, for people ("full outage, >90% errors for >2 minutes"). */
  description?: string;
  /** `high` pages now, `low` opens a ticket. Kept apart from severity, as PagerDuty and Dispatch do. */
  urgency?: Urgency;
  /** How the incident is routed: `page` (on-call, escalation) or `ticket`. Default: `page` for high urgency. */
  route?: 'page' | 'ticket';
  /** Target: acknowledged within this long of the trigger, else a `target_breached` event. `null` for none. */
  ackWithin?: Duration | null;
  /** Target: mitigated (or resolved) within this long of the trigger. `null` for none. */
  mitigateWithin?: Duration | null;
  /** Target: a public status update at least this often while open. `null` for none. */
  updateEvery?: Duration | null;
  /** An acknowledgement lapses after this long: the incident goes back to `triggered` (PagerDuty `acknowledgement_timeout`). `null` for never. */
  ackTimeout?: Duration | null;
  /** Resolve an open incident when no alert arrived for this long (reason `auto_timeout`). `null` (default) for never. */
  autoResolveAfterSilence?: Duration | null;
  /** `closed` needs a published postmortem. */
  requiresPostmortem?: boolean;
  /** PagerDuty Events v2 `payload.severity` used when sending to PagerDuty. */
  pagerDutySeverity?: AlertSeverity;
  /** Statuspage incident impact. */
  impact?: StatuspageImpact;
  /** Status of affected status-page components. */
  componentStatus?: ComponentStatus;
}

/** A level with every default applied and durations in milliseconds. */
export interface SeverityLevel {
  name: string;
  description: string;
  /** 0 for the most severe. */
  rank: number;
  urgency: Urgency;
  route: 'page' | 'ticket';
  ackWithinMs: number | undefined;
  mitigateWithinMs: number | undefined;
  updateEveryMs: number | undefined;
  ackTimeoutMs: number | undefined;
  autoResolveAfterSilenceMs: number | undefined;
  requiresPostmortem: boolean;
  pagerDutySeverity: AlertSeverity;
  impact: StatuspageImpact;
  componentStatus: ComponentStatus;
}

type Defaults = Required<Omit<SeverityLevelOptions, 'name' | 'route'>>;

/**
 * The runbooks' P0–P3 (a level at position i of a custom policy takes the defaults of position i, the last one
 * beyond): P0 full outage (respond now: ack 5 min, mitigate 30 min, update every 30 min); P1 partial outage (ack 15
 * min, mitigate 2 h, update hourly); P2 degradation (ticket: ack 4 h, mitigate 1 d); P3 minor (ticket: ack 1 d).
 * Acknowledgements lapse after 30 minutes on the paging levels (PagerDuty's default); P0 and P1 need a postmortem.
 */
export const DEFAULT_SEVERITY_LEVELS: readonly (Defaults & { name: string })[] = [
  {
    name: 'P0',
    description: 'Full outage or critical impact (e.g. >90% errors for >2 minutes): respond immediately.',
    urgency: 'high',
    ackWithin: '5m',
    mitigateWithin: '30m',
    updateEvery: '30m',
    ackTimeout: '30m',
    autoResolveAfterSilence: null,
    requiresPostmortem: true,
    pagerDutySeverity: 'critical',
    impact: 'critical',
    componentStatus: 'major_outage',
  },
  {
    name: 'P1',
    description: 'Partial outage or elevated errors: respond within 15 minutes.',
    urgency: 'high',
    ackWithin: '15m',
    mitigateWithin: '2h',
    updateEvery: '1h',
    ackTimeout: '30m',
    autoResolveAfterSilence: null,
    requiresPostmortem: true,
    pagerDutySeverity: 'error',
    impact: 'major',
    componentStatus: 'partial_outage',
  },
  {
    name: 'P2',
    description: 'Performance degradation (e.g. >50% slower): a ticket, within working hours.',
    urgency: 'low',
    ackWithin: '4h',
    mitigateWithin: '1d',
    updateEvery: '1d',
    ackTimeout: null,
    autoResolveAfterSilence: null,
    requiresPostmortem: false,
    pagerDutySeverity: 'warning',
    impact: 'minor',
    componentStatus: 'degraded_performance',
  },
  {
    name: 'P3',
    description: 'Minor or informational: a ticket.',
    urgency: 'low',
    ackWithin: '1d',
    mitigateWithin: '1w',
    updateEvery: null,
    ackTimeout: null,
    autoResolveAfterSilence: null,
    requiresPostmortem: false,
    pagerDutySeverity: 'info',
    impact: 'none',
    componentStatus: 'operational',
  },
];

/** A rule that sets the severity of matching alerts; the first matching rule wins. */
export interface SeverityRule {
  /** The severity to give. */
  severity: Severity;
  /** Labels that must all equal these values (a RegExp must match the whole value). */
  labels?: Record<string, string | RegExp>;
  /** The alert's source must be one of these. */
  sources?: readonly string[];
  /** The alert's own severity must be one of these. */
  alertSeverities?: readonly AlertSeverity[];
  /** The service must be one of these. */
  services?: readonly string[];
}

/** Options of {@link createSeverityPolicy}. */
export interface SeverityPolicyOptions {
  /** The levels, most severe first. Default P0–P3 ({@link DEFAULT_SEVERITY_LEVELS}). */
  levels?: readonly SeverityLevelOptions[];
  /** Classification rules, tried in order before the defaults. */
  rules?: readonly SeverityRule[];
  /**
   * Map from an alert severity (PagerDuty vocabulary) to a level. Default: critical → 1st level, error → 2nd,
   * warning → 3rd, info → 4th (clamped to the last level).
   */
  fromAlertSeverity?: Partial<Record<AlertSeverity, Severity>>;
  /** The level of alerts that say nothing about severity. Default: the level of `error` (as Alertmanager's PagerDuty integration). */
  defaultSeverity?: Severity;
}

/** What the policy classifies. */
export interface ClassifiableAlert {
  service?: string;
  source?: string;
  severity?: AlertSeverity;
  labels?: Record<string, string>;
}

/** Severity levels, their response targets, and how alerts are classified into them. */
export interface SeverityPolicy {
  /** Levels, most severe first. */
  readonly levels: readonly SeverityLevel[];
  /** The level called `name`. @throws IncidentError `ARGUMENT_INVALID` naming the known levels. */
  level(name: Severity): SeverityLevel;
  /** Whether `name` is a level of this policy. */
  has(name: string): boolean;
  /**
   * The severity of an alert: the first matching rule; else a `severity` (or `priority`) label naming a level
   * (case-insensitive); else the alert severity (or a `severity` label in PagerDuty vocabulary) mapped by
   * `fromAlertSeverity`; else `defaultSeverity`.
   */
  classify(alert: ClassifiableAlert): Severity;
  /** Negative when `a` is more severe than `b`, 0 when equal. */
  compare(a: Severity, b: Severity): number;
  /** Whether `severity` is at least as severe as `threshold`. */
  isAtLeast(severity: Severity, threshold: Severity): boolean;
}

const ALERT_SEVERITIES: readonly AlertSeverity[] = ['critical', 'error', 'warning', 'info'];
const URGENCIES: readonly Urgency[] = ['high', 'low'];

/**
 * Creates a {@link SeverityPolicy}: P0–P3 with the runbooks' response targets by default, or your own levels.
 *
 * @example
 * ```ts
 * const policy = createSeverityPolicy({
 *   levels: [{ name: 'SEV1' }, { name: 'SEV2' }, { name: 'SEV3', ackWithin: '2h' }, { name: 'SEV4' }],
 *   rules: [{ labels: { service: 'payments' }, alertSeverities: ['error'], severity: 'SEV1' }],
 * });
 * policy.classify({ severity: 'warning', labels: {} }); // 'SEV3'
 * ```
 */
export function createSeverityPolicy(options: SeverityPolicyOptions = {}): SeverityPolicy {
  const configured = options.levels ?? DEFAULT_SEVERITY_LEVELS;
  if (configured.length === 0) throw new IncidentError('ARGUMENT_INVALID', 'severity policy: levels must not be empty');
  const levels = configured.map((level, rank): SeverityLevel => resolveLevel(level, rank));
  const byName = new Map<string, SeverityLevel>();
  for (const level of levels) {
    if (byName.has(level.name))
      throw new IncidentError('ARGUMENT_INVALID', `severity policy: level "${level.name}" is defined twice`);
    byName.set(level.name, level);
  }
  const byLowerName = new Map([...byName].map(([name, level]) => [name.toLowerCase(), level]));
  const known = () => levels.map((level) => level.name).join(', ');
  const level = (name: Severity): SeverityLevel => {
    const found = byName.get(name);
    if (!found) throw new IncidentError('ARGUMENT_INVALID', `unknown severity "${name}"; this policy has ${known()}`);
    return found;
  };
  const fromAlertSeverity: Record<AlertSeverity, Severity> = {
    critical: levels[0]!.name,
    error: levels[Math.min(1, levels.length - 1)]!.name,
    warning: levels[Math.min(2, levels.length - 1)]!.name,
    info: levels[Math.min(3, levels.length - 1)]!.name,
  };
  for (const [alertSeverity, severity] of Object.entries(options.fromAlertSeverity ?? {})) {
    if (!ALERT_SEVERITIES.includes(alertSeverity as AlertSeverity)) {
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `severity policy: fromAlertSeverity has unknown key "${alertSeverity}"; use ${ALERT_SEVERITIES.join(', ')}`,
      );
    }
    fromAlertSeverity[alertSeverity as AlertSeverity] = level(severity).name;
  }
  const defaultSeverity =
    options.defaultSeverity === undefined ? fromAlertSeverity.error : level(options.defaultSeverity).name;
  const rules = (options.rules ?? []).map((rule, index) => {
    if (!byName.has(rule.severity))
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `severity policy: rules[${index}].severity "${rule.severity}" is not a level (${known()})`,
      );
    return rule;
  });

  const matches = (rule: SeverityRule, alert: ClassifiableAlert): boolean => {
    if (rule.sources && (alert.source === undefined || !rule.sources.includes(alert.source))) return false;
    if (rule.services && (alert.service === undefined || !rule.services.includes(alert.service))) return false;
    if (rule.alertSeverities && (alert.severity === undefined || !rule.alertSeverities.includes(alert.severity)))
      return false;
    for (const [name, expected] of Object.entries(rule.labels ?? {})) {
      const value = alert.labels?.[name];
      if (value === undefined) return false;
      if (typeof expected === 'string' ? value !== expected : !fullMatch(expected, value)) return false;
    }
    return true;
  };

  return {
    levels,
    level,
    has: (name) => byName.has(name),
    classify(alert) {
      for (const rule of rules) if (matches(rule, alert)) return rule.severity;
      for (const labelName of ['severity', 'priority']) {
        const value = alert.labels?.[labelName]?.toLowerCase();
        const named = value === undefined ? undefined : byLowerName.get(value);
        if (named) return named.name;
      }
      if (alert.severity !== undefined) return fromAlertSeverity[alert.severity];
      const labelled = alert.labels?.['severity']?.toLowerCase();
      if (labelled !== undefined && ALERT_SEVERITIES.includes(labelled as AlertSeverity))
        return fromAlertSeverity[labelled as AlertSeverity];
      if (labelled === 'page') return levels[0]!.name;
      if (labelled === 'ticket') return fromAlertSeverity.warning;
      return defaultSeverity;
    },
    compare: (a, b) => level(a).rank - level(b).rank,
    isAtLeast: (severity, threshold) => level(severity).rank <= level(threshold).rank,
  };
}

function fullMatch(pattern: RegExp, value: string): boolean {
  const anchored = new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace('g', '').replace('y', ''));
  return anchored.test(value);
}

function resolveLevel(options: SeverityLevelOptions, rank: number): SeverityLevel {
  const { name } = options;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,32}$/.test(name)) {
    throw new IncidentError(
      'ARGUMENT_INVALID',
      `severity policy: levels[${rank}].name must be 1–32 letters, digits, "_", "." or "-", got ${JSON.stringify(name)}`,
    );
  }
  const defaults = DEFAULT_SEVERITY_LEVELS[Math.min(rank, DEFAULT_SEVERITY_LEVELS.length - 1)]!;
  const pick = <K extends keyof Defaults>(key: K): Defaults[K] =>
    options[key] === undefined ? defaults[key] : (options[key] as Defaults[K]);
  const duration = (
    key: 'ackWithin' | 'mitigateWithin' | 'updateEvery' | 'ackTimeout' | 'autoResolveAfterSilence',
  ): number | undefined => {
    const value = pick(key);
    if (value === null) return undefined;
    const ms = parseOptionalDuration(value, `levels[${rank}].${key}`);
    if (ms !== undefined && ms <= 0)
      throw new IncidentError(
        'ARGUMENT_INVALID',
        `severity policy: levels[${rank}].${key} must be > 0 (use null for none)`,
      );
    return ms;
  };
  const urgency = pick('urgency');
  if (!URGENCIES.includes(urgency))
    throw new IncidentError(
      'ARGUMENT_INVALID',
      `severity policy: levels[${rank}].urgency must be high or low, got ${String(urgency)}`,
    );
  const route = options.route ?? (urgency === 'high' ? 'page' : 'ticket');
  if (route !== 'page' && route !== 'ticket')
    throw new IncidentError('ARGUMENT_INVALID', `severity policy: levels[${rank}].route must be page or ticket`);
  return {
    name,
    description: pick('description'),
    rank,
    urgency,
    route,
    ackWithinMs: duration('ackWithin'),
    mitigateWithinMs: duration('mitigateWithin'),
    updateEveryMs: duration('updateEvery'),
    ackTimeoutMs: duration('ackTimeout'),
    autoResolveAfterSilenceMs: duration('autoResolveAfterSilence'),
    requiresPostmortem: pick('requiresPostmortem'),
    pagerDutySeverity: pick('pagerDutySeverity'),
    impact: pick('impact'),
    componentStatus: pick('componentStatus'),
  };
}
