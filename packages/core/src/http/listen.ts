import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler, type NodeHandlerOptions } from './node-adapter.js';
import type { OpsHandler } from './types.js';

/** A node:http listener, as `createServer` takes it. */
export type NodeListener = (request: IncomingMessage, response: ServerResponse) => void;

/** Options of {@link listen}. */
export interface ListenOptions extends NodeHandlerOptions {
  /** TCP port; `0` (default) picks a free one. */
  port?: number;
  /** Interface to bind. Default `'127.0.0.1'` (loopback: expose on purpose, not by accident). */
  host?: string;
}

/** A server started by {@link listen}. */
export interface ListeningServer {
  /** The underlying node:http server (attach it to a graceful-shutdown drainer). */
  server: Server;
  /** The bound port. */
  port: number;
  /** `http://host:port` of the bound address (IPv6 in brackets). */
  url: string;
  /** Stops accepting, closes idle keep-alive sockets at once and the rest when their response ends. */
  close(): Promise<void>;
}

/**
 * Starts a node:http server for an {@link OpsHandler} (or a plain node listener) and resolves once it is bound.
 * One place for the server plumbing every package and service repeats.
 *
 * @example
 * ```ts
 * const { url, close } = await listen(composeHandlers(health.handler, statusPage.handler), { port: 8080 });
 * ```
 */
export async function listen(
  handler: OpsHandler | NodeListener,
  options: ListenOptions = {},
): Promise<ListeningServer> {
  const { port = 0, host = '127.0.0.1', ...handlerOptions } = options;
  const listener: NodeListener =
    handler.length >= 2 ? (handler as NodeListener) : toNodeHandler(handler as OpsHandler, handlerOptions);
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) =>
          error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? reject(error) : resolve(),
        );
        server.closeIdleConnections();
      }),
  };
}

/**
 * Combines handlers into one: each is asked in order and the first that answers (does not resolve to
 * `undefined`) wins; when none answers, the result is `undefined` and the adapter's fallback runs.
 *
 * @example
 * ```ts
 * const handler = composeHandlers(health.handler, incidents.receiver, statusPage.handler);
 * ```
 */
export function composeHandlers(...handlers: OpsHandler[]): OpsHandler {
  return async (request) => {
    for (const handler of handlers) {
      const response = await handler(request);
      if (response !== undefined) return response;
    }
    return undefined;
  };
}
