// @ops/slo — SLOs from one spec: in-process SLI, error budget and burn-rate alerts, Prometheus rules, reports,
// performance budgets. Exports are listed by name.

// errors
export { SloError } from './errors.js';
export type { SloErrorCode } from './errors.js';

// spec
export {
  defineSlo,
  resolveSloDocument,
  parseSloDocument,
  loadSloFile,
  sloDocumentSchema,
  renderWindowQuery,
  windowQueryProblem,
  RESERVED_LABEL_PREFIXES,
  RESERVED_GROUP_BY_LABELS,
} from './spec/slo-spec.js';
export type {
  SeverityAlertSpec,
  ResolvedAlertMeta,
  SloSpec,
  SloDocument,
  SliSpec,
  WindowSpec,
  AlertingSpec,
  TierOverride,
  TierSpec,
  CounterReference,
  ResolvedSlo,
  ResolvedSli,
  ResolvedWindow,
} from './spec/slo-spec.js';

// label matchers (=, !=, =~, !~)
export {
  labelMatchersSchema,
  renderSelector,
  compileMatchers,
  toLabelMatchers,
  matcherValue,
  regexLookingWarnings,
} from './spec/label-matchers.js';
export type { LabelMatchers, LabelMatcherValue, LabelMatcher, MatchOperator } from './spec/label-matchers.js';

// input in any format: @ops/slo, Sloth (prometheus/v1, PrometheusServiceLevel), OpenSLO
export { parseSloInput, loadSloInput } from './spec/slo-input.js';
export type { SloInput, SloInputGroup, SloInputFormat, SloInputOptions } from './spec/slo-input.js';
export { convertSlothDocuments, isSlothDocument } from './spec/sloth.js';
export type { SlothConversion, SlothConversionOptions, ConvertedSlothDocument } from './spec/sloth.js';

// alerting
export {
  DEFAULT_ALERT_TIERS,
  STATUS_WINDOWS_MS,
  BURN_RATE_THRESHOLD_EPSILON,
  burnRateThreshold,
  exceedsThreshold,
  tierInfeasibility,
} from './alerting/alert-tiers.js';
export type { AlertTier, AlertSeverity, DefaultTierName } from './alerting/alert-tiers.js';

// windows
export { calendarPeriod, zonedTimeToEpochMs, timeZoneOffsetMs, isValidTimeZone } from './windows/calendar-period.js';
export type { CalendarUnit, TimeSpan } from './windows/calendar-period.js';

// engine
export { createSloTracker, OVERFLOW_LABEL_VALUE } from './engine/slo-tracker.js';
export type {
  SloTracker,
  SloTrackerOptions,
  SloRecorder,
  SloEvent,
  SloAlertEvent,
  SloTrackerEvents,
  SloHistoryStep,
} from './engine/slo-tracker.js';
export type { SloStatus, TierStatus, WindowStatus } from './engine/slo-status.js';

// alerts out (to @ops/incident or any AlertSink)
export { forwardSloAlerts } from './alerting/forward-slo-alerts.js';
export type { ForwardSloAlertsOptions } from './alerting/forward-slo-alerts.js';

// metrics
export { SLO_METRIC_NAMES, createSloMetrics, registerSloMetrics } from './metrics/slo-metrics.js';
export type { SloMetrics, SloMetricsOptions, SloMetricsSource } from './metrics/slo-metrics.js';

// rules
export {
  generatePrometheusRules,
  renderPrometheusRules,
  generatePrometheusRuleManifest,
  renderPrometheusRuleManifest,
  sliExpressions,
  rawErrorRatioExpression,
  rulePeriodMs,
  promDuration,
  RECORDED_SERIES,
} from './rules/prometheus-rules.js';
export type {
  RuleFile,
  RuleGroup,
  RecordingRule,
  AlertingRule,
  PrometheusRulesOptions,
  PrometheusRuleManifest,
  PrometheusRuleManifestOptions,
} from './rules/prometheus-rules.js';

// middleware
export { createSloRequestObserver } from './middleware/slo-request-observer.js';
export type { SloRequestObserverOptions } from './middleware/slo-request-observer.js';

// performance budgets and quality ratchet
export {
  checkPerformanceBudget,
  ratchetBaseline,
  performanceBaselineSchema,
  measurementsSchema,
} from './budgets/performance-budget.js';
export type {
  PerformanceBaseline,
  BaselineMetric,
  Measurement,
  PerformanceBudgetOptions,
  PerformanceBudgetResult,
  MetricVerdict,
} from './budgets/performance-budget.js';
export { mannWhitneyU, bootstrapRatioInterval, percentile, normalCdf } from './budgets/statistics.js';
export type { MannWhitneyResult, BootstrapOptions } from './budgets/statistics.js';

// reports and status from Prometheus
export { buildSloReport, renderReportMarkdown, fetchSloStatus } from './report/prometheus-report.js';
export type {
  SloReport,
  SloReportEntry,
  SloReportOptions,
  FetchSloStatusOptions,
  ReportRange,
  ReportStep,
} from './report/prometheus-report.js';

// overview page (Pyrra-style) and SVG charts
export { createSloOverview, renderSloOverviewHtml, renderReportHtml } from './overview/slo-overview.js';
export type { SloOverview, SloOverviewEntry, SloOverviewOptions, SloOverviewPage } from './overview/slo-overview.js';
export { renderBudgetBurnDownSvg, renderErrorRatioSvg } from './overview/svg-charts.js';
export type { ChartStep, ChartOptions } from './overview/svg-charts.js';

// cli
export { sloCli, createSloCli, SLO_EXIT_NOT_EVALUATED } from './cli/slo-cli.js';
export type { SloCliDependencies } from './cli/slo-cli.js';

// OpenSLO
export { importOpenSlo, exportOpenSlo, convertOpenSlo } from './spec/openslo.js';
export type { OpenSloConversion } from './spec/openslo.js';
