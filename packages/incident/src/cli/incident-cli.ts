import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  composeHandlers,
  ExitCode,
  formatTable,
  listen,
  parseDuration,
  readPackageVersion,
  redactText,
  runCli,
  suggestKey,
  systemClock,
  UsageError,
  type CliContext,
  type CliDefinition,
  type CliIo,
  type Clock,
  type OpsHandler,
  type OpsRequest,
} from '@ops/core';
import { IncidentError } from '../errors.js';
import {
  createIncidentManager,
  type IncidentManager,
  type IncidentManagerOptions,
} from '../lifecycle/incident-manager.js';
import type { Incident, ResolveReason, TimelineEvent } from '../model/records.js';
import { createAlertmanagerReceiver } from '../receivers/alertmanager-webhook.js';
import { createPagerDutyEventsReceiver } from '../receivers/pagerduty-events.js';
import { createStatusPage } from '../status-page/status-page.js';
import type { PgPoolLike } from '../stores/postgres/pg-like.js';
import { createPostgresIncidentStore } from '../stores/postgres/postgres-incident-store.js';
import type { Matcher, Recurrence, Weekday } from '../suppression/suppression.js';

/** What the CLI needs from outside, injectable for tests. */
export interface IncidentCliDependencies {
  /** Source of time. Default `systemClock`. */
  clock?: Clock;
  /**
   * Resolves when `status-page serve` should stop. Default: the first SIGINT or SIGTERM.
   * @internal tests stop the server without signals
   */
  untilStopped?: () => Promise<void>;
}

type Command = CliDefinition['commands'][string];
type Option = NonNullable<Command['options']>[string];

const ENV_DATABASE_URL = 'OPS_INCIDENT_DATABASE_URL';
const ENV_TOKEN = 'OPS_INCIDENT_TOKEN';

const storeOptions: Record<string, Option> = {
  'database-url': {
    type: 'string',
    description: `PostgreSQL store (default $${ENV_DATABASE_URL}; prefer the variable: argv is visible to other users)`,
    valueName: 'url',
  },
  schema: { type: 'string', description: 'schema of the incident tables (default ops_incident)', valueName: 'name' },
  config: {
    type: 'string',
    description: 'a module whose default export is createIncidentManager options (notifiers, policies, routes)',
    valueName: 'file',
  },
};

const byOption: Record<string, Option> = {
  by: { type: 'string', description: 'who does it (default $USER)', valueName: 'user' },
};

function text(context: CliContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

function texts(context: CliContext, name: string): string[] {
  const value = context.values[name];
  const all = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return all.filter((entry): entry is string => typeof entry === 'string');
}

/** Repeatable values, each possibly comma-separated. */
function list(context: CliContext, name: string): string[] {
  return texts(context, name)
    .flatMap((entry) => entry.split(','))
    .map((entry) => entry.trim())
    .filter(Boolean);
}

function required(context: CliContext, name: string, hint: string): string {
  const value = text(context, name);
  if (value === undefined || value.trim() === '') throw new UsageError(`--${name} is required (${hint})`);
  return value;
}

function by(context: CliContext): string {
  return text(context, 'by') ?? context.io.env['USER'] ?? 'cli';
}

function incidentId(context: CliContext, usage: string): string {
  const [id, ...rest] = context.positionals;
  if (id === undefined) throw new UsageError(`give the incident id: ${usage}`);
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}: ${usage}`);
  return id;
}

function time(value: string, flag: string): number {
  const at = Date.parse(value);
  if (!Number.isFinite(at)) throw new UsageError(`--${flag}: expected an ISO 8601 time, got ${JSON.stringify(value)}`);
  return at;
}

const iso = (at: number | undefined) => (at === undefined ? '' : new Date(at).toISOString());

/** `name=value`, `name!=value`, `name=~regex`, `name!~regex` (Alertmanager's matcher syntax). */
export function parseMatcher(raw: string): Matcher {
  const match = /^\s*([^!=~\s]+)\s*(=~|!~|!=|=)\s*(.*)$/.exec(raw);
  if (!match) throw new UsageError(`--matcher: expected name=value (or !=, =~, !~), got ${JSON.stringify(raw)}`);
  const [, name, operator, value] = match as unknown as [string, string, string, string];
  return {
    name,
    value: value.replace(/^"(.*)"$/, '$1'),
    ...(operator.includes('~') ? { isRegex: true } : {}),
    ...(operator.startsWith('!') ? { isEqual: false } : {}),
  };
}

function labels(context: CliContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of texts(context, 'label')) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new UsageError(`--label: expected name=value, got ${JSON.stringify(entry)}`);
    out[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return out;
}

/** The password of a connection URL, so no message can show it. */
function passwordOf(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}

/** A connection URL with its password replaced, for messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'REDACTED';
    return parsed.toString().replace(':REDACTED@', ':***@');
  } catch {
    return redactText(url);
  }
}

interface PgModule {
  Pool: new (config: { connectionString: string; max?: number; connectionTimeoutMillis?: number }) => PgPoolLike & {
    on(event: 'error', listener: (error: Error) => void): unknown;
    end(): Promise<void>;
  };
}

function loadPg(): PgModule {
  try {
    const loaded = createRequire(import.meta.url)('pg') as PgModule & { default?: PgModule };
    return loaded.default ?? loaded;
  } catch {
    throw new UsageError('the PostgreSQL store needs the pg package: npm install pg');
  }
}

async function loadConfig(file: string | undefined): Promise<IncidentManagerOptions> {
  if (file === undefined) return {};
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown };
  } catch (error) {
    throw new UsageError(`--config: cannot load ${file}: ${(error as Error).message}`);
  }
  const options = loaded.default;
  if (options === null || typeof options !== 'object')
    throw new UsageError(`--config: ${file} must export default an object of createIncidentManager options`);
  return options as IncidentManagerOptions;
}

/**
 * Opens the manager on the PostgreSQL store for one command and closes it (and the pool) afterwards; errors carry
 * no password, and a refused argument is a usage error (exit 2).
 */
async function withIncidents<T>(
  context: CliContext,
  clock: Clock,
  work: (incidents: IncidentManager) => Promise<T>,
  options: { autoStart?: boolean } = {},
): Promise<T> {
  const url = text(context, 'database-url') ?? context.io.env[ENV_DATABASE_URL];
  if (url === undefined || url.trim() === '')
    throw new UsageError(
      `no incident store: set ${ENV_DATABASE_URL}=postgres://user@host/database (or give --database-url)`,
    );
  const password = passwordOf(url);
  const config = await loadConfig(text(context, 'config'));
  const pg = loadPg();
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 15_000 });
  pool.on('error', () => undefined); // an idle client the server drops is not a crash
  const schema = text(context, 'schema');
  const incidents = createIncidentManager({
    ...config,
    store: createPostgresIncidentStore({ pool, ...(schema === undefined ? {} : { schema }) }),
    clock,
    autoStart: options.autoStart ?? false,
  });
  try {
    return await work(incidents);
  } catch (error) {
    if (error instanceof Error && password !== undefined && error.message.includes(password))
      error.message = error.message.split(password).join('***');
    if (
      IncidentError.hasCode(error, 'ARGUMENT_INVALID') ||
      IncidentError.hasCode(error, 'RESOLVE_REASON_REQUIRED') ||
      IncidentError.hasCode(error, 'CONFIG_INVALID')
    )
      throw new UsageError((error as Error).message);
    throw error;
  } finally {
    await incidents.close();
    await pool.end();
  }
}

function printIncident(context: CliContext, verb: string, incident: Incident): void {
  context.print(
    `${verb} ${incident.id} [${incident.severity} ${incident.status}] ${incident.service}: ${incident.title}`,
  );
}

function incidentTable(incidents: readonly Incident[]): string {
  return formatTable(incidents, [
    { header: 'ID', value: (row) => row.id },
    { header: 'STATUS', value: (row) => row.status },
    { header: 'SEV', value: (row) => row.severity },
    { header: 'SERVICE', value: (row) => row.service },
    { header: 'TRIGGERED', value: (row) => iso(row.triggeredAt) },
    { header: 'SEEN', value: (row) => row.occurrences, align: 'right' },
    { header: 'TITLE', value: (row) => row.title },
  ]);
}

function timelineLines(events: readonly TimelineEvent[]): string[] {
  return events.map(
    (event) =>
      `  ${iso(event.at)}  ${event.kind.padEnd(16)} ${event.visibility === 'public' ? '[public] ' : ''}${event.description}`,
  );
}

const ms = (value: number | undefined) => (value === undefined ? '—' : formatDuration(value));

function formatDuration(value: number): string {
  const seconds = Math.round(value / 1000);
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86_400).toFixed(1)}d`;
}

const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Suggests the closest of `known` for a mistyped word. */
function didYouMean(word: string, known: Iterable<string>): string {
  const suggestion = suggestKey(word, known);
  return suggestion === undefined ? '' : ` (did you mean ${JSON.stringify(suggestion)}?)`;
}

function action(context: CliContext, actions: readonly string[], usage: string): string {
  const [name] = context.positionals;
  if (name === undefined) throw new UsageError(`give one of ${actions.join(', ')}: ${usage}`);
  if (!actions.includes(name))
    throw new UsageError(`unknown action ${JSON.stringify(name)}${didYouMean(name, actions)}: ${usage}`);
  return name;
}

/** Builds the `ops-incident` command line (see {@link incidentCli}). */
export function createIncidentCli(dependencies: IncidentCliDependencies = {}): CliDefinition {
  const clock = dependencies.clock ?? systemClock;
  const untilStopped =
    dependencies.untilStopped ??
    (() =>
      new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      }));
  const run = <T>(context: CliContext, work: (incidents: IncidentManager) => Promise<T>) =>
    withIncidents(context, clock, work);

  const transition = (
    verb: 'ack' | 'mitigate',
    summary: string,
    apply: (incidents: IncidentManager, id: string, options: { by: string; note?: string }) => Promise<Incident>,
    past: string,
  ): Command => ({
    summary,
    usage: '<id>',
    options: { ...storeOptions, ...byOption, note: { type: 'string', description: 'text for the timeline' } },
    examples: [`ops-incident ${verb} INC-2026-1206-001 --note "looking at the database"`],
    async run(context) {
      const id = incidentId(context, `ops-incident ${verb} <id>`);
      const note = text(context, 'note');
      const incident = await run(context, (incidents) =>
        apply(incidents, id, { by: by(context), ...(note === undefined ? {} : { note }) }),
      );
      if (context.json) context.printJson({ ok: true, incident });
      else printIncident(context, past, incident);
      return ExitCode.ok;
    },
  });

  const commands: Record<string, Command> = {
    trigger: {
      summary: 'open an incident (or add an occurrence to the open one with the same dedup key)',
      options: {
        ...storeOptions,
        ...byOption,
        service: { type: 'string', description: 'affected service (required)', valueName: 'name' },
        title: { type: 'string', description: 'what is wrong (required)', valueName: 'text' },
        severity: { type: 'string', description: 'P0–P3 (default: classified, P1)', valueName: 'level' },
        'dedup-key': { type: 'string', description: 'repeats with this key join the open incident', valueName: 'key' },
        label: { type: 'string', multiple: true, description: 'a label name=value', valueName: 'name=value' },
        component: { type: 'string', multiple: true, description: 'status-page component it affects', valueName: 'id' },
      },
      examples: [
        'ops-incident trigger --service checkout --title "Checkout 5xx above 90%" --severity P0',
        'ops-incident trigger --service search --title "Slow search" --dedup-key search-latency --label team=search --json',
      ],
      async run(context) {
        const service = required(context, 'service', 'the affected service');
        const title = required(context, 'title', 'what is wrong');
        const severity = text(context, 'severity');
        const dedupKey = text(context, 'dedup-key');
        const components = list(context, 'component');
        const result = await run(context, (incidents) => {
          if (severity !== undefined) {
            const names = incidents.severityPolicy.levels.map((level) => level.name);
            if (!names.includes(severity))
              throw new UsageError(
                `--severity: unknown level ${JSON.stringify(severity)}; one of ${names.join(', ')}${didYouMean(severity, names)}`,
              );
          }
          return incidents.trigger({
            service,
            title,
            source: 'cli',
            by: by(context),
            labels: labels(context),
            ...(severity === undefined ? {} : { severity }),
            ...(dedupKey === undefined ? {} : { dedupKey }),
            ...(components.length === 0 ? {} : { components }),
          });
        });
        if (context.json) context.printJson({ ok: true, action: result.action, incident: result.incident });
        else if (result.incident) printIncident(context, result.action, result.incident);
        return ExitCode.ok;
      },
    },
    list: {
      summary: 'list incidents, newest first',
      options: {
        ...storeOptions,
        open: { type: 'boolean', description: 'only open ones (triggered, acknowledged, mitigated)' },
        status: { type: 'string', multiple: true, description: 'only these statuses', valueName: 'status' },
        service: { type: 'string', description: 'only this service', valueName: 'name' },
        severity: { type: 'string', multiple: true, description: 'only these severities', valueName: 'level' },
        since: { type: 'string', description: 'triggered within this long (e.g. 7d)', valueName: 'duration' },
        limit: { type: 'string', description: 'at most this many (default 100)', valueName: 'n' },
      },
      examples: ['ops-incident list --open', 'ops-incident list --since 7d --severity P0,P1 --json'],
      async run(context) {
        const since = text(context, 'since');
        const limitText = text(context, 'limit');
        const limit = limitText === undefined ? undefined : Number(limitText);
        if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
          throw new UsageError(`--limit: expected a positive whole number, got ${JSON.stringify(limitText)}`);
        const statuses = list(context, 'status');
        const known = ['triggered', 'acknowledged', 'mitigated', 'resolved', 'closed'];
        for (const status of statuses)
          if (!known.includes(status))
            throw new UsageError(
              `--status: unknown status ${JSON.stringify(status)}; one of ${known.join(', ')}${didYouMean(status, known)}`,
            );
        const service = text(context, 'service');
        const severities = list(context, 'severity');
        const found = await run(context, (incidents) =>
          incidents.list({
            ...(context.values['open'] === true ? { open: true } : {}),
            ...(statuses.length ? { status: statuses as Incident['status'][] } : {}),
            ...(service === undefined ? {} : { service }),
            ...(severities.length ? { severity: severities } : {}),
            ...(since === undefined ? {} : { since: clock.now() - parseDuration(since, '--since') }),
            ...(limit === undefined ? {} : { limit }),
          }),
        );
        if (context.json) context.printJson({ ok: true, incidents: found });
        else if (found.length === 0) context.print('no incidents');
        else context.io.stdout.write(incidentTable(found));
        return ExitCode.ok;
      },
    },
    show: {
      summary: 'one incident with its timeline (internal entries included) and alerts',
      usage: '<id>',
      options: { ...storeOptions },
      examples: ['ops-incident show INC-2026-1206-001', 'ops-incident show INC-2026-1206-001 --json'],
      async run(context) {
        const id = incidentId(context, 'ops-incident show <id>');
        const shown = await run(context, async (incidents) => ({
          incident: await incidents.require(id),
          timeline: await incidents.timeline(id),
          alerts: await incidents.alerts(id),
        }));
        if (context.json) {
          context.printJson({ ok: true, ...shown });
          return ExitCode.ok;
        }
        const { incident } = shown;
        context.print(`${incident.id}  ${incident.title}`);
        context.print(`  status     ${incident.status}`);
        context.print(`  severity   ${incident.severity} (${incident.urgency} urgency)`);
        context.print(`  service    ${incident.service}`);
        context.print(`  dedup key  ${incident.dedupKey}`);
        context.print(`  triggered  ${iso(incident.triggeredAt)} (seen ${incident.occurrences}×)`);
        for (const [label, at] of [
          ['acknowledged', incident.acknowledgedAt],
          ['mitigated', incident.mitigatedAt],
          ['resolved', incident.resolvedAt],
          ['closed', incident.closedAt],
        ] as const)
          if (at !== undefined) context.print(`  ${label.padEnd(10)} ${iso(at)}`);
        if (incident.roles.commander) context.print(`  commander  ${incident.roles.commander}`);
        context.print();
        context.print('Timeline:');
        for (const line of timelineLines(shown.timeline)) context.print(line);
        if (shown.alerts.length > 0) {
          context.print();
          context.print(`Alerts (${shown.alerts.length}):`);
          for (const alert of shown.alerts) context.print(`  ${alert.status.padEnd(8)} ${alert.alertKey}`);
        }
        return ExitCode.ok;
      },
    },
    ack: transition(
      'ack',
      'acknowledge an incident (paging stops)',
      (incidents, id, options) => incidents.acknowledge(id, options),
      'acknowledged',
    ),
    mitigate: transition(
      'mitigate',
      'mark an incident mitigated (the postmortem draft is written for P0/P1)',
      (incidents, id, options) => incidents.mitigate(id, options),
      'mitigated',
    ),
    resolve: {
      summary: 'resolve an incident (a note saying what fixed it is required)',
      usage: '<id>',
      options: {
        ...storeOptions,
        ...byOption,
        note: { type: 'string', description: 'what fixed it (required)', valueName: 'text' },
        reason: { type: 'string', description: 'user (default), source, auto_timeout, escalation_step' },
      },
      examples: ['ops-incident resolve INC-2026-1206-001 --note "rolled back 1.4.2"'],
      async run(context) {
        const id = incidentId(context, 'ops-incident resolve <id> --note TEXT');
        const reason = text(context, 'reason') ?? 'user';
        const reasons = ['user', 'source', 'auto_timeout', 'escalation_step'];
        if (!reasons.includes(reason))
          throw new UsageError(
            `--reason: unknown reason ${JSON.stringify(reason)}; one of ${reasons.join(', ')}${didYouMean(reason, reasons)}`,
          );
        const note = text(context, 'note');
        if (reason === 'user' && (note === undefined || note.trim() === ''))
          throw new UsageError('--note is required: say what fixed it (it goes into the timeline and postmortem)');
        const incident = await run(context, (incidents) =>
          incidents.resolve(id, {
            reason: reason as ResolveReason,
            by: by(context),
            ...(note === undefined ? {} : { note }),
          }),
        );
        if (context.json) context.printJson({ ok: true, incident });
        else printIncident(context, 'resolved', incident);
        return ExitCode.ok;
      },
    },
    note: {
      summary: 'add a note to the timeline (internal), or a public status update with --public',
      usage: '<id> <text...>',
      options: {
        ...storeOptions,
        ...byOption,
        public: { type: 'boolean', description: 'post a public status update (shown on the status page)' },
      },
      examples: [
        'ops-incident note INC-2026-1206-001 "replica lag 40s on db-2"',
        'ops-incident note INC-2026-1206-001 --public "We are investigating errors at checkout."',
      ],
      async run(context) {
        const [id, ...words] = context.positionals;
        if (id === undefined || words.length === 0)
          throw new UsageError('give the incident id and the text: ops-incident note <id> <text...>');
        const body = words.join(' ');
        const event = await run(context, (incidents) =>
          context.values['public'] === true
            ? incidents.postUpdate(id, { body, by: by(context) })
            : incidents.addNote(id, { body, by: by(context) }),
        );
        if (context.json) context.printJson({ ok: true, event });
        else context.print(`${event.visibility === 'public' ? 'status update' : 'note'} added to ${id}`);
        return ExitCode.ok;
      },
    },
    silence: {
      summary: 'silences: add (matchers, duration, author, comment), list, expire',
      usage: 'add|list|expire [id]',
      options: {
        ...storeOptions,
        ...byOption,
        matcher: {
          type: 'string',
          multiple: true,
          description: 'name=value, name!=value, name=~regex, name!~regex',
          valueName: 'matcher',
        },
        duration: { type: 'string', description: 'how long (add; or --until)', valueName: 'duration' },
        until: { type: 'string', description: 'end time, ISO 8601 (add)', valueName: 'time' },
        comment: { type: 'string', description: 'why (add; required)', valueName: 'text' },
        all: { type: 'boolean', description: 'list expired silences too' },
      },
      examples: [
        'ops-incident silence add --matcher service=checkout --duration 30m --comment "deploying 1.4.2"',
        'ops-incident silence list',
        'ops-incident silence expire 3f1c…',
      ],
      async run(context) {
        const verb = action(context, ['add', 'list', 'expire'], 'ops-incident silence add|list|expire');
        if (verb === 'list') {
          const found = await run(context, (incidents) =>
            incidents.silences(context.values['all'] === true ? {} : { active: true }),
          );
          if (context.json) context.printJson({ ok: true, silences: found });
          else if (found.length === 0) context.print('no silences');
          else
            context.io.stdout.write(
              formatTable(found, [
                { header: 'ID', value: (row) => row.id },
                {
                  header: 'MATCHERS',
                  value: (row) =>
                    row.matchers
                      .map(
                        (matcher) =>
                          `${matcher.name}${matcher.isEqual === false ? '!' : '='}${matcher.isRegex ? '~' : ''}${matcher.value}`,
                      )
                      .join(','),
                },
                { header: 'ENDS', value: (row) => iso(row.expiredAt ?? row.endsAt) },
                { header: 'BY', value: (row) => row.createdBy },
                { header: 'COMMENT', value: (row) => row.comment },
              ]),
            );
          return ExitCode.ok;
        }
        if (verb === 'expire') {
          const id = context.positionals[1];
          if (id === undefined) throw new UsageError('give the silence id: ops-incident silence expire <id>');
          const silence = await run(context, (incidents) => incidents.expireSilence(id, { by: by(context) }));
          if (context.json) context.printJson({ ok: true, silence });
          else context.print(`expired silence ${silence.id}`);
          return ExitCode.ok;
        }
        const matchers = texts(context, 'matcher').map(parseMatcher);
        if (matchers.length === 0) throw new UsageError('--matcher is required (e.g. --matcher service=checkout)');
        const duration = text(context, 'duration');
        const until = text(context, 'until');
        if ((duration === undefined) === (until === undefined))
          throw new UsageError('give --duration or --until: silences are always temporary');
        const comment = required(context, 'comment', 'why the silence');
        const silence = await run(context, (incidents) =>
          incidents.createSilence({
            matchers,
            createdBy: by(context),
            comment,
            ...(duration === undefined ? {} : { duration }),
            ...(until === undefined ? {} : { endsAt: time(until, 'until') }),
          }),
        );
        if (context.json) context.printJson({ ok: true, silence });
        else context.print(`silence ${silence.id} until ${iso(silence.endsAt)}`);
        return ExitCode.ok;
      },
    },
    maintenance: {
      summary: 'maintenance windows: add (one-off or recurring), list the coming occurrences, cancel',
      usage: 'add|list|cancel [id]',
      options: {
        ...storeOptions,
        ...byOption,
        title: { type: 'string', description: 'what is done (add; required)', valueName: 'text' },
        service: { type: 'string', multiple: true, description: 'services covered', valueName: 'name' },
        component: { type: 'string', multiple: true, description: 'status-page components covered', valueName: 'id' },
        matcher: { type: 'string', multiple: true, description: 'label matchers covered', valueName: 'matcher' },
        at: { type: 'string', description: 'one-off start, ISO 8601 (with --duration)', valueName: 'time' },
        duration: { type: 'string', description: 'length of the window', valueName: 'duration' },
        every: { type: 'string', description: 'recurring: daily, weekly or monthly', valueName: 'frequency' },
        start: { type: 'string', description: 'recurring: local start time HH:MM', valueName: 'time' },
        'time-zone': { type: 'string', description: 'recurring: IANA time zone (default UTC)', valueName: 'zone' },
        days: { type: 'string', description: 'weekly/monthly: weekdays, e.g. sun or sat,sun', valueName: 'days' },
        week: { type: 'string', description: 'monthly: 1–4, or -1 for the last', valueName: 'n' },
        'no-suppress': { type: 'boolean', description: 'show on the status page but keep paging' },
        ahead: { type: 'string', description: 'list: how far ahead (default 7d)', valueName: 'duration' },
      },
      examples: [
        'ops-incident maintenance add --title "Nightly vacuum" --service checkout --every daily --start 02:00 --duration 3h --time-zone Europe/Berlin',
        'ops-incident maintenance add --title "Sunday patching" --every weekly --days sun --start 01:00 --duration 3h',
        'ops-incident maintenance add --title "DB upgrade" --component checkout --at 2026-12-20T02:00:00Z --duration 2h',
        'ops-incident maintenance list --ahead 30d',
      ],
      async run(context) {
        const verb = action(context, ['add', 'list', 'cancel'], 'ops-incident maintenance add|list|cancel');
        if (verb === 'list') {
          const now = clock.now();
          const to = now + parseDuration(text(context, 'ahead') ?? '7d', '--ahead');
          const found = await run(context, (incidents) => incidents.maintenance({ from: now, to }));
          if (context.json) context.printJson({ ok: true, occurrences: found });
          else if (found.length === 0) context.print('no maintenance');
          else
            context.io.stdout.write(
              formatTable(found, [
                { header: 'ID', value: (row) => row.window.id },
                { header: 'STARTS', value: (row) => iso(row.startsAt) },
                { header: 'ENDS', value: (row) => iso(row.endsAt) },
                { header: 'TITLE', value: (row) => row.window.title },
              ]),
            );
          return ExitCode.ok;
        }
        if (verb === 'cancel') {
          const id = context.positionals[1];
          if (id === undefined) throw new UsageError('give the window id: ops-incident maintenance cancel <id>');
          const window = await run(context, (incidents) => incidents.cancelMaintenance(id, { by: by(context) }));
          if (context.json) context.printJson({ ok: true, window });
          else context.print(`cancelled maintenance ${window.id}`);
          return ExitCode.ok;
        }
        const title = required(context, 'title', 'what is done');
        const duration = required(context, 'duration', 'length of the window');
        const every = text(context, 'every');
        const at = text(context, 'at');
        if ((every === undefined) === (at === undefined))
          throw new UsageError(
            'give --at TIME for a one-off window or --every daily|weekly|monthly for a recurring one',
          );
        let recurrence: Recurrence | undefined;
        if (every !== undefined) {
          const frequencies = ['daily', 'weekly', 'monthly'] as const;
          if (!frequencies.includes(every as (typeof frequencies)[number]))
            throw new UsageError(
              `--every: unknown frequency ${JSON.stringify(every)}; one of daily, weekly, monthly${didYouMean(every, frequencies)}`,
            );
          const days = (text(context, 'days') ?? '')
            .split(',')
            .map((day) => day.trim().toLowerCase().slice(0, 3))
            .filter(Boolean);
          for (const day of days)
            if (!WEEKDAYS.includes(day as Weekday))
              throw new UsageError(`--days: unknown weekday ${JSON.stringify(day)}; use ${WEEKDAYS.join(', ')}`);
          const week = text(context, 'week');
          recurrence = {
            frequency: every as Recurrence['frequency'],
            timeZone: text(context, 'time-zone') ?? 'UTC',
            start: required(context, 'start', 'local start time HH:MM'),
            duration,
            ...(days.length ? { days: days as Weekday[] } : {}),
            ...(week === undefined ? {} : { week: Number(week) as NonNullable<Recurrence['week']> }),
          };
        }
        const services = list(context, 'service');
        const components = list(context, 'component');
        const matchers = texts(context, 'matcher').map(parseMatcher);
        const window = await run(context, (incidents) =>
          incidents.scheduleMaintenance({
            title,
            createdBy: by(context),
            suppressPaging: context.values['no-suppress'] !== true,
            ...(services.length ? { services } : {}),
            ...(components.length ? { components } : {}),
            ...(matchers.length ? { matchers } : {}),
            ...(recurrence ? { recurrence } : { startsAt: time(at as string, 'at'), duration }),
          }),
        );
        if (context.json) context.printJson({ ok: true, window });
        else context.print(`maintenance ${window.id} scheduled: ${window.title}`);
        return ExitCode.ok;
      },
    },
    metrics: {
      summary: 'MTTA, MTTM, MTTR, MTTD per service × severity, MTBF and availability per service',
      options: {
        ...storeOptions,
        since: { type: 'string', description: 'window ending now (default 30d)', valueName: 'duration' },
        service: { type: 'string', description: 'only this service', valueName: 'name' },
      },
      examples: ['ops-incident metrics --since 90d', 'ops-incident metrics --service checkout --json'],
      async run(context) {
        const to = clock.now();
        const from = to - parseDuration(text(context, 'since') ?? '30d', '--since');
        const service = text(context, 'service');
        const report = await run(context, (incidents) =>
          incidents.metrics({ from, to, ...(service === undefined ? {} : { service }) }),
        );
        if (context.json) {
          context.printJson({ ok: true, report });
          return ExitCode.ok;
        }
        context.print(`${iso(from)} – ${iso(to)}: ${report.overall.count} incidents`);
        if (report.byServiceSeverity.length === 0) return ExitCode.ok;
        context.io.stdout.write(
          formatTable(report.byServiceSeverity, [
            { header: 'SERVICE', value: (row) => row.service },
            { header: 'SEV', value: (row) => row.severity },
            { header: 'COUNT', value: (row) => row.metrics.count, align: 'right' },
            { header: 'MTTA', value: (row) => ms(row.metrics.mttaMs), align: 'right' },
            { header: 'NEVER ACKED', value: (row) => row.metrics.neverAcknowledged, align: 'right' },
            { header: 'MTTM', value: (row) => ms(row.metrics.mttmMs), align: 'right' },
            { header: 'MTTR', value: (row) => ms(row.metrics.mttrMs), align: 'right' },
            { header: 'MTTD', value: (row) => ms(row.metrics.mttdMs), align: 'right' },
          ]),
        );
        context.print();
        context.io.stdout.write(
          formatTable(report.byService, [
            { header: 'SERVICE', value: (row) => row.service },
            { header: 'OUTAGES', value: (row) => row.reliability.failures, align: 'right' },
            { header: 'MTBF', value: (row) => ms(row.reliability.mtbfMs), align: 'right' },
            {
              header: 'AVAILABILITY',
              value: (row) => `${(row.reliability.availability * 100).toFixed(3)}%`,
              align: 'right',
            },
          ]),
        );
        return ExitCode.ok;
      },
    },
    postmortem: {
      summary: 'print the postmortem (Markdown); --generate writes the draft, --publish publishes it',
      usage: '<id>',
      options: {
        ...storeOptions,
        ...byOption,
        generate: { type: 'boolean', description: 'write the draft now (kept if one exists, unless --replace)' },
        replace: { type: 'boolean', description: 'with --generate: replace an unpublished draft' },
        publish: { type: 'boolean', description: 'publish it (refused while a required section is empty)' },
      },
      examples: [
        'ops-incident postmortem INC-2026-1206-001 > postmortem.md',
        'ops-incident postmortem INC-2026-1206-001 --publish',
      ],
      async run(context) {
        const id = incidentId(context, 'ops-incident postmortem <id>');
        const result = await run(context, async (incidents) => {
          if (context.values['generate'] === true)
            await incidents.generatePostmortem(id, {
              by: by(context),
              replaceDraft: context.values['replace'] === true,
            });
          if (context.values['publish'] === true) await incidents.publishPostmortem(id, { by: by(context) });
          return { postmortem: await incidents.getPostmortem(id), markdown: await incidents.postmortemMarkdown(id) };
        });
        if (context.json) context.printJson({ ok: true, ...result });
        else context.io.stdout.write(result.markdown.endsWith('\n') ? result.markdown : `${result.markdown}\n`);
        return ExitCode.ok;
      },
    },
    'status-page': {
      summary: 'serve the public status page (and, with --receivers, the Alertmanager and PagerDuty receivers)',
      usage: 'serve',
      options: {
        ...storeOptions,
        port: { type: 'string', description: 'TCP port (default 8080; 0 picks one)', valueName: 'port' },
        host: { type: 'string', description: 'interface (default 127.0.0.1)', valueName: 'host' },
        name: { type: 'string', description: 'page name (default Status)', valueName: 'text' },
        url: { type: 'string', description: 'public URL of the page (default: where it is served)', valueName: 'url' },
        component: {
          type: 'string',
          multiple: true,
          description: 'a component id[=Display name], in order',
          valueName: 'component',
        },
        'base-path': { type: 'string', description: 'mount path (default /status)', valueName: 'path' },
        receivers: {
          type: 'boolean',
          description: `also take POST /webhooks/alertmanager and /v2/enqueue (bearer token from $${ENV_TOKEN}), run timers and deliveries`,
        },
      },
      examples: [
        'ops-incident status-page serve --port 8080 --name Acme --component checkout=Checkout --component search=Search',
        `${ENV_TOKEN}=… ops-incident status-page serve --receivers --component checkout --config ./incident.config.mjs`,
      ],
      async run(context) {
        action(context, ['serve'], 'ops-incident status-page serve');
        const portText = text(context, 'port') ?? '8080';
        const port = Number(portText);
        if (!(Number.isInteger(port) && port >= 0 && port < 65_536))
          throw new UsageError(`--port: expected a port number, got ${JSON.stringify(portText)}`);
        const components = texts(context, 'component').map((entry) => {
          const at = entry.indexOf('=');
          return at < 0 ? { id: entry, name: entry } : { id: entry.slice(0, at), name: entry.slice(at + 1) };
        });
        const receivers = context.values['receivers'] === true;
        const token = context.io.env[ENV_TOKEN];
        if (receivers && (token === undefined || token.length < 8))
          throw new UsageError(`--receivers needs a bearer token of 8 characters or more in $${ENV_TOKEN}`);
        const basePath = text(context, 'base-path');
        return withIncidents(
          context,
          clock,
          async (incidents) => {
            // The page's public URL defaults to where it is served, known once the port is bound.
            let statusPage: ReturnType<typeof createStatusPage> | undefined;
            const statusHandler: OpsHandler = async (request) => statusPage?.handler(request);
            const authorize = (request: OpsRequest) => request.headers['authorization'] === `Bearer ${token}`;
            const handler = receivers
              ? composeHandlers(
                  statusHandler,
                  createAlertmanagerReceiver(incidents, { authorize }),
                  createPagerDutyEventsReceiver(incidents, { authorize }),
                )
              : statusHandler;
            const server = await listen(handler, { port, host: text(context, 'host') ?? '127.0.0.1' });
            statusPage = createStatusPage(incidents, {
              page: {
                name: text(context, 'name') ?? 'Status',
                url: text(context, 'url') ?? `${server.url}${basePath ?? '/status'}`,
              },
              components,
              clock,
              ...(basePath === undefined ? {} : { basePath }),
            });
            const page = `${server.url}${basePath ?? '/status'}/`;
            if (context.json) context.printJson({ ok: true, url: server.url, page });
            else context.print(`status page on ${page}${receivers ? ' (receivers on)' : ''}; Ctrl-C stops`);
            try {
              await untilStopped();
            } finally {
              await server.close();
            }
            return ExitCode.ok;
          },
          { autoStart: receivers },
        );
      },
    },
  };

  return {
    name: 'ops-incident',
    description: `incidents in the PostgreSQL store ($${ENV_DATABASE_URL}): trigger, acknowledge, resolve, silence, report, serve the status page.`,
    version: readPackageVersion(import.meta.url, '@ops/incident'),
    commands,
  };
}

/**
 * The `ops-incident` command line: `trigger`, `list`, `show`, `ack`, `mitigate`, `resolve`, `note`, `silence`,
 * `maintenance`, `metrics`, `postmortem`, `status-page serve`; `--json` everywhere; exit 0 ok, 1 failed (unknown
 * incident, refused transition, store unreachable), 2 usage. The store is PostgreSQL, by `OPS_INCIDENT_DATABASE_URL`
 * (or `--database-url`). Run it with {@link runIncidentCli} or core's `runCli`.
 */
export const incidentCli: CliDefinition = createIncidentCli();

/**
 * Runs `ops-incident` (what the `ops-incident` binary does) through core's `runCli`, which refuses a mistyped flag or
 * command (exit 2) naming it and the one probably meant (`unknown option --sevrity (did you mean --severity?)`).
 */
export async function runIncidentCli(
  argv: readonly string[],
  io: Partial<CliIo> = {},
  definition: CliDefinition = incidentCli,
): Promise<number> {
  return runCli(definition, argv, io);
}
