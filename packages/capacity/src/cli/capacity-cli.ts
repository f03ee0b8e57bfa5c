import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import {
  createManualClock,
  createPrometheusClient,
  ExitCode,
  formatTable,
  parseConfigText,
  parseDuration,
  readPackageVersion,
  systemClock,
  UsageError,
  type CliContext,
  type CliDefinition,
  type Clock,
  type PrometheusClient,
} from '@ops/core';
import { z } from 'zod';
import { createBandScaler, type BandDecision } from '../band/band-scaler.js';
import { createHpaAutoscaler, type HpaDecision } from '../hpa/hpa-autoscaler.js';
import { queryRangeSeries } from '../inputs/prometheus-source.js';
import { parseCsvSeries, parseJsonSeries, regularizeSeries, type Series } from '../inputs/series.js';
import { timeToExhaustion, type Exhaustion } from '../planning/exhaustion.js';
import { planGrowth } from '../planning/growth-plan.js';
import { buildCapacityReport, chooseForecaster, type ReportSeriesInput } from '../report/capacity-report.js';
import { renderReportMarkdown } from '../report/render-markdown.js';
import { formatValue, renderForecastSvg, renderHeatmapSvg } from '../report/svg-charts.js';

/** What the CLI needs from outside, injectable for tests. */
export interface CapacityCliDependencies {
  /** Builds the Prometheus client for `--prometheus URL`. */
  prometheusClient?: (url: string) => PrometheusClient;
  /** Source of "now" (the end of `--since` ranges, report time). Default `systemClock`. */
  clock?: Clock;
}

type Option = NonNullable<CliDefinition['commands'][string]['options']>[string];

const inputOptions: Record<string, Option> = {
  prometheus: {
    type: 'string',
    description: 'read from this Prometheus server (query_range) instead of files',
    valueName: 'url',
  },
  query: { type: 'string', description: 'PromQL for --prometheus (one series per label set)', valueName: 'promql' },
  since: { type: 'string', description: 'with --prometheus: how far back (default 14d)', valueName: 'duration' },
  step: { type: 'string', description: 'with --prometheus: resolution (default 5m)', valueName: 'duration' },
};

function text(context: CliContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

function texts(context: CliContext, name: string): string[] {
  const value = context.values[name];
  return Array.isArray(value)
    ? value.filter((entry): entry is string => typeof entry === 'string')
    : typeof value === 'string'
      ? [value]
      : [];
}

function number(context: CliContext, name: string, fallback?: number): number {
  const raw = text(context, name);
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const value = Number(raw.endsWith('%') ? Number(raw.slice(0, -1)) / 100 : raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${name}: expected a number, got ${JSON.stringify(raw)}`);
  return value;
}

function list(raw: string | undefined, fallback: string): string[] {
  return (raw ?? fallback)
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** Reads a series file: JSON by extension or first character, CSV otherwise. */
async function readSeriesFile(file: string): Promise<Series> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const name = basename(file, extname(file));
  const json = extname(file).toLowerCase() === '.json' || /^\s*[[{]/.test(content);
  return json ? parseJsonSeries(content, { name }) : parseCsvSeries(content, { name });
}

function progress(context: CliContext) {
  const stream = context.io.stderr;
  if (!stream.isTTY || context.json)
    return { update: (_done: number, _total: number, _name: string) => undefined, done: () => undefined };
  return {
    update: (done: number, total: number, name: string) =>
      void stream.write(`\r\u001b[2Kfitted ${done}/${total}: ${name}`),
    done: () => void stream.write('\r\u001b[2K'),
  };
}

/** Builds the `ops-capacity` command line (see {@link capacityCli}). */
export function createCapacityCli(dependencies: CapacityCliDependencies = {}): CliDefinition {
  const clock = dependencies.clock ?? systemClock;
  const prometheusClient =
    dependencies.prometheusClient ?? ((url: string) => createPrometheusClient({ url, timeout: '60s' }));

  const loadInputs = async (
    context: CliContext,
    queries: Array<{ name: string; query: string }> = [],
  ): Promise<Series[]> => {
    const url = text(context, 'prometheus');
    if (url !== undefined) {
      const single = text(context, 'query');
      const all = single !== undefined ? [{ name: single, query: single }, ...queries] : queries;
      if (all.length === 0) throw new UsageError('--prometheus needs --query PROMQL');
      const client = prometheusClient(url);
      const end = clock.now();
      const start = end - parseDuration(text(context, 'since') ?? '14d', 'since');
      const out: Series[] = [];
      for (const entry of all) {
        const found = await queryRangeSeries(client, entry.query, { start, end, step: text(context, 'step') ?? '5m' });
        if (found.length === 0) throw new UsageError(`the query returned no series: ${entry.query}`);
        for (const series of found)
          out.push({
            ...series,
            name: found.length === 1 && entry.name !== entry.query ? entry.name : (series.name ?? entry.name),
          });
      }
      return out;
    }
    if (context.positionals.length === 0)
      throw new UsageError('give a CSV/JSON series file (timestamp,value) or --prometheus URL --query PROMQL');
    return Promise.all(context.positionals.map(readSeriesFile));
  };

  const forecastCommand: CliDefinition['commands'][string] = {
    summary: 'forecast a series with a prediction band (daily/weekly seasons when the history has them)',
    usage: '[file...]',
    options: {
      ...inputOptions,
      horizon: { type: 'string', description: 'how far ahead (default 1d)', valueName: 'duration' },
      periods: {
        type: 'string',
        description: 'seasonal cycles to model, comma-separated (default 1d,7d)',
        valueName: 'durations',
      },
      level: { type: 'string', description: 'band coverage (default 0.95)', valueName: 'ratio' },
      svg: { type: 'string', description: 'write the chart of the first series to this SVG file', valueName: 'file' },
      rows: { type: 'string', description: 'table rows to print per series (default 12)', valueName: 'n' },
    },
    examples: [
      'ops-capacity forecast requests.csv --horizon 7d --svg requests.svg',
      'ops-capacity forecast --prometheus http://127.0.0.1:9090 --query "sum(rate(http_requests_total[5m]))" --since 21d --json',
    ],
    async run(context) {
      const inputs = await loadInputs(context);
      const horizon = text(context, 'horizon') ?? '1d';
      const level = number(context, 'level', 0.95);
      const bar = progress(context);
      const report = buildCapacityReport({
        series: inputs.map((series) => ({ name: series.name ?? 'series', series })),
        horizon,
        periods: list(text(context, 'periods'), '1d,7d'),
        level,
        clock,
        onProgress: bar.update,
      });
      bar.done();
      const svgFile = text(context, 'svg');
      if (svgFile && report.series[0]) await writeFile(svgFile, renderForecastSvg(report.series[0]));
      if (context.json) {
        context.printJson({
          ok: true,
          series: report.series.map((series) => ({
            name: series.name,
            model: series.forecast.model,
            stepMs: series.stepMs,
            level: series.forecast.level,
            timestamps: series.forecast.timestamps,
            mean: series.forecast.mean,
            lower: series.forecast.lower,
            upper: series.forecast.upper,
          })),
        });
        return ExitCode.ok;
      }
      const rows = Math.max(1, Math.round(number(context, 'rows', 12)));
      for (const series of report.series) {
        context.print(`${series.name}: ${series.forecast.model}`);
        const count = series.forecast.mean.length;
        const picks = Array.from(
          new Set(
            Array.from(
              { length: Math.min(rows, count) },
              (_, index) => Math.round(((index + 1) * count) / Math.min(rows, count)) - 1,
            ),
          ),
        );
        context.print(
          formatTable(picks, [
            {
              header: 'time (UTC)',
              value: (index) =>
                new Date(series.forecast.timestamps[index] as number).toISOString().slice(0, 16).replace('T', ' '),
            },
            {
              header: 'forecast',
              value: (index) => formatValue(series.forecast.mean[index] as number),
              align: 'right',
            },
            {
              header: `${Math.round(level * 100)}% low`,
              value: (index) => formatValue(series.forecast.lower[index] as number),
              align: 'right',
            },
            {
              header: `${Math.round(level * 100)}% high`,
              value: (index) => formatValue(series.forecast.upper[index] as number),
              align: 'right',
            },
          ]).trimEnd(),
        );
      }
      if (svgFile) context.warn(`wrote ${svgFile}`);
      return ExitCode.ok;
    },
  };

  const exhaustionCommand: CliDefinition['commands'][string] = {
    summary: 'when a disk, database, pool or quota runs out (exit 1 when within --warn-within)',
    usage: '[file...]',
    options: {
      ...inputOptions,
      capacity: { type: 'string', description: 'the limit, in the series unit (required)', valueName: 'number' },
      method: {
        type: 'string',
        description: 'linear (default), robust (Theil–Sen) or seasonal (upper band)',
        valueName: 'method',
      },
      window: { type: 'string', description: 'history used (default: all)', valueName: 'duration' },
      direction: {
        type: 'string',
        description: 'rising (default) or falling (free space towards a floor)',
        valueName: 'direction',
      },
      'warn-within': {
        type: 'string',
        description: 'exit 1 when the earliest date is within this (default 30d)',
        valueName: 'duration',
      },
      level: { type: 'string', description: 'band coverage (default 0.95)', valueName: 'ratio' },
    },
    examples: [
      'ops-capacity exhaustion db-size.csv --capacity 10e9 --method robust',
      'ops-capacity exhaustion --prometheus http://prom:9090 --query "node_filesystem_avail_bytes{mountpoint=\\"/\\"}" --capacity 0 --direction falling --window 7d',
    ],
    async run(context) {
      const capacity = number(context, 'capacity');
      const method = text(context, 'method') ?? 'linear';
      if (!['linear', 'robust', 'seasonal'].includes(method))
        throw new UsageError(`--method: expected linear, robust or seasonal, got ${method}`);
      const direction = text(context, 'direction') ?? 'rising';
      if (direction !== 'rising' && direction !== 'falling')
        throw new UsageError(`--direction: expected rising or falling, got ${direction}`);
      const warnWithinMs = parseDuration(text(context, 'warn-within') ?? '30d', 'warn-within');
      const level = number(context, 'level', 0.95);
      const inputs = await loadInputs(context);
      const window = text(context, 'window');
      const results: Array<{ name: string; exhaustion: Exhaustion }> = inputs.map((series) => {
        let forecaster;
        if (method === 'seasonal') {
          const regular = regularizeSeries(series);
          forecaster = chooseForecaster(
            regular.values.length,
            regular.stepMs,
            [parseDuration('1d'), parseDuration('7d')],
            regular.values.every((value) => value > 0),
          );
        }
        return {
          name: series.name ?? 'series',
          exhaustion: timeToExhaustion(series, {
            capacity,
            method: method as 'linear' | 'robust' | 'seasonal',
            direction,
            confidence: level,
            ...(window ? { window } : {}),
            ...(forecaster ? { forecaster } : {}),
          }),
        };
      });
      const now = clock.now();
      const urgent = results.filter(
        ({ exhaustion }) =>
          exhaustion.status === 'exhausted' ||
          (exhaustion.earliestMs !== null && exhaustion.earliestMs - now <= warnWithinMs),
      );
      if (context.json) {
        context.printJson({ ok: urgent.length === 0, warnWithinMs, results });
      } else {
        const date = (ms: number | null) =>
          ms === null ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
        context.print(
          formatTable(results, [
            { header: 'series', value: (row) => row.name },
            { header: 'now', value: (row) => formatValue(row.exhaustion.current), align: 'right' },
            { header: 'per day', value: (row) => formatValue(row.exhaustion.slopePerDay), align: 'right' },
            { header: 'status', value: (row) => row.exhaustion.status },
            { header: 'expected', value: (row) => date(row.exhaustion.atMs) },
            { header: 'earliest', value: (row) => date(row.exhaustion.earliestMs) },
            { header: 'latest', value: (row) => date(row.exhaustion.latestMs) },
          ]).trimEnd(),
        );
        for (const row of results) context.print(`${row.name}: ${row.exhaustion.explanation}`);
        for (const row of urgent) context.warn(`${row.name}: runs out within ${text(context, 'warn-within') ?? '30d'}`);
      }
      return urgent.length > 0 ? ExitCode.failure : ExitCode.ok;
    },
  };

  const recommendCommand: CliDefinition['commands'][string] = {
    summary:
      'replicas for a per-replica utilization series: the HPA decision replayed over the series, and growth scenarios',
    usage: '[file...]',
    options: {
      ...inputOptions,
      replicas: { type: 'string', description: 'current replica count (required)', valueName: 'n' },
      target: { type: 'string', description: 'target utilization, e.g. 0.6 or 60% (default 0.6)', valueName: 'ratio' },
      min: { type: 'string', description: 'minReplicas (default 1)', valueName: 'n' },
      max: { type: 'string', description: 'maxReplicas (default 100)', valueName: 'n' },
      tolerance: { type: 'string', description: 'HPA tolerance (default 0.1)', valueName: 'ratio' },
      headroom: {
        type: 'string',
        description: 'headroom over the peak for growth scenarios (default 0.5)',
        valueName: 'ratio',
      },
      growth: {
        type: 'string',
        description: 'growth scenarios, comma-separated (default 0.25,0.5,1)',
        valueName: 'ratios',
      },
      band: {
        type: 'string',
        description: "also replay the runbook rule 'up above X for D1, down below Y for D2', e.g. 75%/15m,30%/30m",
        valueName: 'rule',
      },
    },
    examples: [
      'ops-capacity recommend cpu-per-replica.csv --replicas 10 --target 60% --max 40',
      'ops-capacity recommend cpu.csv --replicas 4 --band 75%/15m,30%/30m',
      'ops-capacity recommend cpu.csv --replicas 4 --growth 0.25,0.5,1 --headroom 0.5 --json',
    ],
    async run(context) {
      const replicas = number(context, 'replicas');
      if (!Number.isInteger(replicas) || replicas < 1)
        throw new UsageError(`--replicas: expected an integer ≥ 1, got ${replicas}`);
      const target = number(context, 'target', 0.6);
      const minReplicas = number(context, 'min', 1);
      const maxReplicas = number(context, 'max', Math.max(100, replicas));
      const headroom = number(context, 'headroom', 0.5);
      const growth = list(text(context, 'growth'), '0.25,0.5,1').map((entry) => Number(entry));
      if (growth.some((value) => !Number.isFinite(value)))
        throw new UsageError('--growth: expected numbers such as 0.25,0.5,1');
      const [series] = await loadInputs(context);
      if (!series || series.values.length === 0) throw new UsageError('the series is empty');
      // Replay the series through the HPA as the controller would have seen it, then read the last decision.
      const replayClock = createManualClock(series.timestamps[0] as number);
      const hpa = createHpaAutoscaler({
        minReplicas,
        maxReplicas,
        tolerance: number(context, 'tolerance', 0.1),
        clock: replayClock,
      });
      const pods = Array.from({ length: replicas }, (_, index) => ({
        name: `replica-${index}`,
        ready: true,
        startedAtMs: 0,
      }));
      let decision: HpaDecision | undefined;
      series.timestamps.forEach((at, index) => {
        replayClock.set(Math.max(replayClock.now(), at));
        const value = series.values[index] as number;
        decision = hpa.decide({
          currentReplicas: replicas,
          pods,
          metrics: [
            {
              type: 'pods',
              name: series.name ?? 'utilization',
              target: { averageValue: target },
              values: Object.fromEntries(pods.map((pod) => [pod.name, value])),
            },
          ],
        });
      });
      let band: BandDecision | undefined;
      const rule = text(context, 'band');
      if (rule !== undefined) {
        const match = /^\s*([\d.]+%?)\/(\w+)\s*,\s*([\d.]+%?)\/(\w+)\s*$/.exec(rule);
        if (!match)
          throw new UsageError(`--band: expected UP/FOR,DOWN/FOR such as 75%/15m,30%/30m, got ${JSON.stringify(rule)}`);
        const ratio = (raw: string) => (raw.endsWith('%') ? Number(raw.slice(0, -1)) / 100 : Number(raw));
        const bandClock = createManualClock(series.timestamps[0] as number);
        const scaler = createBandScaler({
          minReplicas,
          maxReplicas,
          clock: bandClock,
          signals: [
            {
              name: series.name ?? 'utilization',
              scaleUpAbove: ratio(match[1] as string),
              scaleUpFor: match[2] as string,
              scaleDownBelow: ratio(match[3] as string),
              scaleDownFor: match[4] as string,
            },
          ],
        });
        series.timestamps.forEach((at, index) => {
          bandClock.set(Math.max(bandClock.now(), at));
          band = scaler.observe(replicas, { [series.name ?? 'utilization']: series.values[index] as number });
        });
      }
      const samplesPerHour =
        series.timestamps.length > 1
          ? Math.max(
              1,
              Math.round(
                3_600_000 /
                  (((series.timestamps.at(-1) as number) - (series.timestamps[0] as number)) /
                    (series.timestamps.length - 1)),
              ),
            )
          : 1;
      const plan = planGrowth({
        currentReplicas: replicas,
        utilization: series.values,
        windowSize: samplesPerHour,
        headroom,
        growth: [0, ...growth],
        minReplicas,
        maxReplicas,
      });
      if (context.json) {
        context.printJson({ ok: true, decision, ...(band ? { band } : {}), plan });
        return ExitCode.ok;
      }
      const final = decision as HpaDecision;
      context.print(
        `HPA now: ${final.currentReplicas} → ${final.desiredReplicas} replicas (${final.reasons.join(', ')})`,
      );
      for (const line of final.explanation) context.print(`  ${line}`);
      if (band) {
        const last = band as BandDecision;
        context.print(
          `band rule now: ${last.currentReplicas} → ${last.desiredReplicas} replicas (${last.reasons.join(', ')})`,
        );
        for (const line of last.explanation) context.print(`  ${line}`);
      }
      context.print('');
      context.print(
        formatTable(plan.scenarios, [
          { header: 'scenario', value: (row) => row.label },
          { header: 'replicas', value: (row) => row.replicas, align: 'right' },
          { header: 'peak utilization', value: (row) => `${(row.peakUtilization * 100).toFixed(0)}%`, align: 'right' },
          { header: 'runbook script', value: (row) => row.naiveReplicas, align: 'right' },
        ]).trimEnd(),
      );
      for (const line of plan.explanation) context.print(`- ${line}`);
      return ExitCode.ok;
    },
  };

  const reportSchema = z
    .object({
      title: z.string().optional(),
      horizon: z.string().optional(),
      prometheus: z.string().url().optional(),
      since: z.string().optional(),
      step: z.string().optional(),
      series: z
        .array(
          z
            .object({
              name: z.string().min(1),
              file: z.string().optional(),
              query: z.string().optional(),
              capacity: z.number().optional(),
              unit: z.string().optional(),
              ratio: z.boolean().optional(),
              storageThreshold: z.number().optional(),
            })
            .strict()
            .refine((entry) => (entry.file === undefined) !== (entry.query === undefined), {
              message: 'give exactly one of file or query',
            }),
        )
        .min(1),
      growth: z
        .object({
          series: z.string(),
          currentReplicas: z.number().int().min(1),
          headroom: z.number().min(0).optional(),
        })
        .strict()
        .optional(),
    })
    .strict();

  const reportCommand: CliDefinition['commands'][string] = {
    summary:
      'capacity report: trends, hour-of-week profile, forecasts with bands, time to exhaustion, growth — Markdown, JSON and SVG',
    usage: '[file...]',
    options: {
      ...inputOptions,
      config: {
        type: 'string',
        short: 'c',
        description:
          'report config (YAML/JSON: title, horizon, prometheus, series[{name, file|query, capacity, unit, ratio}], growth)',
        valueName: 'file',
      },
      out: {
        type: 'string',
        short: 'o',
        description: 'write report.md, report.json and SVG charts into this directory',
        valueName: 'dir',
      },
      horizon: { type: 'string', description: 'forecast horizon (default 7d)', valueName: 'duration' },
      title: { type: 'string', description: 'report title', valueName: 'text' },
      capacity: {
        type: 'string',
        multiple: true,
        description: 'name=limit for a series (time to exhaustion)',
        valueName: 'name=value',
      },
      replicas: {
        type: 'string',
        description: 'with --growth-series: current replicas for growth scenarios',
        valueName: 'n',
      },
      'growth-series': {
        type: 'string',
        description: 'per-replica utilization series to plan growth on',
        valueName: 'name',
      },
    },
    examples: [
      'ops-capacity report cpu.csv disk.csv --capacity disk=500e9 --out report/',
      'ops-capacity report -c capacity.yaml -o report/',
      'ops-capacity report requests.csv --json',
    ],
    async run(context) {
      const configFile = text(context, 'config');
      const inputs: ReportSeriesInput[] = [];
      let title = text(context, 'title');
      let horizon = text(context, 'horizon');
      let growth: { series: string; currentReplicas: number; headroom?: number } | undefined;
      if (configFile) {
        let raw: string;
        try {
          raw = await readFile(configFile, 'utf8');
        } catch (error) {
          throw new UsageError(`cannot read ${configFile}: ${(error as Error).message}`);
        }
        const config = parseConfigText(raw, reportSchema, configFile, { env: context.io.env });
        title ??= config.title;
        horizon ??= config.horizon;
        if (config.growth)
          growth = {
            series: config.growth.series,
            currentReplicas: config.growth.currentReplicas,
            ...(config.growth.headroom === undefined ? {} : { headroom: config.growth.headroom }),
          };
        const client = config.prometheus ? prometheusClient(config.prometheus) : undefined;
        const end = clock.now();
        const start = end - parseDuration(config.since ?? '14d', 'since');
        for (const entry of config.series) {
          let series: Series;
          if (entry.file !== undefined) series = await readSeriesFile(entry.file);
          else {
            if (!client)
              throw new UsageError(
                `${configFile}: series ${entry.name} has a query but no prometheus URL is configured`,
              );
            const [found] = await queryRangeSeries(client, entry.query as string, {
              start,
              end,
              step: config.step ?? '5m',
            });
            if (!found) throw new UsageError(`the query of ${entry.name} returned no series`);
            series = found;
          }
          inputs.push({
            name: entry.name,
            series,
            ...(entry.capacity === undefined ? {} : { capacity: entry.capacity }),
            ...(entry.unit === undefined ? {} : { unit: entry.unit }),
            ...(entry.ratio === undefined ? {} : { ratio: entry.ratio }),
            ...(entry.storageThreshold === undefined ? {} : { storage: { threshold: entry.storageThreshold } }),
          });
        }
      } else {
        for (const series of await loadInputs(context))
          inputs.push({ name: series.name ?? `series-${inputs.length + 1}`, series });
      }
      for (const pair of texts(context, 'capacity')) {
        const [name, value] = pair.split('=');
        const input = inputs.find((entry) => entry.name === name);
        if (!input || value === undefined || !Number.isFinite(Number(value)))
          throw new UsageError(
            `--capacity ${pair}: expected name=number with a known series (${inputs.map((entry) => entry.name).join(', ')})`,
          );
        input.capacity = Number(value);
      }
      const growthSeries = text(context, 'growth-series');
      if (growthSeries) growth = { series: growthSeries, currentReplicas: number(context, 'replicas') };
      const bar = progress(context);
      const report = buildCapacityReport({
        series: inputs,
        clock,
        onProgress: bar.update,
        ...(title ? { title } : {}),
        ...(horizon ? { horizon } : {}),
        ...(growth ? { growth: { ...growth } } : {}),
      });
      bar.done();
      const out = text(context, 'out');
      if (out) {
        await mkdir(out, { recursive: true });
        const charts: Record<string, string> = {};
        const heatmaps: Record<string, string> = {};
        for (const series of report.series) {
          const slug =
            series.name
              .toLowerCase()
              .replace(/[^a-z0-9]+/g, '-')
              .replace(/^-|-$/g, '') || 'series';
          charts[series.name] = `${slug}.svg`;
          heatmaps[series.name] = `${slug}-hour-of-week.svg`;
          await writeFile(join(out, `${slug}.svg`), renderForecastSvg(series));
          await writeFile(join(out, `${slug}-hour-of-week.svg`), renderHeatmapSvg(series));
        }
        await writeFile(join(out, 'report.md'), renderReportMarkdown(report, { charts, heatmaps }));
        await writeFile(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
        if (!context.json)
          context.warn(`wrote ${join(out, 'report.md')}, report.json and ${report.series.length * 2} SVG charts`);
      }
      if (context.json) context.printJson({ ok: true, report });
      else if (!out) context.print(renderReportMarkdown(report).trimEnd());
      return ExitCode.ok;
    },
  };

  return {
    name: 'ops-capacity',
    description:
      'Capacity planning: HPA-exact replica decisions, forecasts with bands, time to exhaustion, growth plans and reports.',
    version: readPackageVersion(import.meta.url, '@ops/capacity'),
    commands: {
      recommend: recommendCommand,
      forecast: forecastCommand,
      exhaustion: exhaustionCommand,
      report: reportCommand,
    },
  };
}

/** The `ops-capacity` command line: `recommend`, `forecast`, `exhaustion`, `report` (exit 0 ok, 1 runs out within the warning time, 2 usage). */
export const capacityCli: CliDefinition = createCapacityCli();
