import type { CheckResult, CheckStatus } from '@ops/core';
import { defineProbe } from '../probes/probe.js';
import type { Probe } from '../registry/types.js';

/** A check whose outcome a test controls. */
export interface FakeCheck {
  /** Register this with `health.register({ name, check: fake.check })`. */
  readonly check: Probe;
  /** How many times the check ran. */
  readonly calls: number;
  /** How many runs saw their AbortSignal abort (deadline passed). */
  readonly aborted: number;
  /** Next runs resolve with this status (and optional output / observed value). */
  set(status: CheckStatus, extra?: Omit<CheckResult, 'status'>): void;
  /** Shorthand for `set('pass')`. */
  pass(): void;
  /** Shorthand for `set('fail', { output })`. */
  fail(output?: string): void;
  /** Next runs throw this value (it need not be an Error). */
  throwing(value: unknown): void;
  /** Next runs never settle on their own: only the deadline ends them (the run rejects when its signal aborts). */
  hang(): void;
}

/** Options of {@link createFakeCheck}. */
export interface FakeCheckOptions {
  /** Initial status. Default `'pass'`. */
  status?: CheckStatus;
  /** Whether the fake poses as a remote dependency (refused on `live`). Default `false`. */
  dependency?: boolean;
}

/**
 * An in-memory check for your own tests: set its status, make it throw or hang, count its runs.
 *
 * @example
 * ```ts
 * import { createFakeCheck } from '@ops/health/testing';
 * const database = createFakeCheck();
 * health.register({ name: 'db', check: database.check });
 * database.fail('connection refused');
 * expect((await health.ready()).status).toBe('fail');
 * ```
 */
export function createFakeCheck(options: FakeCheckOptions = {}): FakeCheck {
  let behaviour: { kind: 'result'; result: CheckResult } | { kind: 'throw'; value: unknown } | { kind: 'hang' } = {
    kind: 'result',
    result: { status: options.status ?? 'pass' },
  };
  let calls = 0;
  let aborted = 0;
  const check = defineProbe(
    async (signal) => {
      calls++;
      signal.addEventListener('abort', () => aborted++, { once: true });
      const current = behaviour;
      if (current.kind === 'throw') throw current.value;
      // Like a driver that honours the signal: nothing happens until the deadline aborts the run, which then rejects.
      if (current.kind === 'hang')
        return new Promise<CheckResult>((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        );
      return { ...current.result };
    },
    { kind: options.dependency ? 'dependency' : 'local', componentType: 'component', measurement: 'status' },
  );
  const fake: FakeCheck = {
    check,
    get calls() {
      return calls;
    },
    get aborted() {
      return aborted;
    },
    set(status, extra = {}) {
      behaviour = { kind: 'result', result: { ...extra, status } };
    },
    pass: () => fake.set('pass'),
    fail: (output) => fake.set('fail', output === undefined ? {} : { output }),
    throwing(value) {
      behaviour = { kind: 'throw', value };
    },
    hang() {
      behaviour = { kind: 'hang' };
    },
  };
  return fake;
}
