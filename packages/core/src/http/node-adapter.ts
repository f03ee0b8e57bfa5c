import type { IncomingMessage, ServerResponse } from 'node:http';
import { OpsError } from '../errors/ops-error.js';
import type { OpsHandler, OpsRequest, OpsResponse } from './types.js';

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Options of {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /** Called when the handler resolves to `undefined`. Default: a plain-text 404. */
  fallback?: (request: IncomingMessage, response: ServerResponse) => void;
  /** Called when the handler throws (the client gets a bare 500 without details). */
  onError?: (error: unknown) => void;
}

/** Collects a node readable stream into bytes, refusing more than `maxBytes`. */
export function readNodeBody(stream: IncomingMessage, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        cleanup();
        stream.resume();
        reject(new OpsError('ARGUMENT_INVALID', `request body exceeds ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(new Uint8Array(Buffer.concat(chunks)));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

const ABORTED_MESSAGE = 'client closed the connection';

/** An {@link OpsRequest} over a node:http request; the signal is created on first use (most handlers never read it). */
class NodeOpsRequest implements OpsRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | undefined>;
  remoteAddress?: string;
  readonly #request: IncomingMessage;
  readonly #response: ServerResponse | undefined;
  #controller: AbortController | undefined;
  readonly #search: string;
  #query: URLSearchParams | undefined;

  constructor(request: IncomingMessage, response: ServerResponse | undefined) {
    const url = request.url ?? '/';
    const queryIndex = url.indexOf('?');
    const path = queryIndex === -1 ? url : url.slice(0, queryIndex);
    this.method = (request.method ?? 'GET').toUpperCase();
    this.path = path === '' ? '/' : path;
    this.#search = queryIndex === -1 ? '' : url.slice(queryIndex + 1);
    // node:http already lower-cases names and joins repeated headers, except set-cookie (an array).
    const raw = request.headers;
    if (raw['set-cookie'] === undefined) {
      this.headers = raw as Record<string, string | undefined>;
    } else {
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(raw)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      this.headers = headers;
    }
    const remoteAddress = request.socket?.remoteAddress;
    if (remoteAddress !== undefined) this.remoteAddress = remoteAddress;
    this.#request = request;
    this.#response = response;
  }

  /** Parsed on first use: most health and status requests never read their query. */
  get query(): URLSearchParams {
    this.#query ??= new URLSearchParams(this.#search);
    return this.#query;
  }

  get signal(): AbortSignal {
    const response = this.#response;
    if (!this.#controller) {
      const controller = new AbortController();
      this.#controller = controller;
      // Without the response there is nothing to watch: the signal never aborts.
      if (!response) return controller.signal;
      const abort = () => controller.abort(new OpsError('ABORTED', ABORTED_MESSAGE));
      if (response.closed) {
        if (!response.writableFinished) abort();
      } else {
        response.once('close', () => {
          if (!response.writableFinished) abort();
        });
      }
    }
    return this.#controller.signal;
  }

  readBody(maxBytes?: number): Promise<Uint8Array> {
    return readNodeBody(this.#request, maxBytes);
  }
}

/**
 * Builds an {@link OpsRequest} from a node:http request (also what Express and Fastify's `request.raw` are).
 * `signal` aborts when the response is closed before it finished (client went away).
 */
export function fromNodeRequest(request: IncomingMessage, response?: ServerResponse): OpsRequest {
  return new NodeOpsRequest(request, response);
}

/** Writes an {@link OpsResponse} to a node:http response. */
export function writeNodeResponse(response: ServerResponse, opsResponse: OpsResponse): void {
  if (response.headersSent || response.writableEnded) return;
  const { body } = opsResponse;
  let hasLength = false;
  for (const name in opsResponse.headers)
    if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
  // writeHead only reads the object, so the response's own headers are passed as they are when nothing is added.
  const headers: Record<string, string | number> = hasLength ? opsResponse.headers : { ...opsResponse.headers };
  if (typeof body === 'string') {
    // A string body goes out in the same write as the headers (a Buffer would take a second, vectored write).
    if (!hasLength) headers['content-length'] = Buffer.byteLength(body, 'utf8');
    response.writeHead(opsResponse.status, headers);
    response.end(body, 'utf8');
    return;
  }
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (!hasLength) headers['content-length'] = bytes.length;
  response.writeHead(opsResponse.status, headers);
  response.end(bytes);
}

function writeInternalError(response: ServerResponse): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  response.end('internal error\n');
}

/**
 * Adapts an {@link OpsHandler} to node:http's `(request, response)` listener. When the handler resolves to
 * `undefined`, `fallback` runs (default: 404). A throwing handler yields a bare 500; `onError` sees the error.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * createServer(toNodeHandler(health.handler)).listen(8080);
 * ```
 */
export function toNodeHandler(
  handler: OpsHandler,
  options: NodeHandlerOptions = {},
): (request: IncomingMessage, response: ServerResponse) => void {
  const { fallback, onError } = options;
  return (request, response) => {
    let opsRequest: OpsRequest;
    try {
      opsRequest = fromNodeRequest(request, response);
    } catch (error) {
      onError?.(error);
      writeInternalError(response);
      return;
    }
    handler(opsRequest).then(
      (opsResponse) => {
        if (opsResponse) writeNodeResponse(response, opsResponse);
        else if (fallback) fallback(request, response);
        else {
          response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          response.end('not found\n');
        }
      },
      (error: unknown) => {
        onError?.(error);
        writeInternalError(response);
      },
    );
  };
}
