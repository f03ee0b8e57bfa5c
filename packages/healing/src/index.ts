// @ops/healing — self-healing with safety rails. Exports are listed by name, grouped by concern.

// errors
export { HealingError } from './errors.js';
export type { HealingErrorCode } from './errors.js';

// actions (the contract every step of a ladder implements)
export type { ActionContext, ActionOutcome, HealingAction } from './actions/action.js';

// engine: healer, rules, conditions
export { createHealer } from './engine/healer.js';
export type { Healer, HealerOptions, HealerStatus, PauseOptions, RuleStatus, TargetStatus } from './engine/healer.js';
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
export type { MemoryAuditStore, MemoryAuditStoreOptions } from './audit/memory-audit-store.js';
export type { ActionResult, AuditEntry, AuditKind, AuditQuery, AuditRecord, AuditStore } from './audit/audit-store.js';
