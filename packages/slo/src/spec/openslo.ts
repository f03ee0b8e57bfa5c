import { ConfigError } from '@ops/core';
import { parseAllDocuments, stringify } from 'yaml';
import { SLO_METRIC_NAMES } from '../metrics/slo-metrics.js';
import { promDuration } from '../rules/prometheus-rules.js';
import { matcherValue, renderSelector, type LabelMatchers, type MatchOperator } from './label-matchers.js';
import {
  defineSlo,
  type CounterReference,
  type ResolvedSlo,
  type SliSpec,
  type SloSpec,
  type WindowSpec,
} from './slo-spec.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function selectorQuery(reference: CounterReference): string {
  return renderSelector(reference.metric, reference.matchers);
}

function metricSource(reference: CounterReference): Json {
  return { metricSource: { type: 'Prometheus', spec: { query: selectorQuery(reference) } } };
}

/**
 * Exports SLOs as OpenSLO v1 `SLO` documents (inline `ratioMetric` indicators with Prometheus counter queries,
 * `Occurrences` budgeting). Availability and latency SLIs point at the `ops_slo_*` counters the tracker exports;
 * calendar windows become `1d`/`1w`/`1M` calendar time windows.
 *
 * @example
 * ```ts
 * await writeFile('openslo.yaml', exportOpenSlo(await loadSloFile('slos.yaml')));
 * ```
 */
export function exportOpenSlo(slos: readonly ResolvedSlo[]): string {
  const documents = slos.map((slo) => {
    let ratioMetric: Json;
    if (slo.sli.type === 'events') {
      ratioMetric = {
        counter: false,
        bad: { metricSource: { type: 'Prometheus', spec: { query: slo.sli.errorQuery } } },
        total: { metricSource: { type: 'Prometheus', spec: { query: slo.sli.totalQuery } } },
      };
    } else if (slo.sli.type === 'raw') {
      ratioMetric = {
        counter: false,
        rawType: 'failure',
        raw: { metricSource: { type: 'Prometheus', spec: { query: slo.sli.errorRatioQuery } } },
      };
    } else if (slo.sli.type === 'ratio') {
      ratioMetric = {
        counter: true,
        ...(slo.sli.good
          ? { good: metricSource(slo.sli.good) }
          : { bad: metricSource(slo.sli.bad as CounterReference) }),
        total: metricSource(slo.sli.total),
      };
    } else {
      const matchers = { service: slo.service, slo: slo.name };
      ratioMetric = {
        counter: true,
        good: metricSource({ metric: SLO_METRIC_NAMES.goodEvents, matchers }),
        total: metricSource({ metric: SLO_METRIC_NAMES.events, matchers }),
      };
    }
    const timeWindow =
      slo.window.kind === 'rolling'
        ? { duration: promDuration(slo.window.lengthMs), isRolling: true }
        : {
            duration: slo.window.unit === 'month' ? '1M' : slo.window.unit === 'week' ? '1w' : '1d',
            isRolling: false,
            calendar: { startTime: '2026-01-05 00:00:00', timeZone: slo.window.timeZone },
          };
    return {
      apiVersion: 'openslo/v1',
      kind: 'SLO',
      metadata: { name: slo.name, ...(Object.keys(slo.labels).length > 0 ? { labels: slo.labels } : {}) },
      spec: {
        ...(slo.description ? { description: slo.description } : {}),
        service: slo.service,
        indicator: {
          metadata: { name: `${slo.name}-sli` },
          spec:
            slo.sli.type === 'latency'
              ? { description: `good when latency <= ${slo.sli.thresholdMs}ms (classified in-process)`, ratioMetric }
              : { ratioMetric },
        },
        timeWindow: [timeWindow],
        budgetingMethod: 'Occurrences',
        objectives: [{ displayName: slo.name, target: slo.objective }],
      },
    };
  });
  return documents.map((document) => stringify(document, { lineWidth: 0 })).join('---\n');
}

function parseSelector(
  query: unknown,
  path: string,
  issues: Array<{ path: string; message: string }>,
): CounterReference | undefined {
  const text = typeof query === 'string' ? query.trim() : '';
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{([^}]*)\})?$/.exec(text);
  if (!match) {
    issues.push({
      path,
      message: `only plain Prometheus selectors such as http_requests_total{code="500"} map; got ${JSON.stringify(query)}`,
    });
    return undefined;
  }
  const matchers: LabelMatchers = {};
  for (const part of (match[2] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const pair = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"$/.exec(part);
    if (!pair) {
      issues.push({ path, message: `only label matchers (name="value", =~, !~, !=) map; got ${JSON.stringify(part)}` });
      return undefined;
    }
    matchers[pair[1] as string] = matcherValue(
      pair[2] as MatchOperator,
      JSON.parse(`"${pair[3] as string}"`) as string,
    );
  }
  return { metric: match[1] as string, ...(Object.keys(matchers).length > 0 ? { matchers } : {}) };
}

function queryOf(source: unknown): unknown {
  if (!isObject(source) || !isObject(source.metricSource)) return undefined;
  const spec = source.metricSource.spec;
  return isObject(spec) ? spec.query : undefined;
}

/**
 * Imports the OpenSLO v1 subset that maps onto `@ops/slo`: `SLO` documents (inline indicator or `indicatorRef` to
 * an `SLI` document) with a Prometheus `ratioMetric` (good or bad, and total) or a `thresholdMetric` (→ latency SLI,
 * objective `value` in milliseconds), one objective, `Occurrences` budgeting, and a rolling or `1d`/`1w`/`1M`
 * calendar time window. Everything else is refused with the document path and what would map.
 *
 * @throws ConfigError listing every unsupported field.
 */
export function importOpenSlo(text: string, source = 'OpenSLO'): ResolvedSlo[] {
  return convertOpenSlo(text, source).specs.map((spec) => defineSlo(spec));
}

/** OpenSLO documents converted to specs, and what could not be carried over (the converted SLOs still work). */
export interface OpenSloConversion {
  specs: SloSpec[];
  notes: string[];
}

/**
 * Converts OpenSLO `openslo/v1` documents (see {@link importOpenSlo}) and Sloth's `openslo/v1alpha` input (each
 * objective of `spec.objectives[]` with `ratioMetrics.good/total` PromQL becomes one SLO `<name>-<index>`, as Sloth
 * names them; `timeWindows: [{ count, unit: Day }]`) to `@ops/slo` specs. PromQL with `{{.window}}` becomes an
 * `events` SLI (bad = total − good) or a `raw` SLI.
 *
 * @throws ConfigError listing every field that does not map.
 */
export function convertOpenSlo(text: string, source = 'OpenSLO'): OpenSloConversion {
  const documents = parseAllDocuments(text).map((document) => document.toJSON() as unknown);
  const issues: Array<{ path: string; message: string }> = [];
  const notes: string[] = [];
  const indicators = new Map<string, Json>();
  documents.forEach((document) => {
    if (
      isObject(document) &&
      document.kind === 'SLI' &&
      isObject(document.metadata) &&
      typeof document.metadata.name === 'string' &&
      isObject(document.spec)
    ) {
      indicators.set(document.metadata.name, document.spec);
    }
  });
  const specs: SloSpec[] = [];
  documents.forEach((document, index) => {
    const at = (suffix: string) => `documents[${index}]${suffix}`;
    if (!isObject(document)) {
      issues.push({ path: at(''), message: 'expected a YAML mapping' });
      return;
    }
    if (document.kind === 'SLI' || document.kind === 'Service' || document.kind === 'DataSource') return;
    if (document.apiVersion === 'openslo/v1alpha' && document.kind === 'SLO') {
      specs.push(...convertV1AlphaSlo(document, at, issues, notes));
      return;
    }
    if (document.apiVersion !== 'openslo/v1')
      issues.push({
        path: at('.apiVersion'),
        message: `expected "openslo/v1", got ${JSON.stringify(document.apiVersion)}`,
      });
    if (document.kind !== 'SLO') {
      issues.push({
        path: at('.kind'),
        message: `expected one of "SLO", "SLI", "Service", "DataSource"; got ${JSON.stringify(document.kind)}`,
      });
      return;
    }
    const metadata = isObject(document.metadata) ? document.metadata : {};
    const spec = isObject(document.spec) ? document.spec : {};
    if (spec.budgetingMethod !== 'Occurrences')
      issues.push({
        path: at('.spec.budgetingMethod'),
        message: `only "Occurrences" maps; got ${JSON.stringify(spec.budgetingMethod)}`,
      });
    const objectives = Array.isArray(spec.objectives) ? spec.objectives : [];
    if (objectives.length !== 1)
      issues.push({
        path: at('.spec.objectives'),
        message: `expected exactly one objective, got ${objectives.length}`,
      });
    const objective = isObject(objectives[0]) ? objectives[0] : {};
    let indicator: Json | undefined;
    if (isObject(spec.indicator)) indicator = isObject(spec.indicator.spec) ? spec.indicator.spec : undefined;
    else if (typeof spec.indicatorRef === 'string') {
      indicator = indicators.get(spec.indicatorRef);
      if (!indicator)
        issues.push({
          path: at('.spec.indicatorRef'),
          message: `no SLI document named ${JSON.stringify(spec.indicatorRef)}`,
        });
    } else issues.push({ path: at('.spec.indicator'), message: 'expected an inline indicator or an indicatorRef' });
    let sli: SliSpec | undefined;
    if (indicator && isObject(indicator.ratioMetric) && hasWindowPlaceholder(indicator.ratioMetric)) {
      // Any PromQL with {{.window}} (what Sloth's OpenSLO examples write): an events or raw SLI.
      const ratio = indicator.ratioMetric;
      const query = (side: unknown) => (typeof queryOf(side) === 'string' ? (queryOf(side) as string) : undefined);
      const [good, bad, total, raw] = [query(ratio.good), query(ratio.bad), query(ratio.total), query(ratio.raw)];
      if (raw !== undefined)
        sli =
          ratio.rawType === 'success'
            ? { type: 'raw', errorRatioQuery: `1 - (${raw})` }
            : { type: 'raw', errorRatioQuery: raw };
      else if (total !== undefined && bad !== undefined) sli = { type: 'events', errorQuery: bad, totalQuery: total };
      else if (total !== undefined && good !== undefined)
        sli = { type: 'events', errorQuery: `(${total}) - (${good})`, totalQuery: total };
      else
        issues.push({
          path: at('.spec.indicator.spec.ratioMetric'),
          message: 'expected good or bad with total, or raw',
        });
    } else if (indicator && isObject(indicator.ratioMetric)) {
      const ratio = indicator.ratioMetric;
      const total = parseSelector(queryOf(ratio.total), at('.spec.indicator.spec.ratioMetric.total'), issues);
      const good =
        ratio.good === undefined
          ? undefined
          : parseSelector(queryOf(ratio.good), at('.spec.indicator.spec.ratioMetric.good'), issues);
      const bad =
        ratio.bad === undefined
          ? undefined
          : parseSelector(queryOf(ratio.bad), at('.spec.indicator.spec.ratioMetric.bad'), issues);
      if (total && good?.metric === SLO_METRIC_NAMES.goodEvents && total.metric === SLO_METRIC_NAMES.events)
        sli = { type: 'availability' };
      else if (total && (good || bad))
        sli = { type: 'ratio', total, ...(good ? { good } : {}), ...(bad ? { bad } : {}) };
      else if (ratio.raw !== undefined)
        issues.push({
          path: at('.spec.indicator.spec.ratioMetric.raw'),
          message: 'precomputed raw ratios do not map; use good or bad with total counters',
        });
    } else if (indicator && isObject(indicator.thresholdMetric)) {
      const value = objective.value;
      if (typeof value !== 'number' || !(objective.op === 'lte' || objective.op === 'lt')) {
        issues.push({
          path: at('.spec.objectives[0]'),
          message: 'a thresholdMetric maps to a latency SLI only with op "lte" and a numeric value (milliseconds)',
        });
      } else sli = { type: 'latency', threshold: value };
    } else if (indicator)
      issues.push({ path: at('.spec.indicator.spec'), message: 'expected ratioMetric or thresholdMetric' });
    const windows = Array.isArray(spec.timeWindow) ? spec.timeWindow : [];
    let window: WindowSpec | undefined;
    const timeWindow = isObject(windows[0]) ? windows[0] : undefined;
    if (windows.length !== 1 || !timeWindow)
      issues.push({ path: at('.spec.timeWindow'), message: 'expected exactly one time window' });
    else if (timeWindow.isRolling === false || isObject(timeWindow.calendar)) {
      const unit = ({ '1d': 'day', '1w': 'week', '1M': 'month' } as const)[
        String(timeWindow.duration) as '1d' | '1w' | '1M'
      ];
      if (!unit)
        issues.push({
          path: at('.spec.timeWindow[0].duration'),
          message: `calendar windows map for "1d", "1w", "1M"; got ${JSON.stringify(timeWindow.duration)}`,
        });
      const calendar = isObject(timeWindow.calendar) ? timeWindow.calendar : {};
      if (unit)
        window = { calendar: unit, ...(typeof calendar.timeZone === 'string' ? { timeZone: calendar.timeZone } : {}) };
    } else window = String(timeWindow.duration);
    if (typeof objective.target !== 'number')
      issues.push({ path: at('.spec.objectives[0].target'), message: 'expected a ratio target such as 0.999' });
    if (
      sli &&
      window !== undefined &&
      typeof objective.target === 'number' &&
      typeof metadata.name === 'string' &&
      typeof spec.service === 'string'
    ) {
      specs.push({
        service: spec.service,
        name: metadata.name,
        objective: objective.target,
        sli,
        window,
        ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
        ...(isObject(metadata.labels)
          ? { labels: Object.fromEntries(Object.entries(metadata.labels).map(([key, value]) => [key, String(value)])) }
          : {}),
      });
    } else if (typeof metadata.name !== 'string' || typeof spec.service !== 'string') {
      issues.push({ path: at('.metadata.name'), message: 'expected metadata.name and spec.service' });
    }
  });
  if (issues.length > 0)
    throw new ConfigError(
      `invalid ${source}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
      issues,
    );
  if (specs.length > 0)
    notes.push(
      'OpenSLO has no multiwindow burn-rate alerting: the four default tiers apply (Sloth generates no alerts for OpenSLO input)',
    );
  return { specs, notes };
}

function hasWindowPlaceholder(ratio: Json): boolean {
  return [ratio.good, ratio.bad, ratio.total, ratio.raw].some((side) => {
    const query = queryOf(side) ?? (isObject(side) ? side.query : undefined);
    return typeof query === 'string' && /\{\{\s*\.window\s*\}\}/.test(query);
  });
}

/** Sloth's OpenSLO input: `openslo/v1alpha` `SLO` with `objectives[].ratioMetrics` and `timeWindows[{ count, unit }]`. */
function convertV1AlphaSlo(
  document: Json,
  at: (suffix: string) => string,
  issues: Array<{ path: string; message: string }>,
  notes: string[],
): SloSpec[] {
  const metadata = isObject(document.metadata) ? document.metadata : {};
  const spec = isObject(document.spec) ? document.spec : {};
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  if (name === undefined || typeof spec.service !== 'string') {
    issues.push({ path: at('.metadata.name'), message: 'expected metadata.name and spec.service' });
    return [];
  }
  if (spec.budgetingMethod !== undefined && spec.budgetingMethod !== 'Occurrences') {
    issues.push({
      path: at('.spec.budgetingMethod'),
      message: `only "Occurrences" maps; got ${JSON.stringify(spec.budgetingMethod)}`,
    });
  }
  let window: WindowSpec = '30d';
  const windows = Array.isArray(spec.timeWindows) ? spec.timeWindows : [];
  if (windows.length > 1) issues.push({ path: at('.spec.timeWindows'), message: 'expected at most one time window' });
  const first = isObject(windows[0]) ? windows[0] : undefined;
  if (first) {
    const unit = String(first.unit).toLowerCase();
    const count = Number(first.count);
    if (!Number.isInteger(count) || count <= 0 || (unit !== 'day' && unit !== 'week')) {
      issues.push({
        path: at('.spec.timeWindows[0]'),
        message: `expected a whole count of "Day" or "Week"; got ${JSON.stringify(first)}`,
      });
    } else window = `${unit === 'week' ? count * 7 : count}d`;
  }
  const objectives = Array.isArray(spec.objectives) ? spec.objectives : [];
  if (objectives.length === 0)
    issues.push({ path: at('.spec.objectives'), message: 'expected at least one objective' });
  if (typeof metadata.displayName === 'string')
    notes.push(
      `${at('.metadata.displayName')}: ${JSON.stringify(metadata.displayName)} is not carried (the SLOs are named ${JSON.stringify(`${name}-<index>`)})`,
    );
  const specs: SloSpec[] = [];
  objectives.forEach((objective: unknown, index: number) => {
    const path = at(`.spec.objectives[${index}]`);
    if (!isObject(objective) || !isObject(objective.ratioMetrics)) {
      issues.push({ path, message: 'expected ratioMetrics (good and total PromQL queries)' });
      return;
    }
    const ratio = objective.ratioMetrics;
    const query = (side: unknown, sidePath: string): string | undefined => {
      if (!isObject(side) || typeof side.query !== 'string') {
        issues.push({ path: sidePath, message: 'expected { source: prometheus, queryType: promql, query }' });
        return undefined;
      }
      if (side.source !== undefined && side.source !== 'prometheus' && side.source !== 'sloth')
        issues.push({
          path: `${sidePath}.source`,
          message: `expected "prometheus"; got ${JSON.stringify(side.source)}`,
        });
      if (side.queryType !== undefined && side.queryType !== 'promql')
        issues.push({
          path: `${sidePath}.queryType`,
          message: `expected "promql"; got ${JSON.stringify(side.queryType)}`,
        });
      return side.query;
    };
    const good = query(ratio.good, `${path}.ratioMetrics.good`);
    const total = query(ratio.total, `${path}.ratioMetrics.total`);
    const target = typeof objective.target === 'number' ? objective.target : undefined;
    if (target === undefined) issues.push({ path: `${path}.target`, message: 'expected a ratio target such as 0.999' });
    if (good === undefined || total === undefined || target === undefined) return;
    specs.push({
      service: spec.service as string,
      name: `${name}-${index}`,
      objective: target,
      window,
      sli: { type: 'events', errorQuery: `(${total.trim()}) - (${good.trim()})`, totalQuery: total },
      ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
    });
  });
  return specs;
}
