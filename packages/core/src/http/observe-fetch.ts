import { systemClock } from '../time/clock.js';
import { notifyObserver, pathOf, type ObserveRequestsOptions } from './observe-request.js';

/** A fetch-API handler: `(Request) => Response` (Hono, Bun, Deno, Next.js route handlers, workers). */
export type FetchRequestHandler = (request: Request) => Response | Promise<Response>;

/**
 * Wraps a fetch-API handler so every request is reported to `options.observer`. The duration ends when the
 * handler returns its `Response` (a streamed body may still be flowing). A handler that throws is reported as a
 * 500 with the error, and the error is rethrown unchanged.
 *
 * @example
 * ```ts
 * export default { fetch: observeFetchRequests(app.fetch, { observer: sloObserver }) };
 * ```
 */
export function observeFetchRequests(
  handler: FetchRequestHandler,
  options: ObserveRequestsOptions,
): FetchRequestHandler {
  const clock = options.clock ?? systemClock;
  return async (request) => {
    const started = clock.monotonic();
    const method = request.method.toUpperCase();
    const path = pathOf(request.url);
    const route = options.route?.({ method, path }) ?? path;
    try {
      const response = await handler(request);
      notifyObserver(options.observer, {
        method,
        route,
        path,
        statusCode: response.status,
        durationMs: clock.monotonic() - started,
        aborted: request.signal.aborted,
      });
      return response;
    } catch (error) {
      notifyObserver(options.observer, {
        method,
        route,
        path,
        statusCode: 500,
        durationMs: clock.monotonic() - started,
        aborted: request.signal.aborted,
        error,
      });
      throw error;
    }
  };
}
