import {
  OpsError,
  parseOptionalDuration,
  redact,
  safeErrorMessage,
  withDeadline,
  type Check,
  type Clock,
  type Duration,
  type Logger,
} from '@ops/core';
import { IncidentError } from '../errors.js';
import type { Incident, Severity } from '../model/records.js';

/**
 * A diagnostic run when a paging incident opens ("auto diagnostics" in the runbooks): gathers facts — a health
 * snapshot, SLO status, replica lag — and returns them (any JSON-like value). Honour `signal`: it aborts at the
 * deadline. What it returns is redacted before it is stored.
 */
export type Diagnostic = (incident: Incident, context: { signal: AbortSignal }) => Promise<unknown> | unknown;

/** Options of the auto-diagnostics hook (`createIncidentManager({ diagnostics })`). */
export interface DiagnosticsOptions {
  /** The diagnostics by name (wrap a core `Check` with {@link diagnosticFromCheck}). */
  run: Record<string, Diagnostic>;
  /** Severities that run them. Default: the levels that page (P0 and P1 by default). */
  severities?: readonly Severity[];
  /** Deadline of each diagnostic; one still running then is recorded as timed out. Default `'10s'`. */
  timeout?: Duration;
  /** Largest stored output, in characters of JSON; longer output is cut. Default 16 384. */
  maxOutputChars?: number;
}

/** What one diagnostic did, as recorded on the timeline (internal visibility). */
export interface DiagnosticResult {
  name: string;
  /** `completed` (its output is attached), `failed` (it threw), or `timed_out` (cut at the deadline). */
  outcome: 'completed' | 'failed' | 'timed_out';
  /** How long it ran (ms, by the manager's clock). */
  durationMs: number;
  /** What it returned, redacted (and cut to `maxOutputChars`). */
  output?: unknown;
  /** Why it failed or timed out, redacted. */
  error?: string;
}

/**
 * A core `Check` (`(signal) => Promise<CheckResult>`, e.g. health's `postgresProbe` or backup's freshness probe) as a
 * diagnostic: its `CheckResult` is the output.
 *
 * @example
 * ```ts
 * createIncidentManager({ diagnostics: { run: { database: diagnosticFromCheck(postgresProbe({ pool })) } } });
 * ```
 */
export function diagnosticFromCheck(check: Check): Diagnostic {
  return (_incident, { signal }) => check(signal);
}

/** Runs the registered diagnostics with deadlines and hands each redacted result to `record`. */
export interface DiagnosticsRunner {
  /** Whether an incident of this severity runs them by itself. */
  wants(severity: Severity): boolean;
  /** Runs every diagnostic for `incident` at once; resolves when all are recorded. */
  run(incident: Incident): Promise<DiagnosticResult[]>;
  /** Starts `run` in the background (the caller does not wait). */
  start(incident: Incident): void;
  /** Cuts diagnostics in progress (recorded as failed) and waits until they are recorded. */
  close(): Promise<void>;
}

export function createDiagnosticsRunner(options: {
  diagnostics: DiagnosticsOptions | undefined;
  pagingSeverities: readonly Severity[];
  clock: Clock;
  logger: Logger;
  record: (incident: Incident, results: readonly DiagnosticResult[]) => Promise<void>;
}): DiagnosticsRunner {
  const { diagnostics, clock, logger, record } = options;
  const entries = Object.entries(diagnostics?.run ?? {});
  for (const [name, diagnostic] of entries)
    if (typeof diagnostic !== 'function')
      throw new IncidentError('ARGUMENT_INVALID', `diagnostics.run.${name} must be a function`);
  const timeoutMs = parseOptionalDuration(diagnostics?.timeout, 'diagnostics.timeout') ?? 10_000;
  const maxOutputChars = diagnostics?.maxOutputChars ?? 16_384;
  const severities = new Set(diagnostics?.severities ?? options.pagingSeverities);
  const closing = new AbortController();
  const inFlight = new Set<Promise<unknown>>();

  const runOne = async (incident: Incident, name: string, diagnostic: Diagnostic): Promise<DiagnosticResult> => {
    const started = clock.now();
    try {
      const output = await withDeadline((signal) => diagnostic(structuredClone(incident), { signal }), {
        timeoutMs,
        clock,
        signal: closing.signal,
        label: `diagnostic ${JSON.stringify(name)}`,
      });
      return { name, outcome: 'completed', durationMs: clock.now() - started, output: bounded(redact(output)) };
    } catch (error) {
      const timedOut = OpsError.hasCode(error, 'CHECK_TIMEOUT');
      return {
        name,
        outcome: timedOut ? 'timed_out' : 'failed',
        durationMs: clock.now() - started,
        error: timedOut ? `timed out after ${timeoutMs} ms` : safeErrorMessage(error),
      };
    }
  };

  const bounded = (output: unknown): unknown => {
    if (output === undefined) return undefined;
    let json: string | undefined;
    try {
      json = JSON.stringify(output);
    } catch {
      return String(output);
    }
    if (json === undefined) return undefined;
    return json.length <= maxOutputChars ? (JSON.parse(json) as unknown) : `${json.slice(0, maxOutputChars)}…`;
  };

  const run = async (incident: Incident): Promise<DiagnosticResult[]> => {
    const results = await Promise.all(entries.map(([name, diagnostic]) => runOne(incident, name, diagnostic)));
    if (results.length > 0) await record(incident, results);
    return results;
  };

  return {
    wants: (severity) => entries.length > 0 && severities.has(severity),
    run,
    start(incident) {
      const running = run(incident).catch((error: unknown) =>
        logger.warn({ incidentId: incident.id, error: safeErrorMessage(error) }, 'incident diagnostics not recorded'),
      );
      inFlight.add(running);
      void running.finally(() => inFlight.delete(running));
    },
    async close() {
      closing.abort(new Error('the incident manager closed'));
      await Promise.all(inFlight);
    },
  };
}

/** One line for the timeline: `Diagnostic health completed in 120 ms: fail — connection refused`. */
export function describeDiagnostic(result: DiagnosticResult): string {
  if (result.outcome === 'timed_out') return `Diagnostic ${result.name} timed out: ${result.error ?? ''}`.trim();
  if (result.outcome === 'failed') return `Diagnostic ${result.name} failed: ${result.error ?? 'unknown error'}`;
  const output = result.output as { status?: unknown; output?: unknown } | undefined;
  const status =
    output !== null && typeof output === 'object' && typeof output.status === 'string'
      ? `: ${output.status}${typeof output.output === 'string' ? ` — ${output.output}` : ''}`
      : '';
  return `Diagnostic ${result.name} completed in ${result.durationMs} ms${status}`;
}
