// @ops/core — the shared vocabulary of the @ops packages. Exports are listed by name, grouped by concern.

// errors
export { OpsError, TimeoutError, toError, isRetryableError } from './errors/ops-error.js';
export type { AnyOpsErrorCode, OpsErrorCode, OpsErrorOptions } from './errors/ops-error.js';
export { ConfigError, formatPath, parseWithSchema } from './errors/config-error.js';
export type { ConfigIssue } from './errors/config-error.js';

// events
export { createEmitter } from './events/emitter.js';
export type { Emitter, EmitterOptions, EventListener, EventMap, EventSource, OpsEvent } from './events/emitter.js';

// tasks (periodic work)
export { createPeriodicTask } from './tasks/periodic-task.js';
export type { PeriodicTask, PeriodicTaskOptions } from './tasks/periodic-task.js';

// retry, backoff, circuit breaker
export { createBackoff, resolveBackoff, parseRetryAfter } from './retry/backoff.js';
export type { Backoff, BackoffOptions, JitterKind, ResolvedBackoff } from './retry/backoff.js';
export { retry } from './retry/retry.js';
export type { AttemptContext, RetryInfo, RetryOptions } from './retry/retry.js';
export { createCircuitBreaker } from './retry/circuit-breaker.js';
export type {
  CircuitBreaker,
  CircuitBreakerEvents,
  CircuitBreakerOptions,
  CircuitState,
} from './retry/circuit-breaker.js';

// lock
export { createLock, createMemoryLockStore } from './lock/lock.js';
export type {
  AcquireOptions,
  Lock,
  LockGrant,
  LockLease,
  LockOptions,
  LockStore,
  MemoryLockStoreOptions,
  WaitOptions,
} from './lock/lock.js';

// alerts (the contract between alert sources and incident management)
export { opsAlertSchema, parseOpsAlert, fanOutAlerts } from './alerts/ops-alert.js';
export type { AlertSeverity, AlertSink, OpsAlert } from './alerts/ops-alert.js';
export { createAlertDelivery } from './alerts/alert-delivery.js';
export type { AlertDelivery, AlertDeliveryOptions } from './alerts/alert-delivery.js';

// time
export {
  parseDuration,
  parseOptionalDuration,
  formatDuration,
  humanizeDuration,
  durationSchema,
} from './time/duration.js';
export type { Duration, DurationUnit } from './time/duration.js';
export { systemClock, createManualClock } from './time/clock.js';
export type { Clock, ManualClock, TimerHandle } from './time/clock.js';
export { withDeadline } from './time/deadline.js';
export type { DeadlineOptions } from './time/deadline.js';

// config
export { loadConfig, parseConfigText } from './config/load-config.js';
export type { LoadConfigOptions } from './config/load-config.js';
export { suggestKey } from './config/suggest-key.js';

// redaction
export { redact, redactText, safeErrorMessage, REDACTED } from './redaction/redact.js';
export type { RedactOptions } from './redaction/redact.js';

// logging
export { silentLogger, createConsoleLogger, guardLogger } from './logging/logger.js';
export type { Logger, LogLevel, ConsoleLoggerOptions } from './logging/logger.js';

// package metadata
export { readPackageVersion } from './meta/package-version.js';

// random
export { seededRandom } from './random/seeded-random.js';

// checks
export { worstStatus, compareStatus } from './checks/check.js';
export type { Check, CheckResult, CheckStatus } from './checks/check.js';

// cli
export { runCli, renderHelp, formatTable, formatBytes, createProgressBar, ExitCode, UsageError } from './cli/cli.js';
export type {
  CliDefinition,
  CliCommand,
  CliContext,
  CliIo,
  ExitCodeValue,
  TableColumn,
  ProgressBar,
} from './cli/cli.js';

// window (rolling windows)
export { createRollingWindow } from './window/rolling-window.js';
export type {
  RollingWindow,
  RollingWindowOptions,
  RecordOptions,
  WindowCounters,
  WindowCounts,
  WindowSnapshot,
} from './window/rolling-window.js';

// conditions (sustained conditions)
export { createSustainedCondition } from './conditions/sustained-condition.js';
export type {
  SustainedCondition,
  SustainedConditionOptions,
  SustainedState,
  SustainedTransition,
} from './conditions/sustained-condition.js';
export { createSustainedMonitor } from './conditions/sustained-monitor.js';
export type { SustainedMonitor, SustainedMonitorOptions, SampleOutcome } from './conditions/sustained-monitor.js';

// signals
export type { Signal } from './signals/signal.js';
export {
  createProcessCpuSignal,
  createRssSignal,
  createHeapUsedRatioSignal,
  createEventLoopDelaySignal,
  createEventLoopUtilizationSignal,
} from './signals/process-signals.js';
export type {
  ProcessCpuSignalOptions,
  EventLoopDelaySignalOptions,
  ClosableSignal,
} from './signals/process-signals.js';
export { createDiskUsedRatioSignal } from './signals/disk-signal.js';
export type { DiskUsedRatioSignalOptions } from './signals/disk-signal.js';
export { createFunctionSignal } from './signals/function-signal.js';
export type { FunctionSignalOptions } from './signals/function-signal.js';
export { createPromClientSignal } from './signals/prom-client-signal.js';
export type { PromClientSignalOptions, MetricRegistryLike } from './signals/prom-client-signal.js';
export { createPrometheusQuerySignal } from './signals/prometheus-signal.js';
export type { PrometheusQuerySignalOptions } from './signals/prometheus-signal.js';
export type { SignalAggregation } from './signals/aggregate.js';

// metrics (the part of a prom-client registry the engines register their ops_* metrics on)
export type { RegistryLike } from './metrics/registry-like.js';

// prometheus (HTTP API client)
export { createPrometheusClient } from './prometheus/prometheus-client.js';
export type {
  PrometheusClient,
  PrometheusClientOptions,
  PrometheusTime,
  PrometheusSample,
  InstantQueryOptions,
  InstantQueryResult,
  RangeQueryOptions,
  RangeQueryResult,
} from './prometheus/prometheus-client.js';
export { PrometheusError } from './prometheus/prometheus-error.js';
export type { PrometheusErrorCode, PrometheusErrorDetails } from './prometheus/prometheus-error.js';

// http (framework-neutral handlers and adapters)
export { jsonResponse, textResponse } from './http/json-response.js';
export { toNodeHandler, fromNodeRequest, writeNodeResponse, readNodeBody } from './http/node-adapter.js';
export type { NodeHandlerOptions } from './http/node-adapter.js';
export { toExpressMiddleware } from './http/express-adapter.js';
export type { ConnectMiddleware, ConnectNext } from './http/express-adapter.js';
export { toFastifyPlugin } from './http/fastify-adapter.js';
export type {
  FastifyPluginLike,
  FastifyInstanceLike,
  FastifyReplyLike,
  FastifyRequestLike,
} from './http/fastify-adapter.js';
export { toFetchHandler, fromFetchRequest } from './http/fetch-adapter.js';
export type { FetchHandler } from './http/fetch-adapter.js';
export type { OpsHandler, OpsRequest, OpsResponse } from './http/types.js';
export { listen, composeHandlers } from './http/listen.js';
export type { ListenOptions, ListeningServer, NodeListener } from './http/listen.js';
export { observeNodeExchange, pathOf } from './http/observe-request.js';
export type { RequestObservation, RequestObserver, ObserveRequestsOptions } from './http/observe-request.js';
export { observeNodeRequests } from './http/observe-node.js';
export type { NodeRequestListener } from './http/observe-node.js';
export { observeExpressRequests } from './http/observe-express.js';
export { observeFastifyRequests } from './http/observe-fastify.js';
export type {
  FastifyObservePlugin,
  FastifyObservedInstanceLike,
  FastifyObservedRequestLike,
} from './http/observe-fastify.js';
export { observeFetchRequests } from './http/observe-fetch.js';
export type { FetchRequestHandler } from './http/observe-fetch.js';
