import type { CheckStatus } from '@ops/core';
import { contribution } from './aggregate.js';
import type { CheckRunner } from './check-runner.js';
import type { CapturedResult, CheckReport } from './types.js';

/** The checks of one endpoint, evaluated. */
export interface Evaluation {
  checks: CheckReport[];
  /** What each check contributes, also when `checks` was not built (terse responses). */
  statuses: CheckStatus[];
}

/** One check's result as it appears in a report. */
export function toCheckReport(runner: CheckRunner, result: CapturedResult, cached: boolean): CheckReport {
  // Explicit fields rather than an object spread: this runs per check per verbose request.
  const report: CheckReport = {
    name: runner.name,
    status: result.status,
    rawStatus: result.rawStatus,
    time: result.time,
    durationMs: result.durationMs,
    timedOut: result.timedOut,
    critical: runner.critical,
    tags: runner.tags,
    contributes: contribution(result.status, runner.critical),
    cached,
    componentType: runner.componentType,
    measurement: runner.measurement,
  };
  if (result.output !== undefined) report.output = result.output;
  if (result.observed !== undefined) report.observed = result.observed;
  if (result.observedUnit !== undefined) report.observedUnit = result.observedUnit;
  if (result.details !== undefined) report.details = result.details;
  if (runner.componentId !== undefined) report.componentId = runner.componentId;
  return report;
}

/**
 * What each check contributes, synchronously from cached results (polled checks, fresh TTL entries); `undefined`
 * as soon as one check has no usable cached result.
 */
export function cachedStatuses(selected: readonly CheckRunner[]): CheckStatus[] | undefined {
  const statuses: CheckStatus[] = [];
  for (const runner of selected) {
    const cached = runner.peek();
    if (!cached) return undefined;
    statuses.push(contribution(cached.status, runner.critical));
  }
  return statuses;
}

/** Evaluates `selected`, running the checks whose cached result cannot be used. `withChecks: false` skips the reports. */
export async function evaluate(selected: readonly CheckRunner[], withChecks = true): Promise<Evaluation> {
  // Fast path: every result is cached: no awaiting, and for terse responses no per-check objects either.
  const statuses: CheckStatus[] = [];
  const checks: CheckReport[] = [];
  let complete = true;
  for (const runner of selected) {
    const cached = runner.peek();
    if (!cached) {
      complete = false;
      break;
    }
    statuses.push(contribution(cached.status, runner.critical));
    if (withChecks) checks.push(toCheckReport(runner, cached, true));
  }
  if (complete) return { checks, statuses };
  const all = await Promise.all(
    selected.map(async (runner) => {
      const { result, cached } = await runner.current();
      return toCheckReport(runner, result, cached);
    }),
  );
  return { checks: withChecks ? all : [], statuses: all.map((check) => check.contributes) };
}
