import { TimeoutError } from '../errors/ops-error.js';
import { systemClock, type Clock } from './clock.js';

/** Options of {@link withDeadline}. */
export interface DeadlineOptions {
  /** How long the work may take, in milliseconds. */
  timeoutMs: number;
  /** An outer signal (e.g. the caller's request) that also cancels the work. */
  signal?: AbortSignal;
  /** Clock for the deadline timer. Defaults to {@link systemClock}. */
  clock?: Clock;
  /** Words for the timeout message, e.g. `check "db"`. */
  label?: string;
}

/**
 * Runs `work` with an AbortSignal that aborts when the deadline passes or the outer signal aborts, and settles
 * no later than the deadline even if `work` ignores the signal and never settles.
 *
 * @throws TimeoutError (code `CHECK_TIMEOUT`) when the deadline passes; the outer signal's reason when it aborts.
 */
export async function withDeadline<T>(
  work: (signal: AbortSignal) => Promise<T> | T,
  options: DeadlineOptions,
): Promise<T> {
  const { timeoutMs, signal: outer, clock = systemClock, label = 'operation' } = options;
  // An outer signal that has already aborted means the caller no longer wants the work: do not start it.
  if (outer?.aborted) throw outer.reason;
  const controller = new AbortController();
  let timer: { cancel(): void } | undefined;
  let onOuterAbort: (() => void) | undefined;
  const guard = new Promise<never>((_, reject) => {
    const fail = (reason: unknown) => {
      controller.abort(reason);
      reject(reason);
    };
    if (outer?.aborted) {
      fail(outer.reason);
      return;
    }
    timer = clock.setTimeout(
      () => fail(new TimeoutError(`${label} timed out after ${timeoutMs}ms`, timeoutMs)),
      timeoutMs,
    );
    if (outer) {
      onOuterAbort = () => fail(outer.reason);
      outer.addEventListener('abort', onOuterAbort, { once: true });
    }
  });
  guard.catch(() => undefined);
  try {
    return await Promise.race([Promise.resolve().then(() => work(controller.signal)), guard]);
  } finally {
    timer?.cancel();
    if (onOuterAbort) outer?.removeEventListener('abort', onOuterAbort);
  }
}
