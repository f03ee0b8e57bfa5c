import type { SeriesReport } from './capacity-report.js';

/** Colours of the charts (also what the rendering test looks for). */
export const CHART_COLORS = {
  history: '#1f77b4',
  forecast: '#ff7f0e',
  band: '#fdd9a0',
  capacity: '#d62728',
  grid: '#e5e5e5',
  text: '#333333',
} as const;

/** Options of {@link renderForecastSvg}. */
export interface SvgOptions {
  width?: number;
  height?: number;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (character) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[character] as string,
  );
}

/** Formats a value for axis labels and tables: 1.2k, 3.4M, 45%. */
export function formatValue(value: number, ratio = false, unit = ''): string {
  if (!Number.isFinite(value)) return String(value);
  if (ratio) return `${(value * 100).toFixed(Math.abs(value) < 0.1 ? 1 : 0)}%`;
  const magnitude = Math.abs(value);
  const suffix = unit && unit !== 'bytes' ? ` ${unit}` : '';
  if (unit === 'bytes') {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let scaled = value;
    let index = 0;
    while (Math.abs(scaled) >= 1024 && index < units.length - 1) {
      scaled /= 1024;
      index++;
    }
    return `${scaled.toFixed(Math.abs(scaled) >= 100 || index === 0 ? 0 : 1)} ${units[index]}`;
  }
  if (magnitude >= 1e9) return `${(value / 1e9).toFixed(1)}G${suffix}`;
  if (magnitude >= 1e6) return `${(value / 1e6).toFixed(1)}M${suffix}`;
  if (magnitude >= 1e4) return `${(value / 1e3).toFixed(1)}k${suffix}`;
  if (magnitude >= 100) return `${value.toFixed(0)}${suffix}`;
  return `${value.toPrecision(3)}${suffix}`;
}

function niceTicks(min: number, max: number, count: number): number[] {
  const span = max - min || Math.abs(max) || 1;
  const rough = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = ([1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough) ??
    10 * power) as number;
  const ticks: number[] = [];
  for (let tick = Math.ceil(min / step) * step; tick <= max + step * 1e-9; tick += step)
    ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}

/**
 * A self-contained SVG (no scripts, fonts or external references) of one series: recent history, the forecast
 * with its band, and the capacity line with the earliest exhaustion marked. People read the picture faster than
 * the numbers.
 */
export function renderForecastSvg(report: SeriesReport, options: SvgOptions = {}): string {
  const { width = 800, height = 320 } = options;
  const margin = { top: 36, right: 20, bottom: 40, left: 70 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const times = [...report.history.timestamps, ...report.forecast.timestamps];
  const values = [
    ...report.history.values,
    ...report.forecast.lower,
    ...report.forecast.upper,
    ...(report.capacity === undefined ? [] : [report.capacity]),
  ];
  const minTime = Math.min(...times);
  const maxTime = Math.max(...times);
  let minValue = Math.min(0, ...values);
  let maxValue = Math.max(...values);
  if (maxValue === minValue) maxValue = minValue + 1;
  maxValue += (maxValue - minValue) * 0.05;
  if (minValue < 0) minValue -= (maxValue - minValue) * 0.05;
  const x = (time: number) => margin.left + ((time - minTime) / Math.max(1, maxTime - minTime)) * plotWidth;
  const y = (value: number) => margin.top + (1 - (value - minValue) / (maxValue - minValue)) * plotHeight;
  const path = (timestamps: readonly number[], series: readonly number[]) =>
    timestamps
      .map((time, index) => `${index === 0 ? 'M' : 'L'}${x(time).toFixed(1)},${y(series[index] as number).toFixed(1)}`)
      .join(' ');
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(
    `<title>${escapeXml(`${report.name}: forecast with ${Math.round(report.forecast.level * 100)}% band`)}</title>`,
  );
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  for (const tick of niceTicks(minValue, maxValue, 5)) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="${CHART_COLORS.grid}"/>`,
    );
    parts.push(
      `<text x="${margin.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" fill="${CHART_COLORS.text}">${escapeXml(formatValue(tick, report.ratio, report.unit))}</text>`,
    );
  }
  const dayMs = 86_400_000;
  const tickStep = Math.max(dayMs, Math.ceil((maxTime - minTime) / dayMs / 8) * dayMs);
  for (let time = Math.ceil(minTime / dayMs) * dayMs; time <= maxTime; time += tickStep) {
    parts.push(
      `<line x1="${x(time).toFixed(1)}" x2="${x(time).toFixed(1)}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="${CHART_COLORS.grid}"/>`,
    );
    parts.push(
      `<text x="${x(time).toFixed(1)}" y="${height - margin.bottom + 16}" text-anchor="middle" fill="${CHART_COLORS.text}">${new Date(time).toISOString().slice(5, 10)}</text>`,
    );
  }
  const { forecast } = report;
  const upper = forecast.timestamps.map(
    (time, index) => `${x(time).toFixed(1)},${y(forecast.upper[index] as number).toFixed(1)}`,
  );
  const lower = forecast.timestamps
    .map((time, index) => `${x(time).toFixed(1)},${y(forecast.lower[index] as number).toFixed(1)}`)
    .reverse();
  parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${CHART_COLORS.band}" stroke="none"/>`);
  parts.push(
    `<path d="${path(report.history.timestamps, report.history.values)}" fill="none" stroke="${CHART_COLORS.history}" stroke-width="1.5"/>`,
  );
  parts.push(
    `<path d="${path(forecast.timestamps, forecast.mean)}" fill="none" stroke="${CHART_COLORS.forecast}" stroke-width="2"/>`,
  );
  if (report.capacity !== undefined) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(report.capacity).toFixed(1)}" y2="${y(report.capacity).toFixed(1)}" stroke="${CHART_COLORS.capacity}" stroke-width="2" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${width - margin.right}" y="${(y(report.capacity) - 5).toFixed(1)}" text-anchor="end" fill="${CHART_COLORS.capacity}">capacity ${escapeXml(formatValue(report.capacity, report.ratio, report.unit))}</text>`,
    );
    const earliest = report.exhaustion?.earliestMs;
    if (earliest !== null && earliest !== undefined && earliest <= maxTime) {
      parts.push(
        `<circle cx="${x(earliest).toFixed(1)}" cy="${y(report.capacity).toFixed(1)}" r="5" fill="${CHART_COLORS.capacity}"/>`,
      );
    }
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999999"/>`,
  );
  parts.push(
    `<text x="${margin.left}" y="20" font-size="14" font-weight="bold" fill="${CHART_COLORS.text}">${escapeXml(report.name)}</text>`,
  );
  const legend = ['history', 'forecast', `${Math.round(forecast.level * 100)}% band`];
  parts.push(
    `<text x="${width - margin.right}" y="20" text-anchor="end" fill="${CHART_COLORS.text}"><tspan fill="${CHART_COLORS.history}">■</tspan> ${legend[0]}  <tspan fill="${CHART_COLORS.forecast}">■</tspan> ${legend[1]}  <tspan fill="${CHART_COLORS.band}">■</tspan> ${legend[2]}</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** A self-contained SVG heatmap of the hour-of-week profile (rows Monday … Sunday, columns 00 … 23 UTC). */
export function renderHeatmapSvg(report: SeriesReport, options: SvgOptions = {}): string {
  const cell = 24;
  const left = 40;
  const top = 40;
  const { width = left + 24 * cell + 20, height = top + 7 * cell + 30 } = options;
  const values = report.hourOfWeek.filter((value): value is number => value !== null);
  const min = Math.min(...values, 1);
  const max = Math.max(...values, 1);
  const color = (value: number | null) => {
    if (value === null) return '#f0f0f0';
    const share = max === min ? 0.5 : (value - min) / (max - min);
    // white → orange → dark red
    const red = Math.round(255 - share * 80);
    const green = Math.round(245 - share * 200);
    const blue = Math.round(235 - share * 220);
    return `rgb(${red},${green},${blue})`;
  };
  const days = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    `<title>${escapeXml(`${report.name}: hour-of-week profile`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="18" font-size="13" font-weight="bold" fill="${CHART_COLORS.text}">${escapeXml(`${report.name} — share of the average by hour of week (UTC)`)}</text>`,
  ];
  days.forEach((day, row) => {
    parts.push(
      `<text x="${left - 6}" y="${top + row * cell + 16}" text-anchor="end" fill="${CHART_COLORS.text}">${day}</text>`,
    );
    for (let hour = 0; hour < 24; hour++) {
      const value = report.hourOfWeek[row * 24 + hour] ?? null;
      parts.push(
        `<rect x="${left + hour * cell}" y="${top + row * cell}" width="${cell - 1}" height="${cell - 1}" fill="${color(value)}"><title>${day} ${String(hour).padStart(2, '0')}:00 ${value === null ? 'no data' : `${(value * 100).toFixed(0)}%`}</title></rect>`,
      );
    }
  });
  for (let hour = 0; hour < 24; hour += 3)
    parts.push(
      `<text x="${left + hour * cell + cell / 2}" y="${top - 6}" text-anchor="middle" fill="${CHART_COLORS.text}">${String(hour).padStart(2, '0')}</text>`,
    );
  parts.push(
    `<text x="${left}" y="${top + 7 * cell + 20}" fill="${CHART_COLORS.text}">min ${(min * 100).toFixed(0)}% · max ${(max * 100).toFixed(0)}% of the average</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
