import {
  jsonResponse,
  safeErrorMessage,
  worstStatus,
  type CheckStatus,
  type Logger,
  type OpsHandler,
  type OpsRequest,
  type OpsResponse,
} from '@ops/core';
import type { HealthReport } from '../registry/types.js';
import type { DetailsPredicate } from './details-access.js';
import { HEALTH_JSON_CONTENT_TYPE, toHealthJson, type ServiceDescription } from './health-json.js';

interface HandlerDependencies {
  basePath: string;
  /** `withChecks: false` skips building per-check reports (terse responses only need the status). */
  live(withChecks?: boolean): Promise<HealthReport>;
  ready(withChecks?: boolean): Promise<HealthReport>;
  startup(withChecks?: boolean): Promise<HealthReport>;
  check(name: string): Promise<HealthReport>;
  /** Terse readiness computed synchronously from cached results, or `undefined` when that is not possible. */
  readyNow?(): HealthReport | undefined;
  /** Terse liveness computed synchronously from cached results, or `undefined` when that is not possible. */
  liveNow?(): HealthReport | undefined;
  hasCheck(name: string): boolean;
  statusCodes: Record<CheckStatus, number>;
  service: ServiceDescription;
  showDetails?: DetailsPredicate;
  /** Strings removed verbatim from what the handler logs. */
  secrets?: readonly string[];
  logger: Logger;
}

const HEADERS = { 'content-type': HEALTH_JSON_CONTENT_TYPE, 'cache-control': 'no-store' };

function flag(query: URLSearchParams, name: string): boolean {
  if (!query.has(name)) return false;
  const value = query.get(name);
  return value !== 'false' && value !== '0';
}

function excluded(query: URLSearchParams): Set<string> {
  return new Set(
    query.getAll('exclude').flatMap((value) =>
      value
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    ),
  );
}

/** Asks the user's predicate; one that throws or rejects denies the details (and never fails the request). */
async function detailsAllowed(predicate: DetailsPredicate, request: OpsRequest): Promise<boolean> {
  try {
    return (await predicate(request)) === true;
  } catch {
    return false;
  }
}

/**
 * The endpoints under `basePath`: `/live`, `/ready`, `/startup`, `/` (= ready with components), `/<check>`.
 * Terse `{ status }` by default; `?verbose` lists components; outputs and observed values only when
 * `showDetails` allows the request. `?exclude=a,b` leaves checks out of the verdict (operators only).
 */
export function createHealthHandler(dependencies: HandlerDependencies): OpsHandler {
  const base = dependencies.basePath.replace(/\/+$/, '');
  // The common probe paths, resolved without the regular expressions below.
  const knownPaths = new Map<string, string>([
    [`${base}/live`, 'live'],
    [`${base}/ready`, 'ready'],
    [`${base}/startup`, 'startup'],
  ]);
  const terseResponse = createTerseResponder(dependencies);
  const { readyNow, liveNow } = dependencies;
  const handle = async (request: OpsRequest): Promise<OpsResponse | undefined> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    const path = request.path;
    let rest = knownPaths.get(path);
    if (rest === undefined) {
      if (path !== base && !path.startsWith(`${base}/`)) return undefined;
      rest = path.slice(base.length).replace(/^\/+|\/+$/g, '');
    }
    const verbose = flag(request.query, 'verbose') || rest === '';
    const evaluated = await evaluate(dependencies, request, rest, verbose || request.query.has('exclude'));
    if ('response' in evaluated) return evaluated.response;
    const { drillDown } = evaluated;
    const report = drillDown ? evaluated.report : withoutExcluded(evaluated.report, request.query);
    const withComponents = verbose || drillDown;
    if (!withComponents && report.output === undefined) return terseResponse(report.status);
    const allowed =
      dependencies.showDetails && withComponents ? await detailsAllowed(dependencies.showDetails, request) : false;
    const body = toHealthJson(report, { withComponents, withDetails: allowed, service: dependencies.service });
    // A fresh headers object per response: nothing is shared between responses.
    return { status: dependencies.statusCodes[report.status], headers: { ...HEADERS }, body: JSON.stringify(body) };
  };
  // Hot path: a plain terse GET/HEAD of /live or /ready answered synchronously from cached results (no async
  // frames, no awaits); anything else, or anything not cached yet, takes `handle`.
  return (request: OpsRequest) => {
    if (request.method === 'GET' || request.method === 'HEAD') {
      const endpoint = knownPaths.get(request.path);
      if (
        (endpoint === 'ready' || endpoint === 'live') &&
        !request.query.has('verbose') &&
        !request.query.has('exclude')
      ) {
        let report: HealthReport | undefined;
        try {
          report = endpoint === 'ready' ? readyNow?.() : liveNow?.();
        } catch {
          report = undefined;
        }
        if (report && report.output === undefined) return Promise.resolve(terseResponse(report.status));
      }
    }
    return handle(request);
  };
}

/**
 * Terse bodies (`{"status":…}` plus the fixed service fields) rendered once per status: the probe hot path then
 * only picks a string. Only used when the report carries no lifecycle output.
 */
function createTerseResponder(dependencies: HandlerDependencies): (status: CheckStatus) => OpsResponse {
  const terseBodies = new Map<CheckStatus, { body: string; length: string }>();
  return (status) => {
    let rendered = terseBodies.get(status);
    if (!rendered) {
      const body = JSON.stringify(
        toHealthJson(
          { endpoint: 'ready', status, checks: [], time: 0 },
          { withComponents: false, withDetails: false, service: dependencies.service },
        ),
      );
      rendered = { body, length: String(new TextEncoder().encode(body).byteLength) };
      terseBodies.set(status, rendered);
    }
    // A fresh headers object per response: nothing is shared between responses.
    return {
      status: dependencies.statusCodes[status],
      headers: { ...HEADERS, 'content-length': rendered.length },
      body: rendered.body,
    };
  };
}

/** The report an endpoint (`live`, `ready`, `startup`, `''`) or a check drill-down asks for, or the error response. */
async function evaluate(
  dependencies: HandlerDependencies,
  request: OpsRequest,
  rest: string,
  withChecks: boolean,
): Promise<{ report: HealthReport; drillDown: boolean } | { response: OpsResponse }> {
  try {
    if (rest === 'live') return { report: await dependencies.live(withChecks), drillDown: false };
    if (rest === 'ready' || rest === '') return { report: await dependencies.ready(withChecks), drillDown: false };
    if (rest === 'startup') return { report: await dependencies.startup(withChecks), drillDown: false };
    let name: string;
    try {
      name = decodeURIComponent(rest);
    } catch {
      name = '';
    }
    if (!dependencies.hasCheck(name)) {
      return { response: jsonResponse(404, { status: 'fail', output: 'unknown check' }, HEADERS) };
    }
    return { report: await dependencies.check(name), drillDown: true };
  } catch (error) {
    dependencies.logger.error(
      { path: request.path, error: safeErrorMessage(error, { secrets: dependencies.secrets ?? [] }) },
      'health endpoint failed',
    );
    return {
      response: jsonResponse(
        dependencies.statusCodes.fail,
        { status: 'fail', output: 'health evaluation failed' },
        HEADERS,
      ),
    };
  }
}

/** `?exclude=a,b`: the report without those checks, its status recomputed from the rest. */
function withoutExcluded(report: HealthReport, query: URLSearchParams): HealthReport {
  const skip = query.has('exclude') ? excluded(query) : undefined;
  if (!skip || skip.size === 0) return report;
  const checks = report.checks.filter((check) => !skip.has(check.name));
  const worst = checks.reduce<CheckStatus>((status, check) => worstStatus(status, check.contributes), 'pass');
  return { ...report, checks, status: report.output !== undefined ? 'fail' : worst };
}
