// @ops/healing — self-healing with safety rails. Exports are listed by name, grouped by concern.

// errors
export { HealingError } from './errors.js';
export type { HealingErrorCode } from './errors.js';

// actions (the contract every step of a ladder implements, and the built-in steps)
export type { ActionContext, ActionOutcome, HealingAction } from './actions/action.js';
export { runFunction } from './actions/run-function.js';
export type { RunFunctionOptions } from './actions/run-function.js';
export { resetPgPool, createPgPoolHolder } from './actions/reset-pg-pool.js';
export type { PgPoolHolder, ResetPgPoolOptions, ResettablePgPool } from './actions/reset-pg-pool.js';
export { reconnectRedis } from './actions/reconnect-redis.js';
export type { ReconnectRedisOptions, RedisClientLike } from './actions/reconnect-redis.js';
export { restartContainer } from './actions/restart-container.js';
export type { ContainerRestartResult, RestartContainerOptions } from './actions/restart-container.js';
export { callWebhook } from './actions/call-webhook.js';
export type { CallWebhookOptions } from './actions/call-webhook.js';
export { createFlags } from './actions/flags.js';
export type { FlagValue, Flags, FlagsEvents, FlagsOptions } from './actions/flags.js';
export { setFlag } from './actions/set-flag.js';
export type { SetFlagOptions } from './actions/set-flag.js';
export { runGc } from './actions/run-gc.js';
export type { RunGcOptions } from './actions/run-gc.js';
export { exitProcess } from './actions/exit-process.js';
export type { ExitProcessOptions } from './actions/exit-process.js';
export { escalate } from './actions/escalate.js';
export type { EscalateOptions } from './actions/escalate.js';

// docker: container health from the events stream
export { watchContainerHealth } from './docker/container-health-watcher.js';
export type {
  ContainerFilter,
  ContainerHealthState,
  ContainerHealthWatcher,
  ContainerHealthWatcherEvents,
  WatchContainerHealthOptions,
} from './docker/container-health-watcher.js';
export type {
  ContainerHealth,
  ContainerInspectLike,
  ContainerSummaryLike,
  DockerContainerLike,
  DockerEventStreamLike,
  DockerLike,
} from './docker/docker-like.js';

// canary / rollback guard
export { createCanaryGuard } from './canary/canary-guard.js';
export type {
  CanaryArm,
  CanaryArmStats,
  CanaryDecision,
  CanaryGuard,
  CanaryGuardEvents,
  CanaryGuardOptions,
  CanaryVerdict,
} from './canary/canary-guard.js';
export { canaryRollbackCondition, guardedRollback } from './canary/canary-rollback.js';
export { errorRateTest, latencyTest } from './canary/statistics.js';
export type { TestResult } from './canary/statistics.js';

// recipes (the runbooks' ladders as rules for createHealer)
export { memoryLadder } from './recipes/memory-ladder.js';
export type { MemoryLadderOptions } from './recipes/memory-ladder.js';
export { latencyLadder } from './recipes/latency-ladder.js';
export type { LatencyLadderOptions } from './recipes/latency-ladder.js';
export { databaseConnectionLadder } from './recipes/database-connection-ladder.js';
export type {
  DatabaseConnectionLadder,
  DatabaseConnectionLadderOptions,
} from './recipes/database-connection-ladder.js';
export { containerAutoheal, containerUnhealthyCondition } from './recipes/container-autoheal.js';
export type { ContainerAutoheal, ContainerAutohealOptions } from './recipes/container-autoheal.js';
export { rollbackGuard } from './recipes/rollback-guard.js';
export type { RollbackGuard, RollbackGuardOptions } from './recipes/rollback-guard.js';
export type { RecipeRuleOptions } from './recipes/recipe-rule-options.js';

// cli (ops-heal)
export { healCli, createHealCli } from './cli/heal-cli.js';
export type { HealCliDependencies } from './cli/heal-cli.js';
export { rulesFileSchema } from './cli/rules-file.js';
export type { RulesFile } from './cli/rules-file.js';

// engine: healer, rules, conditions
export { createHealer } from './engine/healer.js';
export { healerProbe } from './engine/healer-probe.js';
export type { HealerProbeOptions } from './engine/healer-probe.js';
export type {
  Healer,
  HealerHeartbeat,
  HealerOptions,
  HealerStatus,
  PauseOptions,
  RuleStatus,
  TargetStatus,
} from './engine/healer.js';
export type { EpisodeOutcome, EscalationReason, HealerEvents, SkipReason } from './engine/healer-events.js';
export type {
  AttemptCap,
  DisruptionBudget,
  FlapDetection,
  FleetRule,
  HealingRule,
  LadderStep,
  RuleBackoff,
  VerifyOptions,
} from './engine/rule.js';
export {
  baselineRatioCondition,
  checkCondition,
  countCondition,
  functionCondition,
  perTargetCheck,
  thresholdCondition,
} from './engine/conditions.js';
export type {
  BaselineRatioConditionOptions,
  CheckConditionOptions,
  ConditionSample,
  CountCondition,
  CountConditionOptions,
  HealingCondition,
  TargetSignal,
  ThresholdConditionOptions,
} from './engine/conditions.js';

// fleet state store (locks with fencing, disruption budget, rails, pauses)
export { createMemoryHealingStore } from './stores/memory-healing-store.js';
export type { MemoryHealingStoreOptions } from './stores/memory-healing-store.js';
export { railKey } from './stores/healing-state-store.js';
export { createRedisHealingStore, createRedisLockStore } from './stores/redis/redis-healing-store.js';
export type { RedisHealingStoreOptions, RedisLockStoreOptions } from './stores/redis/redis-healing-store.js';
export type { RedisCommandClient } from './stores/redis/redis-like.js';
export type {
  EpisodeState,
  FleetReport,
  HealingLockGrant,
  HealingLockRequest,
  HealingLockResult,
  HealingStateStore,
  PauseEntry,
  PauseScope,
  RailState,
} from './stores/healing-state-store.js';

// audit trail
export { createMemoryAuditStore } from './audit/memory-audit-store.js';
export { createRedisAuditStore } from './audit/redis-audit-store.js';
export type { RedisAuditStoreOptions } from './audit/redis-audit-store.js';
export { createPostgresAuditStore } from './audit/postgres-audit-store.js';
export type { PostgresAuditStore, PostgresAuditStoreOptions } from './audit/postgres-audit-store.js';
export type { PgPoolLike, PgQueryResult } from './audit/pg-like.js';

// metrics (prom-client, optional peer, through core's RegistryLike)
export { createHealingMetrics, HEALING_METRIC_NAMES } from './metrics/healing-metrics.js';
export type { HealingMetrics, HealingMetricsOptions } from './metrics/healing-metrics.js';
export type { MemoryAuditStore, MemoryAuditStoreOptions } from './audit/memory-audit-store.js';
export type { ActionResult, AuditEntry, AuditKind, AuditQuery, AuditRecord, AuditStore } from './audit/audit-store.js';
