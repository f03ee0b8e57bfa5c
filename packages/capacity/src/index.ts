// @ops/capacity — replica math, stabilization, right-sizing, forecasting, exhaustion, reports. Exports are listed
// by name.

// errors
export { CapacityError } from './errors.js';
export type { CapacityErrorCode } from './errors.js';

// HPA replica math (Kubernetes-exact)
export { createHpaAutoscaler } from './hpa/hpa-autoscaler.js';
export type {
  HpaAutoscaler,
  HpaAutoscalerOptions,
  HpaAutoscalerEvents,
  HpaAutoscalerState,
  HpaCondition,
  HpaDecision,
  HpaDecisionInput,
  HpaReason,
} from './hpa/hpa-autoscaler.js';
export { calculateMetricReplicas } from './hpa/replica-calculator.js';
export type { HpaMetric, MetricProposal, ReplicaCalculationContext } from './hpa/replica-calculator.js';
export { groupPods, countReadyPods } from './hpa/pods.js';
export type { HpaPod, PodPhase, PodSample, PodGroups, GroupPodsOptions } from './hpa/pods.js';
export {
  resolveScalingRules,
  scaleUpLimit,
  scaleDownLimit,
  storeScaleEvent,
  replicasChangedInPeriod,
} from './hpa/scaling-rules.js';
export type {
  ScalingBehavior,
  ScalingRules,
  ScalingPolicy,
  ResolvedScalingRules,
  ScaleEvent,
} from './hpa/scaling-rules.js';
export { isWithinTolerance, DEFAULT_TOLERANCE } from './hpa/tolerances.js';
export type { Tolerances } from './hpa/tolerances.js';

// band scaler (the runbooks' "up above X% for D1, down below Y% for D2")
export { createBandScaler } from './band/band-scaler.js';
export type {
  BandScaler,
  BandScalerOptions,
  BandScalerEvents,
  BandSignalRule,
  BandSignalStatus,
  BandDecision,
  BandReason,
} from './band/band-scaler.js';

// forecasting
export { fitHoltWinters, dampedSum } from './forecast/holt-winters.js';
export type {
  HoltWintersModel,
  HoltWintersOptions,
  HoltWintersParams,
  Initialization,
  TrendType,
  SeasonalType,
  IntervalOptions,
  ForecastBand,
} from './forecast/holt-winters.js';
export { selectHoltWinters, holtWintersForecaster, describeVariant } from './forecast/model-selection.js';
export { seasonalStrength } from './forecast/seasonal-strength.js';
export type {
  HoltWintersSelection,
  HoltWintersVariant,
  SelectHoltWintersOptions,
  HoltWintersForecasterOptions,
} from './forecast/model-selection.js';
export { decomposeSeasonal, multiSeasonalForecaster } from './forecast/multi-seasonal.js';
export type { MultiSeasonalOptions, SeasonalDecomposition, CalendarEffects } from './forecast/multi-seasonal.js';
export { seasonalNaiveForecaster } from './forecast/seasonal-naive.js';
export type { Forecaster, FittedForecast, SeriesTime } from './forecast/forecaster.js';
export { olsTrend, theilSenTrend, median } from './forecast/trend.js';
export type { LinearTrend, TheilSenOptions } from './forecast/trend.js';
export { smape, mase, mae } from './forecast/accuracy.js';
export { backtest } from './forecast/backtest.js';
export type { BacktestOptions, BacktestResult, BacktestFold } from './forecast/backtest.js';
export { nelderMead } from './forecast/nelder-mead.js';
export type { NelderMeadOptions, NelderMeadResult } from './forecast/nelder-mead.js';

// inputs
export { parseCsvSeries, parseJsonSeries, parseTimestamp, regularizeSeries, inferStepMs } from './inputs/series.js';
export type { Series, CsvSeriesOptions } from './inputs/series.js';

// planning: exhaustion, growth, right-sizing, budgets
export { timeToExhaustion, predictLinear } from './planning/exhaustion.js';
export type { Exhaustion, ExhaustionOptions } from './planning/exhaustion.js';
export { planGrowth } from './planning/growth-plan.js';
export type { GrowthPlan, GrowthPlanOptions, GrowthScenario } from './planning/growth-plan.js';
export { recommendResources } from './planning/right-sizing.js';
export type {
  RightSizingOptions,
  RightSizingResult,
  ResourceRecommendation,
  RightSizingFinding,
  UsageSample,
} from './planning/right-sizing.js';
export { createDecayingHistogram } from './planning/decaying-histogram.js';
export type { DecayingHistogram, DecayingHistogramOptions } from './planning/decaying-histogram.js';
export { evaluateBudget, storageFindings, scalingAnomalies } from './planning/budget.js';
export type { BudgetOptions, BudgetStatus, BudgetAlert, TrendFinding } from './planning/budget.js';
export { normalQuantile, studentTQuantile, quantile } from './planning/statistics.js';
export { queryRangeSeries, RUNBOOK_QUERIES } from './inputs/prometheus-source.js';
export type { QueryRangeSeriesOptions } from './inputs/prometheus-source.js';
export { createPostgresSizeRecorder } from './inputs/postgres-sizes.js';
export type {
  PostgresSizeRecorder,
  PostgresSizeRecorderOptions,
  SizeRecording,
  SqlQueryable,
} from './inputs/postgres-sizes.js';
export { createSampleRecorder } from './inputs/sample-recorder.js';
export type { SampleRecorder, SampleRecorderOptions } from './inputs/sample-recorder.js';

// reports
export { buildCapacityReport, chooseForecaster } from './report/capacity-report.js';
export type {
  CapacityReport,
  CapacityReportOptions,
  ReportSeriesInput,
  SeriesReport,
} from './report/capacity-report.js';
export { renderReportMarkdown } from './report/render-markdown.js';
export { renderForecastSvg, renderHeatmapSvg, formatValue, CHART_COLORS } from './report/svg-charts.js';
export type { SvgOptions } from './report/svg-charts.js';

// cli
export { capacityCli, createCapacityCli } from './cli/capacity-cli.js';
export type { CapacityCliDependencies } from './cli/capacity-cli.js';
export { loadAugursForecasters } from './forecast/augurs-adapter.js';
export type { AugursForecasters } from './forecast/augurs-adapter.js';

// metrics
export { createCapacityMetrics } from './metrics/capacity-metrics.js';
export type {
  CapacityMetrics,
  CapacityMetricsOptions,
  DecisionSource,
  ScalingDecisionLike,
} from './metrics/capacity-metrics.js';

// alerts out (to @ops/incident or any AlertSink)
export { capacityAlerts } from './alerting/capacity-alerts.js';
export type { CapacityAlertsOptions } from './alerting/capacity-alerts.js';
