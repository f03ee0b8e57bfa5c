import {
  formatDuration,
  humanizeDuration,
  isRetryableError,
  OpsError,
  safeErrorMessage,
  systemClock,
  type Clock,
  type PrometheusClient,
} from '@ops/core';
import { STATUS_WINDOWS_MS } from '../alerting/alert-tiers.js';
import { SLO_METRIC_NAMES } from '../metrics/slo-metrics.js';
import { computeStatus, type SloStatus } from '../engine/slo-status.js';
import { SloError } from '../errors.js';
import { renderSelector } from '../spec/label-matchers.js';
import type { CounterReference, ResolvedSlo } from '../spec/slo-spec.js';
import { calendarPeriod, type CalendarUnit } from '../windows/calendar-period.js';
import { rawErrorRatioExpression, rulePeriodMs, sliExpressions } from '../rules/prometheus-rules.js';

/** Report range: a calendar period to date (`'day'`, `'week'`, `'month'`) or explicit instants. */
export type ReportRange = { period: CalendarUnit; timeZone?: string } | { startMs: number; endMs: number };

/** Options of {@link buildSloReport}. */
export interface SloReportOptions {
  client: PrometheusClient;
  slos: readonly ResolvedSlo[];
  range: ReportRange;
  /** Resolution of the per-step breakdown. Default 1h. */
  stepMs?: number;
  /** "Now" for calendar ranges (epoch ms). Default `clock.now()`. */
  atMs?: number;
  /** Source of "now" when `atMs` is not given. Default `systemClock`. */
  clock?: Clock;
  /** Cancels the queries. */
  signal?: AbortSignal;
}

/** Options of {@link fetchSloStatus}. */
export interface FetchSloStatusOptions {
  client: PrometheusClient;
  slo: ResolvedSlo;
  /** The instant the status is computed for (epoch ms). Default `clock.now()`. */
  atMs?: number;
  /** Source of "now" when `atMs` is not given. Default `systemClock`. */
  clock?: Clock;
  /** Cancels the queries. */
  signal?: AbortSignal;
}

/** Events of one step of a report. */
export interface ReportStep {
  startMs: number;
  endMs: number;
  good: number;
  bad: number;
}

/** One SLO in a report. */
export interface SloReportEntry {
  id: string;
  objective: number;
  events: { good: number; bad: number; total: number };
  /** `null` without events. */
  sli: number | null;
  /** Whether the SLI met the objective over the range; `null` without events. */
  met: boolean | null;
  /** Error budget of the range's events: allowed = `(1 − objective) × total`. */
  budget: { allowedBadEvents: number; consumedBadEvents: number; consumedRatio: number; remainingRatio: number };
  /** The step with the highest error ratio (ties: the earliest), `null` without bad events. */
  worstStep: (ReportStep & { errorRatio: number }) | null;
  steps: ReportStep[];
}

/** A report of SLOs over a range, from Prometheus history. */
export interface SloReport {
  range: { startMs: number; endMs: number; label: string };
  stepMs: number;
  slos: SloReportEntry[];
}

function counterSources(slo: ResolvedSlo): {
  total: CounterReference;
  good?: CounterReference;
  bad?: CounterReference;
} {
  if (slo.sli.type === 'ratio') return slo.sli;
  const matchers = { service: slo.service, slo: slo.name };
  return {
    total: { metric: SLO_METRIC_NAMES.events, matchers },
    good: { metric: SLO_METRIC_NAMES.goodEvents, matchers },
  };
}

function selector(reference: CounterReference): string {
  return renderSelector(reference.metric, reference.matchers);
}

/**
 * Per-step increases of a counter from raw samples, exact between samples: the differences of consecutive values
 * per series, a drop being a reset (the new value is the increase). A series that appears after the range start
 * counts its first value (it started from zero). Points are `startMs + i × stepMs` (query_range) and `endMs` itself
 * (an instant query), so a partial last step ending "now" is counted too.
 */
async function increases(
  client: PrometheusClient,
  reference: CounterReference,
  startMs: number,
  endMs: number,
  stepMs: number,
  signal?: AbortSignal,
): Promise<number[]> {
  const steps = Math.max(1, Math.ceil((endMs - startMs) / stepMs));
  const out = new Array<number>(steps).fill(0);
  const query = selector(reference);
  const signalOption = signal ? { signal } : {};
  const pointsBySeries = new Map<string, Array<{ index: number; value: number }>>();
  const add = (metric: Record<string, string>, index: number, value: number) => {
    if (!Number.isFinite(value)) return;
    const key = JSON.stringify(Object.entries(metric).sort(([a], [b]) => a.localeCompare(b)));
    let points = pointsBySeries.get(key);
    if (!points) {
      points = [];
      pointsBySeries.set(key, points);
    }
    points.push({ index, value });
  };
  const aligned = await client.queryRange(query, {
    start: startMs,
    end: startMs + (steps - 1) * stepMs,
    step: stepMs,
    ...signalOption,
  });
  for (const series of aligned.series) {
    for (const sample of series.samples)
      add(series.metric, Math.round((sample.timeMs - startMs) / stepMs), sample.value);
  }
  const final = await client.query(query, { time: endMs, ...signalOption });
  if (final.resultType === 'vector') for (const series of final.series) add(series.metric, steps, series.sample.value);
  for (const points of pointsBySeries.values()) {
    let previous: number | undefined;
    for (const { index, value } of points) {
      const delta = previous === undefined ? value : value >= previous ? value - previous : value;
      previous = value;
      if (index >= 1 && index <= steps) out[index - 1] = (out[index - 1] as number) + delta;
    }
  }
  return out;
}

/**
 * Runs the queries of one SLO; a failure becomes a `REPORT_FAILED` {@link SloError} naming the SLO, with the query's
 * error as `cause` (and its `isRetryable` / `retryAfterMs`). A cancellation by `signal` is passed through as is.
 */
async function forSlo<T>(
  slo: ResolvedSlo,
  what: string,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new SloError('REPORT_FAILED', `${what} of SLO ${slo.id}: ${safeErrorMessage(error)}`, {
      cause: error,
      isRetryable: isRetryableError(error),
      ...(OpsError.isInstance(error) && error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    });
  }
}

/**
 * Steps of a PromQL SLI (`events`, `raw`): its queries with the step as `{{.window}}`, evaluated at each step's end
 * with `query_range`. Event counts are the query values × the step's seconds (exact for `rate()` queries); a `raw`
 * SLI has no events, so it counts the step's seconds, split by the error ratio (time-weighted, as Sloth does).
 */
async function queryStepCounts(
  client: PrometheusClient,
  slo: ResolvedSlo,
  range: SloReport['range'],
  stepMs: number,
  signal?: AbortSignal,
): Promise<ReportStep[]> {
  const stepCount = Math.max(1, Math.ceil((range.endMs - range.startMs) / stepMs));
  const window = duration(stepMs);
  const seconds = Math.max(1, Math.round(stepMs / 1000));
  const valuesAtStepEnds = async (expr: string): Promise<number[]> => {
    const out = new Array<number>(stepCount).fill(0);
    const result = await client.queryRange(expr, {
      start: range.startMs + stepMs,
      end: range.startMs + stepCount * stepMs,
      step: stepMs,
      ...(signal ? { signal } : {}),
    });
    for (const series of result.series) {
      for (const sample of series.samples) {
        const index = Math.round((sample.timeMs - range.startMs) / stepMs) - 1;
        if (index >= 0 && index < stepCount && Number.isFinite(sample.value))
          out[index] = (out[index] as number) + sample.value;
      }
    }
    return out;
  };
  let bad: number[];
  let total: number[];
  if (slo.sli.type === 'raw') {
    const ratios = await valuesAtStepEnds(rawErrorRatioExpression(slo, window));
    total = ratios.map(() => seconds);
    bad = ratios.map((ratio) => Math.min(1, Math.max(0, ratio)) * seconds);
  } else {
    const expressions = sliExpressions(slo, window);
    total = (await valuesAtStepEnds(expressions.total)).map((value) => Math.max(0, value) * seconds);
    bad = (await valuesAtStepEnds(expressions.bad)).map((value, index) =>
      Math.min(total[index] as number, Math.max(0, value) * seconds),
    );
  }
  return total.map((stepTotal, index) => ({
    startMs: range.startMs + index * stepMs,
    endMs: Math.min(range.startMs + (index + 1) * stepMs, range.endMs),
    good: stepTotal - (bad[index] as number),
    bad: bad[index] as number,
  }));
}

function resolveRange(range: ReportRange, atMs: number): SloReport['range'] {
  if ('startMs' in range)
    return {
      startMs: range.startMs,
      endMs: range.endMs,
      label: `${new Date(range.startMs).toISOString()} – ${new Date(range.endMs).toISOString()}`,
    };
  const timeZone = range.timeZone ?? 'UTC';
  const span = calendarPeriod(atMs, range.period, timeZone);
  return {
    startMs: span.startMs,
    endMs: Math.min(span.endMs, atMs),
    label: `${range.period} to date (${timeZone}) from ${new Date(span.startMs).toISOString()}`,
  };
}

/**
 * Evaluates SLOs over a range of Prometheus history with `query_range` on the raw counters (the in-process
 * `ops_slo_*` counters, or the counters of ratio SLIs): exact event counts per step, SLI, budget and worst step.
 * A failed query rejects with a `REPORT_FAILED` {@link SloError} naming the SLO (`cause`: the Prometheus error).
 *
 * @example
 * ```ts
 * const report = await buildSloReport({ client, slos, range: { period: 'day', timeZone: 'Europe/Berlin' } });
 * console.log(renderReportMarkdown(report));
 * ```
 */
export async function buildSloReport(options: SloReportOptions): Promise<SloReport> {
  const { client, slos, stepMs = 3_600_000, clock = systemClock, atMs = clock.now(), signal } = options;
  const range = resolveRange(options.range, atMs);
  // The first sample sits one step before the range so the first step has a baseline.
  const queryStart = range.startMs - stepMs;
  const entries: SloReportEntry[] = [];
  for (const slo of slos) {
    let steps: ReportStep[];
    if (slo.sli.type === 'events' || slo.sli.type === 'raw') {
      steps = await forSlo(slo, 'report', signal, () => queryStepCounts(client, slo, range, stepMs, signal));
    } else {
      const sources = counterSources(slo);
      const other = sources.good ?? sources.bad;
      const [totals, others] = await forSlo(slo, 'report', signal, async () => {
        const totalIncreases = await increases(client, sources.total, queryStart, range.endMs, stepMs, signal);
        return [
          totalIncreases,
          other ? await increases(client, other, queryStart, range.endMs, stepMs, signal) : totalIncreases.map(() => 0),
        ] as const;
      });
      steps = totals.slice(1).map((total, index) => {
        const counted = others[index + 1] ?? 0;
        const good = sources.good ? Math.min(counted, total) : Math.max(0, total - counted);
        return {
          startMs: range.startMs + index * stepMs,
          endMs: Math.min(range.startMs + (index + 1) * stepMs, range.endMs),
          good,
          bad: total - good,
        };
      });
    }
    const good = steps.reduce((sum, step) => sum + step.good, 0);
    const bad = steps.reduce((sum, step) => sum + step.bad, 0);
    const total = good + bad;
    const errorRatio = total > 0 ? bad / total : 0;
    let worstStep: SloReportEntry['worstStep'] = null;
    for (const step of steps) {
      const stepTotal = step.good + step.bad;
      const ratio = stepTotal > 0 ? step.bad / stepTotal : 0;
      if (step.bad > 0 && (!worstStep || ratio > worstStep.errorRatio)) worstStep = { ...step, errorRatio: ratio };
    }
    entries.push({
      id: slo.id,
      objective: slo.objective,
      events: { good, bad, total },
      sli: total > 0 ? good / total : null,
      met: total > 0 ? good / total >= slo.objective : null,
      budget: {
        allowedBadEvents: slo.errorBudget * total,
        consumedBadEvents: bad,
        consumedRatio: errorRatio / slo.errorBudget,
        remainingRatio: 1 - errorRatio / slo.errorBudget,
      },
      worstStep,
      steps,
    });
  }
  return { range, stepMs, slos: entries };
}

function percent(value: number | null, digits = 3): string {
  return value === null ? '–' : `${(value * 100).toFixed(digits)}%`;
}

/** Renders a report as Markdown (a table per range plus the worst step of each SLO). */
export function renderReportMarkdown(report: SloReport): string {
  const lines = [
    `# SLO report: ${report.range.label}`,
    '',
    `Range ${new Date(report.range.startMs).toISOString()} – ${new Date(report.range.endMs).toISOString()}, step ${formatDuration(report.stepMs)}.`,
    '',
    '| SLO | Objective | SLI | Met | Events | Bad | Budget consumed | Budget remaining |',
    '| --- | ---: | ---: | :---: | ---: | ---: | ---: | ---: |',
  ];
  for (const entry of report.slos) {
    lines.push(
      `| ${entry.id} | ${percent(entry.objective)} | ${percent(entry.sli)} | ${entry.met === null ? 'no data' : entry.met ? 'yes' : '**no**'} | ${entry.events.total} | ${entry.events.bad} | ${percent(entry.budget.consumedRatio, 1)} | ${percent(entry.budget.remainingRatio, 1)} |`,
    );
  }
  const worst = report.slos.filter((entry) => entry.worstStep);
  if (worst.length > 0) {
    lines.push('', '## Worst steps', '');
    for (const entry of worst) {
      const step = entry.worstStep as NonNullable<SloReportEntry['worstStep']>;
      lines.push(
        `- ${entry.id}: ${percent(step.errorRatio, 2)} errors (${step.bad} of ${step.good + step.bad}) from ${new Date(step.startMs).toISOString()} for ${humanizeDuration(step.endMs - step.startMs)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function duration(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}

/**
 * Computes an {@link SloStatus} from a Prometheus server at `atMs`: events over the period (rolling, or the calendar
 * period so far) and over each burn-rate window with `increase()`. Rules are not needed; counters are enough.
 * A failed query rejects with a `REPORT_FAILED` {@link SloError} naming the SLO (`cause`: the Prometheus error).
 */
export async function fetchSloStatus(options: FetchSloStatusOptions): Promise<SloStatus> {
  const { client, slo, clock = systemClock, atMs = clock.now(), signal } = options;
  const window = slo.window;
  const period =
    window.kind === 'calendar'
      ? (() => {
          const span = calendarPeriod(atMs, window.unit, window.timeZone);
          return {
            kind: 'calendar' as const,
            startMs: span.startMs,
            endMs: span.endMs,
            lengthMs: span.endMs - span.startMs,
          };
        })()
      : { kind: 'rolling' as const, startMs: atMs - rulePeriodMs(slo), endMs: atMs, lengthMs: rulePeriodMs(slo) };
  const scalar = async (expr: string): Promise<number> => {
    const result = await client.query(expr, { time: atMs, ...(signal ? { signal } : {}) });
    if (result.resultType !== 'vector') return 0;
    const value = result.series.reduce((sum, series) => sum + series.sample.value, 0);
    return Number.isFinite(value) ? Math.max(0, value) : 0;
  };
  const counts = async (spanMs: number) => {
    const seconds = Math.max(1, Math.round(spanMs / 1000));
    if (slo.sli.type === 'raw') {
      // No events: the span's seconds, split by the error ratio.
      const ratio = Math.min(1, await scalar(rawErrorRatioExpression(slo, duration(spanMs))));
      return { good: (1 - ratio) * seconds, bad: ratio * seconds };
    }
    const { bad, total } = sliExpressions(slo, duration(spanMs));
    const totalEvents = (await scalar(total)) * seconds;
    const badEvents = Math.min(totalEvents, (await scalar(bad)) * seconds);
    return { good: totalEvents - badEvents, bad: badEvents };
  };
  const windowsMs = [
    ...new Set([
      ...STATUS_WINDOWS_MS,
      ...slo.tiers.flatMap((tier) => [tier.longMs, tier.shortMs]),
      slo.exhaustionWindowMs,
    ]),
  ].sort((a, b) => a - b);
  return forSlo(slo, 'status', signal, async () => {
    const windowCounts = [];
    for (const windowMs of windowsMs) windowCounts.push(await counts(windowMs));
    return computeStatus(slo, {
      atMs,
      period,
      periodCounts: await counts(Math.max(1000, atMs - period.startMs)),
      windowsMs,
      windowCounts,
      labels: {},
    });
  });
}
