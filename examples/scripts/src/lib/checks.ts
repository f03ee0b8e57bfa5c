// Running core `Check`s (the probes of @ops/health and @ops/backup) once, under a deadline, as table rows.
import { stat } from 'node:fs/promises';
import { backupFreshnessProbe, createLocalStorage } from '@ops/backup';
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

/**
 * `backupFreshnessProbe` on a local backup directory, failing (instead of creating it, as the storage would) when the
 * directory does not exist: a typo in a path must not read as "no backup yet".
 */
export function localBackupFreshness(options: {
  directory: string;
  job: string;
  maxAge: string;
  requiredVerification: 'checksum' | 'full-read' | 'test-restore';
  clock: Clock;
}): Check {
  const { directory, ...rest } = options;
  return async (signal) => {
    const found = await stat(directory).catch(() => undefined);
    if (!found?.isDirectory()) return { status: 'fail', output: `backup directory ${directory} does not exist` };
    return backupFreshnessProbe({ storage: createLocalStorage({ directory }), ...rest })(signal);
  };
}
