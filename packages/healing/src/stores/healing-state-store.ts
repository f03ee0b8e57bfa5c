/**
 * What a fleet of healers shares: per (rule, target) locks with fencing tokens, the fleet disruption budget checked
 * atomically with the lock, the rails' state (attempts, cooldowns, backoff level, flap history), pauses and the
 * condition reports of the instances. In memory for one process ({@link createMemoryHealingStore}), in Redis for a
 * fleet (`createRedisHealingStore`); both pass `healingStoreContract` from `@ops/healing/testing`.
 */
export interface HealingStateStore {
  /**
   * Takes the lock `key` for `owner` for `ttlMs` when it is free AND, when `budget` is given, fewer than
   * `budget.max` locks of `budget.scope` are held — both checked and taken in one atomic step. Every grant carries
   * a fencing token larger than every token issued before for this key.
   */
  acquire(request: HealingLockRequest): Promise<HealingLockResult>;
  /** Extends the lock (and its budget slot) when `owner` still holds it with `fencingToken`; else `undefined`. */
  renew(key: string, owner: string, fencingToken: number, ttlMs: number): Promise<HealingLockGrant | undefined>;
  /** Frees the lock and its budget slot when `owner` holds it with `fencingToken`; otherwise does nothing. */
  release(key: string, owner: string, fencingToken: number): Promise<void>;
  /** Whether `fencingToken` is the newest token issued for `key` (a stale holder gets `false`). */
  checkFence(key: string, fencingToken: number): Promise<boolean>;
  /** Rails state of one (rule, target), `undefined` when none (never written or expired). */
  getState(key: string): Promise<RailState | undefined>;
  /**
   * Writes the rails state of `key`, kept for `ttlMs`. Refused (returns `false`, writes nothing) when a newer
   * fencing token than `fencingToken` has been issued for `key`: a stale holder cannot overwrite its successor.
   */
  putState(key: string, state: RailState, write: { fencingToken: number; ttlMs: number }): Promise<boolean>;
  /** Pauses healing for a scope (global, a rule, a target, or a rule's target), visible to every instance. */
  pause(entry: PauseEntry): Promise<void>;
  /** Lifts the pause of exactly this scope. Returns whether there was one. */
  resume(scope: PauseScope): Promise<boolean>;
  /** The pauses in force (expired ones are left out). */
  listPauses(): Promise<PauseEntry[]>;
  /**
   * Records that `reporter` (an instance) currently does / does not show the condition of `group` (a rule), for
   * `ttlMs`, and returns how many live reporters show it out of how many report at all.
   */
  report(group: string, reporter: string, active: boolean, ttlMs: number): Promise<FleetReport>;
  /** How many locks of a budget scope are held now. */
  inRemediation(scope: string): Promise<number>;
}

/** Arguments of {@link HealingStateStore.acquire}. */
export interface HealingLockRequest {
  /** Lock key, usually {@link railKey}(rule, target). */
  key: string;
  /** Holder identity (the healer's instance id). */
  owner: string;
  /** Lease time in milliseconds. */
  ttlMs: number;
  /** Fleet disruption budget: at most `max` locks of `scope` at once (checked atomically with the lock). */
  budget?: { scope: string; max: number };
}

/** A granted lock. */
export interface HealingLockGrant {
  fencingToken: number;
  /** Epoch ms at which the lease ends unless renewed (store time). */
  expiresAt: number;
}

/** Outcome of {@link HealingStateStore.acquire}. */
export type HealingLockResult =
  | ({ granted: true } & HealingLockGrant)
  | {
      granted: false;
      /** `held`: another holder has the key; `budget`: the scope's disruption budget is used up. */
      reason: 'held' | 'budget';
      /** Owner of the lock when `held`. */
      holder?: string;
      /** Locks of the scope held when `budget`. */
      inRemediation?: number;
    };

/** The rails state of one (rule, target); written only under its lock, fenced. */
export interface RailState {
  /** The open episode, if any. */
  episode?: EpisodeState;
  /** Actions run so far without a clean reset (drives the backoff curve). */
  backoffLevel: number;
  /** Epoch ms of the last action. */
  lastActionAt?: number;
  /** No action before this (backoff). */
  nextActionAt?: number;
  /** No new episode acts before this (cooldown). */
  cooldownUntil?: number;
  /** Epoch ms of recent actions, for the attempt cap's sliding window. */
  attempts: number[];
  /** Epoch ms of recent episode openings, for flap detection. */
  flaps: number[];
}

/** The part of {@link RailState} describing an open episode. */
export interface EpisodeState {
  id: string;
  openedAt: number;
  /** Index of the ladder step to run next. */
  step: number;
  /** Runs of that step so far in this episode. */
  stepRuns: number;
  /** Steps (indexes) of terminal actions already run in this episode. */
  terminalRun: number[];
  /** Why the episode was escalated, once it was (then nothing more is done until the condition clears). */
  escalated?: string;
  /** The dry-run "would run" record was written; not repeated in this episode. */
  dryRunReported?: boolean;
  /** Trigger values that opened the episode. */
  trigger: Record<string, unknown>;
}

/** Scope of a pause: everything (`{}`), a rule, a target (of any rule), or a rule's target. */
export interface PauseScope {
  rule?: string;
  target?: string;
}

/** A pause in force. */
export interface PauseEntry extends PauseScope {
  /** Why, for humans. */
  reason?: string;
  /** Who paused (instance or person). */
  by?: string;
  /** When it was set (epoch ms). */
  at: number;
  /** When it lifts by itself (epoch ms); none = until resumed. */
  until?: number;
}

/** Outcome of {@link HealingStateStore.report}. */
export interface FleetReport {
  /** Live reporters showing the condition. */
  active: number;
  /** Live reporters. */
  total: number;
}

const SEPARATOR = '\u001f';

/** The store key of one (rule, target). */
export function railKey(rule: string, target: string): string {
  return `${rule}${SEPARATOR}${target}`;
}

/** The store key of a pause scope. */
export function pauseKey(scope: PauseScope): string {
  return `${scope.rule ?? '*'}${SEPARATOR}${scope.target ?? '*'}`;
}

/** Whether `pauses` stop healing (rule, target) at `now`; returns the matching pause. */
export function findPause(
  pauses: readonly PauseEntry[],
  rule: string,
  target: string,
  now: number,
): PauseEntry | undefined {
  return pauses.find(
    (pause) =>
      (pause.until === undefined || pause.until > now) &&
      (pause.rule === undefined || pause.rule === rule) &&
      (pause.target === undefined || pause.target === target),
  );
}

/** A fresh rails state. */
export function emptyRailState(): RailState {
  return { backoffLevel: 0, attempts: [], flaps: [] };
}
