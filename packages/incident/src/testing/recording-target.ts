import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a {@link RecordingTarget} received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body: string;
  /** `body` parsed as JSON, when it is JSON. */
  json: unknown;
}

/** What the target answers: a status, headers and a body. */
export interface TargetReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A loopback HTTP server standing in for a webhook target (Slack, PagerDuty, a ticket bridge) in tests. */
export interface RecordingTarget {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Everything received, in order (also requests answered with an error). */
  readonly requests: readonly ReceivedRequest[];
  /** Sets how the next requests are answered: a reply, or a function of the request. Default 200 `ok`. */
  reply(reply: TargetReply | ((request: ReceivedRequest, index: number) => TargetReply)): void;
  /** Stops listening (the port then refuses connections: a target that is down). */
  stop(): Promise<void>;
  /** Listens again on the same port (the target came back). */
  resume(): Promise<void>;
  close(): Promise<void>;
}

async function read(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts a {@link RecordingTarget} on 127.0.0.1.
 *
 * @example
 * ```ts
 * const target = await startRecordingTarget();
 * target.reply({ status: 429, headers: { 'retry-after': '120' } });
 * ```
 */
export async function startRecordingTarget(): Promise<RecordingTarget> {
  const requests: ReceivedRequest[] = [];
  let replier: (request: ReceivedRequest, index: number) => TargetReply = () => ({ status: 200, body: 'ok' });
  const handler = (request: IncomingMessage, response: import('node:http').ServerResponse) => {
    void read(request).then((body) => {
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const received: ReceivedRequest = {
        method: request.method ?? 'GET',
        path: request.url ?? '/',
        headers: request.headers as Record<string, string | undefined>,
        body,
        json,
      };
      requests.push(received);
      const reply = replier(received, requests.length - 1);
      response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers }).end(reply.body ?? '');
    });
  };
  let server: Server = createServer(handler);
  const start = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await start(0);
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply(reply) {
      replier = typeof reply === 'function' ? reply : () => reply;
    },
    stop,
    async resume() {
      server = createServer(handler);
      await start(port);
    },
    close: stop,
  };
}
