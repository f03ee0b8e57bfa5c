import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConnectMiddleware } from './express-adapter.js';
import { observeNodeExchange, type ObserveRequestsOptions } from './observe-request.js';

interface ExpressRoutedRequest extends IncomingMessage {
  baseUrl?: string;
  route?: { path?: unknown };
}

/**
 * Express/Connect middleware that reports every request to `options.observer` when its response ends. Install it
 * first (`app.use(observeExpressRequests(...))`). The route is Express' matched template (`baseUrl + route.path`).
 *
 * @example
 * ```ts
 * app.use(observeExpressRequests({ observer: sloObserver }));
 * ```
 */
export function observeExpressRequests(options: ObserveRequestsOptions): ConnectMiddleware {
  return (request: IncomingMessage, response: ServerResponse, next) => {
    const routed = request as ExpressRoutedRequest;
    observeNodeExchange(request, response, options, () => {
      const path = routed.route?.path;
      return typeof path === 'string' ? `${routed.baseUrl ?? ''}${path}` : undefined;
    });
    next();
  };
}
