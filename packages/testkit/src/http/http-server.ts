import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

/** A running loopback HTTP server; see {@link startHttpServer}. */
export interface TestHttpServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** The ephemeral port the server listens on. */
  port: number;
  /** The underlying Node server, for tests that need its events. */
  server: Server;
  /** Closes open connections and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

/** The request handler given to {@link startHttpServer}. */
export type TestHttpHandler = RequestListener<typeof IncomingMessage, typeof ServerResponse>;

/**
 * Starts a real HTTP server on 127.0.0.1 with an ephemeral port. An exception thrown by the handler (sync or async)
 * becomes a `500` response instead of crashing the test process.
 *
 * @example
 * ```ts
 * const server = await startHttpServer((request, response) => {
 *   response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
 * });
 * const body = await (await fetch(`${server.url}/health`)).json();
 * await server.close();
 * ```
 */
export async function startHttpServer(handler: TestHttpHandler): Promise<TestHttpServer> {
  const server = createServer((request, response) => {
    const fail = (error: unknown): void => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`test handler failed: ${error instanceof Error ? error.message : String(error)}`);
    };
    try {
      const result: unknown = handler(request, response);
      if (result instanceof Promise) result.catch(fail);
    } catch (error) {
      fail(error);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the HTTP server has no TCP address');
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
