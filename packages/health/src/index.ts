// @ops/health — probes, registry, health endpoints, graceful shutdown.

// registry
export { createHealth } from './registry/health.js';
export type { Health } from './registry/health.js';
export type { HealthOptions, ShutdownOptions } from './registry/health-options.js';
export type { HealthEvents } from './registry/health-events.js';
export type { HealthServer } from './http/health-server.js';
export type { SignalSource } from './lifecycle/signal-listeners.js';
export type { Beacon } from './lifecycle/graceful-shutdown.js';
export type {
  CheckRegistration,
  CheckMode,
  CheckTag,
  CheckReport,
  CapturedResult,
  ComponentType,
  Endpoint,
  HealthReport,
  Probe,
} from './registry/types.js';
export type { CheckTransition } from './registry/check-runner.js';
export { aggregateStatus, contribution, DEFAULT_STATUS_ORDER } from './registry/aggregate.js';
export type { StatusOrder } from './registry/aggregate.js';

// alerts
export { forwardHealthAlerts } from './alerts/forward-health-alerts.js';
export type { ForwardHealthAlertsOptions, HealthAlertSource } from './alerts/forward-health-alerts.js';

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

// probes
export { defineProbe } from './probes/probe.js';
export type { ProbeFacts } from './probes/probe.js';
export { postgresProbe } from './probes/postgres-probe.js';
export type { PostgresProbeOptions, PgClientLike, PgPoolClientLike, PgPoolLike } from './probes/postgres-probe.js';
export { redisProbe, parseRedisInfo } from './probes/redis-probe.js';
export type { RedisProbeOptions, RedisClientLike } from './probes/redis-probe.js';
export { httpProbe } from './probes/http-probe.js';
export type { HttpProbeOptions } from './probes/http-probe.js';
export { dockerContainerProbe } from './probes/docker-container-probe.js';
export type { DockerContainerProbeOptions, DockerLike, ContainerInspectLike } from './probes/docker-container-probe.js';
export { tcpProbe, dnsProbe, tlsCertificateProbe } from './probes/network-probes.js';
export type { TcpProbeOptions, DnsProbeOptions, TlsCertificateProbeOptions } from './probes/network-probes.js';
export { thresholdProbe, diskProbe, memoryProbe, eventLoopProbe, functionProbe } from './probes/process-probes.js';
export type {
  ThresholdProbeOptions,
  DiskProbeOptions,
  MemoryProbeOptions,
  EventLoopProbeOptions,
  ClosableProbe,
  FunctionProbeOptions,
} from './probes/process-probes.js';

// cli
export { healthCli, CLI_VERSION } from './cli/cli.js';
