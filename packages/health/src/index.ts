// @ops/health — probes, registry, health endpoints, graceful shutdown.

// registry
export { createHealth } from './registry/health.js';
export type { Health, HealthOptions, HealthEvents, HealthServer, ShutdownOptions, SignalSource, Beacon } from './registry/health.js';
export type { CheckRegistration, CheckMode, CheckTag, CheckReport, CapturedResult, ComponentType, Endpoint, HealthReport, Probe } from './registry/types.js';
export type { CheckTransition } from './registry/check-runner.js';
export { aggregateStatus, contribution, DEFAULT_STATUS_ORDER } from './registry/aggregate.js';
export type { StatusOrder } from './registry/aggregate.js';

// errors
export { HealthError } from './errors.js';
export type { HealthErrorCode } from './errors.js';

// http
export { toHealthJson, HEALTH_JSON_CONTENT_TYPE } from './http/health-json.js';
export { healthJsonSchema } from './http/health-json-schema.js';
export type { HealthJson, HealthJsonCheck, ServiceDescription } from './http/health-json.js';
export { allowBearerToken, allowLoopback } from './http/details-access.js';
export type { DetailsPredicate } from './http/details-access.js';

// metrics
export { createHealthMetrics } from './metrics/health-metrics.js';
export type { HealthMetrics, HealthMetricsOptions } from './metrics/health-metrics.js';
