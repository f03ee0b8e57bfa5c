import {
  ConfigError,
  loadConfig,
  parseConfigText,
  parseDuration,
  type Duration,
  type LoadConfigOptions,
} from '@ops/core';
import { z } from 'zod';
import {
  DEFAULT_ALERT_TIERS,
  MAX_ALERT_WINDOW_MS,
  tierInfeasibility,
  type AlertSeverity,
  type AlertTier,
} from '../alerting/alert-tiers.js';
import { isValidTimeZone, type CalendarUnit } from '../windows/calendar-period.js';
import { labelMatchersSchema, regexLookingWarnings, type LabelMatchers } from './label-matchers.js';

const NAME_PATTERN = /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$/;
const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const ALERT_NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const WINDOW_PLACEHOLDER = /\{\{\s*\.window\s*\}\}/;
const MINUTE = 60_000;

/**
 * Replaces every `{{.window}}` (spaces allowed, as in Sloth) of a query with a Prometheus duration.
 *
 * @example
 * ```ts
 * renderWindowQuery('sum(rate(x[{{.window}}]))', '5m') // 'sum(rate(x[5m]))'
 * ```
 */
export function renderWindowQuery(query: string, window: string): string {
  return query.replace(new RegExp(WINDOW_PLACEHOLDER.source, 'g'), window);
}

/**
 * What is wrong with a `{{.window}}` query at a glance (missing placeholder, unbalanced brackets or quotes), or
 * `undefined`. Full PromQL parsing is Prometheus' job: the generated rules go through `promtool check rules`.
 */
export function windowQueryProblem(query: string): string | undefined {
  if (query.trim() === '') return 'expected a PromQL query';
  if (!WINDOW_PLACEHOLDER.test(query))
    return 'expected the {{.window}} placeholder where the window goes, e.g. rate(x[{{.window}}])';
  const text = renderWindowQuery(query, '5m');
  const closing: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let quote: string | undefined;
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (quote) {
      if (char === '\\') index++;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "'" || char === '`') quote = char;
    else if (char === '(' || char === '[' || char === '{') stack.push(char);
    else if (char in closing) {
      if (stack.pop() !== closing[char]) return `unbalanced ${JSON.stringify(char)} at character ${index + 1}`;
    }
  }
  if (quote) return `unterminated ${quote} string`;
  if (stack.length > 0) return `unclosed ${JSON.stringify(stack.at(-1))}`;
  return undefined;
}
const DAY = 86_400_000;

/** A prom-client counter (by metric name) and optional label matchers that select its series. */
export interface CounterReference {
  /** Metric name as registered, e.g. `'http_requests_total'`. */
  metric: string;
  /**
   * Label matchers: a string is an exact match (`{ code: '500' }` → `code="500"`); `{ regex }`, `{ notRegex }` and
   * `{ not }` give `=~`, `!~` and `!=` (`{ code: { regex: '5..' } }` → `code=~"5.."`).
   */
  matchers?: LabelMatchers | undefined;
}

/**
 * Label names a user label (`labels`, `groupBy`) may not have, because the generated rules and metrics identify SLOs
 * by them: every name starting with `slo_` (`slo_service`, `slo_name`, `slo_window`, `slo_tier`, …) and with `__`
 * (reserved by Prometheus). A recorded series whose identifying label was overwritten by a user label is never
 * selected by its alerts: nothing would ever fire.
 */
export const RESERVED_LABEL_PREFIXES: readonly string[] = Object.freeze(['slo_', '__']);

/** Label names of the exported `ops_slo_*` metrics that a `groupBy` label may not have (besides the prefixes). */
export const RESERVED_GROUP_BY_LABELS: readonly string[] = Object.freeze(['service', 'slo']);

function reservedLabelProblem(name: string): string | undefined {
  const prefix = RESERVED_LABEL_PREFIXES.find((candidate) => name.startsWith(candidate));
  if (prefix === undefined) return undefined;
  return `label name ${JSON.stringify(name)} is reserved: names starting with "${prefix}" identify the SLO in the generated rules (slo_service, slo_name, slo_window, slo_tier, …), and overwriting one would silence every alert; rename it (e.g. ${JSON.stringify(`team_${name.replace(/^_+|^slo_/, '')}`)})`;
}

/** How events are judged good or bad. */
export type SliSpec =
  | { /** Events recorded with `{ good: boolean }`. */ type: 'availability' }
  | {
      /** Events recorded with `{ latencyMs }`: good when `latencyMs <= threshold`. */ type: 'latency';
      threshold: Duration;
    }
  | {
      /** Ratio of two prom-client counters: give `good` or `bad`, and `total`. */
      type: 'ratio';
      good?: CounterReference;
      bad?: CounterReference;
      total: CounterReference;
    }
  | {
      /**
       * Any PromQL (Sloth `events`): bad and total events over a window, each with a `{{.window}}` placeholder
       * (`sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))`). Evaluated by Prometheus only (rules, status,
       * reports): the in-process tracker refuses it.
       */
      type: 'events';
      errorQuery: string;
      totalQuery: string;
    }
  | {
      /**
       * Any PromQL (Sloth `raw`): the error ratio over a window, with a `{{.window}}` placeholder. Evaluated by
       * Prometheus only; the period ratio is the unweighted average of the 5m ratios (no traffic to weigh by).
       */
      type: 'raw';
      errorRatioQuery: string;
    };

/** The SLO period: rolling (`'30d'`, `'28d'`) or aligned to the calendar of an IANA time zone. */
export type WindowSpec = Duration | { calendar: CalendarUnit; /** IANA zone, default `'UTC'`. */ timeZone?: string };

/** Change to one default tier: `false` disables it, an object overrides fields. */
export type TierOverride =
  | boolean
  | Partial<{
      severity: AlertSeverity;
      budgetPercent: number;
      long: Duration;
      short: Duration;
      for: Duration;
      keepFiringFor: Duration;
    }>;

/** A custom tier (replacing the defaults when `alerting.tiers` is an array). */
export interface TierSpec {
  name: string;
  severity: AlertSeverity;
  budgetPercent: number;
  long: Duration;
  short: Duration;
  for?: Duration;
  /** Keep firing this long after the condition cleared (Prometheus `keep_firing_for`). */
  keepFiringFor?: Duration;
}

/** Alerting options of one severity (`alerting.page`, `alerting.ticket`). */
export interface SeverityAlertSpec {
  /** `true` drops every tier of this severity (Sloth `disable`). */
  disable?: boolean;
  /** Alert name for this severity. */
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  runbookUrl?: string;
}

/** Alerting options of one SLO. */
export interface AlertingSpec {
  /** Per-tier toggles/overrides of the Workbook tiers by name, or a full list of custom tiers. */
  tiers?: Partial<Record<string, TierOverride>> | TierSpec[];
  /** Low-traffic guard: a tier fires only when its long window holds at least this many events. Default 0. */
  minEvents?: number;
  /** Window whose burn rate projects time to exhaustion. Default `'1h'`. */
  exhaustionWindow?: Duration;
  /** Alert name of every tier (Sloth `alerting.name`). Default `SloErrorBudgetBurn`. */
  name?: string;
  /** Labels added to every alert of the SLO (Sloth `alerting.labels`). */
  labels?: Record<string, string>;
  /** Annotations added to every alert of the SLO (Sloth `alerting.annotations`). */
  annotations?: Record<string, string>;
  /** Runbook URL: the `runbook_url` annotation of every alert. */
  runbookUrl?: string;
  /** Options of the page alerts (Sloth `page_alert`): merged over the ones above. */
  page?: SeverityAlertSpec;
  /** Options of the ticket alerts (Sloth `ticket_alert`): merged over the ones above. */
  ticket?: SeverityAlertSpec;
  /**
   * Default `keepFiringFor` of every tier (a tier's own wins): after the condition clears, the tier keeps firing
   * this long (Prometheus `keep_firing_for`, the in-process sustained condition alike), so a burn rate hovering
   * around the threshold does not flap. Default: none.
   */
  keepFiringFor?: Duration;
}

/** An SLO as written in code or in a YAML/JSON file. */
export interface SloSpec {
  /** Service the SLO belongs to; in files it defaults to the document's `service`. */
  service?: string;
  /** Lower-case name, unique within the service (`'checkout-availability'`). */
  name: string;
  description?: string;
  /** Target ratio, `0 < objective < 1` (`0.999`). A percentage string (`'99.9%'`) is accepted too. */
  objective: number | `${number}%`;
  sli: SliSpec;
  /** Default `'30d'` rolling. */
  window?: WindowSpec;
  alerting?: AlertingSpec;
  /** Static labels copied to generated rules and metrics. */
  labels?: Record<string, string>;
  /** Label names events may carry (e.g. `['route']`); each distinct value set is tracked separately. */
  groupBy?: string[];
  /** Cardinality limit per SLO: further label sets are folded into one `__other__` set. Default 100. */
  maxLabelSets?: number;
}

/** An SLO window resolved to milliseconds. */
export type ResolvedWindow =
  | { kind: 'rolling'; lengthMs: number }
  | {
      kind: 'calendar';
      unit: CalendarUnit;
      timeZone: string;
      /** Length used where a fixed one is needed (rules): 1d, 7d, 30d. */ nominalMs: number;
    };

/** The SLI of a resolved SLO. */
export type ResolvedSli =
  | { type: 'availability' }
  | { type: 'latency'; thresholdMs: number }
  | { type: 'ratio'; good?: CounterReference; bad?: CounterReference; total: CounterReference }
  | { type: 'events'; errorQuery: string; totalQuery: string }
  | { type: 'raw'; errorRatioQuery: string };

/** Alert metadata of one severity after merging (`alerting` ← `alerting.page` / `alerting.ticket`). */
export interface ResolvedAlertMeta {
  /** Alert name; `undefined` = the rule generator's default (`SloErrorBudgetBurn`). */
  name?: string;
  /** Extra alert labels (they win over the generated ones, as in Sloth). */
  labels: Record<string, string>;
  /** Extra annotations (they win over the generated `summary` / `description`). */
  annotations: Record<string, string>;
}

/** A validated SLO with defaults applied and durations in milliseconds. */
export interface ResolvedSlo {
  /** `<service>/<name>`: unique key. */
  id: string;
  service: string;
  name: string;
  description?: string;
  objective: number;
  /** `1 - objective`. */
  errorBudget: number;
  sli: ResolvedSli;
  window: ResolvedWindow;
  /** Enabled tiers only. */
  tiers: AlertTier[];
  /** Alert names, labels and annotations per severity. */
  alerts: Record<AlertSeverity, ResolvedAlertMeta>;
  minEvents: number;
  exhaustionWindowMs: number;
  labels: Record<string, string>;
  groupBy: string[];
  maxLabelSets: number;
  /** Problems that do not stop the SLO from working, such as tiers that can never fire. */
  warnings: string[];
}

const durationInput = z.union([z.number(), z.string()]);

const objectiveSchema = z.union([z.number(), z.string()]).transform((value, context) => {
  let ratio: number;
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    if (!match) {
      context.addIssue({
        code: 'custom',
        message: `expected a ratio such as 0.999 or a percentage such as "99.9%", got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    ratio = Number(match[1]) / 100;
  } else {
    ratio = value;
  }
  if (!Number.isFinite(ratio) || ratio <= 0) {
    context.addIssue({ code: 'custom', message: 'expected a ratio 0 < objective < 1 (e.g. 0.999)' });
    return z.NEVER;
  }
  if (ratio === 1) {
    context.addIssue({
      code: 'custom',
      message:
        'an objective of 100% is refused: it leaves an error budget of 0, so burn rates divide by zero and any single bad event is an outage; use e.g. 0.9999',
    });
    return z.NEVER;
  }
  if (ratio > 1) {
    const hint = ratio < 100 ? `; did you mean ${Number((ratio / 100).toPrecision(12))} (${ratio}%)?` : '';
    context.addIssue({ code: 'custom', message: `expected a ratio 0 < objective < 1, got ${ratio}${hint}` });
    return z.NEVER;
  }
  return ratio;
});

const counterSchema = z.strictObject({
  metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'expected a Prometheus metric name'),
  matchers: labelMatchersSchema.optional(),
});

const windowQuerySchema = z.string().superRefine((query, context) => {
  const problem = windowQueryProblem(query);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});

const labelValuesSchema = z.record(
  z.string().regex(LABEL_NAME_PATTERN, 'expected a Prometheus label name'),
  z.string(),
);

const severityAlertSchema = z.strictObject({
  disable: z.boolean().optional(),
  name: z.string().regex(ALERT_NAME_PATTERN, 'expected an alert name (letters, digits, "_", ":")').optional(),
  labels: labelValuesSchema.optional(),
  annotations: labelValuesSchema.optional(),
  runbookUrl: z.string().min(1).optional(),
});

const sliSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('availability') }),
    z.strictObject({ type: z.literal('latency'), threshold: durationInput }),
    z.strictObject({
      type: z.literal('ratio'),
      good: counterSchema.optional(),
      bad: counterSchema.optional(),
      total: counterSchema,
    }),
    z.strictObject({ type: z.literal('events'), errorQuery: windowQuerySchema, totalQuery: windowQuerySchema }),
    z.strictObject({ type: z.literal('raw'), errorRatioQuery: windowQuerySchema }),
  ],
  { error: () => 'expected sli.type to be one of "availability", "latency", "ratio", "events", "raw"' },
);

const windowSchema = z
  .union([
    durationInput,
    z.strictObject({
      calendar: z.enum(['day', 'week', 'month']),
      timeZone: z
        .string()
        .refine(isValidTimeZone, {
          error: (issue) => `unknown IANA time zone ${JSON.stringify(issue.input)} (e.g. "Europe/Berlin", "UTC")`,
        })
        .optional(),
    }),
  ])
  .superRefine((value, context) => {
    // OpenSLO writes months as "1M"; here "m" is minutes, so an upper-case M is almost surely a calendar month.
    if (typeof value === 'string' && /^\s*\d+\s*M\s*$/.test(value)) {
      context.addIssue({
        code: 'custom',
        message: `"${value}": months are calendar periods, write { calendar: "month", timeZone: "..." }; "m" means minutes`,
      });
    }
  });

const tierFieldsSchema = z.strictObject({
  severity: z.enum(['page', 'ticket']).optional(),
  budgetPercent: z.number().gt(0).lte(100).optional(),
  long: durationInput.optional(),
  short: durationInput.optional(),
  for: durationInput.optional(),
  keepFiringFor: durationInput.optional(),
});

const tierSpecSchema = z.strictObject({
  name: z.string().regex(NAME_PATTERN, 'expected a lower-case name (a-z, 0-9, "-", "_")'),
  severity: z.enum(['page', 'ticket']),
  budgetPercent: z.number().gt(0).lte(100),
  long: durationInput,
  short: durationInput,
  for: durationInput.optional(),
  keepFiringFor: durationInput.optional(),
});

const sloSchema = z.strictObject({
  service: z.string().regex(NAME_PATTERN, 'expected a lower-case name (a-z, 0-9, "-", "_")').optional(),
  name: z.string().regex(NAME_PATTERN, 'expected a lower-case name (a-z, 0-9, "-", "_"), at most 63 characters'),
  description: z.string().max(1050).optional(),
  objective: objectiveSchema,
  sli: sliSchema,
  window: windowSchema.optional(),
  alerting: z
    .strictObject({
      tiers: z
        .union([z.record(z.string(), z.union([z.boolean(), tierFieldsSchema])), z.array(tierSpecSchema)])
        .optional(),
      minEvents: z.number().int().min(0).optional(),
      exhaustionWindow: durationInput.optional(),
      keepFiringFor: durationInput.optional(),
      name: z.string().regex(ALERT_NAME_PATTERN, 'expected an alert name (letters, digits, "_", ":")').optional(),
      labels: labelValuesSchema.optional(),
      annotations: labelValuesSchema.optional(),
      runbookUrl: z.string().min(1).optional(),
      page: severityAlertSchema.optional(),
      ticket: severityAlertSchema.optional(),
    })
    .optional(),
  labels: z.record(z.string().regex(LABEL_NAME_PATTERN, 'expected a Prometheus label name'), z.string()).optional(),
  groupBy: z.array(z.string().regex(LABEL_NAME_PATTERN, 'expected a Prometheus label name')).max(10).optional(),
  maxLabelSets: z.number().int().min(1).max(100_000).optional(),
});

/** zod schema of an SLO file: `{ service, labels?, slos: [...] }`. */
export const sloDocumentSchema = z.strictObject({
  service: z.string().regex(NAME_PATTERN, 'expected a lower-case name (a-z, 0-9, "-", "_")'),
  labels: z.record(z.string().regex(LABEL_NAME_PATTERN, 'expected a Prometheus label name'), z.string()).optional(),
  slos: z
    .array(sloSchema)
    .min(1)
    .superRefine((slos, context) => {
      const seen = new Map<string, number>();
      slos.forEach((slo, index) => {
        const key = `${slo.service ?? ''}/${slo.name}`;
        const earlier = seen.get(key);
        if (earlier !== undefined)
          context.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `duplicate SLO ${JSON.stringify(slo.name)} (also slos[${earlier}])`,
          });
        else seen.set(key, index);
      });
    }),
});

/** An SLO file: a service and its SLOs. */
export interface SloDocument {
  service: string;
  labels?: Record<string, string>;
  slos: SloSpec[];
}

type Issue = { path: Array<string | number>; message: string };

function durationAt(value: unknown, path: Array<string | number>, issues: Issue[]): number {
  try {
    return parseDuration(value as Duration);
  } catch (error) {
    issues.push({ path, message: (error as Error).message.replace(/^invalid duration /, 'invalid duration ') });
    return 0;
  }
}

function resolveWindow(
  window: z.output<typeof windowSchema> | undefined,
  path: Array<string | number>,
  issues: Issue[],
): ResolvedWindow {
  if (window === undefined) return { kind: 'rolling', lengthMs: 30 * DAY };
  if (typeof window === 'object') {
    const timeZone = window.timeZone ?? 'UTC';
    if (!isValidTimeZone(timeZone))
      issues.push({
        path: [...path, 'timeZone'],
        message: `unknown IANA time zone ${JSON.stringify(timeZone)} (e.g. "Europe/Berlin", "UTC")`,
      });
    const nominalMs = window.calendar === 'day' ? DAY : window.calendar === 'week' ? 7 * DAY : 30 * DAY;
    return { kind: 'calendar', unit: window.calendar, timeZone, nominalMs };
  }
  if (typeof window === 'string' && /^\s*\d+\s*M\s*$/.test(window)) {
    issues.push({
      path,
      message: `"${window}": months are calendar periods, write { calendar: "month", timeZone: "..." }; "m" means minutes`,
    });
    return { kind: 'rolling', lengthMs: 30 * DAY };
  }
  const lengthMs = durationAt(window, path, issues);
  if (lengthMs !== 0 && (lengthMs < DAY || lengthMs > 90 * DAY || lengthMs % (15 * MINUTE) !== 0)) {
    issues.push({
      path,
      message: 'expected a rolling window between 1d and 90d in whole quarter-hours (e.g. "28d", "30d")',
    });
  }
  return { kind: 'rolling', lengthMs: lengthMs || 30 * DAY };
}

function resolveTiers(
  alerting: z.output<typeof sloSchema>['alerting'],
  path: Array<string | number>,
  issues: Issue[],
): AlertTier[] {
  const tiers: AlertTier[] = [];
  const check = (tier: AlertTier, tierPath: Array<string | number>) => {
    for (const [field, value] of [
      ['long', tier.longMs],
      ['short', tier.shortMs],
    ] as const) {
      if (value <= 0 || value > MAX_ALERT_WINDOW_MS || value % MINUTE !== 0) {
        issues.push({ path: [...tierPath, field], message: 'expected a whole number of minutes between 1m and 3d' });
      }
    }
    if (tier.shortMs >= tier.longMs)
      issues.push({
        path: [...tierPath, 'short'],
        message: 'expected the short window to be shorter than the long window',
      });
    tiers.push(tier);
  };
  const defaultKeepFiringForMs =
    alerting?.keepFiringFor === undefined ? 0 : durationAt(alerting.keepFiringFor, [...path, 'keepFiringFor'], issues);
  const keepFiring = (value: Duration | undefined, valuePath: Array<string | number>) =>
    value === undefined ? defaultKeepFiringForMs : durationAt(value, valuePath, issues);
  const configured = alerting?.tiers;
  if (Array.isArray(configured)) {
    configured.forEach((spec, index) => {
      const tierPath = [...path, 'tiers', index];
      check(
        {
          name: spec.name,
          severity: spec.severity,
          budgetPercent: spec.budgetPercent,
          longMs: durationAt(spec.long, [...tierPath, 'long'], issues),
          shortMs: durationAt(spec.short, [...tierPath, 'short'], issues),
          forMs: spec.for === undefined ? 0 : durationAt(spec.for, [...tierPath, 'for'], issues),
          keepFiringForMs: keepFiring(spec.keepFiringFor, [...tierPath, 'keepFiringFor']),
        },
        tierPath,
      );
    });
    return tiers;
  }
  const known = new Set(DEFAULT_ALERT_TIERS.map((tier) => tier.name));
  for (const key of Object.keys(configured ?? {})) {
    if (!known.has(key))
      issues.push({
        path: [...path, 'tiers', key],
        message: `unknown tier; expected one of ${[...known].map((name) => JSON.stringify(name)).join(', ')}`,
      });
  }
  for (const tier of DEFAULT_ALERT_TIERS) {
    const override = configured?.[tier.name];
    if (override === false) continue;
    if (override === undefined || override === true) {
      tiers.push({ ...tier, keepFiringForMs: defaultKeepFiringForMs });
      continue;
    }
    const tierPath = [...path, 'tiers', tier.name];
    check(
      {
        name: tier.name,
        severity: override.severity ?? tier.severity,
        budgetPercent: override.budgetPercent ?? tier.budgetPercent,
        longMs: override.long === undefined ? tier.longMs : durationAt(override.long, [...tierPath, 'long'], issues),
        shortMs:
          override.short === undefined ? tier.shortMs : durationAt(override.short, [...tierPath, 'short'], issues),
        forMs: override.for === undefined ? tier.forMs : durationAt(override.for, [...tierPath, 'for'], issues),
        keepFiringForMs: keepFiring(override.keepFiringFor, [...tierPath, 'keepFiringFor']),
      },
      tierPath,
    );
  }
  return tiers;
}

function resolveOne(
  input: z.output<typeof sloSchema>,
  defaults: { service?: string; labels?: Record<string, string> },
  path: Array<string | number>,
  issues: Issue[],
): ResolvedSlo {
  const service = input.service ?? defaults.service;
  if (service === undefined) issues.push({ path: [...path, 'service'], message: 'expected a service name' });
  let sli: ResolvedSli;
  if (input.sli.type === 'latency') {
    const thresholdMs = durationAt(input.sli.threshold, [...path, 'sli', 'threshold'], issues);
    sli = { type: 'latency', thresholdMs };
  } else if (input.sli.type === 'ratio') {
    const { good, bad, total } = input.sli;
    if ((good === undefined) === (bad === undefined))
      issues.push({ path: [...path, 'sli'], message: 'expected exactly one of "good" or "bad" next to "total"' });
    const same = (a: CounterReference | undefined) =>
      a !== undefined &&
      a.metric === total.metric &&
      JSON.stringify(a.matchers ?? {}) === JSON.stringify(total.matchers ?? {});
    if (same(good) || same(bad))
      issues.push({
        path: [...path, 'sli'],
        message: 'the good/bad counter selects the same series as total: the SLI would be constant',
      });
    sli = { type: 'ratio', total, ...(good ? { good } : {}), ...(bad ? { bad } : {}) };
  } else if (input.sli.type === 'events') {
    if (input.sli.errorQuery.trim() === input.sli.totalQuery.trim())
      issues.push({
        path: [...path, 'sli'],
        message: 'errorQuery and totalQuery are the same: the SLI would be constant',
      });
    sli = { type: 'events', errorQuery: input.sli.errorQuery, totalQuery: input.sli.totalQuery };
  } else if (input.sli.type === 'raw') {
    sli = { type: 'raw', errorRatioQuery: input.sli.errorRatioQuery };
  } else {
    sli = { type: 'availability' };
  }
  checkLabelNames(input.labels, input.groupBy, defaults.labels, path, issues);
  const window = resolveWindow(input.window, [...path, 'window'], issues);
  const alerts = resolveAlertMeta(input.alerting, [...path, 'alerting'], issues);
  const disabled = new Set<AlertSeverity>(
    (['page', 'ticket'] as const).filter((severity) => input.alerting?.[severity]?.disable === true),
  );
  const tiers = resolveTiers(input.alerting, [...path, 'alerting'], issues).filter(
    (tier) => !disabled.has(tier.severity),
  );
  const objective = input.objective;
  const periodMs = window.kind === 'rolling' ? window.lengthMs : window.nominalMs;
  const warnings: string[] = [];
  if (input.sli.type === 'ratio') {
    for (const field of ['good', 'bad', 'total'] as const) {
      warnings.push(
        ...regexLookingWarnings(input.sli[field]?.matchers, formatIssuePath([...path, 'sli', field, 'matchers'])),
      );
    }
  }
  const pathText = formatIssuePath([...path, 'alerting', 'tiers']);
  for (const tier of tiers) {
    const reason = tierInfeasibility(tier, periodMs, objective);
    if (reason) warnings.push(`${pathText}.${tier.name}: ${reason}`);
  }
  if (tiers.length === 0) warnings.push(`${pathText}: every alert tier is disabled; this SLO never alerts`);
  if (input.sli.type === 'raw' && (input.alerting?.minEvents ?? 0) > 0) {
    issues.push({
      path: [...path, 'alerting', 'minEvents'],
      message: 'a raw SLI has an error ratio only, no event counts to guard with; use an events SLI',
    });
  }
  if (
    input.sli.type !== 'ratio' &&
    input.sli.type !== 'availability' &&
    input.sli.type !== 'latency' &&
    (input.groupBy?.length ?? 0) > 0
  ) {
    issues.push({
      path: [...path, 'groupBy'],
      message: `an ${input.sli.type} SLI carries its grouping in its queries (sum by (...)); groupBy does not apply`,
    });
  }
  const exhaustionWindowMs =
    input.alerting?.exhaustionWindow === undefined
      ? 3_600_000
      : durationAt(input.alerting.exhaustionWindow, [...path, 'alerting', 'exhaustionWindow'], issues);
  return {
    id: `${service ?? ''}/${input.name}`,
    service: service ?? '',
    name: input.name,
    ...(input.description === undefined ? {} : { description: input.description }),
    objective,
    errorBudget: 1 - objective,
    sli,
    window,
    tiers,
    alerts,
    minEvents: input.alerting?.minEvents ?? 0,
    exhaustionWindowMs,
    labels: { ...defaults.labels, ...input.labels },
    groupBy: input.groupBy ?? [],
    maxLabelSets: input.maxLabelSets ?? 100,
    warnings,
  };
}

/** Merges `alerting` with `alerting.page` / `alerting.ticket` the way Sloth does (the severity's own values win). */
function resolveAlertMeta(
  alerting: z.output<typeof sloSchema>['alerting'],
  path: Array<string | number>,
  issues: Issue[],
): Record<AlertSeverity, ResolvedAlertMeta> {
  const checkNames = (labels: Record<string, string> | undefined, labelsPath: Array<string | number>) => {
    for (const name of Object.keys(labels ?? {})) {
      const problem = reservedLabelProblem(name);
      if (problem) issues.push({ path: [...labelsPath, name], message: problem });
    }
  };
  checkNames(alerting?.labels, [...path, 'labels']);
  const meta = (severity: AlertSeverity): ResolvedAlertMeta => {
    const own = alerting?.[severity];
    checkNames(own?.labels, [...path, severity, 'labels']);
    const runbookUrl = own?.runbookUrl ?? alerting?.runbookUrl;
    const name = own?.name ?? alerting?.name;
    return {
      ...(name === undefined ? {} : { name }),
      labels: { ...alerting?.labels, ...own?.labels },
      annotations: {
        ...(runbookUrl === undefined ? {} : { runbook_url: runbookUrl }),
        ...alerting?.annotations,
        ...own?.annotations,
      },
    };
  };
  return { page: meta('page'), ticket: meta('ticket') };
}

/** Refuses reserved label names in `labels` and `groupBy`, and a `groupBy` label that is also a static label. */
function checkLabelNames(
  labels: Record<string, string> | undefined,
  groupBy: readonly string[] | undefined,
  inherited: Record<string, string> | undefined,
  path: Array<string | number>,
  issues: Issue[],
): void {
  for (const name of Object.keys(labels ?? {})) {
    const problem = reservedLabelProblem(name);
    if (problem) issues.push({ path: [...path, 'labels', name], message: problem });
  }
  (groupBy ?? []).forEach((name, index) => {
    const problem = reservedLabelProblem(name);
    if (problem) issues.push({ path: [...path, 'groupBy', index], message: problem });
    else if (RESERVED_GROUP_BY_LABELS.includes(name)) {
      issues.push({
        path: [...path, 'groupBy', index],
        message: `label name ${JSON.stringify(name)} is reserved: the exported ops_slo_* metrics identify the SLO by "service" and "slo"`,
      });
    } else if (name in (labels ?? {}) || name in (inherited ?? {})) {
      issues.push({
        path: [...path, 'groupBy', index],
        message: `label ${JSON.stringify(name)} is also a static label: the static value would overwrite every label set's value`,
      });
    }
  });
}

function formatIssuePath(path: Array<string | number>): string {
  return path
    .map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`))
    .join('');
}

function throwIssues(issues: Issue[], source: string): never {
  const mapped = issues.map((issue) => ({ path: formatIssuePath(issue.path), message: issue.message }));
  throw new ConfigError(
    `invalid ${source}: ${mapped.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
    mapped,
  );
}

/**
 * Validates one SLO written in code and applies defaults (30d rolling window, the four Workbook tiers).
 *
 * @throws ConfigError naming each bad path and the allowed values (`objective: an objective of 100% is refused …`).
 *
 * @example
 * ```ts
 * const checkout = defineSlo({ service: 'shop', name: 'checkout', objective: 0.999, sli: { type: 'availability' } });
 * ```
 */
export function defineSlo(spec: SloSpec): ResolvedSlo {
  const parsed = sloSchema.safeParse(spec);
  if (!parsed.success) throw ConfigError.fromZod(parsed.error, 'SLO');
  const issues: Issue[] = [];
  const resolved = resolveOne(parsed.data, {}, [], issues);
  if (issues.length > 0) throwIssues(issues, `SLO ${spec.name}`);
  return resolved;
}

/**
 * Validates an SLO document (the parsed content of a YAML/JSON file) and resolves every SLO in it.
 *
 * @throws ConfigError naming each bad path, e.g. `slos[1].window.timeZone: unknown IANA time zone "Mars/Base"`.
 */
export function resolveSloDocument(input: unknown, source = 'SLO document'): ResolvedSlo[] {
  const parsed = sloDocumentSchema.safeParse(input);
  if (!parsed.success) throw ConfigError.fromZod(parsed.error, source);
  const issues: Issue[] = [];
  const defaults = { service: parsed.data.service, ...(parsed.data.labels ? { labels: parsed.data.labels } : {}) };
  checkLabelNames(parsed.data.labels, [], undefined, [], issues);
  const resolved = parsed.data.slos.map((slo, index) => resolveOne(slo, defaults, ['slos', index], issues));
  const seen = new Map<string, number>();
  resolved.forEach((slo, index) => {
    const earlier = seen.get(slo.id);
    if (earlier !== undefined)
      issues.push({
        path: ['slos', index, 'name'],
        message: `duplicate SLO ${JSON.stringify(slo.name)} (also slos[${earlier}])`,
      });
    seen.set(slo.id, index);
  });
  if (issues.length > 0) throwIssues(issues, source);
  return resolved;
}

/** Parses YAML or JSON text of an SLO document (with `${ENV}` interpolation) and resolves it. */
export function parseSloDocument(text: string, source = 'slos.yaml', options: LoadConfigOptions = {}): ResolvedSlo[] {
  const raw = parseConfigText(text, z.unknown(), source, options);
  return resolveSloDocument(raw, source);
}

/**
 * Reads and resolves an SLO file (YAML, or JSON when the name ends in `.json`).
 *
 * @example
 * ```ts
 * const slos = await loadSloFile('slos.yaml');
 * ```
 */
export async function loadSloFile(file: string, options: LoadConfigOptions = {}): Promise<ResolvedSlo[]> {
  const raw = await loadConfig(file, z.unknown(), options);
  return resolveSloDocument(raw, file);
}
