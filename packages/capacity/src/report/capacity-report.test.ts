import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { loadNab } from '../internal/nab-data.js';
import { evaluateBudget } from '../planning/budget.js';
import { syntheticSeries } from '../testing/synthetic-series.js';
import { buildCapacityReport } from './capacity-report.js';
import { renderReportMarkdown } from './render-markdown.js';
import { renderForecastSvg, renderHeatmapSvg } from './svg-charts.js';

describe('capacity report', () => {
  const clock = createManualClock(Date.UTC(2026, 1, 2));
  const cpu = syntheticSeries({ length: 24 * 21, level: 0.3, trendPerDay: 0.01, seed: 3 });
  const disk = { timestamps: cpu.timestamps, values: cpu.timestamps.map((_, hour) => 300e9 + hour * 0.3e9) };

  it('reports trends, the hour-of-week profile, a forecast with its band, exhaustion, growth and budgets', () => {
    const progress: string[] = [];
    const report = buildCapacityReport({
      title: 'Checkout API',
      clock,
      series: [
        { name: 'cpu', series: cpu, ratio: true, capacity: 0.8 },
        { name: 'disk', series: disk, unit: 'bytes', capacity: 500e9, storage: { threshold: 400e9 } },
      ],
      growth: { series: 'cpu', currentReplicas: 6, headroom: 0.5 },
      budgets: [
        evaluateBudget({ usage: { timestamps: [Date.UTC(2026, 1, 1)], values: [200] }, limit: 3000, label: 'spend' }),
      ],
      onProgress: (done, total, name) => progress.push(`${done}/${total} ${name}`),
    });
    expect(progress).toEqual(['1/2 cpu', '2/2 disk']);
    const [cpuReport, diskReport] = report.series;
    expect(cpuReport!.forecast.model).toContain('decomposition');
    expect(cpuReport!.forecast.mean).toHaveLength(24 * 7);
    // Business hours run above the average, nights below; Saturday afternoon below Wednesday afternoon.
    expect(cpuReport!.hourOfWeek[2 * 24 + 14]!).toBeGreaterThan(1.1);
    expect(cpuReport!.hourOfWeek[5 * 24 + 14]!).toBeLessThan(cpuReport!.hourOfWeek[2 * 24 + 14]!);
    expect(diskReport!.exhaustion!.status).toBe('growing');
    expect(report.growth!.scenarios).toHaveLength(4);
    expect(report.findings.some((finding) => finding.startsWith('disk: reaches 500000000000 as early as'))).toBe(true);
    expect(report.findings.some((finding) => finding.includes('above'))).toBe(true); // disk > 400 GB
    const markdown = renderReportMarkdown(report, { charts: { cpu: 'cpu.svg' } });
    expect(markdown).toContain('# Checkout API');
    expect(markdown).toContain('## Time to exhaustion');
    expect(markdown).toContain('| +100% |');
    expect(markdown).toContain('![cpu forecast](cpu.svg)');
    expect(markdown).toContain('## Budgets');
    expect(JSON.parse(JSON.stringify(report)).series[0].name).toBe('cpu');
  });

  it('SVG charts are self-contained: no scripts, no external references, escaped text', () => {
    const report = buildCapacityReport({
      clock,
      series: [{ name: 'p95 <latency> & co', series: cpu, unit: 'ms' }],
      horizon: '2d',
    });
    for (const svg of [renderForecastSvg(report.series[0]!), renderHeatmapSvg(report.series[0]!)]) {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg).not.toMatch(/<script|<image|href=|url\(|@import/);
      expect(svg).toContain('p95 &lt;latency&gt; &amp; co');
      expect(svg.match(/http:\/\//g)).toHaveLength(1); // only the namespace
    }
  });

  it('a real series: NAB taxi demand with daily and weekly cycles', () => {
    const taxi = loadNab('nyc_taxi.csv');
    const recent = { timestamps: taxi.timestamps.slice(-48 * 28), values: taxi.values.slice(-48 * 28) };
    const report = buildCapacityReport({
      clock,
      series: [{ name: 'taxi passengers', series: recent, unit: 'passengers' }],
      horizon: '7d',
    });
    const series = report.series[0]!;
    expect(series.forecast.model).toContain('periods 48, 336');
    const weekdayEvening = series.hourOfWeek[2 * 24 + 19]!;
    const weekdayNight = series.hourOfWeek[2 * 24 + 4]!;
    expect(weekdayEvening / weekdayNight).toBeGreaterThan(3);
  });
});
