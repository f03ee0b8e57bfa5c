import {
  buildCapacityReport,
  createSampleRecorder,
  renderForecastSvg,
  renderReportMarkdown,
  type CapacityReport,
  type ReportSeriesInput,
  type SampleRecorder,
} from '@ops/capacity';
import { createPeriodicTask, safeErrorMessage, type Clock, type Duration, type Logger, type Signal } from '@ops/core';

/** The capacity series the notes service samples, with their unit and, where one exists, the limit. */
export const CAPACITY_SERIES = {
  requestRate: 'requests_per_second',
  p95: 'p95_latency_ms',
  memory: 'cache_memory_ratio',
  notes: 'notes_stored',
} as const;

/** A built report: the data, the Markdown and one forecast chart (SVG) per series. */
export interface NotesCapacityReport {
  report: CapacityReport;
  markdown: string;
  /** File name → SVG document (`<series>.svg`); the Markdown links to these names. */
  charts: Record<string, string>;
}

/** Capacity sampling and reporting of the notes service. */
export interface NotesCapacity {
  readonly recorder: SampleRecorder;
  /** Samples every signal once now. */
  sampleNow(): Promise<void>;
  /** Samples per series so far (buckets with data). */
  counts(): Record<string, number>;
  /** Builds the report (forecast horizon `horizon`). @throws CapacityError `INSUFFICIENT_DATA` with too little history. */
  report(options?: { horizon?: Duration }): NotesCapacityReport;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Samples request rate, P95 latency, the caches' memory ratio and the number of stored notes into @ops/capacity's
 * sample recorder (5-minute buckets, 14 days kept) on `clock` — the demo's simulated clock lets days pass in a
 * second — and builds the capacity report with a forecast chart per series.
 */
export function createNotesCapacity(options: {
  clock: Clock;
  logger: Logger;
  every: Duration;
  signals: { requestRate: Signal; p95: Signal; memory: Signal; notes: Signal };
  /** The caches' memory budget in bytes (the memory series' limit is 1 = 100%). */
  memoryCapacityRatio?: number;
}): NotesCapacity {
  const { clock, logger, every, signals } = options;
  const named: Signal[] = [
    { ...signals.requestRate, name: CAPACITY_SERIES.requestRate },
    { ...signals.p95, name: CAPACITY_SERIES.p95 },
    { ...signals.memory, name: CAPACITY_SERIES.memory },
    { ...signals.notes, name: CAPACITY_SERIES.notes },
  ];
  const recorder = createSampleRecorder({ signals: named, window: '14d', bucket: '5m', clock, logger });
  const task = createPeriodicTask({
    name: 'capacity-samples',
    every,
    clock,
    logger,
    run: (signal) => recorder.sample(signal),
  });
  const counts = () => Object.fromEntries(recorder.names().map((name) => [name, recorder.series(name).values.length]));
  return {
    recorder,
    sampleNow: () => recorder.sample(),
    counts,
    report(reportOptions = {}) {
      const series: ReportSeriesInput[] = [
        { name: CAPACITY_SERIES.requestRate, series: recorder.series(CAPACITY_SERIES.requestRate), unit: 'rps' },
        { name: CAPACITY_SERIES.p95, series: recorder.series(CAPACITY_SERIES.p95), unit: 'ms' },
        {
          name: CAPACITY_SERIES.memory,
          series: recorder.series(CAPACITY_SERIES.memory),
          ratio: true,
          capacity: options.memoryCapacityRatio ?? 0.85,
        },
        { name: CAPACITY_SERIES.notes, series: recorder.series(CAPACITY_SERIES.notes), unit: 'notes' },
      ].filter((entry) => entry.series.values.length >= 12);
      const report = buildCapacityReport({
        title: 'Notes service capacity',
        series,
        horizon: reportOptions.horizon ?? '7d',
        clock,
      });
      const charts: Record<string, string> = {};
      for (const entry of report.series) {
        try {
          charts[`${entry.name}.svg`] = renderForecastSvg(entry);
        } catch (error) {
          logger.warn({ series: entry.name, error: safeErrorMessage(error) }, 'capacity chart failed');
        }
      }
      const markdown = renderReportMarkdown(report, {
        charts: Object.fromEntries(Object.keys(charts).map((file) => [file.replace(/\.svg$/, ''), file])),
      });
      return { report, markdown, charts };
    },
    start: () => task.start(),
    stop: () => task.stop(),
  };
}
