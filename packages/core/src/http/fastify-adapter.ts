import type { IncomingMessage, ServerResponse } from 'node:http';
import { fromNodeRequest } from './node-adapter.js';
import type { OpsHandler } from './types.js';

/** The parts of a Fastify request the adapter reads (structural: core does not depend on Fastify). */
export interface FastifyRequestLike {
  raw: IncomingMessage;
}

/** The parts of a Fastify reply the adapter uses. */
export interface FastifyReplyLike {
  raw: ServerResponse;
  code(statusCode: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}

/** The parts of a Fastify instance the adapter uses. */
export interface FastifyInstanceLike {
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>): unknown;
}

/** A Fastify plugin as returned by {@link toFastifyPlugin}. Register it with `app.register(plugin)`. */
export type FastifyPluginLike = ((instance: FastifyInstanceLike, options: unknown) => Promise<void>) & {
  [key: symbol]: unknown;
};

/**
 * Adapts an {@link OpsHandler} to a Fastify 4/5 plugin. It installs an `onRequest` hook on the instance it is
 * registered on (it is not encapsulated, like a `fastify-plugin`), answers the requests the handler claims and
 * lets every other request reach the app's routes (including the 404 handler).
 *
 * @example
 * ```ts
 * await app.register(toFastifyPlugin(health.handler));
 * ```
 */
export function toFastifyPlugin(handler: OpsHandler): FastifyPluginLike {
  const plugin = async (instance: FastifyInstanceLike) => {
    instance.addHook('onRequest', async (request, reply) => {
      const opsResponse = await handler(fromNodeRequest(request.raw, reply.raw));
      if (!opsResponse) return undefined;
      reply.code(opsResponse.status);
      for (const [name, value] of Object.entries(opsResponse.headers)) reply.header(name, value);
      // A Buffer, so Fastify sends the content type exactly as given (it appends a charset to strings).
      const body =
        typeof opsResponse.body === 'string'
          ? Buffer.from(opsResponse.body, 'utf8')
          : Buffer.from(opsResponse.body.buffer, opsResponse.body.byteOffset, opsResponse.body.byteLength);
      return reply.send(body);
    });
  };
  // What fastify-plugin sets: hooks apply to the parent instance instead of an encapsulated child.
  const skipOverride = plugin as unknown as FastifyPluginLike;
  skipOverride[Symbol.for('skip-override')] = true;
  skipOverride[Symbol.for('fastify.display-name')] = 'ops-http';
  skipOverride[Symbol.for('plugin-meta')] = { name: 'ops-http', fastify: '>=4' };
  return skipOverride;
}
