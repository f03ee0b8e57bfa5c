import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  createEmitter,
  createPeriodicTask,
  createSustainedCondition,
  guardLogger,
  parseOptionalDuration,
  redact,
  safeErrorMessage,
  silentLogger,
  systemClock,
  TimeoutError,
  withDeadline,
  type AlertSink,
  type Clock,
  type Duration,
  type EventSource,
  type Logger,
  type OpsAlert,
  type SustainedCondition,
  type SustainedState,
  type TimerHandle,
} from '@ops/core';
import type { ActionContext, HealingAction } from '../actions/action.js';
import type { ActionResult, AuditRecord, AuditStore } from '../audit/audit-store.js';
import { createMemoryAuditStore } from '../audit/memory-audit-store.js';
import { HealingError } from '../errors.js';
import {
  emptyRailState,
  findPause,
  railKey,
  type HealingStateStore,
  type PauseEntry,
  type PauseScope,
  type RailState,
} from '../stores/healing-state-store.js';
import { createMemoryHealingStore } from '../stores/memory-healing-store.js';
import { resolveCheck, type ConditionSample } from './conditions.js';
import type { EscalationReason, HealerEvents, SkipReason } from './healer-events.js';
import { backoffDelay, resolveRule, type HealingRule, type ResolvedRule, type ResolvedStep } from './rule.js';

/** Options of {@link createHealer}. */
export interface HealerOptions {
  /** The rules. Names must be unique. */
  rules: readonly HealingRule[];
  /** Shared state (locks, budget, rails, pauses). Default in memory (one process); Redis for a fleet. */
  store?: HealingStateStore;
  /** Where the audit trail goes. Default in memory. */
  audit?: AuditStore;
  /** Where escalations go (source `'healing'`; resolved when the condition clears), e.g. `@ops/incident`. */
  alerts?: AlertSink;
  /** Evaluation interval. Default `'10s'`. */
  every?: Duration;
  /** This healer's identity (lock owner, audit). Default `<hostname>-<pid>-<random>`. */
  instanceId?: string;
  /** Evaluate, lock and audit "would run", never act — for every rule. Default `false`. */
  dryRun?: boolean;
  /** Lease of a (rule, target) lock, renewed while a step runs. Default `'30s'`. */
  lockTtl?: Duration;
  /** Deadline of one state-store call; past it the store counts as unavailable. Default `'5s'`. */
  storeTimeout?: Duration;
  /** Deadline of one condition sample; past it the sample is missing data. Default `every`. */
  sampleTimeout?: Duration;
  /** How long rails state is kept after its last write. Default `'24h'`. */
  stateTtl?: Duration;
  /** Start the evaluation loop at once. Default `true`; `false` → call `start()` (or `tick()`). */
  autoStart?: boolean;
  /** Source of time and timers. Default the system clock. */
  clock?: Clock;
  /** Logger (pino-compatible). Default silent. */
  logger?: Logger;
  /** Random source in [0, 1) for backoff jitter. Default `Math.random`. */
  random?: () => number;
}

/** What {@link Healer.status} reports of one (rule, target). */
export interface TargetStatus {
  target: string;
  /** The sustained condition's state on this healer. */
  condition: SustainedState;
  /** Last sampled value, when the condition has one. */
  value?: number;
  /** A step or close of this (rule, target) is running on this healer. */
  inFlight: boolean;
  /** The shared rails state, when the store has one. */
  rails?: RailState;
}

/** What {@link Healer.status} reports of one rule. */
export interface RuleStatus {
  name: string;
  dryRun: boolean;
  /** The fleet rule currently sees a shared cause (escalated, not acting). */
  sharedCause: boolean;
  targets: TargetStatus[];
}

/** A snapshot of a healer: rules, targets, rails, pauses, work in flight. */
export interface HealerStatus {
  instanceId: string;
  running: boolean;
  dryRun: boolean;
  /** Whether the state store answered the last call. */
  storeAvailable: boolean;
  pauses: PauseEntry[];
  rules: RuleStatus[];
  inFlight: { rule: string; target: string }[];
}

/** Options of {@link Healer.pause}. */
export interface PauseOptions {
  /** Why (shown in status and audit). */
  reason?: string;
  /** Lift by itself after this long. Default: until resumed. */
  for?: Duration;
}

/** The healer's own health: is its loop ticking, can it reach its state store. */
export interface HealerHeartbeat {
  /** Between `start()` and `stop()`. */
  running: boolean;
  /** Epoch ms at which the last tick ended, `undefined` before the first. */
  lastTickAt: number | undefined;
  /** Evaluation interval in ms. */
  everyMs: number;
  /** Whether the state store answered the last call. */
  storeAvailable: boolean;
}

/** A running healer. */
export interface Healer extends EventSource<HealerEvents> {
  /** This healer's identity (lock owner). */
  readonly instanceId: string;
  /** The healer's own health, read without I/O (for {@link healerProbe}). */
  readonly heartbeat: HealerHeartbeat;
  /** Starts the evaluation loop. Idempotent. */
  start(): void;
  /** Evaluates every rule now (single-flight with the loop); remediation it starts runs in the background. */
  tick(): Promise<void>;
  /** Resolves when no step, verify or close is running on this healer. */
  idle(): Promise<void>;
  /** Pauses healing for a scope, for every instance sharing the store: `{}` all, `{ rule }`, `{ target }`, both. */
  pause(scope?: PauseScope, options?: PauseOptions): Promise<void>;
  /** Lifts the pause of exactly this scope. */
  resume(scope?: PauseScope): Promise<boolean>;
  /** Rules, targets, rails, pauses and work in flight. */
  status(): Promise<HealerStatus>;
  /** Stops the loop, aborts steps in flight (their signal), awaits them, runs pending reverts. Idempotent. */
  stop(): Promise<void>;
}

interface Lease {
  fencingToken: number;
  signal: AbortSignal;
  release(): Promise<void>;
}

interface KeyRuntime {
  rule: ResolvedRule;
  target: string;
  key: string;
  condition: SustainedCondition;
  lastSample: ConditionSample | undefined;
  inFlight: Promise<void> | undefined;
  lastSkip: SkipReason | undefined;
  /** This healer saw an episode open for the key (so it tries to close it when the condition clears). */
  episodeKnown: boolean;
  lastActionAt: number | undefined;
}

interface PendingRevert {
  action: HealingAction;
  context: ActionContext;
  timer: TimerHandle | undefined;
}

const FLEET_TARGET = '*fleet*';

/**
 * Creates a healer: rules whose condition held `for` a while open an episode per target; the episode climbs the
 * ladder (action → settle → mandatory verify → next step), under the rails — pause, warm-up, cooldown, attempt
 * cap, kubelet-shaped backoff, flap detection, the fleet rule (everyone unhealthy = shared cause: escalate, do not
 * act), and one lock per (rule, target) with a fencing token and the fleet disruption budget checked atomically.
 * Every decision goes to the audit trail under one episode id; escalations go to `alerts` as core `OpsAlert`s.
 * When the state store cannot be reached, the healer does not act (fail safe) and says so once, then recovers.
 *
 * @example
 * ```ts
 * const healer = createHealer({
 *   rules: [{
 *     name: 'memory',
 *     when: thresholdCondition({ signal: createHeapUsedRatioSignal(), above: 0.85 }),
 *     for: '10m',
 *     ladder: [{ action: clearCaches }, { action: runGc() }, { action: exitProcess() }],
 *   }],
 *   store: createRedisHealingStore({ redis }),
 *   alerts: (alert) => incidents.ingestAlert(alert),
 * });
 * healer.on('episode.escalated', (event) => logger.warn(event, 'healing escalated'));
 * // on shutdown
 * await healer.stop();
 * ```
 */
export function createHealer(options: HealerOptions): Healer {
  const { clock = systemClock, random = Math.random, dryRun: globalDryRun = false, autoStart = true } = options;
  const logger = guardLogger(options.logger ?? silentLogger);
  const everyMs = parseOptionalDuration(options.every, 'every') ?? 10_000;
  const lockTtlMs = parseOptionalDuration(options.lockTtl, 'lockTtl') ?? 30_000;
  const storeTimeoutMs = parseOptionalDuration(options.storeTimeout, 'storeTimeout') ?? 5_000;
  const sampleTimeoutMs = parseOptionalDuration(options.sampleTimeout, 'sampleTimeout') ?? everyMs;
  const stateTtlMs = parseOptionalDuration(options.stateTtl, 'stateTtl') ?? 24 * 3_600_000;
  const instanceId = options.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  if (!Array.isArray(options.rules)) throw new HealingError('RULE_INVALID', 'createHealer: rules must be an array');
  const rules = options.rules.map((rule, index) => resolveRule(rule, index, everyMs));
  const names = new Set<string>();
  for (const rule of rules) {
    if (names.has(rule.name)) throw new HealingError('RULE_INVALID', `rules: the name "${rule.name}" is used twice`);
    names.add(rule.name);
  }
  const store = options.store ?? createMemoryHealingStore({ clock });
  const audit = options.audit ?? createMemoryAuditStore();
  const events = createEmitter<HealerEvents>({ logger, source: 'healer' });
  const startedAt = clock.now();
  const stopController = new AbortController();
  // rule name → target → runtime: a tick touches only its rule's targets (no scan of every key per rule).
  const runtimes = new Map<string, Map<string, KeyRuntime>>();
  const allRuntimes = () => [...runtimes.values()].flatMap((byTarget) => [...byTarget.values()]);
  const sharedCause = new Map<string, boolean>();
  const inFlight = new Set<Promise<void>>();
  const pendingReverts = new Set<PendingRevert>();
  let pauses: PauseEntry[] = [];
  let storeAvailable = true;
  let stopped = false;

  const dryRunOf = (rule: ResolvedRule) => rule.dryRun ?? globalDryRun;

  // ---------------------------------------------------------------- store access: deadline, fail safe, one log line
  const guarded = async <T>(operation: string, work: () => Promise<T>): Promise<T> => {
    try {
      const result = await withDeadline(() => work(), {
        timeoutMs: storeTimeoutMs,
        clock,
        label: `healing state store ${operation}`,
      });
      if (!storeAvailable) {
        storeAvailable = true;
        logger.info({ instanceId }, 'healing state store answers again; healing resumes');
        events.emit('store.recovered', { at: clock.now() });
      }
      return result;
    } catch (error) {
      const message = safeErrorMessage(error);
      if (storeAvailable) {
        logger.error(
          { instanceId, operation, error: message },
          'healing state store unavailable: not acting (fail safe) until it answers again',
        );
      }
      storeAvailable = false;
      events.emit('store.failed', { at: clock.now(), operation, error: message });
      throw new HealingError('STORE_UNAVAILABLE', `state store ${operation} failed: ${message}`, {
        cause: error,
        isRetryable: true,
      });
    }
  };

  const record = async (entry: Omit<AuditRecord, 'at' | 'instanceId'> & { at?: number }): Promise<void> => {
    // Trigger values, action data and details may carry secrets (connection strings): redacted before storing.
    const full: AuditRecord = {
      at: clock.now(),
      instanceId,
      ...entry,
      ...(entry.trigger === undefined ? {} : { trigger: redact(entry.trigger) }),
      ...(entry.data === undefined ? {} : { data: redact(entry.data) }),
      ...(entry.detail === undefined ? {} : { detail: redact(entry.detail) }),
    };
    try {
      await withDeadline(() => audit.append(full), { timeoutMs: storeTimeoutMs, clock, label: 'audit append' });
    } catch (error) {
      logger.warn({ rule: entry.rule, target: entry.target, error: safeErrorMessage(error) }, 'audit append failed');
    }
  };

  const sendAlert = async (alert: OpsAlert): Promise<void> => {
    if (!options.alerts) return;
    try {
      await withDeadline(() => options.alerts!(alert), { timeoutMs: storeTimeoutMs, clock, label: 'alert sink' });
    } catch (error) {
      logger.error({ key: alert.key, error: safeErrorMessage(error) }, 'healing alert sink failed');
    }
  };

  const alertOf = (
    rule: ResolvedRule,
    target: string,
    status: 'firing' | 'resolved',
    reason: string,
    episodeId: string,
    startsAt: number,
    detail: string,
  ): OpsAlert => {
    const key = target === FLEET_TARGET ? `healing:${rule.name}:shared-cause` : `healing:${rule.name}:${target}`;
    const where = target === FLEET_TARGET ? 'across the fleet' : `on ${target}`;
    const summary =
      status === 'firing' ? `${rule.summary} ${where}: ${reason} — ${detail}` : `${rule.summary} ${where}: cleared`;
    return {
      key: key.slice(0, 255),
      status,
      severity: rule.severity,
      summary: summary.slice(0, 1024),
      source: 'healing',
      labels: { rule: rule.name, target, reason },
      annotations: { episodeId, instanceId, detail: detail.slice(0, 1024) },
      startsAt,
      ...(status === 'resolved' ? { endsAt: Math.max(startsAt, clock.now()) } : {}),
    };
  };

  // ---------------------------------------------------------------- runtime per (rule, target)
  const runtimeOf = (rule: ResolvedRule, target: string): KeyRuntime => {
    let byTarget = runtimes.get(rule.name);
    if (!byTarget) runtimes.set(rule.name, (byTarget = new Map()));
    let runtime = byTarget.get(target);
    if (!runtime) {
      const key = railKey(rule.name, target);
      runtime = {
        rule,
        target,
        key,
        condition: createSustainedCondition({ for: rule.forMs, clock, name: `${rule.name}/${target}`, logger }),
        lastSample: undefined,
        inFlight: undefined,
        lastSkip: undefined,
        episodeKnown: false,
        lastActionAt: undefined,
      };
      byTarget.set(target, runtime);
    }
    return runtime;
  };

  const launch = (runtime: KeyRuntime, work: () => Promise<void>) => {
    const promise: Promise<void> = work()
      .catch((error: unknown) => {
        if (HealingError.hasCode(error, 'STORE_UNAVAILABLE')) {
          noteSkip(runtime, 'store-unavailable', safeErrorMessage(error));
          return;
        }
        if (HealingError.hasCode(error, 'LOCK_LOST')) {
          noteSkip(runtime, 'lock-lost', safeErrorMessage(error));
          return;
        }
        logger.error(
          { rule: runtime.rule.name, target: runtime.target, error: safeErrorMessage(error) },
          'healing failed',
        );
      })
      .finally(() => {
        runtime.inFlight = undefined;
        inFlight.delete(promise);
      });
    runtime.inFlight = promise;
    inFlight.add(promise);
  };

  const noteSkip = (runtime: KeyRuntime, reason: SkipReason, detail?: string, episodeId?: string) => {
    if (runtime.lastSkip === reason) return;
    runtime.lastSkip = reason;
    const at = clock.now();
    events.emit('action.skipped', {
      at,
      rule: runtime.rule.name,
      target: runtime.target,
      reason,
      ...(detail === undefined ? {} : { detail }),
      ...(episodeId === undefined ? {} : { episodeId }),
    });
    void record({
      at,
      kind: 'action.skipped',
      rule: runtime.rule.name,
      target: runtime.target,
      ...(episodeId === undefined ? {} : { episodeId }),
      decision: 'skip',
      reason,
      result: 'skipped',
      ...(detail === undefined ? {} : { detail }),
    });
  };

  /** One deadline shared by every sample of a tick: one timer and one AbortSignal per tick, not per sample. */
  interface TickDeadline {
    signal: AbortSignal;
    expired: Promise<never>;
    cancel(): void;
  }
  const tickDeadline = (): TickDeadline => {
    const controller = new AbortController();
    let fail: (error: unknown) => void = () => undefined;
    const expired = new Promise<never>((_, reject) => (fail = reject));
    expired.catch(() => undefined);
    const timer = clock.setTimeout(() => {
      const error = new TimeoutError(`condition samples timed out after ${sampleTimeoutMs}ms`, sampleTimeoutMs);
      controller.abort(error);
      fail(error);
    }, sampleTimeoutMs);
    return { signal: controller.signal, expired, cancel: () => timer.cancel() };
  };

  const sample = async (
    rule: ResolvedRule,
    target: string,
    signal?: AbortSignal,
    deadline?: TickDeadline,
  ): Promise<ConditionSample | undefined> => {
    try {
      const result = deadline
        ? await Promise.race([rule.condition.sample(target, deadline.signal), deadline.expired])
        : await withDeadline((own) => rule.condition.sample(target, own), {
            timeoutMs: sampleTimeoutMs,
            clock,
            label: `condition of ${rule.name} on ${target}`,
            ...(signal === undefined ? {} : { signal }),
          });
      return result && typeof result.active === 'boolean' ? result : undefined;
    } catch (error) {
      if (signal?.aborted) throw error;
      logger.debug({ rule: rule.name, target, error: safeErrorMessage(error) }, 'condition sample missing');
      return undefined;
    }
  };

  const inWarmup = async (rule: ResolvedRule, runtime: KeyRuntime, now: number): Promise<boolean> => {
    if (rule.warmupMs <= 0) return false;
    if (now < startedAt + rule.warmupMs) return true;
    if (runtime.lastActionAt !== undefined && now < runtime.lastActionAt + rule.warmupMs) return true;
    if (rule.targetStartedAt) {
      try {
        const started = await rule.targetStartedAt(runtime.target);
        if (started !== undefined && now < started + rule.warmupMs) return true;
      } catch (error) {
        logger.debug({ rule: rule.name, error: safeErrorMessage(error) }, 'targetStartedAt failed');
      }
    }
    return false;
  };

  // ---------------------------------------------------------------- locks
  const takeLock = async (
    runtime: KeyRuntime,
    key: string,
    budget: { scope: string; max: number } | undefined,
  ): Promise<Lease | undefined> => {
    const result = await guarded('acquire', () =>
      store.acquire({ key, owner: instanceId, ttlMs: lockTtlMs, ...(budget ? { budget } : {}) }),
    );
    if (!result.granted) {
      if (result.reason === 'budget')
        noteSkip(
          runtime,
          'budget-exhausted',
          `${result.inRemediation ?? '?'} of at most ${budget?.max} in remediation`,
        );
      else noteSkip(runtime, 'lock-held', `held by ${result.holder ?? 'another healer'}`);
      return undefined;
    }
    const { fencingToken } = result;
    const controller = new AbortController();
    let expiresAt = clock.now() + lockTtlMs;
    const lose = (why: string) => {
      if (controller.signal.aborted) return;
      logger.warn({ key, instanceId, fencingToken, why }, 'healing lock lost: aborting the step');
      controller.abort(new HealingError('LOCK_LOST', `lock of ${key} lost (${why})`));
    };
    const onStop = () => controller.abort(new HealingError('ABORTED', 'healer stopped'));
    stopController.signal.addEventListener('abort', onStop, { once: true });
    if (stopController.signal.aborted) onStop();
    const renewer = createPeriodicTask({
      name: 'healing-lock-renew',
      every: Math.max(1, Math.floor(lockTtlMs / 3)),
      clock,
      run: async () => {
        try {
          const next = await guarded('renew', () => store.renew(key, instanceId, fencingToken, lockTtlMs));
          if (next) expiresAt = clock.now() + lockTtlMs;
          else lose('the store no longer has it for this holder');
        } catch (error) {
          if (clock.now() >= expiresAt) lose(`renewal failed past expiry: ${safeErrorMessage(error)}`);
        }
      },
    });
    renewer.start();
    return {
      fencingToken,
      signal: controller.signal,
      async release() {
        stopController.signal.removeEventListener('abort', onStop);
        await renewer.stop();
        try {
          await guarded('release', () => store.release(key, instanceId, fencingToken));
        } catch {
          // logged by guarded; the lease expires by itself
        }
      },
    };
  };

  const writeState = async (key: string, state: RailState, lease: Lease): Promise<void> => {
    const written = await guarded('putState', () =>
      store.putState(key, state, { fencingToken: lease.fencingToken, ttlMs: stateTtlMs }),
    );
    if (!written)
      throw new HealingError('LOCK_LOST', `a newer holder took ${key}: fencing token ${lease.fencingToken} refused`);
  };

  const budgetFor = (rule: ResolvedRule, fleetSize: number): number => {
    const caps: number[] = [];
    if (rule.budget.max !== undefined) caps.push(rule.budget.max);
    if (rule.budget.maxShare !== undefined) caps.push(Math.max(1, Math.floor(rule.budget.maxShare * fleetSize)));
    return Math.min(...caps);
  };

  // ---------------------------------------------------------------- gates
  type Gate = { kind: 'go' } | { kind: 'wait' } | { kind: 'skip'; reason: SkipReason; detail: string };
  const gateOf = (state: RailState, now: number): Gate => {
    const episode = state.episode;
    if (episode?.escalated || episode?.dryRunReported) return { kind: 'wait' };
    if (!episode && state.cooldownUntil !== undefined && now < state.cooldownUntil)
      return { kind: 'skip', reason: 'cooldown', detail: `cooling down for ${state.cooldownUntil - now} ms` };
    if (state.nextActionAt !== undefined && now < state.nextActionAt)
      return { kind: 'skip', reason: 'backoff', detail: `backing off for ${state.nextActionAt - now} ms` };
    return { kind: 'go' };
  };

  // ---------------------------------------------------------------- escalation
  const escalate = async (
    runtime: KeyRuntime,
    state: RailState,
    lease: Lease,
    reason: EscalationReason,
    detail: string,
  ): Promise<void> => {
    const { rule, target } = runtime;
    const episode = state.episode!;
    episode.escalated = reason;
    await writeState(runtime.key, state, lease);
    const at = clock.now();
    events.emit('episode.escalated', { at, rule: rule.name, target, episodeId: episode.id, reason, detail });
    await record({
      at,
      kind: 'episode.escalated',
      rule: rule.name,
      target,
      episodeId: episode.id,
      decision: 'escalate',
      reason,
      detail,
      holder: { owner: instanceId, fencingToken: lease.fencingToken },
    });
    await sendAlert(alertOf(rule, target, 'firing', reason, episode.id, episode.openedAt, detail));
    if (reason === 'ladder-exhausted' && rule.rollback && !dryRunOf(rule)) {
      const outcome = await runAction(runtime, rule.rollback, 30_000, lease, episode.id, episode.trigger);
      await record({
        kind: 'rollback.completed',
        rule: rule.name,
        target,
        episodeId: episode.id,
        decision: 'rollback',
        action: { kind: rule.rollback.kind, name: rule.rollback.name, step: rule.ladder.length, run: 1 },
        result: outcome.result,
        ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
        holder: { owner: instanceId, fencingToken: lease.fencingToken },
      });
    }
  };

  // ---------------------------------------------------------------- actions and verify
  const runAction = async (
    runtime: KeyRuntime,
    action: HealingAction,
    timeoutMs: number,
    lease: Lease,
    episodeId: string,
    trigger: Record<string, unknown>,
  ): Promise<{ result: ActionResult; detail?: string; data?: Record<string, unknown>; context: ActionContext }> => {
    const context: ActionContext = {
      signal: lease.signal,
      rule: runtime.rule.name,
      target: runtime.target,
      episodeId,
      fencingToken: lease.fencingToken,
      trigger,
      clock,
      logger,
    };
    try {
      const outcome = await withDeadline((signal) => action.run({ ...context, signal }), {
        timeoutMs,
        clock,
        signal: lease.signal,
        label: `action ${action.name}`,
      });
      if (outcome?.skipped !== undefined)
        return {
          result: 'skipped',
          detail: outcome.skipped,
          ...(outcome.data === undefined ? {} : { data: outcome.data }),
          context,
        };
      return {
        result: 'ok',
        ...(outcome?.detail === undefined ? {} : { detail: outcome.detail }),
        ...(outcome?.data === undefined ? {} : { data: outcome.data }),
        context,
      };
    } catch (error) {
      const timedOut = TimeoutError.isInstance(error) && !lease.signal.aborted;
      return { result: timedOut ? 'timed-out' : 'failed', detail: safeErrorMessage(error), context };
    }
  };

  const verify = async (
    runtime: KeyRuntime,
    step: ResolvedStep,
    signal: AbortSignal,
  ): Promise<{ passed: boolean; detail: string }> => {
    const { rule, target } = runtime;
    const plan = step.verify;
    try {
      return await withDeadline(
        async (deadline) => {
          if (plan.method === 'check') {
            const result = await resolveCheck(plan.check, target)(deadline);
            return {
              passed: result.status !== 'fail',
              detail: `check ${result.status}${result.output ? `: ${result.output}` : ''}`,
            };
          }
          let clear = 0;
          for (let index = 0; clear < plan.clearSamples; index++) {
            if (index > 0) await clock.sleep(plan.everyMs, deadline);
            const current = await sample(rule, target, deadline);
            if (current?.active)
              return { passed: false, detail: `condition still holds at verify sample ${index + 1}` };
            if (current) clear++;
          }
          return { passed: true, detail: `condition clear for ${plan.clearSamples} samples` };
        },
        { timeoutMs: plan.timeoutMs, clock, signal, label: `verify of ${rule.name} on ${target}` },
      );
    } catch (error) {
      if (TimeoutError.isInstance(error) && !signal.aborted)
        return { passed: false, detail: `verify timed out after ${plan.timeoutMs} ms (counts as failed)` };
      return { passed: false, detail: `verify failed: ${safeErrorMessage(error)}` };
    }
  };

  const runRevert = async (pending: PendingRevert): Promise<void> => {
    pendingReverts.delete(pending);
    pending.timer?.cancel();
    const { action, context } = pending;
    let result: 'ok' | 'failed' = 'ok';
    let detail: string | undefined;
    try {
      const outcome = await withDeadline((signal) => action.revert!({ ...context, signal }), {
        timeoutMs: 30_000,
        clock,
        label: `revert of ${action.name}`,
      });
      detail = outcome?.detail;
    } catch (error) {
      result = 'failed';
      detail = safeErrorMessage(error);
    }
    const at = clock.now();
    events.emit('action.reverted', {
      at,
      rule: context.rule,
      target: context.target,
      episodeId: context.episodeId,
      action: action.name,
      result,
      ...(detail === undefined ? {} : { detail }),
    });
    await record({
      at,
      kind: 'action.reverted',
      rule: context.rule,
      target: context.target,
      episodeId: context.episodeId,
      decision: 'revert',
      action: { kind: action.kind, name: action.name, step: -1, run: 1 },
      result,
      ...(detail === undefined ? {} : { detail }),
    });
  };

  const scheduleRevert = (action: HealingAction, context: ActionContext) => {
    if (!action.revert) return;
    const pending: PendingRevert = { action, context: { ...context, signal: stopController.signal }, timer: undefined };
    pendingReverts.add(pending);
    if (action.revertAfterMs !== undefined) {
      pending.timer = clock.setTimeout(() => {
        const promise = runRevert(pending).finally(() => inFlight.delete(promise));
        inFlight.add(promise);
      }, action.revertAfterMs);
    }
  };

  const revertEpisode = async (episodeId: string) => {
    for (const pending of [...pendingReverts])
      if (pending.context.episodeId === episodeId && pending.action.revertAfterMs === undefined)
        await runRevert(pending);
  };

  // ---------------------------------------------------------------- one step of an episode, under the lock
  const closeUnderLock = async (
    runtime: KeyRuntime,
    state: RailState,
    lease: Lease,
    outcome: 'healed' | 'cleared',
  ): Promise<void> => {
    const { rule, target } = runtime;
    const episode = state.episode;
    if (!episode) return;
    delete state.episode;
    await writeState(runtime.key, state, lease);
    const final =
      outcome === 'healed'
        ? 'healed'
        : episode.escalated
          ? 'escalated'
          : episode.dryRunReported
            ? 'dry-run'
            : 'cleared';
    const at = clock.now();
    events.emit('episode.closed', { at, rule: rule.name, target, episodeId: episode.id, outcome: final });
    await record({
      at,
      kind: 'episode.closed',
      rule: rule.name,
      target,
      episodeId: episode.id,
      decision: 'close',
      reason: final,
      holder: { owner: instanceId, fencingToken: lease.fencingToken },
    });
    if (episode.escalated)
      await sendAlert(alertOf(rule, target, 'resolved', episode.escalated, episode.id, episode.openedAt, 'cleared'));
    runtime.episodeKnown = false;
    runtime.lastSkip = undefined;
    await revertEpisode(episode.id);
  };

  const actUnderLock = async (runtime: KeyRuntime, state: RailState, lease: Lease): Promise<void> => {
    const { rule, target, key } = runtime;
    let now = clock.now();
    const gate = gateOf(state, now);
    if (gate.kind === 'wait') return;
    if (gate.kind === 'skip') return noteSkip(runtime, gate.reason, gate.detail, state.episode?.id);
    const dryRun = dryRunOf(rule);
    state.attempts = state.attempts.filter((at) => at > now - rule.attemptWindowMs);
    state.flaps = state.flaps.filter((at) => at > now - rule.flapWindowMs);
    const holder = { owner: instanceId, fencingToken: lease.fencingToken };
    if (!state.episode) {
      if (state.lastActionAt !== undefined && now - state.lastActionAt >= rule.backoff.resetAfterMs)
        state.backoffLevel = 0;
      const trigger: Record<string, unknown> = {
        ...(runtime.lastSample?.values ?? {}),
        ...(runtime.lastSample?.value === undefined ? {} : { value: runtime.lastSample.value }),
        forMs: rule.forMs,
        ...(runtime.condition.activeSince === undefined ? {} : { activeSince: runtime.condition.activeSince }),
      };
      state.episode = { id: randomUUID(), openedAt: now, step: 0, stepRuns: 0, terminalRun: [], trigger };
      state.flaps.push(now);
      await writeState(key, state, lease);
      runtime.episodeKnown = true;
      events.emit('episode.opened', { at: now, rule: rule.name, target, episodeId: state.episode.id, trigger, dryRun });
      await record({
        at: now,
        kind: 'episode.opened',
        rule: rule.name,
        target,
        episodeId: state.episode.id,
        decision: dryRun ? 'would-run' : 'act',
        trigger,
        holder,
        ...(dryRun ? { dryRun } : {}),
      });
      if (state.flaps.length > rule.flapMax)
        return escalate(
          runtime,
          state,
          lease,
          'flapping',
          `${state.flaps.length} episodes in ${rule.flapWindowMs} ms (more than ${rule.flapMax})`,
        );
    }
    const episode = state.episode;
    runtime.episodeKnown = true;
    if (!dryRun && state.attempts.length >= rule.attemptCount)
      return escalate(
        runtime,
        state,
        lease,
        'attempts-exhausted',
        `${state.attempts.length} actions in ${rule.attemptWindowMs} ms (cap ${rule.attemptCount})`,
      );
    // Skip terminal steps already run in this episode.
    while (episode.step < rule.ladder.length && episode.terminalRun.includes(episode.step)) episode.step++;
    if (episode.step >= rule.ladder.length)
      return escalate(runtime, state, lease, 'ladder-exhausted', 'every step ran and none verified');
    const stepIndex = episode.step;
    const step = rule.ladder[stepIndex]!;
    const action = step.action;
    if (dryRun) {
      episode.dryRunReported = true;
      await writeState(key, state, lease);
      events.emit('step.completed', {
        at: now,
        rule: rule.name,
        target,
        episodeId: episode.id,
        step: stepIndex,
        action: action.name,
        kind: action.kind,
        result: 'would-run',
        detail: `would run ${action.name}`,
        durationMs: 0,
      });
      await record({
        at: now,
        kind: 'step.completed',
        rule: rule.name,
        target,
        episodeId: episode.id,
        decision: 'would-run',
        action: { kind: action.kind, name: action.name, step: stepIndex, run: episode.stepRuns + 1 },
        result: 'would-run',
        detail: `would run ${action.name}`,
        holder,
        dryRun: true,
      });
      return;
    }
    // Record the attempt before acting: a crash mid-action still counts it.
    episode.stepRuns++;
    if (action.terminal) episode.terminalRun.push(stepIndex);
    state.attempts.push(now);
    state.backoffLevel++;
    state.lastActionAt = now;
    // Provisional: a healer that dies mid-action still leaves a cooldown; extended from the end of the step below.
    state.cooldownUntil = now + rule.cooldownMs;
    state.nextActionAt = now + backoffDelay(rule, state.backoffLevel, random);
    await writeState(key, state, lease);
    runtime.lastSkip = undefined;
    runtime.lastActionAt = now;
    const run = episode.stepRuns;
    events.emit('step.started', {
      at: now,
      rule: rule.name,
      target,
      episodeId: episode.id,
      step: stepIndex,
      run,
      action: action.name,
      kind: action.kind,
      fencingToken: lease.fencingToken,
    });
    await record({
      at: now,
      kind: 'step.started',
      rule: rule.name,
      target,
      episodeId: episode.id,
      decision: 'act',
      action: { kind: action.kind, name: action.name, step: stepIndex, run },
      holder,
    });
    const outcome = await runAction(runtime, action, step.timeoutMs, lease, episode.id, episode.trigger);
    now = clock.now();
    events.emit('step.completed', {
      at: now,
      rule: rule.name,
      target,
      episodeId: episode.id,
      step: stepIndex,
      action: action.name,
      kind: action.kind,
      result: outcome.result,
      ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
      durationMs: now - (state.lastActionAt ?? now),
    });
    await record({
      at: now,
      kind: 'step.completed',
      rule: rule.name,
      target,
      episodeId: episode.id,
      decision: 'act',
      action: { kind: action.kind, name: action.name, step: stepIndex, run },
      result: outcome.result,
      ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
      ...(outcome.data === undefined ? {} : { data: outcome.data }),
      holder,
    });
    if (lease.signal.aborted) throw lease.signal.reason;
    if (outcome.result === 'ok') scheduleRevert(action, outcome.context);
    let verdict: { passed: boolean; detail: string } = { passed: false, detail: `step ${outcome.result}` };
    if (outcome.result === 'ok') {
      try {
        await clock.sleep(step.settleMs, lease.signal);
      } catch {
        throw lease.signal.reason;
      }
      verdict = await verify(runtime, step, lease.signal);
      if (lease.signal.aborted) throw lease.signal.reason;
      now = clock.now();
      events.emit('verify.completed', {
        at: now,
        rule: rule.name,
        target,
        episodeId: episode.id,
        step: stepIndex,
        passed: verdict.passed,
        method: step.verify.method,
        detail: verdict.detail,
      });
      await record({
        at: now,
        kind: 'verify.completed',
        rule: rule.name,
        target,
        episodeId: episode.id,
        action: { kind: action.kind, name: action.name, step: stepIndex, run },
        verify: { passed: verdict.passed, method: step.verify.method, detail: verdict.detail },
        holder,
      });
    }
    // The backoff and the cooldown count from the end of the step (action, settle and verify), like kubelet's
    // back-off from the container's exit: replicas still counting failures from before the fix must not act again
    // as soon as a cooldown counted from the start of a slow action ends. Written with the state below (close,
    // escalate or next step), so every replica reads this reference time from the store.
    const finishedAt = clock.now();
    state.nextActionAt = finishedAt + backoffDelay(rule, state.backoffLevel, random);
    state.cooldownUntil = finishedAt + rule.cooldownMs;
    runtime.lastActionAt = finishedAt;
    runtime.condition.reset();
    runtime.lastSample = undefined;
    if (verdict.passed) return closeUnderLock(runtime, state, lease, 'healed');
    if (episode.stepRuns >= step.runs) {
      episode.step++;
      episode.stepRuns = 0;
    }
    while (episode.step < rule.ladder.length && episode.terminalRun.includes(episode.step)) episode.step++;
    if (episode.step >= rule.ladder.length)
      return escalate(
        runtime,
        state,
        lease,
        'ladder-exhausted',
        `last step ${action.name}: ${outcome.result === 'ok' ? verdict.detail : `${outcome.result}: ${outcome.detail ?? ''}`}`,
      );
    await writeState(key, state, lease);
  };

  // ---------------------------------------------------------------- per key: remediate / close
  const remediate = async (runtime: KeyRuntime, budgetMax: number): Promise<void> => {
    const { rule, target, key } = runtime;
    const now = clock.now();
    const pause = findPause(pauses, rule.name, target, now);
    if (pause) return noteSkip(runtime, 'paused', pause.reason ?? 'paused');
    runtime.episodeKnown = true;
    const before = (await guarded('getState', () => store.getState(key))) ?? emptyRailState();
    if (
      rule.warmupMs > 0 &&
      before.lastActionAt !== undefined &&
      now < before.lastActionAt + rule.warmupMs &&
      runtime.lastActionAt !== before.lastActionAt
    ) {
      // Another instance acted on this target: warm up as if this one had.
      runtime.lastActionAt = before.lastActionAt;
      runtime.condition.reset();
      return;
    }
    const gate = gateOf(before, now);
    if (gate.kind === 'wait') return;
    if (gate.kind === 'skip') return noteSkip(runtime, gate.reason, gate.detail, before.episode?.id);
    const dryRun = dryRunOf(rule);
    const lease = await takeLock(runtime, key, dryRun ? undefined : { scope: rule.budget.scope, max: budgetMax });
    if (!lease) return;
    try {
      const state = (await guarded('getState', () => store.getState(key))) ?? emptyRailState();
      await actUnderLock(runtime, state, lease);
    } finally {
      await lease.release();
    }
  };

  const close = async (runtime: KeyRuntime): Promise<void> => {
    const before = await guarded('getState', () => store.getState(runtime.key));
    if (!before?.episode) {
      runtime.episodeKnown = false;
      return;
    }
    const lease = await takeLock(runtime, runtime.key, undefined);
    if (!lease) return;
    try {
      const state = (await guarded('getState', () => store.getState(runtime.key))) ?? emptyRailState();
      if (state.episode) await closeUnderLock(runtime, state, lease, 'cleared');
      else runtime.episodeKnown = false;
    } finally {
      await lease.release();
    }
  };

  // ---------------------------------------------------------------- the fleet rule
  const fleetRuntime = (rule: ResolvedRule) => runtimeOf(rule, FLEET_TARGET);

  const openSharedCause = async (rule: ResolvedRule, detail: string): Promise<void> => {
    const runtime = fleetRuntime(rule);
    const lease = await takeLock(runtime, runtime.key, undefined);
    if (!lease) return;
    try {
      const state = (await guarded('getState', () => store.getState(runtime.key))) ?? emptyRailState();
      if (state.episode?.escalated) return;
      const now = clock.now();
      state.episode = { id: randomUUID(), openedAt: now, step: 0, stepRuns: 0, terminalRun: [], trigger: { detail } };
      await writeState(runtime.key, state, lease);
      events.emit('episode.opened', {
        at: now,
        rule: rule.name,
        target: FLEET_TARGET,
        episodeId: state.episode.id,
        trigger: { detail },
        dryRun: dryRunOf(rule),
      });
      await record({
        at: now,
        kind: 'episode.opened',
        rule: rule.name,
        target: FLEET_TARGET,
        episodeId: state.episode.id,
        decision: 'escalate',
        trigger: { detail },
        holder: { owner: instanceId, fencingToken: lease.fencingToken },
      });
      await escalate(runtime, state, lease, 'shared-cause', detail);
    } finally {
      await lease.release();
    }
  };

  const evaluateRule = async (rule: ResolvedRule, canAct: boolean, deadline: TickDeadline): Promise<void> => {
    let targets: readonly string[];
    try {
      const source = rule.targets ?? ['process'];
      targets =
        typeof source === 'function'
          ? await withDeadline((signal) => source(signal), { timeoutMs: sampleTimeoutMs, clock, label: 'targets' })
          : source;
    } catch (error) {
      logger.warn({ rule: rule.name, error: safeErrorMessage(error) }, 'could not list the targets; skipping the rule');
      return;
    }
    const present = new Set(targets);
    for (const [target, runtime] of runtimes.get(rule.name) ?? [])
      if (target !== FLEET_TARGET && !present.has(target) && !runtime.inFlight) runtimes.get(rule.name)?.delete(target);
    const now = clock.now();
    const current = await Promise.all(
      [...present].map(async (target) => {
        const runtime = runtimeOf(rule, target);
        if (runtime.inFlight) return { runtime, unhealthy: true };
        if (await inWarmup(rule, runtime, now)) {
          runtime.condition.reset();
          runtime.lastSample = undefined;
          return { runtime, unhealthy: false };
        }
        const result = await sample(rule, target, undefined, deadline);
        runtime.lastSample = result;
        runtime.condition.update(result?.active === true, result?.value);
        return { runtime, unhealthy: result?.active === true };
      }),
    );
    if (stopped) return;
    let unhealthy = current.filter((entry) => entry.unhealthy).length;
    let fleetSize = current.length;
    if (rule.fleet?.scope === 'instances' && canAct) {
      try {
        const report = await guarded('report', () =>
          store.report(rule.name, instanceId, unhealthy > 0, Math.max(3 * everyMs, 3 * sampleTimeoutMs)),
        );
        unhealthy = report.active;
        fleetSize = report.total;
      } catch {
        canAct = false;
      }
    }
    if (!canAct) {
      for (const { runtime } of current)
        if (runtime.condition.state === 'firing' && !runtime.inFlight) noteSkip(runtime, 'store-unavailable');
      return;
    }
    const fleet = rule.fleet;
    const shared =
      fleet !== undefined && fleetSize >= fleet.minFleetSize && unhealthy / fleetSize > fleet.maxUnhealthyShare;
    if (shared) {
      const detail = `${unhealthy} of ${fleetSize} ${fleet.scope} show the condition (more than ${fleet.maxUnhealthyShare * 100}%): shared cause, not acting`;
      for (const { runtime } of current)
        if (runtime.condition.state === 'firing' && !runtime.inFlight) noteSkip(runtime, 'shared-cause', detail);
      const fleetKey = fleetRuntime(rule);
      // Acting is blocked at once; a human is paged only when a condition has held `for` (not on a fleet-wide blip).
      const held = current.some(({ runtime }) => runtime.condition.state === 'firing');
      if (held && !sharedCause.get(rule.name) && !fleetKey.inFlight) {
        sharedCause.set(rule.name, true);
        launch(fleetKey, () =>
          openSharedCause(rule, detail).catch((error: unknown) => {
            sharedCause.delete(rule.name);
            throw error;
          }),
        );
      }
      return;
    }
    if (sharedCause.get(rule.name)) {
      const fleetKey = fleetRuntime(rule);
      if (!fleetKey.inFlight) {
        sharedCause.delete(rule.name);
        fleetKey.lastSample = { active: false };
        launch(fleetKey, () => close(fleetKey));
      }
    }
    const budgetMax = budgetFor(rule, fleetSize);
    for (const { runtime } of current) {
      if (runtime.inFlight) continue;
      if (runtime.condition.state === 'firing') {
        launch(runtime, () => remediate(runtime, budgetMax));
      } else if (runtime.episodeKnown && runtime.lastSample && !runtime.lastSample.active) {
        runtime.lastSkip = undefined;
        launch(runtime, () => close(runtime));
      } else if (runtime.condition.state === 'inactive') {
        runtime.lastSkip = undefined;
      }
    }
  };

  let lastTickAt: number | undefined;
  const tickOnce = async (): Promise<void> => {
    if (stopped) return;
    let canAct = true;
    try {
      pauses = await guarded('listPauses', () => store.listPauses());
    } catch {
      canAct = false;
    }
    const deadline = tickDeadline();
    try {
      await Promise.all(
        rules.map((rule) =>
          evaluateRule(rule, canAct, deadline).catch((error: unknown) =>
            logger.error({ rule: rule.name, error: safeErrorMessage(error) }, 'rule evaluation failed'),
          ),
        ),
      );
    } finally {
      deadline.cancel();
      lastTickAt = clock.now();
    }
  };

  const loop = createPeriodicTask({ name: 'healer', every: everyMs, clock, logger, run: () => tickOnce() });
  if (autoStart) loop.start();

  return {
    instanceId,
    get heartbeat(): HealerHeartbeat {
      return { running: loop.started && !stopped, lastTickAt, everyMs, storeAvailable };
    },
    on: events.on,
    start: () => {
      if (!stopped) loop.start();
    },
    tick: () => loop.runNow(),
    async idle() {
      for (let round = 0; round < 1_000 && inFlight.size > 0; round++) await Promise.allSettled([...inFlight]);
    },
    async pause(scope = {}, pauseOptions = {}) {
      const now = clock.now();
      const forMs = parseOptionalDuration(pauseOptions.for, 'for');
      const entry: PauseEntry = {
        ...scope,
        at: now,
        by: instanceId,
        ...(pauseOptions.reason === undefined ? {} : { reason: pauseOptions.reason }),
        ...(forMs === undefined ? {} : { until: now + forMs }),
      };
      await guarded('pause', () => store.pause(entry));
      pauses = [...pauses.filter((p) => p.rule !== scope.rule || p.target !== scope.target), entry];
      await record({
        kind: 'action.skipped',
        rule: scope.rule ?? '*',
        target: scope.target ?? '*',
        decision: 'pause',
        reason: 'paused',
        ...(pauseOptions.reason === undefined ? {} : { detail: pauseOptions.reason }),
      });
    },
    async resume(scope = {}) {
      const lifted = await guarded('resume', () => store.resume(scope));
      pauses = pauses.filter((p) => p.rule !== scope.rule || p.target !== scope.target);
      return lifted;
    },
    async status() {
      let currentPauses = pauses;
      try {
        currentPauses = await guarded('listPauses', () => store.listPauses());
      } catch {
        // reported through storeAvailable
      }
      const ruleStatuses: RuleStatus[] = [];
      for (const rule of rules) {
        const targets: TargetStatus[] = [];
        for (const runtime of runtimes.get(rule.name)?.values() ?? []) {
          if (runtime.target === FLEET_TARGET) continue;
          let rails: RailState | undefined;
          try {
            rails = await guarded('getState', () => store.getState(runtime.key));
          } catch {
            rails = undefined;
          }
          targets.push({
            target: runtime.target,
            condition: runtime.condition.state,
            ...(runtime.lastSample?.value === undefined ? {} : { value: runtime.lastSample.value }),
            inFlight: runtime.inFlight !== undefined,
            ...(rails === undefined ? {} : { rails }),
          });
        }
        ruleStatuses.push({
          name: rule.name,
          dryRun: dryRunOf(rule),
          sharedCause: sharedCause.get(rule.name) === true,
          targets,
        });
      }
      return {
        instanceId,
        running: loop.started && !stopped,
        dryRun: globalDryRun,
        storeAvailable,
        pauses: currentPauses,
        rules: ruleStatuses,
        inFlight: allRuntimes()
          .filter((runtime) => runtime.inFlight)
          .map((runtime) => ({ rule: runtime.rule.name, target: runtime.target })),
      };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await loop.stop();
      stopController.abort(new HealingError('ABORTED', 'healer stopped'));
      for (let round = 0; round < 1_000 && inFlight.size > 0; round++) await Promise.allSettled([...inFlight]);
      for (const pending of [...pendingReverts]) await runRevert(pending);
    },
  };
}
