import type { IncomingMessage, ServerResponse } from 'node:http';
import { observeNodeExchange, type ObserveRequestsOptions } from './observe-request.js';

/** The parts of a Fastify request the observer reads. */
export interface FastifyObservedRequestLike {
  raw: IncomingMessage;
  /** Fastify 5: the matched route (`url` is the template). */
  routeOptions?: { url?: string | undefined };
}

/** The parts of a Fastify instance the observer uses. */
export interface FastifyObservedInstanceLike {
  addHook(
    name: 'onRequest',
    hook: (request: FastifyObservedRequestLike, reply: { raw: ServerResponse }) => Promise<unknown>,
  ): unknown;
}

/** A Fastify plugin as returned by {@link observeFastifyRequests}. */
export type FastifyObservePlugin = ((instance: FastifyObservedInstanceLike, options: unknown) => Promise<void>) & {
  [key: symbol]: unknown;
};

/**
 * Fastify 5 plugin that reports every request to `options.observer` when its response ends. Not encapsulated, so
 * it sees every route of the instance it is registered on; the route is Fastify's template (`/users/:id`).
 *
 * @example
 * ```ts
 * await app.register(observeFastifyRequests({ observer: sloObserver }));
 * ```
 */
export function observeFastifyRequests(options: ObserveRequestsOptions): FastifyObservePlugin {
  const plugin = async (instance: FastifyObservedInstanceLike) => {
    instance.addHook('onRequest', async (request, reply) => {
      observeNodeExchange(request.raw, reply.raw, options, () => request.routeOptions?.url);
    });
  };
  const marked = plugin as unknown as FastifyObservePlugin;
  marked[Symbol.for('skip-override')] = true;
  marked[Symbol.for('fastify.display-name')] = 'ops-observe';
  marked[Symbol.for('plugin-meta')] = { name: 'ops-observe', fastify: '>=4' };
  return marked;
}
