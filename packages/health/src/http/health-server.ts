import type { Server } from 'node:http';
import { listen, type ListeningServer, type ListenOptions, type OpsHandler } from '@ops/core';

/** A standalone health server started by {@link Health.listen}. */
export interface HealthServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Options of {@link listenHealthServer}. */
export interface HealthServerOptions extends Pick<ListenOptions, 'onError'> {
  /** TCP port; `0` (default) picks a free one. */
  port?: number;
  /** Interface to bind. Default: all interfaces (`::`, or `0.0.0.0` where IPv6 is unavailable), as `server.listen`. */
  host?: string;
  /** Called with the server once bound, before it handles a connection (the registry attaches it for shutdown). */
  attach?: (server: Server) => void;
}

const ADDRESS_FAMILY_ERRORS = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

/**
 * Serves `handler` on a port of its own with core's `listen()`. Unlike core's loopback default, it binds every
 * interface unless `host` says otherwise (a probe port must be reachable by the kubelet); `close()` also ends
 * keep-alive and in-flight connections.
 */
export async function listenHealthServer(
  handler: OpsHandler,
  options: HealthServerOptions = {},
): Promise<HealthServer> {
  const { host, attach, ...listenOptions } = options;
  let listening: ListeningServer;
  if (host !== undefined) {
    listening = await listen(handler, { ...listenOptions, host });
  } else {
    try {
      listening = await listen(handler, { ...listenOptions, host: '::' });
    } catch (error) {
      // No IPv6 on this host: fall back to IPv4, as node:http does when no host is given.
      if (!ADDRESS_FAMILY_ERRORS.has(String((error as NodeJS.ErrnoException).code))) throw error;
      listening = await listen(handler, { ...listenOptions, host: '0.0.0.0' });
    }
  }
  const { server, port, url } = listening;
  // Still in the continuation of the 'listening' callback: no connection has been accepted yet.
  attach?.(server);
  return {
    url,
    port,
    server,
    close: async () => {
      const closed = listening.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
