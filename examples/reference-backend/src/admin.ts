import { jsonResponse, OpsError, safeErrorMessage, type Logger, type OpsHandler, type OpsRequest } from '@ops/core';
import { allowLoopback } from '@ops/health';
import type { SloAlertEvent, SloTracker } from '@ops/slo';
import type { NotesBackupJob, NotesBackupOutcome } from './backup-job.js';
import { faultPatchSchema, type FaultInjector } from './faults.js';

/** Options of {@link createAdminApi}. */
export interface AdminApiOptions {
  faults: FaultInjector;
  slos: SloTracker;
  alerts: () => readonly SloAlertEvent[];
  backupNow: () => Promise<NotesBackupOutcome>;
  backups: NotesBackupJob;
  logger: Logger;
}

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
  const { faults, slos, alerts, backupNow, backups, logger } = options;
  const readPatch = async (request: OpsRequest) => {
    const bytes = request.readBody ? await request.readBody(16 * 1024) : new Uint8Array();
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(bytes).toString('utf8') || '{}');
    } catch {
      throw new OpsError('ARGUMENT_INVALID', 'body is not valid JSON');
    }
    const parsed = faultPatchSchema.safeParse(body);
    if (!parsed.success) {
      throw new OpsError(
        'ARGUMENT_INVALID',
        `invalid body: ${parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`).join('; ')}`,
      );
    }
    const patch: { storeUnavailable?: boolean; storeLatencyMs?: number } = {};
    if (parsed.data.storeUnavailable !== undefined) patch.storeUnavailable = parsed.data.storeUnavailable;
    if (parsed.data.storeLatencyMs !== undefined) patch.storeLatencyMs = parsed.data.storeLatencyMs;
    return patch;
  };
  return async (request) => {
    if (request.path !== '/admin' && !request.path.startsWith('/admin/')) return undefined;
    if (!(await isLoopback(request))) return undefined;
    const headers = { 'cache-control': 'no-store' };
    try {
      switch (`${request.method} ${request.path}`) {
        case 'GET /admin/faults':
          return jsonResponse(200, faults.current(), headers);
        case 'PUT /admin/faults': {
          const settings = faults.set(await readPatch(request));
          logger.warn({ faults: settings }, 'fault injection changed');
          return jsonResponse(200, settings, headers);
        }
        case 'DELETE /admin/faults': {
          const settings = faults.clear();
          logger.info({ faults: settings }, 'fault injection cleared');
          return jsonResponse(200, settings, headers);
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
        default:
          return jsonResponse(404, { error: 'unknown admin endpoint' }, headers);
      }
    } catch (error) {
      if (OpsError.hasCode(error, 'ARGUMENT_INVALID'))
        return jsonResponse(400, { error: (error as Error).message }, headers);
      logger.error({ path: request.path, error: safeErrorMessage(error) }, 'admin request failed');
      return jsonResponse(500, { error: safeErrorMessage(error) }, headers);
    }
  };
}
