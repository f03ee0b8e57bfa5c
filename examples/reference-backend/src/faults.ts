import { safeErrorMessage, silentLogger, systemClock, type Clock, type Logger } from '@ops/core';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ReferenceBackendError } from './errors.js';
import type { NotesRepository } from './notes/notes-repository.js';

/** Faults the admin endpoint can switch on, to rehearse an incident. */
export interface FaultSettings {
  /** Every call to the notes store fails as if the database were down (readiness fails, API answers 503). */
  storeUnavailable: boolean;
  /** Extra latency added to every call to the notes store, milliseconds (0 = none). */
  storeLatencyMs: number;
  /**
   * The store's connections are poisoned: every call through the pool fails with a connection error (counted as a
   * connection failure for the healing ladder). Nothing clears it but a pool reset (healing's `resetPgPool` step).
   */
  poisonedConnections: boolean;
  /**
   * The in-process caches grow by this many megabytes (real buffers), once per new value. The memory signal rises;
   * past 90% of `CACHE_MEMORY_BUDGET_MB` the API sheds load (503) and the `memory-budget` check fails. Clearing the
   * caches (healing's memory ladder, step 1) frees it.
   */
  memoryGrowthMb: number;
}

/** The settings with every fault off. */
export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze({
  storeUnavailable: false,
  storeLatencyMs: 0,
  poisonedConnections: false,
  memoryGrowthMb: 0,
});

/** zod schema of `PUT /admin/faults`: any subset of {@link FaultSettings}, plus `shared` (store it in Redis). */
export const faultPatchSchema = z.strictObject({
  storeUnavailable: z.boolean().optional(),
  storeLatencyMs: z.number().int().min(0).max(30_000).optional(),
  poisonedConnections: z.boolean().optional(),
  memoryGrowthMb: z.number().int().min(0).max(4_096).optional(),
  shared: z.boolean().optional(),
});

/** Where a fault setting comes from. */
export type FaultScope = 'local' | 'shared';

/** The current fault settings, shared by the repository wrapper, the healing actions and the admin endpoint. */
export interface FaultInjector {
  /** The settings in force: this process's own, combined with the fleet-wide ones (booleans or-ed, numbers max). */
  current(): FaultSettings;
  /** This process's own settings and the fleet-wide ones, apart. */
  scopes(): { local: FaultSettings; shared: FaultSettings | null };
  /** Changes some settings of this process; returns the settings in force. */
  set(patch: Partial<FaultSettings>): FaultSettings;
  /** Switches every fault of this process off. */
  clear(): FaultSettings;
  /** Changes fleet-wide settings (in Redis, seen by every replica within ~250 ms). Without Redis: like `set`. */
  setShared(patch: Partial<FaultSettings>): Promise<FaultSettings>;
  /** Switches every fault off, this process's and the fleet-wide ones. */
  clearAll(): Promise<FaultSettings>;
  /** A pool reset happened: the poisoned connections are gone (here and, when shared, for the fleet). */
  connectionsReset(): Promise<void>;
  /** Reads the fleet-wide settings now. */
  refresh(): Promise<void>;
  /** Calls `listener` whenever the settings in force change. Returns the unsubscribe. */
  onChange(listener: (settings: FaultSettings) => void): () => void;
  /** Whether fleet-wide faults are kept in Redis. */
  readonly sharedStore: 'redis' | 'none';
  /** Stops following the fleet-wide settings. */
  close(): void;
}

/** Options of {@link createFaultInjector}. */
export interface FaultInjectorOptions {
  /** Keep fleet-wide faults in Redis (key `key`), polled every `pollEveryMs`. */
  redis?: Redis;
  /** Default `ops:reference-backend:faults`. */
  key?: string;
  /** Default 250. */
  pollEveryMs?: number;
  clock?: Clock;
  logger?: Logger;
}

const storedSchema = faultPatchSchema.omit({ shared: true });

function combine(local: FaultSettings, shared: FaultSettings | null): FaultSettings {
  if (shared === null) return { ...local };
  return {
    storeUnavailable: local.storeUnavailable || shared.storeUnavailable,
    storeLatencyMs: Math.max(local.storeLatencyMs, shared.storeLatencyMs),
    poisonedConnections: local.poisonedConnections || shared.poisonedConnections,
    memoryGrowthMb: Math.max(local.memoryGrowthMb, shared.memoryGrowthMb),
  };
}

function same(a: FaultSettings, b: FaultSettings): boolean {
  return (
    a.storeUnavailable === b.storeUnavailable &&
    a.storeLatencyMs === b.storeLatencyMs &&
    a.poisonedConnections === b.poisonedConnections &&
    a.memoryGrowthMb === b.memoryGrowthMb
  );
}

/**
 * Creates a fault injector with every fault off. With `redis`, faults set through `setShared` live in Redis so
 * every replica sees the same ones (the three-replica drill injects one fault for all).
 *
 * @example
 * ```ts
 * const faults = createFaultInjector();
 * const repository = withInjectedFaults(createMemoryNotesRepository(), { faults });
 * faults.set({ storeUnavailable: true });
 * ```
 */
export function createFaultInjector(options: FaultInjectorOptions = {}): FaultInjector {
  const {
    redis,
    key = 'ops:reference-backend:faults',
    pollEveryMs = 250,
    clock = systemClock,
    logger = silentLogger,
  } = options;
  let local: FaultSettings = { ...NO_FAULTS };
  let shared: FaultSettings | null = null;
  let effective: FaultSettings = { ...NO_FAULTS };
  const listeners = new Set<(settings: FaultSettings) => void>();
  const update = () => {
    const next = combine(local, shared);
    if (same(next, effective)) return;
    effective = next;
    for (const listener of listeners) {
      try {
        listener({ ...effective });
      } catch (error) {
        logger.warn({ error: safeErrorMessage(error) }, 'fault listener failed');
      }
    }
  };
  const readShared = async (): Promise<FaultSettings | null> => {
    if (!redis) return null;
    const text = await redis.get(key);
    if (text === null) return null;
    const parsed = storedSchema.safeParse(JSON.parse(text));
    return parsed.success ? { ...NO_FAULTS, ...stripUndefined(parsed.data) } : null;
  };
  const writeShared = async (settings: FaultSettings | null) => {
    if (!redis) return;
    if (settings === null || same(settings, NO_FAULTS)) await redis.del(key);
    else await redis.set(key, JSON.stringify(settings), 'EX', 24 * 3600);
    shared = settings === null || same(settings, NO_FAULTS) ? null : settings;
    update();
  };
  const refresh = async () => {
    if (!redis) return;
    try {
      shared = await readShared();
      update();
    } catch (error) {
      logger.debug({ error: safeErrorMessage(error) }, 'could not read the shared faults');
    }
  };
  const poll = redis ? clock.setInterval(() => void refresh(), pollEveryMs) : undefined;
  void refresh();
  return {
    sharedStore: redis ? 'redis' : 'none',
    current: () => ({ ...effective }),
    scopes: () => ({ local: { ...local }, shared: shared === null ? null : { ...shared } }),
    set(patch) {
      local = { ...local, ...stripUndefined(patch) };
      update();
      return { ...effective };
    },
    clear() {
      local = { ...NO_FAULTS };
      update();
      return { ...effective };
    },
    async setShared(patch) {
      if (!redis) {
        local = { ...local, ...stripUndefined(patch) };
        update();
        return { ...effective };
      }
      const current = (await readShared()) ?? { ...NO_FAULTS };
      await writeShared({ ...current, ...stripUndefined(patch) });
      return { ...effective };
    },
    async clearAll() {
      local = { ...NO_FAULTS };
      if (redis) await writeShared(null);
      update();
      return { ...effective };
    },
    async connectionsReset() {
      // Here at once (the new pool is checked right after the swap), then for the fleet.
      local = { ...local, poisonedConnections: false };
      if (shared !== null) shared = { ...shared, poisonedConnections: false };
      update();
      if (!redis) return;
      const current = await readShared();
      if (current?.poisonedConnections) await writeShared({ ...current, poisonedConnections: false });
    },
    refresh,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      poll?.cancel();
      listeners.clear();
    },
  };
}

function stripUndefined(patch: { [K in keyof FaultSettings]?: FaultSettings[K] | undefined }): Partial<FaultSettings> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
}

/** Options of {@link withInjectedFaults}. */
export interface InjectedFaultsOptions {
  faults: FaultInjector;
  clock?: Clock;
  /** Called for each call that failed on a poisoned connection (feeds the database connection ladder). */
  onConnectionFailure?: () => void;
}

/**
 * Wraps a repository so the injected faults apply to each call: first the latency, then the failure. `close()`
 * and `init()` are never faulted (shutdown and startup must not depend on the drill).
 */
export function withInjectedFaults(repository: NotesRepository, options: InjectedFaultsOptions): NotesRepository {
  const { faults, clock = systemClock, onConnectionFailure } = options;
  const gate = async (signal?: AbortSignal) => {
    const { storeLatencyMs, storeUnavailable, poisonedConnections } = faults.current();
    if (storeLatencyMs > 0) await clock.sleep(storeLatencyMs, signal);
    if (storeUnavailable)
      throw new ReferenceBackendError(
        'SERVICE_UNAVAILABLE',
        `notes store (${repository.kind}) unavailable: injected fault`,
        { isRetryable: true },
      );
    if (poisonedConnections) {
      onConnectionFailure?.();
      throw new ReferenceBackendError(
        'SERVICE_UNAVAILABLE',
        `notes store (${repository.kind}): connection terminated unexpectedly (injected fault: poisoned connections; a pool reset clears it)`,
        { isRetryable: true },
      );
    }
  };
  return {
    kind: repository.kind,
    init: () => repository.init(),
    close: () => repository.close(),
    list: async (options) => (await gate(), repository.list(options)),
    get: async (id) => (await gate(), repository.get(id)),
    create: async (input) => (await gate(), repository.create(input)),
    update: async (id, patch) => (await gate(), repository.update(id, patch)),
    delete: async (id) => (await gate(), repository.delete(id)),
    count: async () => (await gate(), repository.count()),
    ping: async (signal) => (await gate(signal), repository.ping(signal)),
  };
}
