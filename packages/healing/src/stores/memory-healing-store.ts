import { systemClock, type Clock } from '@ops/core';
import type {
  FleetReport,
  HealingLockGrant,
  HealingLockRequest,
  HealingLockResult,
  HealingStateStore,
  PauseEntry,
  PauseScope,
  RailState,
} from './healing-state-store.js';
import { pauseKey } from './healing-state-store.js';

/** Options of {@link createMemoryHealingStore}. */
export interface MemoryHealingStoreOptions {
  /** Source of time for expiry. Default {@link systemClock}. */
  clock?: Clock;
}

interface HeldLock {
  owner: string;
  fencingToken: number;
  expiresAt: number;
  budgetScope: string | undefined;
}

/**
 * The in-memory {@link HealingStateStore}: for one healer process (the default of `createHealer`) and for tests.
 * Same semantics as the Redis store — exclusive locks with fencing, atomic lock + budget, TTL'd state — within
 * one process.
 *
 * @example
 * ```ts
 * const healer = createHealer({ rules, store: createMemoryHealingStore() });
 * ```
 */
export function createMemoryHealingStore(options: MemoryHealingStoreOptions = {}): HealingStateStore {
  const { clock = systemClock } = options;
  const locks = new Map<string, HeldLock>();
  const fences = new Map<string, number>();
  const states = new Map<string, { state: RailState; expiresAt: number }>();
  const pauses = new Map<string, PauseEntry>();
  const reports = new Map<string, Map<string, { active: boolean; expiresAt: number }>>();

  const liveLock = (key: string, now: number): HeldLock | undefined => {
    const lock = locks.get(key);
    if (lock && lock.expiresAt <= now) {
      locks.delete(key);
      return undefined;
    }
    return lock;
  };
  const heldInScope = (scope: string, now: number): number => {
    let count = 0;
    for (const [key, lock] of locks) if (lock.budgetScope === scope && liveLock(key, now)) count++;
    return count;
  };
  const copy = <T>(value: T): T => structuredClone(value);

  return {
    async acquire(request: HealingLockRequest): Promise<HealingLockResult> {
      const now = clock.now();
      const current = liveLock(request.key, now);
      if (current) return { granted: false, reason: 'held', holder: current.owner };
      if (request.budget) {
        const held = heldInScope(request.budget.scope, now);
        if (held >= request.budget.max) return { granted: false, reason: 'budget', inRemediation: held };
      }
      const fencingToken = (fences.get(request.key) ?? 0) + 1;
      fences.set(request.key, fencingToken);
      const expiresAt = now + request.ttlMs;
      locks.set(request.key, { owner: request.owner, fencingToken, expiresAt, budgetScope: request.budget?.scope });
      return { granted: true, fencingToken, expiresAt };
    },
    async renew(key, owner, fencingToken, ttlMs): Promise<HealingLockGrant | undefined> {
      const now = clock.now();
      const current = liveLock(key, now);
      if (!current || current.owner !== owner || current.fencingToken !== fencingToken) return undefined;
      current.expiresAt = now + ttlMs;
      return { fencingToken, expiresAt: current.expiresAt };
    },
    async release(key, owner, fencingToken) {
      const current = locks.get(key);
      if (current && current.owner === owner && current.fencingToken === fencingToken) locks.delete(key);
    },
    async checkFence(key, fencingToken) {
      return (fences.get(key) ?? 0) === fencingToken;
    },
    async getState(key) {
      const entry = states.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= clock.now()) {
        states.delete(key);
        return undefined;
      }
      return copy(entry.state);
    },
    async putState(key, state, write) {
      if ((fences.get(key) ?? 0) > write.fencingToken) return false;
      states.set(key, { state: copy(state), expiresAt: clock.now() + write.ttlMs });
      return true;
    },
    async pause(entry) {
      pauses.set(pauseKey(entry), copy(entry));
    },
    async resume(scope: PauseScope) {
      return pauses.delete(pauseKey(scope));
    },
    async listPauses() {
      const now = clock.now();
      const out: PauseEntry[] = [];
      for (const [key, entry] of pauses) {
        if (entry.until !== undefined && entry.until <= now) pauses.delete(key);
        else out.push(copy(entry));
      }
      return out;
    },
    async report(group, reporter, active, ttlMs): Promise<FleetReport> {
      const now = clock.now();
      let members = reports.get(group);
      if (!members) reports.set(group, (members = new Map()));
      members.set(reporter, { active, expiresAt: now + ttlMs });
      let total = 0;
      let activeCount = 0;
      for (const [member, entry] of members) {
        if (entry.expiresAt <= now) {
          members.delete(member);
          continue;
        }
        total++;
        if (entry.active) activeCount++;
      }
      return { active: activeCount, total };
    },
    async inRemediation(scope) {
      return heldInScope(scope, clock.now());
    },
  };
}
