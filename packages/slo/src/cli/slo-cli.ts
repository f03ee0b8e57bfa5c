import { readFile, writeFile } from 'node:fs/promises';
import {
  ConfigError,
  createPrometheusClient,
  ExitCode,
  formatTable,
  humanizeDuration,
  listen,
  OpsError,
  parseConfigText,
  parseDuration,
  readPackageVersion,
  safeErrorMessage,
  systemClock,
  UsageError,
  type CliDefinition,
  type CliContext,
  type Clock,
  type PrometheusClient,
} from '@ops/core';
import {
  checkPerformanceBudget,
  measurementsSchema,
  performanceBaselineSchema,
  ratchetBaseline,
  type PerformanceBaseline,
} from '../budgets/performance-budget.js';
import type { SloStatus } from '../engine/slo-status.js';
import { createSloOverview, renderReportHtml } from '../overview/slo-overview.js';
import { fetchSloStatus, buildSloReport, renderReportMarkdown } from '../report/prometheus-report.js';
import { SloError } from '../errors.js';
import { stringify } from 'yaml';
import { renderPrometheusRuleManifest, renderPrometheusRules } from '../rules/prometheus-rules.js';
import { loadSloInput, type SloInput } from '../spec/slo-input.js';
import type { ResolvedSlo } from '../spec/slo-spec.js';

/** What the CLI needs from outside, injectable for tests. */
export interface SloCliDependencies {
  /** Builds the Prometheus client for `--prometheus URL`. */
  prometheusClient?: (url: string) => PrometheusClient;
  /** Source of "now" for `status` and `report`. Default `systemClock`. */
  clock?: Clock;
  /** @deprecated Use `clock`. "Now" (epoch ms); when given, it wins over `clock`. */
  now?: () => number;
  /** `ops-slo serve` serves until this resolves. Default: until SIGINT or SIGTERM. */
  serveUntil?: (server: { url: string }) => Promise<void>;
}

/**
 * Exit code of `ops-slo status` and `ops-slo report` when Prometheus could not be asked or answered with an error
 * (unreachable, timed out, a failed query): nothing was evaluated, so neither 0 (all well) nor 1 (a tier fires, an
 * objective is missed) would be true.
 */
export const SLO_EXIT_NOT_EVALUATED = 3;

/** Runs the Prometheus part of a command: an error there exits {@link SLO_EXIT_NOT_EVALUATED}, naming the server. */
async function evaluating<T>(
  context: CliContext,
  command: string,
  url: string,
  work: () => Promise<T>,
): Promise<T | typeof SLO_EXIT_NOT_EVALUATED> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UsageError || ConfigError.isInstance(error)) throw error;
    const message = `could not evaluate: Prometheus at ${redactUrl(url)}: ${safeErrorMessage(error)}`;
    if (context.json)
      context.printJson({ ok: false, error: { code: OpsError.isInstance(error) ? error.code : 'INTERNAL', message } });
    context.warn(`ops-slo ${command}: ${message}`);
    return SLO_EXIT_NOT_EVALUATED;
  }
}

/** The URL without credentials (`http://user:secret@prom` → `http://prom`). */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function stringValue(context: CliContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

function required(context: CliContext, name: string): string {
  const value = stringValue(context, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

/** Reads the SLO file in any format (ours, Sloth, OpenSLO); conversion notes go to stderr; skipped SLOs are an error. */
async function inputFrom(
  context: CliContext,
  options: { allowSkipped?: boolean } = {},
): Promise<SloInput & { file: string }> {
  const file = stringValue(context, 'config') ?? context.positionals[0];
  if (!file) throw new UsageError('give the SLO file: --config slos.yaml');
  const slothWindow = stringValue(context, 'sloth-window');
  const input = await loadSloInput(file, { env: context.io.env, ...(slothWindow ? { slothWindow } : {}) });
  if (input.skipped.length > 0 && options.allowSkipped !== true) {
    throw new ConfigError(`${file}: ${input.skipped.length} SLO(s) cannot be converted: ${input.skipped.join('; ')}`);
  }
  if (!context.json) for (const note of input.notes) context.warn(`note: ${note}`);
  return { ...input, file };
}

async function slosFrom(context: CliContext): Promise<ResolvedSlo[]> {
  const { slos, file } = await inputFrom(context);
  const only = stringValue(context, 'slo');
  if (only === undefined) return slos;
  const picked = slos.filter((slo) => slo.name === only || slo.id === only);
  if (picked.length === 0)
    throw new UsageError(`no SLO ${JSON.stringify(only)} in ${file}; known: ${slos.map((slo) => slo.id).join(', ')}`);
  return picked;
}

async function writeOutput(context: CliContext, text: string, what: string): Promise<void> {
  const output = stringValue(context, 'output');
  if (output) {
    await writeFile(output, text).catch((error: unknown) => {
      throw new SloError('SLO_RULES_FAILED', `cannot write the ${what} to ${output}: ${safeErrorMessage(error)}`, {
        cause: error,
      });
    });
    if (context.json) context.printJson({ ok: true, file: output });
    else context.warn(`wrote ${output}`);
  } else if (context.json) context.printJson({ ok: true, yaml: text });
  else context.io.stdout.write(text);
}

function percent(value: number | null, digits = 3): string {
  return value === null ? '–' : `${(value * 100).toFixed(digits)}%`;
}

const configOption = {
  config: {
    type: 'string' as const,
    short: 'c',
    valueName: 'file',
    description: 'SLO file: @ops/slo, Sloth (prometheus/v1, PrometheusServiceLevel) or OpenSLO; YAML or JSON',
  },
  'sloth-window': {
    type: 'string' as const,
    valueName: 'duration',
    description: 'SLO period of Sloth specs (they carry none; default 30d)',
  },
};
const prometheusOption = {
  prometheus: {
    type: 'string' as const,
    valueName: 'url',
    description: 'Prometheus base URL, e.g. http://127.0.0.1:9090',
  },
};
const sloOption = { slo: { type: 'string' as const, valueName: 'name', description: 'only this SLO' } };

/**
 * Builds the `ops-slo` CLI definition with injected dependencies (a Prometheus client factory, a clock), for tests
 * and embedding: `validate`, `rules`, `status`, `report`, `budget check`. Exit codes ({@link ExitCode}): 0 ok, 1 an
 * SLO/budget check failed (objective missed, alert firing, regression), 2 usage or configuration error, 3
 * ({@link SLO_EXIT_NOT_EVALUATED}) `status`/`report` could not evaluate (Prometheus unreachable or a query failed).
 *
 * @example
 * ```ts
 * const exitCode = await runCli(createSloCli({ clock: createManualClock(Date.UTC(2026, 5, 1)) }), ['status', '-c', 'slos.yaml', '--prometheus', url]);
 * ```
 */
export function createSloCli(dependencies: SloCliDependencies = {}): CliDefinition {
  const { clock = systemClock } = dependencies;
  const now = dependencies.now ?? (() => clock.now());
  const clientFor = (url: string) =>
    (dependencies.prometheusClient ?? ((base: string) => createPrometheusClient({ url: base, timeout: '30s' })))(url);
  return {
    name: 'ops-slo',
    version: readPackageVersion(import.meta.url, '@ops/slo'),
    description:
      'Validate SLO files (ours, Sloth, OpenSLO), generate Prometheus rules, import Sloth specs, read SLO status and reports from Prometheus, serve the SLO overview page, check performance budgets. A failed check (exit 1) is a tier that fires, an objective missed or a regression.',
    // Listed in --help after the shared 0, 1 and 2.
    exitCodes: {
      [SLO_EXIT_NOT_EVALUATED]: 'could not evaluate (status, report: Prometheus unreachable or a query failed)',
    },
    commands: {
      validate: {
        summary: 'validate an SLO file (paths and allowed values in errors; warnings for tiers that can never fire)',
        usage: '[file]',
        options: { ...configOption, strict: { type: 'boolean', description: 'treat warnings as errors (exit 1)' } },
        examples: ['ops-slo validate slos.yaml', 'ops-slo validate --config slos.yaml --strict --json'],
        async run(context) {
          const slos = await slosFrom(context);
          const warnings = slos.flatMap((slo) => slo.warnings.map((warning) => `${slo.id}: ${warning}`));
          if (context.json)
            context.printJson({
              ok: true,
              slos: slos.map((slo) => ({
                id: slo.id,
                objective: slo.objective,
                sli: slo.sli.type,
                window: slo.window,
                tiers: slo.tiers.map((tier) => tier.name),
              })),
              warnings,
            });
          else {
            context.print(`${slos.length} SLO(s) valid: ${slos.map((slo) => slo.id).join(', ')}`);
            for (const warning of warnings) context.warn(`warning: ${warning}`);
          }
          return context.values.strict === true && warnings.length > 0 ? ExitCode.failure : ExitCode.ok;
        },
      },
      rules: {
        summary: 'print Prometheus recording and alerting rules for the SLOs',
        usage: '[file]',
        options: {
          ...configOption,
          output: {
            type: 'string',
            short: 'o',
            valueName: 'file',
            description: 'write the rules to this file instead of stdout',
          },
          interval: {
            type: 'string',
            valueName: 'duration',
            description: 'evaluation interval of the rule groups, e.g. 30s',
          },
          'per-label-set': {
            type: 'boolean',
            description: "keep each SLO's groupBy labels: ratios, budgets and alerts per label set",
          },
          format: {
            type: 'string',
            valueName: 'rules|prometheus-rule',
            description:
              'a rule file (default), or a Prometheus Operator PrometheusRule manifest (default for Sloth PrometheusServiceLevel input)',
          },
          name: {
            type: 'string',
            valueName: 'name',
            description:
              'metadata.name of the PrometheusRule (default: the PrometheusServiceLevel name, else ops-slo-<service>)',
          },
          namespace: {
            type: 'string',
            valueName: 'namespace',
            description: 'metadata.namespace of the PrometheusRule',
          },
        },
        examples: [
          'ops-slo rules slos.yaml > slo-rules.yaml && promtool check rules slo-rules.yaml',
          'ops-slo rules -c slos.yaml -o rules.yaml --interval 30s',
          'ops-slo rules sloth-spec.yml   # Sloth prometheus/v1 or PrometheusServiceLevel, OpenSLO also read',
          'ops-slo rules slos.yaml --format prometheus-rule --name shop-slos --namespace monitoring | kubectl apply -f -',
        ],
        async run(context) {
          const input = await inputFrom(context);
          const only = stringValue(context, 'slo');
          const keep = (slo: ResolvedSlo) => only === undefined || slo.name === only || slo.id === only;
          const interval = stringValue(context, 'interval');
          const ruleOptions = {
            ...(interval ? { interval } : {}),
            perLabelSet: context.values['per-label-set'] === true,
          };
          const format =
            stringValue(context, 'format') ??
            (input.groups.some((group) => group.kubernetes) ? 'prometheus-rule' : 'rules');
          if (format !== 'rules' && format !== 'prometheus-rule')
            throw new UsageError(`--format must be rules or prometheus-rule (got ${JSON.stringify(format)})`);
          let yaml: string;
          if (format === 'rules') yaml = renderPrometheusRules(input.slos.filter(keep), ruleOptions);
          else {
            const name = stringValue(context, 'name');
            const namespace = stringValue(context, 'namespace');
            // One manifest per PrometheusServiceLevel (as Sloth writes them), else one for the whole file.
            const groups =
              input.groups.some((group) => group.kubernetes) && name === undefined
                ? input.groups
                : [{ document: input.groups[0]?.document, slos: input.slos, kubernetes: undefined }];
            yaml = groups
              .map((group) => {
                const metadata = group.kubernetes;
                const manifestName = name ?? metadata?.name ?? `ops-slo-${group.slos[0]?.service ?? 'rules'}`;
                const manifestNamespace = namespace ?? metadata?.namespace;
                return renderPrometheusRuleManifest(group.slos.filter(keep), {
                  ...ruleOptions,
                  name: manifestName,
                  ...(manifestNamespace === undefined ? {} : { namespace: manifestNamespace }),
                  ...(metadata?.labels ? { labels: metadata.labels } : {}),
                });
              })
              .join('---\n');
          }
          await writeOutput(context, yaml, 'rules');
          return ExitCode.ok;
        },
      },
      import: {
        summary:
          'convert a Sloth spec (prometheus/v1, PrometheusServiceLevel) or OpenSLO file to an @ops/slo file, reporting what cannot be carried',
        usage: '<file>',
        options: {
          ...configOption,
          output: {
            type: 'string',
            short: 'o',
            valueName: 'file',
            description: 'write the converted file here instead of stdout',
          },
        },
        examples: ['ops-slo import sloth/getting-started.yml -o slos.yaml', 'ops-slo import k8s-slos.yml --json'],
        async run(context) {
          const input = await inputFrom(context, { allowSkipped: true });
          const yaml = input.groups
            .filter((group) => group.document.slos.length > 0)
            .map((group) => stringify(group.document, { lineWidth: 0, aliasDuplicateObjects: false }))
            .join('---\n');
          if (context.json)
            context.printJson({
              ok: input.skipped.length === 0,
              format: input.format,
              documents: input.groups.map((group) => group.document),
              notes: input.notes,
              skipped: input.skipped,
            });
          else {
            const output = stringValue(context, 'output');
            if (output) {
              await writeFile(output, yaml).catch((error: unknown) => {
                throw new SloError('SLO_RULES_FAILED', `cannot write ${output}: ${safeErrorMessage(error)}`, {
                  cause: error,
                });
              });
              context.warn(`wrote ${output}: ${input.slos.length} SLO(s) from ${input.format}`);
            } else context.io.stdout.write(yaml);
            for (const skipped of input.skipped) context.warn(`not converted: ${skipped}`);
          }
          return input.skipped.length > 0 ? ExitCode.failure : ExitCode.ok;
        },
      },
      status: {
        summary:
          'SLI, budget, burn rates and firing tiers of each SLO, computed from a Prometheus server (exit 1 a tier fires, 3 could not evaluate: Prometheus unreachable or a query failed)',
        usage: '[file]',
        options: { ...configOption, ...prometheusOption, ...sloOption },
        examples: [
          'ops-slo status -c slos.yaml --prometheus http://127.0.0.1:9090',
          'ops-slo status -c slos.yaml --prometheus http://prom:9090 --json',
        ],
        async run(context) {
          const slos = await slosFrom(context);
          const url = required(context, 'prometheus');
          const client = clientFor(url);
          const statuses = await evaluating(context, 'status', url, async () => {
            const fetched: SloStatus[] = [];
            for (const slo of slos) fetched.push(await fetchSloStatus({ client, slo, atMs: now() }));
            return fetched;
          });
          if (statuses === SLO_EXIT_NOT_EVALUATED) return SLO_EXIT_NOT_EVALUATED;
          if (context.json) context.printJson({ ok: true, statuses });
          else {
            context.io.stdout.write(
              formatTable(statuses, [
                { header: 'SLO', value: (status) => status.id },
                { header: 'OBJECTIVE', value: (status) => percent(status.objective), align: 'right' },
                { header: 'SLI', value: (status) => percent(status.sli), align: 'right' },
                { header: 'BUDGET LEFT', value: (status) => percent(status.budget.remainingRatio, 1), align: 'right' },
                { header: 'BURN 1H', value: (status) => (status.burnRates['1h'] ?? 0).toFixed(2), align: 'right' },
                {
                  header: 'EXHAUSTED IN',
                  value: (status) =>
                    status.timeToExhaustionMs === null ? '–' : humanizeDuration(status.timeToExhaustionMs),
                  align: 'right',
                },
                { header: 'FIRING', value: (status) => status.firing.join(',') || '–' },
              ]),
            );
          }
          return statuses.some((status) => status.firing.length > 0) ? ExitCode.failure : ExitCode.ok;
        },
      },
      report: {
        summary:
          'report SLOs over a day/week/month to date (or --from/--to) from Prometheus history, Markdown or JSON (exit 1 an objective missed, 3 could not evaluate)',
        usage: '[file]',
        options: {
          ...configOption,
          ...prometheusOption,
          ...sloOption,
          period: { type: 'string', valueName: 'day|week|month', description: 'calendar period to date (default day)' },
          'time-zone': { type: 'string', valueName: 'zone', description: 'IANA zone of the period (default UTC)' },
          from: { type: 'string', valueName: 'iso-time', description: 'explicit range start (with --to)' },
          to: { type: 'string', valueName: 'iso-time', description: 'explicit range end' },
          step: { type: 'string', valueName: 'duration', description: 'breakdown step (default 1h)' },
          format: {
            type: 'string',
            valueName: 'markdown|html',
            description:
              'Markdown (default) or an HTML page with the budget burn-down and error-ratio SVG charts per SLO',
          },
          output: {
            type: 'string',
            short: 'o',
            valueName: 'file',
            description: 'write the report to this file instead of stdout',
          },
        },
        examples: [
          'ops-slo report -c slos.yaml --prometheus http://127.0.0.1:9090 --period day --time-zone Europe/Berlin',
          'ops-slo report -c slos.yaml --prometheus http://prom:9090 --from 2026-05-01T00:00:00Z --to 2026-06-01T00:00:00Z --json',
        ],
        async run(context) {
          const slos = await slosFrom(context);
          const url = required(context, 'prometheus');
          const client = clientFor(url);
          const from = stringValue(context, 'from');
          const to = stringValue(context, 'to');
          let range: Parameters<typeof buildSloReport>[0]['range'];
          if (from !== undefined || to !== undefined) {
            const startMs = Date.parse(from ?? '');
            const endMs = Date.parse(to ?? '');
            if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs <= startMs)
              throw new UsageError('--from and --to must both be ISO times with --from before --to');
            range = { startMs, endMs };
          } else {
            const period = stringValue(context, 'period') ?? 'day';
            if (period !== 'day' && period !== 'week' && period !== 'month')
              throw new UsageError(`--period must be one of day, week, month (got ${JSON.stringify(period)})`);
            range = { period, timeZone: stringValue(context, 'time-zone') ?? 'UTC' };
          }
          const step = stringValue(context, 'step');
          const stepMs = step ? parseDuration(step, '--step') : undefined;
          const report = await evaluating(context, 'report', url, () =>
            buildSloReport({ client, slos, range, atMs: now(), ...(stepMs !== undefined ? { stepMs } : {}) }),
          );
          if (report === SLO_EXIT_NOT_EVALUATED) return SLO_EXIT_NOT_EVALUATED;
          if (context.json) context.printJson({ ok: true, report });
          else {
            const format = stringValue(context, 'format') ?? 'markdown';
            if (format !== 'markdown' && format !== 'html')
              throw new UsageError(`--format must be markdown or html (got ${JSON.stringify(format)})`);
            const text = format === 'html' ? renderReportHtml(report) : renderReportMarkdown(report);
            const output = stringValue(context, 'output');
            if (output) {
              await writeFile(output, text).catch((error: unknown) => {
                throw new SloError(
                  'REPORT_FAILED',
                  `cannot write the report to ${output}: ${safeErrorMessage(error)}`,
                  { cause: error },
                );
              });
              context.warn(`wrote ${output}`);
            } else context.io.stdout.write(text);
          }
          return report.slos.some((entry) => entry.met === false) ? ExitCode.failure : ExitCode.ok;
        },
      },
      serve: {
        summary:
          'serve the SLO overview page (objective, SLI, budget, burn rates, firing tiers, SVG charts) from Prometheus',
        usage: '[file]',
        options: {
          ...configOption,
          ...prometheusOption,
          port: { type: 'string', valueName: 'port', description: 'TCP port (default 9099; 0 picks a free one)' },
          host: { type: 'string', valueName: 'host', description: 'interface to bind (default 127.0.0.1)' },
          path: {
            type: 'string',
            valueName: 'path',
            description: 'path of the page (default /); <path>.json serves the data',
          },
          refresh: { type: 'string', valueName: 'seconds', description: 'reload the page every N seconds (no script)' },
        },
        examples: [
          'ops-slo serve -c slos.yaml --prometheus http://127.0.0.1:9090',
          'ops-slo serve -c sloth-spec.yml --prometheus http://prom:9090 --port 8080 --host 0.0.0.0 --refresh 30',
        ],
        async run(context) {
          const slos = await slosFrom(context);
          const client = clientFor(required(context, 'prometheus'));
          const port = Number(stringValue(context, 'port') ?? '9099');
          if (!Number.isInteger(port) || port < 0 || port > 65_535)
            throw new UsageError('--port must be a TCP port number');
          const refresh = stringValue(context, 'refresh');
          const overview = createSloOverview({
            prometheus: { client, slos },
            path: stringValue(context, 'path') ?? '/',
            clock: { ...clock, now },
            ...(refresh ? { refreshSeconds: Number(refresh) } : {}),
          });
          const server = await listen(overview.handler, { port, host: stringValue(context, 'host') ?? '127.0.0.1' });
          if (context.json) context.printJson({ ok: true, url: server.url });
          else context.warn(`SLO overview on ${server.url}${stringValue(context, 'path') ?? '/'} (Ctrl-C stops)`);
          try {
            await (dependencies.serveUntil ?? untilSignal)({ url: server.url });
          } finally {
            // Browsers keep (and pre-open) connections: end them all, or close() waits for the browser.
            const closing = server.close();
            server.server.closeAllConnections();
            await closing;
          }
          return ExitCode.ok;
        },
      },
      budget: {
        summary: 'budget check: compare a run with a performance baseline (exit 1 on a significant regression)',
        usage: 'check',
        options: {
          baseline: {
            type: 'string',
            valueName: 'file',
            description: 'baseline JSON ({ metrics: { name: { unit, better, value, samples? } } })',
          },
          current: {
            type: 'string',
            valueName: 'file',
            description: 'this run JSON ({ metrics: { name: { value? , samples? } } })',
          },
          tolerance: { type: 'string', valueName: 'percent', description: 'allowed worsening, default 10' },
          method: {
            type: 'string',
            valueName: 'auto|mann-whitney|bootstrap',
            description: 'significance test (default auto: Mann-Whitney for medians, bootstrap for other percentiles)',
          },
          update: {
            type: 'boolean',
            description: 'ratchet: write the tightened baseline back on significant improvements',
          },
        },
        examples: [
          'ops-slo budget check --baseline perf-baseline.json --current run.json',
          'ops-slo budget check --baseline perf-baseline.json --current run.json --update --json',
        ],
        async run(context) {
          if (context.positionals[0] !== 'check')
            throw new UsageError('usage: ops-slo budget check --baseline FILE --current FILE');
          const baselineFile = required(context, 'baseline');
          const currentFile = required(context, 'current');
          const readJson = async (file: string) => {
            try {
              return await readFile(file, 'utf8');
            } catch (error) {
              throw new ConfigError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
            }
          };
          const baseline: PerformanceBaseline = parseConfigText(
            await readJson(baselineFile),
            performanceBaselineSchema,
            baselineFile,
            { format: 'json' },
          ) as PerformanceBaseline;
          const current = parseConfigText(await readJson(currentFile), measurementsSchema, currentFile, {
            format: 'json',
          });
          const toleranceText = stringValue(context, 'tolerance');
          const tolerance = toleranceText === undefined ? undefined : Number(toleranceText);
          if (tolerance !== undefined && !(tolerance >= 0))
            throw new UsageError('--tolerance must be a number of percent >= 0');
          const method = stringValue(context, 'method') ?? 'auto';
          if (method !== 'auto' && method !== 'mann-whitney' && method !== 'bootstrap')
            throw new UsageError('--method must be auto, mann-whitney or bootstrap');
          const measurements = Object.fromEntries(
            Object.entries(current.metrics).map(([name, value]) => [
              name,
              {
                ...(value.value === undefined ? {} : { value: value.value }),
                ...(value.samples ? { samples: value.samples } : {}),
              },
            ]),
          );
          const result = checkPerformanceBudget({
            baseline,
            current: measurements,
            method,
            ...(tolerance === undefined ? {} : { tolerancePercent: tolerance }),
          });
          let updated = false;
          if (
            context.values.update === true &&
            result.verdict === 'pass' &&
            result.metrics.some((metric) => metric.verdict === 'improvement')
          ) {
            await writeFile(
              baselineFile,
              `${JSON.stringify(ratchetBaseline(baseline, result, measurements), null, 2)}\n`,
            );
            updated = true;
          }
          if (context.json) context.printJson({ ok: result.verdict === 'pass', ...result, baselineUpdated: updated });
          else {
            context.io.stdout.write(
              formatTable(result.metrics, [
                { header: 'METRIC', value: (metric) => metric.name },
                { header: 'BASELINE', value: (metric) => `${round(metric.baseline)} ${metric.unit}`, align: 'right' },
                { header: 'CURRENT', value: (metric) => `${round(metric.current)} ${metric.unit}`, align: 'right' },
                {
                  header: 'BUDGET USED',
                  value: (metric) => `${Math.round(metric.budgetUsedPercent)}%`,
                  align: 'right',
                },
                {
                  header: 'P',
                  value: (metric) => (metric.pValue === undefined ? '–' : metric.pValue.toFixed(4)),
                  align: 'right',
                },
                { header: 'VERDICT', value: (metric) => metric.verdict },
                { header: 'WHY', value: (metric) => metric.reason },
              ]),
            );
            if (updated) context.warn(`baseline tightened: ${baselineFile}`);
          }
          return result.verdict === 'regression' ? ExitCode.failure : ExitCode.ok;
        },
      },
    },
  };
}

/**
 * The `ops-slo` CLI (`src/cli/bin.ts` runs it with `runCli`): `validate`, `rules`, `status`, `report`,
 * `budget check`, on the system clock. Exit codes: 0 ok, 1 an SLO/budget check failed, 2 usage or configuration
 * error, 3 ({@link SLO_EXIT_NOT_EVALUATED}) could not evaluate.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(sloCli, ['validate', 'slos.yaml', '--strict']);
 * ```
 */
export const sloCli: CliDefinition = createSloCli();

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
