import type { Check, CheckResult } from '@ops/core';
import { OpsError, worstStatus } from '@ops/core';
import { z } from 'zod';
import type { ComponentType, Probe } from '../registry/types.js';
import { functionSchema, parseOptions } from '../validation/option-schemas.js';

/** Facts attached to a {@link Probe}. */
export interface ProbeFacts {
  kind: 'dependency' | 'local';
  componentType: ComponentType;
  measurement: string;
  secrets?: readonly string[];
}

/** Schema of {@link ProbeFacts}, shared by the probe factories that take the same fields. */
export const probeFactsShape = {
  kind: z.enum(['local', 'dependency']),
  componentType: z.enum(['component', 'datastore', 'system']),
  measurement: z.string().regex(/^[^:]+$/, 'must not contain ":"'),
};

const checkSchema = z.strictObject({ check: functionSchema<Check>('a function (signal) => Promise<CheckResult>') });
const factsSchema = z.strictObject({ ...probeFactsShape, secrets: z.array(z.string()).optional() });

/**
 * Turns any check into a {@link Probe} with the given facts. Use it to declare your own checks as remote
 * dependencies (refused on `live`) or local ones.
 *
 * @example
 * ```ts
 * const stripe = defineProbe(async (signal) => ((await pingStripe(signal)) ? { status: 'pass' } : { status: 'fail' }), {
 *   kind: 'dependency', componentType: 'component', measurement: 'responseTime',
 * });
 * ```
 */
export function defineProbe(check: Check, facts: ProbeFacts): Probe {
  parseOptions(checkSchema, { check }, 'defineProbe');
  parseOptions(factsSchema, facts, 'defineProbe');
  const probe = (signal: AbortSignal) => check(signal);
  return Object.assign(
    probe,
    facts.secrets === undefined
      ? { kind: facts.kind, componentType: facts.componentType, measurement: facts.measurement }
      : facts,
  ) as Probe;
}

/** Rejects with the signal's reason as soon as it aborts; otherwise settles like `promise`. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason ?? new OpsError('ABORTED', 'aborted'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new OpsError('ABORTED', 'aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The driver calls a probe started that have not settled yet, whatever its deadline did meanwhile (a pool's
 * `connect()`, a client's query or command). A probe starts no new attempt while one is outstanding (at most one
 * outstanding attempt per check), so nothing piles up in a pool's wait queue or a client's command queue while
 * the dependency does not answer.
 */
export class OutstandingCalls {
  readonly #calls = new Set<{ settled: boolean; stillQueued: (() => boolean) | undefined }>();

  /**
   * Tracks `call` until it settles and, when given, until `stillQueued()` turns false (a client may reject a
   * command on its own timeout but keep it queued until the server replies).
   */
  track<T>(call: Promise<T>, stillQueued?: () => boolean): Promise<T> {
    const entry = { settled: false, stillQueued };
    this.#calls.add(entry);
    const settle = () => {
      entry.settled = true;
      if (!entry.stillQueued) this.#calls.delete(entry);
    };
    call.then(settle, settle);
    return call;
  }

  /** Whether an earlier call is still outstanding. */
  get busy(): boolean {
    for (const entry of this.#calls) {
      if (!entry.settled) return true;
      if (entry.stillQueued?.() === true) return true;
      this.#calls.delete(entry);
    }
    return false;
  }
}

/** The result of an attempt that was not started because the previous one is still outstanding. */
export function stillPending(what: string): CheckResult {
  return { status: 'fail', output: `timed out, still pending: ${what}` };
}

/** Milliseconds since `startedAt` (a `performance.now()` reading), rounded to 0.01 ms. */
export function elapsedSince(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 100) / 100;
}

/** The worse of a list of partial verdicts, with their reasons joined. */
export function combine(
  verdicts: ReadonlyArray<{ status: CheckResult['status']; reason?: string }>,
): Pick<CheckResult, 'status' | 'output'> {
  let status: CheckResult['status'] = 'pass';
  const reasons: string[] = [];
  for (const verdict of verdicts) {
    status = worstStatus(status, verdict.status);
    if (verdict.status !== 'pass' && verdict.reason) reasons.push(verdict.reason);
  }
  return reasons.length > 0 ? { status, output: reasons.join('; ') } : { status };
}
