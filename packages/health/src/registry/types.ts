import type { Check, CheckResult, CheckStatus, Duration } from '@ops/core';

/** Which endpoints a check belongs to. `live` checks must be process-local (no remote dependency). */
export type CheckTag = 'live' | 'ready' | 'startup';

/** IETF draft-06 `componentType`. */
export type ComponentType = 'component' | 'datastore' | 'system';

/**
 * A built-in probe: a {@link Check} with facts the registry uses. `kind: 'dependency'` probes reach another
 * system and are refused on the `live` tag.
 */
export interface Probe extends Check {
  /** `'dependency'` for remote systems (database, cache, HTTP, container), `'local'` for process-local checks. */
  readonly kind: 'dependency' | 'local';
  /** IETF `componentType`. */
  readonly componentType: ComponentType;
  /** IETF measurement name used in the `component:measurement` key, e.g. `responseTime`, `utilization`. */
  readonly measurement: string;
  /** Known secrets (e.g. the pool's password) removed verbatim from anything the probe reports. */
  readonly secrets?: readonly string[];
}

/** How a check is evaluated. */
export type CheckMode =
  /** Run in the background every `every`; handlers read the last result and never wait for the check. */
  | { every: Duration }
  /** Run when asked; results (failures included) are reused for `ttl`; concurrent callers share one run. */
  | { ttl: Duration };

/** Options of {@link Health.register}. */
export interface CheckRegistration {
  /** Unique name, `[A-Za-z0-9][A-Za-z0-9._-]*`; used in `/health/<name>` and in the `name:measurement` key. */
  name: string;
  /** The work: a built-in probe or any `(signal) => Promise<CheckResult>`. */
  check: Check | Probe;
  /** A failing critical check fails the endpoint; a failing non-critical one makes it `warn`. Default `true`. */
  critical?: boolean;
  /** Deadline of one run; the probe's AbortSignal aborts when it passes. Default: the health's `timeout`. */
  timeout?: Duration;
  /** Endpoints the check belongs to. Default `['ready']`. */
  tags?: readonly CheckTag[];
  /** Polled (`{ every: '10s' }`) or on demand with a cache (`{ ttl: '1s' }`). Default: the health's `mode`. */
  mode?: CheckMode;
  /** Report `fail` only after this many consecutive failures (before that: `warn`). Default 1. */
  failAfter?: number;
  /** Report `fail` only once failing for this long (before that: `warn`). */
  failAfterDuration?: Duration;
  /** After a failure, report `pass` only after this many consecutive passes. Default 1. */
  recoverAfter?: number;
  /** IETF `componentType`. Default: the probe's, else `'component'`. */
  componentType?: ComponentType;
  /** IETF `componentId`, e.g. a host or container id (redacted). */
  componentId?: string;
  /** IETF measurement name. Default: the probe's, else `'status'`. */
  measurement?: string;
  /** Extra secrets to remove verbatim from this check's results and errors. */
  secrets?: readonly string[];
}

/** What the registry keeps of one run: the redacted result plus timing. */
export interface CapturedResult extends CheckResult {
  /** Status as the probe reported it, before hysteresis. */
  rawStatus: CheckStatus;
  /** Epoch milliseconds when the run finished. */
  time: number;
  /** How long the run took. */
  durationMs: number;
  /** The run hit its deadline. */
  timedOut: boolean;
}

/** One check as it appears in a report. */
export interface CheckReport extends CapturedResult {
  name: string;
  critical: boolean;
  tags: readonly CheckTag[];
  /** What the check contributes to its endpoint (`fail` of a non-critical check contributes `warn`). */
  contributes: CheckStatus;
  /** The result came from the cache or the poller rather than a run for this request. */
  cached: boolean;
  componentType: ComponentType;
  componentId?: string;
  measurement: string;
}

/** Which view a report is. */
export type Endpoint = 'live' | 'ready' | 'startup' | 'check';

/** The outcome of evaluating an endpoint. */
export interface HealthReport {
  endpoint: Endpoint;
  status: CheckStatus;
  /** Lifecycle reason when the endpoint fails for a reason other than checks (`'shutting down'`, …). */
  output?: string;
  checks: CheckReport[];
  /** Epoch milliseconds. */
  time: number;
}
