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

/**
 * Builds an {@link OpsRequest} from a node:http request (also what Express and Fastify's `request.raw` are).
 * `signal` aborts when the response is closed before it finished (client went away).
 */
export function fromNodeRequest(request: IncomingMessage, response?: ServerResponse): OpsRequest {
  const url = request.url ?? '/';
  const queryIndex = url.indexOf('?');
  const path = queryIndex === -1 ? url : url.slice(0, queryIndex);
  const query = new URLSearchParams(queryIndex === -1 ? '' : url.slice(queryIndex + 1));
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  const opsRequest: OpsRequest = {
    method: (request.method ?? 'GET').toUpperCase(),
    path: path === '' ? '/' : path,
    query,
    headers,
    readBody: (maxBytes?: number) => readNodeBody(request, maxBytes),
  };
  const remoteAddress = request.socket?.remoteAddress;
  if (remoteAddress !== undefined) opsRequest.remoteAddress = remoteAddress;
  if (response) {
    // Created on first use: most handlers never look at the signal, and a listener per request costs throughput.
    let controller: AbortController | undefined;
    Object.defineProperty(opsRequest, 'signal', {
      enumerable: true,
      configurable: true,
      get(): AbortSignal {
        if (!controller) {
          const created = new AbortController();
          controller = created;
          const abort = () => created.abort(new OpsError('ABORTED', 'client closed the connection'));
          if (response.closed) {
            if (!response.writableFinished) abort();
          } else {
            response.once('close', () => {
              if (!response.writableFinished) abort();
            });
          }
        }
        return controller.signal;
      },
    });
  }
  return opsRequest;
}

/** Writes an {@link OpsResponse} to a node:http response. */
export function writeNodeResponse(response: ServerResponse, opsResponse: OpsResponse): void {
  if (response.headersSent || response.writableEnded) return;
  const body = typeof opsResponse.body === 'string' ? Buffer.from(opsResponse.body, 'utf8') : Buffer.from(opsResponse.body.buffer, opsResponse.body.byteOffset, opsResponse.body.byteLength);
  const headers: Record<string, string | number> = { ...opsResponse.headers };
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-length')) headers['content-length'] = body.length;
  response.writeHead(opsResponse.status, headers);
  response.end(body);
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
export function toNodeHandler(handler: OpsHandler, options: NodeHandlerOptions = {}): (request: IncomingMessage, response: ServerResponse) => void {
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
