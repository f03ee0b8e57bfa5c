import type { CheckReport, HealthReport } from '../registry/types.js';

/** The IETF draft-06 `application/health+json` media type. */
export const HEALTH_JSON_CONTENT_TYPE = 'application/health+json';

/** One entry of a `checks` array (IETF draft-06 §4.1, plus `durationMs`, `cached`, `critical`). */
export interface HealthJsonCheck {
  componentId?: string;
  componentType?: string;
  observedValue?: number | string | boolean;
  observedUnit?: string;
  status: 'pass' | 'warn' | 'fail';
  time?: string;
  output?: string;
  durationMs?: number;
  cached?: boolean;
  critical?: boolean;
  details?: Record<string, unknown>;
}

/** An IETF draft-06 health document. */
export interface HealthJson {
  status: 'pass' | 'warn' | 'fail';
  version?: string;
  releaseId?: string;
  serviceId?: string;
  description?: string;
  notes?: string[];
  output?: string;
  checks?: Record<string, HealthJsonCheck[]>;
  links?: Record<string, string>;
}

/** Service facts put at the top level of every document. */
export interface ServiceDescription {
  version?: string;
  releaseId?: string;
  serviceId?: string;
  description?: string;
}

function checkEntry(check: CheckReport, withDetails: boolean): HealthJsonCheck {
  const entry: HealthJsonCheck = { status: check.status, componentType: check.componentType };
  if (!withDetails) return entry;
  if (check.componentId !== undefined) entry.componentId = check.componentId;
  if (check.observed !== undefined) entry.observedValue = check.observed;
  if (check.observedUnit !== undefined) entry.observedUnit = check.observedUnit;
  entry.time = new Date(check.time).toISOString();
  if (check.output !== undefined && check.status !== 'pass') entry.output = check.output;
  entry.durationMs = Math.round(check.durationMs * 1000) / 1000;
  entry.cached = check.cached;
  entry.critical = check.critical;
  if (check.details !== undefined) entry.details = check.details;
  return entry;
}

/**
 * Serializes a report as a fresh IETF draft-06 document (nothing shared between responses). `checks` is keyed
 * `name:measurement` with one-element arrays. Without `withComponents` the document is just `{ status }` (plus
 * the lifecycle `output` on failure); with components but without details, each check shows only its status.
 */
export function toHealthJson(
  report: HealthReport,
  options: { withComponents: boolean; withDetails: boolean; service?: ServiceDescription },
): HealthJson {
  const document: HealthJson = { status: report.status };
  const service = options.service ?? {};
  if (service.version !== undefined) document.version = service.version;
  if (service.releaseId !== undefined) document.releaseId = service.releaseId;
  if (service.serviceId !== undefined) document.serviceId = service.serviceId;
  if (service.description !== undefined) document.description = service.description;
  if (report.output !== undefined && report.status !== 'pass') document.output = report.output;
  if (options.withComponents && report.checks.length > 0) {
    const checks: Record<string, HealthJsonCheck[]> = {};
    for (const check of report.checks)
      checks[`${check.name}:${check.measurement}`] = [checkEntry(check, options.withDetails)];
    document.checks = checks;
  }
  return document;
}
