import { systemClock, type Clock } from '@ops/core';
import { z } from 'zod';
import { ReferenceBackendError } from './errors.js';
import type { NotesRepository } from './notes/notes-repository.js';

/** Faults the admin endpoint can switch on, to rehearse an incident. */
export interface FaultSettings {
  /** Every call to the notes store fails as if the database were down (readiness fails, API answers 503). */
  storeUnavailable: boolean;
  /** Extra latency added to every call to the notes store, milliseconds (0 = none). */
  storeLatencyMs: number;
}

/** zod schema of `PUT /admin/faults`: any subset of {@link FaultSettings}. */
export const faultPatchSchema = z.strictObject({
  storeUnavailable: z.boolean().optional(),
  storeLatencyMs: z.number().int().min(0).max(30_000).optional(),
});

/** The current fault settings, shared by the repository wrapper and the admin endpoint. */
export interface FaultInjector {
  current(): FaultSettings;
  /** Changes some settings; returns the new settings. */
  set(patch: Partial<FaultSettings>): FaultSettings;
  /** Switches every fault off. */
  clear(): FaultSettings;
}

/**
 * Creates a fault injector with every fault off.
 *
 * @example
 * ```ts
 * const faults = createFaultInjector();
 * const repository = withInjectedFaults(createMemoryNotesRepository(), { faults });
 * faults.set({ storeUnavailable: true });
 * ```
 */
export function createFaultInjector(): FaultInjector {
  let settings: FaultSettings = { storeUnavailable: false, storeLatencyMs: 0 };
  return {
    current: () => ({ ...settings }),
    set(patch) {
      settings = { ...settings, ...patch };
      return { ...settings };
    },
    clear() {
      settings = { storeUnavailable: false, storeLatencyMs: 0 };
      return { ...settings };
    },
  };
}

/**
 * Wraps a repository so the injected faults apply to each call: first the latency, then the failure. `close()`
 * and `init()` are never faulted (shutdown and startup must not depend on the drill).
 */
export function withInjectedFaults(
  repository: NotesRepository,
  options: { faults: FaultInjector; clock?: Clock },
): NotesRepository {
  const { faults, clock = systemClock } = options;
  const gate = async (signal?: AbortSignal) => {
    const { storeLatencyMs, storeUnavailable } = faults.current();
    if (storeLatencyMs > 0) await clock.sleep(storeLatencyMs, signal);
    if (storeUnavailable)
      throw new ReferenceBackendError(
        'SERVICE_UNAVAILABLE',
        `notes store (${repository.kind}) unavailable: injected fault`,
        { isRetryable: true },
      );
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
