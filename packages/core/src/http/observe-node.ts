import type { IncomingMessage, ServerResponse } from 'node:http';
import { observeNodeExchange, type ObserveRequestsOptions } from './observe-request.js';

/** A node:http request listener. */
export type NodeRequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Wraps a node:http request listener so every request is reported to `options.observer` when its response ends.
 *
 * @example
 * ```ts
 * const server = createServer(observeNodeRequests(app, { observer: sloObserver, route: ({ path }) => routeOf(path) }));
 * ```
 */
export function observeNodeRequests(
  listener: NodeRequestListener,
  options: ObserveRequestsOptions,
): NodeRequestListener {
  return (request, response) => {
    observeNodeExchange(request, response, options);
    listener(request, response);
  };
}
