import type { CapacityReport } from './capacity-report.js';
import { formatValue } from './svg-charts.js';

function table(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
}

const date = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/**
 * Renders a {@link CapacityReport} as Markdown: findings first, then utilization trends, forecasts, time to
 * exhaustion, growth scenarios (with the runbook script's numbers beside ours), right-sizing and budgets. `charts`
 * maps a series name to the relative path of its SVG (and `heatmaps` to its hour-of-week heatmap) to embed them.
 */
export function renderReportMarkdown(
  report: CapacityReport,
  options: { charts?: Record<string, string>; heatmaps?: Record<string, string> } = {},
): string {
  const lines: string[] = [
    `# ${report.title}`,
    '',
    `Generated ${date(report.generatedAtMs)} UTC · forecast horizon ${(report.horizonMs / 86_400_000).toFixed(1)} days.`,
    '',
  ];
  lines.push('## Findings', '');
  if (report.findings.length === 0) lines.push('Nothing needs attention.');
  else for (const finding of report.findings) lines.push(`- ${finding}`);
  lines.push('', '## Utilization and trends', '');
  lines.push(
    table(
      ['series', 'from', 'to', 'mean', 'p95', 'max', 'last', 'trend / day'],
      report.series.map((series) => [
        series.name,
        date(series.stats.firstMs),
        date(series.stats.lastMs),
        formatValue(series.stats.mean, series.ratio, series.unit),
        formatValue(series.stats.p95, series.ratio, series.unit),
        formatValue(series.stats.max, series.ratio, series.unit),
        formatValue(series.stats.last, series.ratio, series.unit),
        `${series.stats.trendPerDay >= 0 ? '+' : ''}${formatValue(series.stats.trendPerDay, series.ratio, series.unit)}`,
      ]),
    ),
  );
  lines.push('', '## Forecasts', '');
  for (const series of report.series) {
    const peak = Math.max(...series.forecast.mean);
    const peakIndex = series.forecast.mean.indexOf(peak);
    lines.push(`### ${series.name}`, '', `Model: ${series.forecast.model}.`, '');
    lines.push(
      `Forecast peak ${formatValue(peak, series.ratio, series.unit)} at ${date(series.forecast.timestamps[peakIndex])} (${Math.round(series.forecast.level * 100)}% band ${formatValue(series.forecast.lower[peakIndex] as number, series.ratio, series.unit)} – ${formatValue(series.forecast.upper[peakIndex] as number, series.ratio, series.unit)}).`,
      '',
    );
    const chart = options.charts?.[series.name];
    if (chart) lines.push(`![${series.name} forecast](${chart})`, '');
    const heatmap = options.heatmaps?.[series.name];
    if (heatmap) lines.push(`![${series.name} hour-of-week profile](${heatmap})`, '');
  }
  const withCapacity = report.series.filter((series) => series.exhaustion);
  if (withCapacity.length > 0) {
    lines.push('## Time to exhaustion', '');
    lines.push(
      table(
        ['series', 'capacity', 'now', 'status', 'expected', 'earliest', 'latest'],
        withCapacity.map((series) => {
          const exhaustion = series.exhaustion!;
          return [
            series.name,
            formatValue(exhaustion.capacity, series.ratio, series.unit),
            formatValue(exhaustion.current, series.ratio, series.unit),
            exhaustion.status,
            date(exhaustion.atMs),
            date(exhaustion.earliestMs),
            date(exhaustion.latestMs),
          ];
        }),
      ),
      '',
    );
  }
  if (report.growth) {
    const growth = report.growth;
    lines.push(
      '## Growth scenarios',
      '',
      `Current ${growth.currentReplicas} replicas, peak utilization ${(growth.peakUtilization * 100).toFixed(1)}%, headroom ${Math.round(growth.headroom * 100)}%.`,
      '',
    );
    lines.push(
      table(
        ['scenario', 'peak demand (replicas at 100%)', 'replicas', 'peak utilization', 'runbook script', 'difference'],
        growth.scenarios.map((scenario) => [
          scenario.label,
          scenario.peakDemand.toFixed(2),
          String(scenario.replicas),
          `${(scenario.peakUtilization * 100).toFixed(0)}%`,
          String(scenario.naiveReplicas),
          scenario.naiveDifference === 0
            ? 'same'
            : `${scenario.naiveDifference > 0 ? '+' : ''}${scenario.naiveDifference}`,
        ]),
      ),
      '',
    );
    for (const line of growth.explanation) lines.push(`- ${line}`);
    lines.push('');
  }
  if (report.rightSizing) {
    const advice = report.rightSizing;
    lines.push(
      '## Right-sizing',
      '',
      `Confidence ${advice.confidence.toFixed(2)} (days of history, capped by samples ÷ 1,440).`,
      '',
    );
    const rows = [advice.cpu, advice.memory].filter((entry) => entry !== undefined);
    lines.push(
      table(
        ['resource', 'request', 'target', 'lower', 'upper', 'action', 'why'],
        rows.map((entry) => {
          const format = (value: number | undefined) =>
            value === undefined
              ? '—'
              : entry.resource === 'cpu'
                ? `${(value * 1000).toFixed(0)}m`
                : formatValue(value, false, 'bytes');
          return [
            entry.resource,
            format(entry.request),
            format(entry.target),
            format(entry.lowerBound),
            Number.isFinite(entry.upperBound) ? format(entry.upperBound) : '∞',
            entry.action,
            entry.reason,
          ];
        }),
      ),
      '',
    );
  }
  if (report.budgets && report.budgets.length > 0) {
    lines.push('## Budgets', '');
    lines.push(
      table(
        ['budget', 'limit', 'used', 'expected by now', 'projected', 'runs out'],
        report.budgets.map((budget) => [
          budget.label,
          budget.limit.toFixed(2),
          `${budget.used.toFixed(2)} (${(budget.usedRatio * 100).toFixed(0)}%)`,
          budget.expectedByNow.toFixed(2),
          `${budget.projected.toFixed(2)} (${(budget.projectedRatio * 100).toFixed(0)}%)`,
          date(budget.exhaustedAtMs),
        ]),
      ),
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
