import {
  jsonResponse,
  OpsError,
  safeErrorMessage,
  type Logger,
  type OpsHandler,
  type OpsRequest,
  type OpsResponse,
} from '@ops/core';
import { z } from 'zod';
import type { NotesCache } from './cache/notes-cache.js';
import { noteInputSchema, notePatchSchema } from './notes/note.js';
import type { NotesRepository } from './notes/notes-repository.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const limitSchema = z.coerce.number().int().min(1).max(100);

/**
 * Maps a request path to its route template (`/notes` or `/notes/:id`), or `undefined` for non-API paths. Templates,
 * not raw paths, label metrics and SLO events, so label cardinality stays bounded.
 */
export function apiRouteOf(path: string): string | undefined {
  if (path === '/notes' || path === '/notes/') return '/notes';
  if (path.startsWith('/notes/') && !path.slice('/notes/'.length).includes('/')) return '/notes/:id';
  return undefined;
}

function problem(
  status: number,
  error: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): OpsResponse {
  return jsonResponse(status, { error, ...extra }, { 'cache-control': 'no-store', ...headers });
}

async function readJson(request: OpsRequest): Promise<unknown> {
  if (!request.readBody) throw new OpsError('ARGUMENT_INVALID', 'request has no body');
  const bytes = await request.readBody(64 * 1024);
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new OpsError('ARGUMENT_INVALID', 'body is not valid JSON');
  }
}

function validation(error: z.ZodError): OpsResponse {
  const issues = error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));
  return problem(400, `invalid body: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, {
    issues,
  });
}

/** Options of {@link createNotesApi}. */
export interface NotesApiOptions {
  repository: NotesRepository;
  cache: NotesCache;
  logger: Logger;
}

/**
 * The notes JSON API as a framework-neutral handler:
 * `GET /notes?limit=`, `POST /notes`, `GET|PUT|DELETE /notes/:id`. A store that is down answers 503 with
 * `retry-after`; a cache that is down only costs a database read.
 *
 * @example
 * ```ts
 * const api = createNotesApi({ repository, cache, logger });
 * createServer(toNodeHandler(api));
 * ```
 */
export function createNotesApi(options: NotesApiOptions): OpsHandler {
  const { repository, cache, logger } = options;

  const cached = async <T>(operation: string, work: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      logger.warn(
        { operation, cache: cache.kind, error: safeErrorMessage(error) },
        'notes cache failed; continuing without it',
      );
      return fallback;
    }
  };

  const handle = async (request: OpsRequest, route: string): Promise<OpsResponse> => {
    if (route === '/notes') {
      if (request.method === 'GET') {
        const limit = limitSchema.safeParse(request.query.get('limit') ?? 20);
        if (!limit.success) return problem(400, 'invalid query: limit: expected an integer from 1 to 100');
        return jsonResponse(200, { notes: await repository.list({ limit: limit.data }) });
      }
      if (request.method === 'POST') {
        const parsed = noteInputSchema.safeParse(await readJson(request));
        if (!parsed.success) return validation(parsed.error);
        const note = await repository.create(parsed.data);
        return jsonResponse(201, note, { location: `/notes/${note.id}` });
      }
      return problem(405, 'method not allowed', {}, { allow: 'GET, POST' });
    }
    const id = request.path.slice('/notes/'.length);
    if (!UUID_PATTERN.test(id)) return problem(404, 'note not found');
    if (request.method === 'GET') {
      const hit = await cached('get', () => cache.get(id), undefined);
      if (hit) return jsonResponse(200, hit, { 'x-cache': 'hit' });
      const note = await repository.get(id);
      if (!note) return problem(404, 'note not found');
      await cached('set', () => cache.set(note), undefined);
      return jsonResponse(200, note, { 'x-cache': 'miss' });
    }
    if (request.method === 'PUT' || request.method === 'PATCH') {
      const parsed = notePatchSchema.safeParse(await readJson(request));
      if (!parsed.success) return validation(parsed.error);
      const patch = {
        ...(parsed.data.title === undefined ? {} : { title: parsed.data.title }),
        ...(parsed.data.body === undefined ? {} : { body: parsed.data.body }),
      };
      const note = await repository.update(id, patch);
      await cached('delete', () => cache.delete(id), undefined);
      if (!note) return problem(404, 'note not found');
      return jsonResponse(200, note);
    }
    if (request.method === 'DELETE') {
      const deleted = await repository.delete(id);
      await cached('delete', () => cache.delete(id), undefined);
      return deleted ? { status: 204, headers: {}, body: '' } : problem(404, 'note not found');
    }
    return problem(405, 'method not allowed', {}, { allow: 'GET, PUT, PATCH, DELETE' });
  };

  return async (request) => {
    const route = apiRouteOf(request.path);
    if (route === undefined) return undefined;
    try {
      return await handle(request, route);
    } catch (error) {
      if (OpsError.hasCode(error, 'ARGUMENT_INVALID')) return problem(400, (error as Error).message);
      if (OpsError.hasCode(error, 'SERVICE_UNAVAILABLE') || isConnectionError(error)) {
        logger.warn({ route, method: request.method, error: safeErrorMessage(error) }, 'notes store unavailable');
        return problem(503, 'notes store unavailable; retry later', {}, { 'retry-after': '5' });
      }
      logger.error({ route, method: request.method, error: safeErrorMessage(error) }, 'request failed');
      return problem(500, 'internal error');
    }
  };
}

/** Errors that mean "the database cannot be reached right now" rather than "this request is wrong". */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03', '53300'].includes(code)
  )
    return true;
  const message = error instanceof Error ? error.message : '';
  return /timeout exceeded when trying to connect|Connection terminated|Query read timeout/i.test(message);
}
