// Running core `Check`s (the probes of @ops/health and @ops/backup) once, under a deadline, as table rows.
import { safeErrorMessage, systemClock, withDeadline, type Check, type CheckResult, type Clock } from '@ops/core';
import type { StatusRow } from './script.js';

/** Runs `check` once with a deadline; a throw or a timeout is a `fail` with a redacted message. */
export async function runCheckOnce(
  check: Check,
  options: { timeoutMs: number; label: string; clock?: Clock; secrets?: string[] },
): Promise<CheckResult> {
  const { timeoutMs, label, clock = systemClock, secrets = [] } = options;
  try {
    return await withDeadline((signal) => check(signal), { timeoutMs, clock, label });
  } catch (error) {
    return { status: 'fail', output: safeErrorMessage(error, { secrets }) };
  }
}

/** A check result as a table row: the output, else the observed value with its unit. */
export function checkRow(name: string, result: CheckResult, describe?: (result: CheckResult) => string): StatusRow {
  const observed =
    result.observed === undefined
      ? ''
      : `${String(result.observed)}${result.observedUnit ? ` ${result.observedUnit}` : ''}`;
  const detail = describe ? describe(result) : (result.output ?? observed);
  return { check: name, status: result.status, detail: detail || result.status };
}
