import { CapacityError } from '@ops/capacity';
import {
  jsonResponse,
  OpsError,
  safeErrorMessage,
  textResponse,
  type Clock,
  type Logger,
  type OpsHandler,
  type OpsRequest,
} from '@ops/core';
import type { AuditRecord } from '@ops/healing';
import { allowLoopback } from '@ops/health';
import { IncidentError, type Incident, type IncidentManager } from '@ops/incident';
import type { SloAlertEvent, SloTracker } from '@ops/slo';
import { z } from 'zod';
import type { NotesBackupJob, NotesBackupOutcome } from './backup-job.js';
import { faultPatchSchema, type FaultInjector, type FaultSettings } from './faults.js';
import type { CacheMemory } from './operations/cache-memory.js';
import type { NotesCapacity } from './operations/capacity.js';
import type { NotesHealing } from './operations/healing.js';
import type { NotificationLog } from './operations/notification-log.js';

/** Options of {@link createAdminApi}. */
export interface AdminApiOptions {
  faults: FaultInjector;
  slos: SloTracker;
  alerts: () => readonly SloAlertEvent[];
  backupNow: () => Promise<NotesBackupOutcome>;
  backups: NotesBackupJob;
  logger: Logger;
  incidents: IncidentManager;
  notifications: NotificationLog;
  healing: NotesHealing;
  capacity: NotesCapacity;
  cacheMemory: CacheMemory;
  instanceId: string;
  clock: Clock;
}

/** One incident in `GET /admin/incidents`. */
export function summarizeIncident(incident: Incident) {
  return {
    id: incident.id,
    severity: incident.severity,
    status: incident.status,
    dedupKey: incident.dedupKey,
    service: incident.service,
    occurrences: incident.occurrences,
    title: incident.title,
    urgency: incident.urgency,
    source: incident.source,
    triggeredAt: incident.triggeredAt,
    acknowledgedAt: incident.acknowledgedAt ?? null,
    mitigatedAt: incident.mitigatedAt ?? null,
    resolvedAt: incident.resolvedAt ?? null,
    resolveReason: incident.resolveReason ?? null,
    lastSeenAt: incident.lastSeenAt,
    components: incident.components,
    escalation: incident.escalation,
  };
}

/** One healing action in `GET /admin/healing` (a `step.completed` audit record). */
export function summarizeHealingAction(record: AuditRecord) {
  return {
    rule: record.rule,
    target: record.target,
    step: (record.action?.step ?? 0) + 1,
    action: record.action?.name ?? '?',
    kind: record.action?.kind ?? null,
    run: record.action?.run ?? 1,
    instance: record.instanceId,
    outcome: record.result ?? 'unknown',
    detail: record.detail ?? null,
    episodeId: record.episodeId ?? null,
    fencingToken: record.holder?.fencingToken ?? null,
    at: record.at,
  };
}

const actionBodySchema = z.strictObject({
  by: z.string().min(1).max(100).optional(),
  note: z.string().min(1).max(2_000).optional(),
  body: z.string().min(1).max(5_000).optional(),
});

const isLoopback = allowLoopback();

/** A compact view of an SLO status for humans and the demo. */
export function summarizeSlo(status: ReturnType<SloTracker['status']>) {
  return {
    slo: status.id,
    objective: status.objective,
    sli: status.sli,
    events: status.events,
    budgetRemainingRatio: Math.round(status.budget.remainingRatio * 10_000) / 10_000,
    burnRates: Object.fromEntries(
      ['5m', '1h', '6h'].map((window) => [window, Math.round((status.burnRates[window] ?? 0) * 100) / 100]),
    ),
    firing: status.firing,
  };
}

/** A compact view of a backup outcome. */
export function summarizeBackup(outcome: NotesBackupOutcome) {
  return {
    ok: outcome.ok,
    id: outcome.manifest.id,
    state: outcome.manifest.state,
    storedBytes: outcome.manifest.storedBytes,
    verification: outcome.verification
      ? { level: outcome.verification.level, ok: outcome.verification.ok, detail: outcome.verification.detail }
      : null,
    ...(outcome.manifest.error ? { error: outcome.manifest.error } : {}),
  };
}

/**
 * Operator endpoints, mounted only when `ADMIN_ENABLED=true` and answered only to loopback callers (others get 404,
 * as if the routes did not exist):
 * - `GET /admin/faults`, `PUT /admin/faults` (`{ storeUnavailable?, storeLatencyMs? }`), `DELETE /admin/faults`;
 * - `GET /admin/slos` (evaluates alerts first), `GET /admin/alerts`;
 * - `POST /admin/backups` (run and verify now), `GET /admin/backups`.
 */
export function createAdminApi(options: AdminApiOptions): OpsHandler {
  const {
    faults,
    slos,
    alerts,
    backupNow,
    backups,
    logger,
    incidents,
    notifications,
    healing,
    capacity,
    cacheMemory,
    instanceId,
    clock,
  } = options;
  const readPatch = async (request: OpsRequest) => {
    const { shared = false, ...fields } = await readJsonBody(request, faultPatchSchema);
    const patch: Partial<FaultSettings> = {};
    for (const [key, value] of Object.entries(fields))
      if (value !== undefined) (patch as Record<string, unknown>)[key] = value;
    return { patch, shared };
  };
  const readAction = (request: OpsRequest) => readJsonBody(request, actionBodySchema);
  const faultView = (settings: FaultSettings) => ({
    ...settings,
    ...faults.scopes(),
    sharedStore: faults.sharedStore,
    cacheMemoryRatio: Math.round(cacheMemory.ratio() * 1000) / 1000,
    instance: instanceId,
  });
  const incidentRoute = async (request: OpsRequest, headers: Record<string, string>) => {
    const match = /^\/admin\/incidents\/([^/]+)(?:\/([a-z-]+))?$/.exec(request.path);
    if (!match) return undefined;
    const id = decodeURIComponent(match[1]!);
    const sub = match[2];
    if (request.method === 'GET') {
      if (sub === undefined) return jsonResponse(200, { incident: await incidents.require(id) }, headers);
      if (sub === 'timeline') return jsonResponse(200, { id, timeline: await incidents.timeline(id) }, headers);
      if (sub === 'notifications')
        return jsonResponse(200, { id, notifications: await incidents.notifications(id) }, headers);
      if (sub === 'alerts') return jsonResponse(200, { id, alerts: await incidents.alerts(id) }, headers);
      if (sub === 'postmortem')
        return textResponse(200, await incidents.postmortemMarkdown(id), {
          ...headers,
          'content-type': 'text/markdown; charset=utf-8',
        });
      return undefined;
    }
    if (request.method !== 'POST') return undefined;
    const body = await readAction(request);
    const by = body.by ?? 'operator';
    const note = body.note ?? body.body;
    const options = { by, ...(note === undefined ? {} : { note }) };
    switch (sub) {
      case 'acknowledge':
        return jsonResponse(200, { incident: summarizeIncident(await incidents.acknowledge(id, options)) }, headers);
      case 'mitigate':
        return jsonResponse(200, { incident: summarizeIncident(await incidents.mitigate(id, options)) }, headers);
      case 'resolve':
        return jsonResponse(
          200,
          {
            incident: summarizeIncident(
              await incidents.resolve(id, { reason: 'user', by, note: note ?? 'resolved by an operator' }),
            ),
          },
          headers,
        );
      case 'updates': {
        if (body.body === undefined) throw new OpsError('ARGUMENT_INVALID', 'invalid body: body: required');
        const event = await incidents.postUpdate(id, { body: body.body, by });
        return jsonResponse(201, { update: event }, headers);
      }
      default:
        return undefined;
    }
  };
  return async (request) => {
    if (request.path !== '/admin' && !request.path.startsWith('/admin/')) return undefined;
    if (!(await isLoopback(request))) return undefined;
    const headers = { 'cache-control': 'no-store' };
    try {
      switch (`${request.method} ${request.path}`) {
        case 'GET /admin/faults':
          await faults.refresh();
          return jsonResponse(200, faultView(faults.current()), headers);
        case 'PUT /admin/faults': {
          const { patch, shared } = await readPatch(request);
          const settings = shared ? await faults.setShared(patch) : faults.set(patch);
          logger.warn({ faults: settings, shared }, 'fault injection changed');
          return jsonResponse(200, faultView(settings), headers);
        }
        case 'DELETE /admin/faults': {
          const shared = ['true', '1', 'yes'].includes(request.query.get('shared') ?? '');
          const settings = shared ? await faults.clearAll() : faults.clear();
          logger.info({ faults: settings, shared }, 'fault injection cleared');
          return jsonResponse(200, faultView(settings), headers);
        }
        case 'GET /admin/incidents': {
          const open = request.query.get('open');
          const service = request.query.get('service');
          const list = await incidents.list({
            ...(open === 'true' ? { open: true } : open === 'false' ? { open: false } : {}),
            ...(service ? { service } : {}),
            limit: 500,
          });
          return jsonResponse(200, { incidents: list.map(summarizeIncident) }, headers);
        }
        case 'GET /admin/incidents/metrics': {
          const report = await incidents.metrics({ from: 0, to: clock.now() + 1 });
          return jsonResponse(200, report, headers);
        }
        case 'GET /admin/healing': {
          const since = Number(request.query.get('since') ?? '0') || 0;
          const records = await healing.audit.list({ since, limit: 1_000 });
          const status = await healing.healer.status();
          return jsonResponse(
            200,
            {
              instance: instanceId,
              store: healing.storeKind,
              actions: records.filter((record) => record.kind === 'step.completed').map(summarizeHealingAction),
              episodes: records
                .filter((record) => record.kind === 'episode.closed' || record.kind === 'episode.escalated')
                .map((record) => ({
                  rule: record.rule,
                  target: record.target,
                  instance: record.instanceId,
                  episodeId: record.episodeId ?? null,
                  kind: record.kind,
                  outcome: record.reason ?? null,
                  at: record.at,
                })),
              flags: healing.flags.snapshot(),
              rules: status.rules.map((rule) => ({
                name: rule.name,
                targets: rule.targets.map((target) => ({
                  target: target.target,
                  condition: target.condition,
                  value: target.value ?? null,
                  inFlight: target.inFlight,
                })),
              })),
              pauses: status.pauses,
              storeAvailable: status.storeAvailable,
            },
            headers,
          );
        }
        case 'GET /admin/notifications':
          return jsonResponse(200, { instance: instanceId, notifications: notifications.entries }, headers);
        case 'GET /admin/capacity/report': {
          const format = request.query.get('format') ?? 'json';
          try {
            const built = capacity.report();
            if (format === 'markdown' || format === 'md')
              return textResponse(200, built.markdown, { ...headers, 'content-type': 'text/markdown; charset=utf-8' });
            return jsonResponse(
              200,
              {
                report: built.report,
                markdown: built.markdown,
                charts: Object.keys(built.charts).map((file) => `/admin/capacity/charts/${file}`),
              },
              headers,
            );
          } catch (error) {
            if (CapacityError.hasCode(error, 'INSUFFICIENT_DATA') || CapacityError.hasCode(error, 'ARGUMENT_INVALID'))
              return jsonResponse(
                409,
                { error: `not enough capacity samples yet: ${(error as Error).message}`, samples: capacity.counts() },
                headers,
              );
            throw error;
          }
        }
        case 'GET /admin/slos':
          await slos.evaluate();
          return jsonResponse(200, { slos: slos.statuses().map(summarizeSlo) }, headers);
        case 'GET /admin/alerts':
          return jsonResponse(200, { alerts: alerts() }, headers);
        case 'POST /admin/backups': {
          const outcome = await backupNow();
          return jsonResponse(outcome.ok ? 200 : 500, summarizeBackup(outcome), headers);
        }
        case 'GET /admin/backups':
          return jsonResponse(
            200,
            {
              backups: (await backups.list()).map((manifest) => ({
                id: manifest.id,
                state: manifest.state,
                completedAt: manifest.completedAt ?? null,
                storedBytes: manifest.storedBytes,
                verifications: manifest.verifications,
              })),
            },
            headers,
          );
        default: {
          const chart = /^\/admin\/capacity\/charts\/([\w.-]+\.svg)$/.exec(request.path);
          if (chart && request.method === 'GET') {
            const svg = capacity.report().charts[chart[1]!];
            if (svg !== undefined) return textResponse(200, svg, { ...headers, 'content-type': 'image/svg+xml' });
          }
          const answered = request.path.startsWith('/admin/incidents/')
            ? await incidentRoute(request, headers)
            : undefined;
          return answered ?? jsonResponse(404, { error: 'unknown admin endpoint' }, headers);
        }
      }
    } catch (error) {
      if (OpsError.hasCode(error, 'ARGUMENT_INVALID'))
        return jsonResponse(400, { error: (error as Error).message }, headers);
      if (IncidentError.hasCode(error, 'INCIDENT_NOT_FOUND'))
        return jsonResponse(404, { error: (error as Error).message }, headers);
      if (
        IncidentError.hasCode(error, 'TRANSITION_INVALID') ||
        IncidentError.hasCode(error, 'RESOLVE_REASON_REQUIRED') ||
        IncidentError.hasCode(error, 'POSTMORTEM_REQUIRED')
      )
        return jsonResponse(409, { error: (error as Error).message }, headers);
      logger.error({ path: request.path, error: safeErrorMessage(error) }, 'admin request failed');
      return jsonResponse(500, { error: safeErrorMessage(error) }, headers);
    }
  };
}

/** Reads a JSON body of at most 16 KiB (empty means `{}`) and validates it, naming each bad field in the error. */
async function readJsonBody<Schema extends z.ZodType>(request: OpsRequest, schema: Schema): Promise<z.output<Schema>> {
  const bytes = request.readBody ? await request.readBody(16 * 1024) : new Uint8Array();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8') || '{}');
  } catch {
    throw new OpsError('ARGUMENT_INVALID', 'body is not valid JSON');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new OpsError(
      'ARGUMENT_INVALID',
      `invalid body: ${parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`).join('; ')}`,
    );
  return parsed.data;
}
