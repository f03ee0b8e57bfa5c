import { OpsError } from '../errors/ops-error.js';
import type { OpsHandler, OpsRequest } from './types.js';

/** A fetch-API handler as used by Hono, Bun, Deno and workers. Resolves `undefined` when not claimed. */
export type FetchHandler = (request: Request) => Promise<Response | undefined>;

/** Builds an {@link OpsRequest} from a fetch-API `Request`. */
export function fromFetchRequest(request: Request, remoteAddress?: string): OpsRequest {
  const url = new URL(request.url);
  const headers: Record<string, string | undefined> = {};
  request.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  const opsRequest: OpsRequest = {
    method: request.method.toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers,
    signal: request.signal,
    readBody: async (maxBytes = 1024 * 1024) => {
      const bytes = new Uint8Array(await request.arrayBuffer());
      if (bytes.byteLength > maxBytes) throw new OpsError('ARGUMENT_INVALID', `request body exceeds ${maxBytes} bytes`);
      return bytes;
    },
  };
  if (remoteAddress !== undefined) opsRequest.remoteAddress = remoteAddress;
  return opsRequest;
}

/**
 * Adapts an {@link OpsHandler} to the fetch API: `(Request) => Promise<Response | undefined>`. In Hono:
 * `app.use(async (c, next) => (await handle(c.req.raw)) ?? next())`.
 *
 * @example
 * ```ts
 * const handle = toFetchHandler(health.handler);
 * Bun.serve({ fetch: async (request) => (await handle(request)) ?? new Response('not found', { status: 404 }) });
 * ```
 */
export function toFetchHandler(handler: OpsHandler): FetchHandler {
  return async (request) => {
    const opsResponse = await handler(fromFetchRequest(request));
    if (!opsResponse) return undefined;
    const body = opsResponse.body;
    return new Response(request.method === 'HEAD' ? null : typeof body === 'string' ? body : new Uint8Array(body), {
      status: opsResponse.status,
      headers: opsResponse.headers,
    });
  };
}
