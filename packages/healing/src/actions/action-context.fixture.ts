import { createManualClock, silentLogger, systemClock, type ManualClock } from '@ops/core';
import type { ActionContext } from './action.js';

/** An {@link ActionContext} for tests: real clock unless one is given, a fresh signal, rule `test`. */
export function actionContext(overrides: Partial<ActionContext> = {}): ActionContext {
  return {
    signal: new AbortController().signal,
    rule: 'test-rule',
    target: 'process',
    episodeId: 'episode-1',
    fencingToken: 1,
    trigger: {},
    clock: systemClock,
    logger: silentLogger,
    ...overrides,
  };
}

/** A manual clock starting at a fixed epoch, for tests that must not sleep. */
export function manualClock(): ManualClock {
  return createManualClock(Date.UTC(2026, 0, 1));
}
