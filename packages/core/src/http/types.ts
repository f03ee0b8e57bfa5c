/**
 * One HTTP request in a framework-neutral shape. Adapters ({@link toNodeHandler}, {@link toExpressMiddleware},
 * {@link toFastifyPlugin}, {@link toFetchHandler}) build it from whatever the framework hands them.
 */
export interface OpsRequest {
  /** Upper-case method, e.g. `'GET'`. */
  method: string;
  /** Path without the query string, as seen by the handler (relative to an Express mount point). */
  path: string;
  /** Parsed query string. */
  query: URLSearchParams;
  /** Headers with lower-case names; repeated headers are joined with `', '`. */
  headers: Record<string, string | undefined>;
  /** Address of the peer, when the framework exposes it. */
  remoteAddress?: string;
  /** Aborts when the client goes away before the response is written. */
  signal?: AbortSignal;
  /**
   * Reads the request body (at most `maxBytes`, default 1 MiB; more rejects with an `OpsError` code
   * `ARGUMENT_INVALID`). Only call it when the request is yours: the body can be read once.
   */
  readBody?: (maxBytes?: number) => Promise<Uint8Array>;
}

/** A complete HTTP response: status, headers (lower- or mixed-case names) and body. */
export interface OpsResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/**
 * A framework-neutral handler. Resolves to a response, or to `undefined` when the request is not its business
 * (the adapter then passes it on: `next()` in Express, the route table in Fastify, a 404 or fallback in node:http).
 *
 * @example
 * ```ts
 * const handler: OpsHandler = async (request) =>
 *   request.path === '/ping' ? jsonResponse(200, { pong: true }) : undefined;
 * ```
 */
export type OpsHandler = (request: OpsRequest) => Promise<OpsResponse | undefined>;
