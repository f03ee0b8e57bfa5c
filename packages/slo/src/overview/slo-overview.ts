import {
  formatDuration,
  humanizeDuration,
  jsonResponse,
  safeErrorMessage,
  systemClock,
  type Clock,
  type OpsHandler,
  type OpsResponse,
  type PrometheusClient,
} from '@ops/core';
import { STATUS_WINDOWS_MS } from '../alerting/alert-tiers.js';
import type { SloStatus } from '../engine/slo-status.js';
import type { SloTracker } from '../engine/slo-tracker.js';
import { SloError } from '../errors.js';
import { promDuration } from '../rules/prometheus-rules.js';
import { buildSloReport, fetchSloStatus, type SloReport } from '../report/prometheus-report.js';
import type { ResolvedSlo } from '../spec/slo-spec.js';
import { escapeXml, renderBudgetBurnDownSvg, renderErrorRatioSvg, type ChartStep } from './svg-charts.js';

/** One SLO on the overview: its status now and the history of its current period. */
export interface SloOverviewEntry {
  slo: ResolvedSlo;
  /** `undefined` when it could not be computed (`error` says why). */
  status?: SloStatus;
  /** Events per step since the period start (the charts). */
  history: ChartStep[];
  /** Why the status is missing (a failed Prometheus query). */
  error?: string;
}

/** Everything the overview page shows. */
export interface SloOverview {
  title: string;
  generatedAtMs: number;
  source: 'tracker' | 'prometheus';
  entries: SloOverviewEntry[];
}

/** Options of {@link createSloOverview}: give `tracker` (in-process) or `prometheus` (client and SLOs). */
export interface SloOverviewOptions {
  /** In-process source: every SLO of the tracker. */
  tracker?: SloTracker;
  /** Prometheus source: status and history computed from the server (what `ops-slo serve` uses). */
  prometheus?: { client: PrometheusClient; slos: readonly ResolvedSlo[] };
  /** Path of the page; `<path>.json` serves the same data as JSON. Default `'/slo'`. */
  path?: string;
  /** Page title. Default `'Service level objectives'`. */
  title?: string;
  /** Source of "now". Default the tracker's time (`systemClock`). */
  clock?: Clock;
  /** Points per chart. Default 48. */
  historySteps?: number;
  /** Reload the page every this many seconds (a `<meta http-equiv="refresh">`, no script). Default: none. */
  refreshSeconds?: number;
}

/** The overview page: an `OpsHandler` for core's adapters, and its data and HTML on demand. */
export interface SloOverviewPage {
  /** Serves `GET <path>` (HTML) and `GET <path>.json`; anything else resolves to `undefined`. */
  handler: OpsHandler;
  /** The data of the page now. */
  snapshot(): Promise<SloOverview>;
  /** The HTML of the page now. */
  render(): Promise<string>;
}

function percent(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)}%`;
}

function burn(value: number | undefined): string {
  if (value === undefined) return '–';
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c9ced8;font-size:13px}
main{padding:16px 24px;max-width:1400px}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px;margin-bottom:16px}
th,td{padding:6px 8px;border-bottom:1px solid #e3e6eb;text-align:right;white-space:nowrap}th{background:#eef0f4;font-weight:600}
td:first-child,th:first-child{text-align:left}
.bad{color:#b42318;font-weight:600}.ok{color:#067647}.warn{color:#b54708}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;background:#eef0f4;margin-right:4px}
.badge.page{background:#fee4e2;color:#b42318}.badge.ticket{background:#fef0c7;color:#b54708}
section.slo{background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:12px 16px;margin:16px 0}
section.slo h2{font-size:16px;margin:0 0 4px}section.slo p{margin:0 0 8px;color:#555;font-size:13px}
dl.tiles{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0}dl.tiles div{background:#f6f7f9;border-radius:6px;padding:8px 12px;min-width:140px}
dl.tiles dt{font-size:12px;color:#555}dl.tiles dd{margin:2px 0 0;font-size:18px;font-weight:600}
.charts{display:flex;gap:12px;flex-wrap:wrap}.charts svg{max-width:100%;height:auto;border:1px solid #e3e6eb}
`;

function windowLabel(slo: ResolvedSlo): string {
  return slo.window.kind === 'rolling'
    ? `${promDuration(slo.window.lengthMs)} rolling`
    : `${slo.window.unit} (${slo.window.timeZone})`;
}

function anchor(slo: ResolvedSlo): string {
  return `slo-${slo.id.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
}

function budgetClass(remaining: number | undefined): string {
  if (remaining === undefined) return '';
  return remaining < 0 ? 'bad' : remaining < 0.25 ? 'warn' : 'ok';
}

function tierBadges(status: SloStatus | undefined): string {
  if (!status || status.firing.length === 0) return '<span class="ok">none</span>';
  return status.tiers
    .filter((tier) => tier.firing)
    .map((tier) => `<span class="badge ${tier.severity}">${escapeXml(tier.name)}</span>`)
    .join('');
}

function renderEntry(entry: SloOverviewEntry): string {
  const { slo, status } = entry;
  const parts = [`<section class="slo" id="${anchor(slo)}">`, `<h2>${escapeXml(slo.id)}</h2>`];
  if (slo.description) parts.push(`<p>${escapeXml(slo.description)}</p>`);
  if (entry.error) parts.push(`<p class="bad">Status unavailable: ${escapeXml(entry.error)}</p>`);
  const exhaustion = status?.timeToExhaustionMs;
  parts.push(
    '<dl class="tiles">',
    `<div><dt>Objective</dt><dd>${percent(slo.objective, 3)}</dd></div>`,
    `<div><dt>SLI (${escapeXml(windowLabel(slo))})</dt><dd>${percent(status?.sli, 3)}</dd></div>`,
    `<div><dt>Error budget remaining</dt><dd class="${budgetClass(status?.budget.remainingRatio)}">${percent(status?.budget.remainingRatio, 1)}</dd></div>`,
    `<div><dt>Budget exhausted in</dt><dd>${exhaustion === null || exhaustion === undefined ? '–' : exhaustion === 0 ? 'now' : escapeXml(humanizeDuration(exhaustion))}</dd></div>`,
    `<div><dt>Events in period</dt><dd>${status ? status.events.total.toLocaleString('en-US', { maximumFractionDigits: 0 }) : '–'}</dd></div>`,
    '</dl>',
  );
  if (status?.lowTraffic && status.events.total > 0)
    parts.push('<p class="warn">Too few events: not even one bad event fits the error budget yet.</p>');
  if (status && status.tiers.length > 0) {
    parts.push(
      '<table class="tiers"><thead><tr><th>Alert tier</th><th>Severity</th><th>Windows (long / short)</th><th>Threshold</th><th>Burn long</th><th>Burn short</th><th>State</th></tr></thead><tbody>',
      ...status.tiers.map(
        (tier) =>
          `<tr><td>${escapeXml(tier.name)}</td><td>${tier.severity}</td><td>${tier.longWindow} / ${tier.shortWindow}</td><td>${burn(tier.threshold)}×</td>` +
          `<td class="${tier.longBurnRate > tier.threshold ? 'bad' : ''}">${burn(tier.longBurnRate)}×</td><td class="${tier.shortBurnRate > tier.threshold ? 'bad' : ''}">${burn(tier.shortBurnRate)}×</td>` +
          `<td>${tier.firing ? `<span class="badge ${tier.severity}">firing</span>` : tier.active ? '<span class="warn">pending</span>' : tier.lowTraffic ? 'low traffic' : '<span class="ok">ok</span>'}</td></tr>`,
      ),
      '</tbody></table>',
    );
  }
  const chartOptions = status
    ? { startMs: status.period.startMs, endMs: status.period.kind === 'calendar' ? status.period.endMs : status.atMs }
    : {};
  parts.push(
    '<div class="charts">',
    renderBudgetBurnDownSvg(entry.history, slo.objective, chartOptions),
    renderErrorRatioSvg(entry.history, slo.objective, chartOptions),
    '</div>',
    '</section>',
  );
  return parts.join('\n');
}

/**
 * Renders the overview as one HTML document: a list of every SLO (objective, SLI, budget remaining, burn rate per
 * window, firing tiers), then per SLO its tiles, alert tiers and two inline SVG charts (budget burn-down, error
 * ratio). No script, no external resource: it works with JavaScript disabled and under a strict CSP.
 */
export function renderSloOverviewHtml(
  overview: SloOverview,
  options: { refreshSeconds?: number; jsonHref?: string } = {},
): string {
  const windows = STATUS_WINDOWS_MS.map((windowMs) => formatDuration(windowMs));
  const rows = overview.entries.map(({ slo, status }) => {
    const cells = [
      `<td><a href="#${anchor(slo)}">${escapeXml(slo.id)}</a></td>`,
      `<td>${percent(slo.objective, 3)}</td>`,
      `<td>${escapeXml(windowLabel(slo))}</td>`,
      `<td>${percent(status?.sli, 3)}</td>`,
      `<td class="${budgetClass(status?.budget.remainingRatio)}">${percent(status?.budget.remainingRatio, 1)}</td>`,
      ...windows.map((window) => `<td>${burn(status?.burnRates[window])}</td>`),
      `<td>${tierBadges(status)}</td>`,
    ];
    return `<tr data-slo="${escapeXml(slo.id)}">${cells.join('')}</tr>`;
  });
  const source = overview.source === 'prometheus' ? 'Prometheus' : 'the in-process tracker';
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    ...(options.refreshSeconds
      ? [`<meta http-equiv="refresh" content="${Math.max(1, Math.round(options.refreshSeconds))}">`]
      : []),
    `<title>${escapeXml(overview.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    `<header><h1>${escapeXml(overview.title)}</h1><p>${overview.entries.length} SLO(s) from ${source} at ${new Date(overview.generatedAtMs).toISOString()}${options.jsonHref ? ` · <a style="color:#c9ced8" href="${escapeXml(options.jsonHref)}">JSON</a>` : ''}</p></header>`,
    '<main>',
    '<table class="slo-list"><thead><tr><th>SLO</th><th>Objective</th><th>Window</th><th>SLI</th><th>Budget remaining</th>',
    ...windows.map((window) => `<th>Burn ${window}</th>`),
    '<th>Firing</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    ...overview.entries.map(renderEntry),
    '</main></body></html>',
    '',
  ].join('\n');
}

const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // No script may run and nothing is fetched: the page is complete as served.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
};

/**
 * The Pyrra-style SLO overview page, as an `OpsHandler` (serve it with core's `listen`, `toExpressMiddleware`,
 * `toFastifyPlugin`, `toFetchHandler`, or `ops-slo serve`). Every SLO with objective, SLI, budget remaining, burn
 * rates per window and firing tiers, sorted by budget remaining (lowest first), then a budget burn-down and an
 * error-ratio chart per SLO as inline SVG. The source is an in-process `tracker` or a Prometheus server.
 *
 * @example
 * ```ts
 * const overview = createSloOverview({ tracker, path: '/slo' });
 * const server = await listen(composeHandlers(health.handler, overview.handler), { port: 8080 });
 * ```
 */
export function createSloOverview(options: SloOverviewOptions): SloOverviewPage {
  const {
    tracker,
    prometheus,
    path = '/slo',
    title = 'Service level objectives',
    clock = systemClock,
    historySteps = 48,
    refreshSeconds,
  } = options;
  if ((tracker === undefined) === (prometheus === undefined))
    throw new SloError('ARGUMENT_INVALID', 'createSloOverview: give exactly one of tracker or prometheus');
  const basePath = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const jsonPath = `${basePath === '/' ? '' : basePath}.json`.replace(/^\.json$/, '/index.json');

  const snapshot = async (): Promise<SloOverview> => {
    const atMs = clock.now();
    let entries: SloOverviewEntry[];
    if (tracker) {
      entries = tracker.slos.map((slo) => ({
        slo,
        status: tracker.status(slo.id),
        history: tracker.history(slo.id, { steps: historySteps }),
      }));
    } else {
      const { client, slos } = prometheus as NonNullable<SloOverviewOptions['prometheus']>;
      entries = [];
      for (const slo of slos) {
        try {
          const status = await fetchSloStatus({ client, slo, atMs });
          const stepMs = Math.max(60_000, Math.ceil((atMs - status.period.startMs) / historySteps / 60_000) * 60_000);
          const report = await buildSloReport({
            client,
            slos: [slo],
            range: { startMs: status.period.startMs, endMs: atMs },
            stepMs,
            atMs,
          });
          entries.push({ slo, status, history: report.slos[0]?.steps ?? [] });
        } catch (error) {
          entries.push({ slo, history: [], error: safeErrorMessage(error) });
        }
      }
    }
    entries.sort(
      (left, right) =>
        (left.status?.budget.remainingRatio ?? Infinity) - (right.status?.budget.remainingRatio ?? Infinity),
    );
    return { title, generatedAtMs: atMs, source: tracker ? 'tracker' : 'prometheus', entries };
  };
  const render = async () =>
    renderSloOverviewHtml(await snapshot(), { ...(refreshSeconds ? { refreshSeconds } : {}), jsonHref: jsonPath });

  const handler: OpsHandler = async (request): Promise<OpsResponse | undefined> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    if (request.path === jsonPath) {
      const data = await snapshot();
      return jsonResponse(
        200,
        {
          ...data,
          entries: data.entries.map(({ slo, status, history, error }) => ({
            id: slo.id,
            objective: slo.objective,
            status,
            history,
            ...(error ? { error } : {}),
          })),
        },
        { 'cache-control': 'no-store' },
      );
    }
    if (request.path !== basePath && request.path !== `${basePath}/`) return undefined;
    const html = await render();
    return { status: 200, headers: HTML_HEADERS, body: request.method === 'HEAD' ? '' : html };
  };
  return { handler, snapshot, render };
}

/**
 * Renders a report of {@link buildSloReport} as an HTML document with the overview's charts per SLO: the budget
 * burn-down over the range and the error ratio per step (inline SVG, no script). `ops-slo report --format html`.
 */
export function renderReportHtml(report: SloReport): string {
  const rows = report.slos.map(
    (entry) =>
      `<tr><td><a href="#${escapeXml(`report-${entry.id.replace(/[^a-zA-Z0-9_-]/g, '-')}`)}">${escapeXml(entry.id)}</a></td><td>${percent(entry.objective, 3)}</td><td>${percent(entry.sli, 3)}</td>` +
      `<td class="${entry.met === false ? 'bad' : 'ok'}">${entry.met === null ? 'no data' : entry.met ? 'yes' : 'no'}</td><td>${Math.round(entry.events.total)}</td><td>${Math.round(entry.events.bad)}</td>` +
      `<td class="${budgetClass(entry.budget.remainingRatio)}">${percent(entry.budget.remainingRatio, 1)}</td></tr>`,
  );
  const sections = report.slos.map((entry) => {
    const options = { startMs: report.range.startMs, endMs: report.range.endMs };
    return [
      `<section class="slo" id="report-${escapeXml(entry.id.replace(/[^a-zA-Z0-9_-]/g, '-'))}"><h2>${escapeXml(entry.id)}</h2>`,
      entry.worstStep
        ? `<p>Worst step: ${percent(entry.worstStep.errorRatio, 2)} errors from ${new Date(entry.worstStep.startMs).toISOString()}.</p>`
        : '',
      '<div class="charts">',
      renderBudgetBurnDownSvg(entry.steps, entry.objective, options),
      renderErrorRatioSvg(entry.steps, entry.objective, options),
      '</div></section>',
    ].join('\n');
  });
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>SLO report: ${escapeXml(report.range.label)}</title><style>${STYLE}</style></head><body>`,
    `<header><h1>SLO report</h1><p>${escapeXml(report.range.label)}, step ${escapeXml(formatDuration(report.stepMs))}</p></header><main>`,
    '<table class="slo-list"><thead><tr><th>SLO</th><th>Objective</th><th>SLI</th><th>Met</th><th>Events</th><th>Bad</th><th>Budget remaining</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    ...sections,
    '</main></body></html>',
    '',
  ].join('\n');
}
