import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock } from '../time/clock.js';

/** What an observing middleware reports for each finished request. */
export interface RequestObservation {
  /** Upper-case method. */
  method: string;
  /**
   * Route template when the framework knows it (`/users/:id` in Express and Fastify), otherwise what the `route`
   * option returns, otherwise the path. Use templates as labels: raw paths have unbounded cardinality.
   */
  route: string;
  /** Path without the query string. */
  path: string;
  /** Status code sent; 500 when the handler threw before answering. */
  statusCode: number;
  /** From the request's arrival to the end of the response (node:http, Express, Fastify) or to the returned `Response` (fetch). */
  durationMs: number;
  /** The client went away before the handler ended the response. */
  aborted: boolean;
  /** What the handler threw, when it threw (fetch handlers). */
  error?: unknown;
}

/** Receives one {@link RequestObservation} per request. Must not throw (errors are swallowed). */
export type RequestObserver = (observation: RequestObservation) => void;

/** Options shared by the observing adapters. */
export interface ObserveRequestsOptions {
  /** Called once per finished request. */
  observer: RequestObserver;
  /** Route label when the framework has no template (node:http, fetch, unmatched routes). Default: the path. */
  route?: (request: { method: string; path: string }) => string;
  /** Source of `monotonic()` for durations. Default `systemClock`. */
  clock?: Clock;
}

/** Path of a request URL without the query string. */
export function pathOf(url: string): string {
  const queryIndex = url.indexOf('?');
  const path = queryIndex === -1 ? url : url.slice(0, queryIndex);
  if (path.startsWith('/')) return path;
  // Absolute-form request targets (`http://host/path`) or fetch URLs.
  try {
    return new URL(path).pathname;
  } catch {
    return path;
  }
}

/** Calls the observer, isolating the request from observer failures. */
export function notifyObserver(observer: RequestObserver, observation: RequestObservation): void {
  try {
    observer(observation);
  } catch {
    // An observer must never break the request it observes.
  }
}

/**
 * Observes one node:http exchange: reports once, when the response closes — after it finished, or earlier when the
 * client went away (`aborted`). `template` is read at that moment, after the framework has routed the request.
 */
export function observeNodeExchange(
  request: IncomingMessage,
  response: ServerResponse,
  options: ObserveRequestsOptions,
  template?: () => string | undefined,
): void {
  const clock = options.clock ?? systemClock;
  const started = clock.monotonic();
  // One plain listener: a ServerResponse always emits 'close' last (after 'finish' when it completed). once()/off()
  // pairs cost more per request than the whole SLO recording.
  response.on('close', () => {
    const durationMs = clock.monotonic() - started;
    const method = request.method ?? 'GET';
    const path = pathOf(request.url ?? '/');
    const route = template?.() ?? options.route?.({ method, path }) ?? path;
    // Complete once the handler ended the response: `writableFinished` alone stays false without a real socket
    // (Fastify's and light-my-request's `inject()`), which counted every injected request as aborted.
    const aborted = !response.writableFinished && !response.writableEnded;
    notifyObserver(options.observer, { method, route, path, statusCode: response.statusCode, durationMs, aborted });
  });
}
