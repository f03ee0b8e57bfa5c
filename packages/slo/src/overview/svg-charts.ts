/** Events of one step of a chart's history (a report step, a tracker history step). */
export interface ChartStep {
  startMs: number;
  endMs: number;
  good: number;
  bad: number;
}

/** Size and range of a chart. */
export interface ChartOptions {
  /** Pixels. Default 640 × 200. */
  width?: number;
  height?: number;
  /** Time axis; default the steps' first start and last end. */
  startMs?: number;
  endMs?: number;
}

interface Point {
  x: number;
  y: number;
}

interface LineChart {
  title: string;
  description: string;
  points: Point[];
  xDomain: [number, number];
  yDomain: [number, number];
  yFormat: (value: number) => string;
  /** Horizontal reference lines (objective, budget exhausted). */
  rules: Array<{ y: number; label: string; className: string }>;
  className: string;
  width: number;
  height: number;
  /** Fill the area under the line down to this value. */
  fillTo?: number;
}

const PADDING = { top: 28, right: 16, bottom: 26, left: 58 };

/** Escapes text for HTML and SVG (element content and attribute values). */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function percent(value: number, digits = 1): string {
  return `${(value * 100).toFixed(digits)}%`;
}

function timeLabel(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString();
  return spanMs > 2 * 86_400_000 ? iso.slice(5, 10) : iso.slice(11, 16);
}

/** Tick values at a round step (1, 2, 2.5 or 5 × 10^k) covering `[low, high]`, about five of them. */
function niceTicks(low: number, high: number): number[] {
  const raw = (high - low) / 4;
  if (!(raw > 0)) return [low];
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((factor) => factor * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let value = Math.ceil(low / step - 1e-9) * step; value <= high + step * 1e-9; value += step)
    ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

let chartCount = 0;

function renderLineChart(chart: LineChart): string {
  const { width, height } = chart;
  const plotWidth = width - PADDING.left - PADDING.right;
  const plotHeight = height - PADDING.top - PADDING.bottom;
  const [x0, x1] = chart.xDomain;
  const [y0, y1] = chart.yDomain;
  const sx = (x: number) => round(PADDING.left + ((x - x0) / Math.max(1, x1 - x0)) * plotWidth);
  const sy = (y: number) =>
    round(PADDING.top + (1 - (Math.min(y1, Math.max(y0, y)) - y0) / Math.max(Number.EPSILON, y1 - y0)) * plotHeight);
  const id = `slo-chart-${++chartCount}`;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="slo-chart ${chart.className}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${id}-title ${id}-desc">`,
    `<title id="${id}-title">${escapeXml(chart.title)}</title>`,
    `<desc id="${id}-desc">${escapeXml(chart.description)}</desc>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${PADDING.left}" y="16" font-family="sans-serif" font-size="12" font-weight="bold" fill="#222">${escapeXml(chart.title)}</text>`,
  ];
  for (const value of niceTicks(y0, y1)) {
    const y = sy(value);
    parts.push(`<line x1="${PADDING.left}" x2="${width - PADDING.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${PADDING.left - 6}" y="${round(y + 4)}" text-anchor="end" font-family="sans-serif" font-size="10" fill="#555">${escapeXml(chart.yFormat(value))}</text>`,
    );
  }
  for (let tick = 0; tick <= 4; tick++) {
    const value = x0 + ((x1 - x0) * tick) / 4;
    const x = sx(value);
    parts.push(`<line x1="${x}" x2="${x}" y1="${PADDING.top}" y2="${height - PADDING.bottom}" stroke="#f0f0f0"/>`);
    parts.push(
      `<text x="${x}" y="${height - 8}" text-anchor="middle" font-family="sans-serif" font-size="10" fill="#555">${escapeXml(timeLabel(value, x1 - x0))}</text>`,
    );
  }
  for (const rule of chart.rules) {
    if (rule.y < y0 || rule.y > y1) continue;
    const y = sy(rule.y);
    parts.push(
      `<line class="${rule.className}" x1="${PADDING.left}" x2="${width - PADDING.right}" y1="${y}" y2="${y}" stroke="#c0392b" stroke-dasharray="4 3"/>`,
    );
    parts.push(
      `<text x="${width - PADDING.right}" y="${round(y - 3)}" text-anchor="end" font-family="sans-serif" font-size="10" fill="#c0392b">${escapeXml(rule.label)}</text>`,
    );
  }
  if (chart.points.length > 0) {
    const coordinates = chart.points.map((point) => `${sx(point.x)},${sy(point.y)}`);
    if (chart.fillTo !== undefined) {
      const base = sy(chart.fillTo);
      const first = chart.points[0] as Point;
      const last = chart.points.at(-1) as Point;
      parts.push(
        `<path d="M${sx(first.x)},${base} L${coordinates.join(' L')} L${sx(last.x)},${base} Z" fill="#2e86de" fill-opacity="0.15" stroke="none"/>`,
      );
    }
    parts.push(
      `<polyline class="slo-chart-line" points="${coordinates.join(' ')}" fill="none" stroke="#2e86de" stroke-width="2"/>`,
    );
    // Markers, so that a single point (or a few) is visible too.
    if (chart.points.length <= 100)
      for (const point of chart.points)
        parts.push(`<circle cx="${sx(point.x)}" cy="${sy(point.y)}" r="2.5" fill="#2e86de"/>`);
  } else {
    parts.push(
      `<text x="${round(PADDING.left + plotWidth / 2)}" y="${round(PADDING.top + plotHeight / 2)}" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#888">no events yet</text>`,
    );
  }
  parts.push(
    `<rect x="${PADDING.left}" y="${PADDING.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
    '</svg>',
  );
  return parts.join('');
}

function domain(steps: readonly ChartStep[], options: ChartOptions): [number, number] {
  const start = options.startMs ?? steps[0]?.startMs ?? 0;
  const end = options.endMs ?? steps.at(-1)?.endMs ?? start + 1;
  return [start, Math.max(end, start + 1)];
}

/**
 * An inline SVG of the error budget over the period: at the end of each step, `1 − bad / ((1 − objective) × total)`
 * of the events since the period start — 100% untouched, 0 spent (the dashed line), negative overspent.
 *
 * @example
 * ```ts
 * const svg = renderBudgetBurnDownSvg(tracker.history('checkout'), 0.999);
 * ```
 */
export function renderBudgetBurnDownSvg(
  steps: readonly ChartStep[],
  objective: number,
  options: ChartOptions = {},
): string {
  const errorBudget = 1 - objective;
  let good = 0;
  let bad = 0;
  const points: Point[] = [];
  for (const step of steps) {
    good += step.good;
    bad += step.bad;
    if (good + bad > 0) points.push({ x: step.endMs, y: 1 - bad / (errorBudget * (good + bad)) });
  }
  const lowest = Math.min(0, ...points.map((point) => point.y));
  const last = points.at(-1);
  return renderLineChart({
    title: 'Error budget remaining',
    description:
      last === undefined
        ? 'No events in the period yet.'
        : `Error budget remaining over the period: ${percent(last.y)} at the end (100% untouched, 0 spent).`,
    points,
    xDomain: domain(steps, options),
    // A little headroom above 100%, so that an untouched budget is not drawn on the frame.
    yDomain: [Math.max(-1, Math.floor(lowest * 4) / 4), 1.05],
    yFormat: (value) => percent(value, 0),
    rules: [{ y: 0, label: 'budget spent', className: 'slo-chart-exhausted' }],
    className: 'slo-chart-budget',
    width: options.width ?? 640,
    height: options.height ?? 200,
    fillTo: 0,
  });
}

/**
 * An inline SVG of the error ratio per step (`bad / total`; steps without events have no point), with the error
 * budget `1 − objective` as a dashed line: above it the step burned faster than sustainable.
 */
export function renderErrorRatioSvg(
  steps: readonly ChartStep[],
  objective: number,
  options: ChartOptions = {},
): string {
  const errorBudget = 1 - objective;
  const points = steps
    .filter((step) => step.good + step.bad > 0)
    .map((step) => ({ x: step.endMs, y: step.bad / (step.good + step.bad) }));
  const highest = Math.max(errorBudget * 2, ...points.map((point) => point.y));
  const worst = points.reduce((max, point) => Math.max(max, point.y), 0);
  const digits = errorBudget < 0.001 ? 3 : errorBudget < 0.01 ? 2 : 1;
  return renderLineChart({
    title: 'Error ratio',
    description:
      points.length === 0
        ? 'No events in the period yet.'
        : `Error ratio per step; the worst step had ${percent(worst, digits)} errors against an error budget of ${percent(errorBudget, digits)}.`,
    points,
    xDomain: domain(steps, options),
    yDomain: [0, Math.min(1, highest * 1.1)],
    yFormat: (value) => percent(value, digits),
    rules: [
      { y: errorBudget, label: `error budget ${percent(errorBudget, digits)}`, className: 'slo-chart-budget-line' },
    ],
    className: 'slo-chart-error-ratio',
    width: options.width ?? 640,
    height: options.height ?? 200,
  });
}
