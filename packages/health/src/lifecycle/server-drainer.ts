import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** A node:http (or https) server as the drainer needs it. */
export type DrainableServer = HttpServer;

/**
 * Tracks one server's sockets and in-flight requests so shutdown can stop accepting, tell keep-alive clients to
 * go (`Connection: close`), close idle sockets, wait for in-flight requests and finally destroy what is left.
 */
export class ServerDrainer {
  readonly server: DrainableServer;
  readonly #sockets = new Set<Socket>();
  readonly #busy = new Map<Socket, number>();
  readonly #responses = new Set<ServerResponse>();
  #draining = false;
  #idleWaiters: Array<() => void> = [];
  readonly #onConnection = (socket: Socket) => {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#busy.delete(socket);
      this.#notify();
    });
  };
  readonly #onRequest = (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    this.#busy.set(socket, (this.#busy.get(socket) ?? 0) + 1);
    if (this.#draining && !response.headersSent) response.setHeader('connection', 'close');
    this.#responses.add(response);
    response.once('close', () => {
      this.#responses.delete(response);
      const left = (this.#busy.get(socket) ?? 1) - 1;
      if (left <= 0) this.#busy.delete(socket);
      else this.#busy.set(socket, left);
      if (this.#draining && left <= 0) socket.destroySoon();
      this.#notify();
    });
  };

  constructor(server: DrainableServer) {
    this.server = server;
    server.on('connection', this.#onConnection);
    server.on('secureConnection', this.#onConnection);
    server.on('request', this.#onRequest);
  }

  /** Requests currently being answered. */
  get inFlight(): number {
    let total = 0;
    for (const count of this.#busy.values()) total += count;
    return total;
  }

  /** From now on responses carry `Connection: close`, so keep-alive clients reconnect elsewhere. */
  beginDrain(): void {
    this.#draining = true;
    for (const response of this.#responses) if (!response.headersSent) response.setHeader('connection', 'close');
  }

  /** Stops accepting connections and closes idle keep-alive sockets. Resolves when the listener is closed. */
  stopAccepting(): Promise<void> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    for (const socket of this.#sockets) if (!this.#busy.has(socket)) socket.destroySoon();
    return closed;
  }

  /** Resolves when no request is in flight (or immediately). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Destroys every socket still open (the in-flight limit passed). Returns how many were cut. */
  destroyAll(): number {
    const count = this.#sockets.size;
    for (const socket of this.#sockets) socket.destroy();
    return count;
  }

  /** Removes the listeners this drainer added. */
  detach(): void {
    this.server.off('connection', this.#onConnection);
    this.server.off('secureConnection', this.#onConnection);
    this.server.off('request', this.#onRequest);
  }

  #notify(): void {
    if (this.inFlight > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
