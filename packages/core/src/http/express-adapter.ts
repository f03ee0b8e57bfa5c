import type { IncomingMessage, ServerResponse } from 'node:http';
import { fromNodeRequest, writeNodeResponse } from './node-adapter.js';
import type { OpsHandler } from './types.js';

/** The `next` callback of Express/Connect. */
export type ConnectNext = (error?: unknown) => void;

/** An Express/Connect middleware, typed structurally so core does not depend on Express. */
export type ConnectMiddleware = (request: IncomingMessage, response: ServerResponse, next: ConnectNext) => void;

/**
 * Adapts an {@link OpsHandler} to an Express 4/5 or Connect middleware. When the handler resolves to `undefined`
 * the request goes on with `next()`; a throwing handler goes to `next(error)` (the app's error handler).
 * Paths are relative to the mount point (`app.use('/ops', middleware)` sees `/health` for `/ops/health`).
 *
 * @example
 * ```ts
 * app.use(toExpressMiddleware(health.handler));
 * ```
 */
export function toExpressMiddleware(handler: OpsHandler): ConnectMiddleware {
  return (request, response, next) => {
    let opsRequest;
    try {
      opsRequest = fromNodeRequest(request, response);
    } catch (error) {
      next(error);
      return;
    }
    handler(opsRequest).then(
      (opsResponse) => {
        if (opsResponse) writeNodeResponse(response, opsResponse);
        else next();
      },
      (error: unknown) => next(error),
    );
  };
}
