import type { Server } from 'node:http';
import type { Duration, OpsHandler } from '@ops/core';
import type { ServiceDescription } from '../http/health-json.js';
import type { HealthServer } from '../http/health-server.js';
import type { Beacon } from '../lifecycle/graceful-shutdown.js';
import type { HealthEvents } from './health-events.js';
import { resolveHealthOptions, type HealthOptions } from './health-options.js';
import { HealthRegistry } from './health-registry.js';
import type { CheckRegistration, HealthReport } from './types.js';

/** The health registry, endpoints and lifecycle of one service. */
export interface Health {
  /** Registers a check. Throws `HealthError` (`CHECK_DUPLICATE`) for a name already taken. */
  register(registration: CheckRegistration): void;
  /** Removes a check; returns whether it existed. */
  unregister(name: string): boolean;
  /** Liveness: only `live`-tagged (process-local) checks; stays `pass` during shutdown. */
  live(): Promise<HealthReport>;
  /** Readiness: `live` + `ready` checks + lifecycle (ready flag, startup done, not shutting down). */
  ready(): Promise<HealthReport>;
  /** Startup: `startup`-tagged checks and startup tasks; `pass` for good once they all passed. */
  startup(): Promise<HealthReport>;
  /** One check (drill-down). Throws `HealthError` (`ARGUMENT_INVALID`) for an unknown name. */
  check(name: string): Promise<HealthReport>;
  /** Names of the registered checks. */
  checkNames(): string[];
  /** Framework-neutral handler of the endpoints; mount it with core's adapters. */
  readonly handler: OpsHandler;
  /** The service can take traffic (readiness may pass). */
  markReady(): void;
  /** The service cannot take traffic for now (readiness fails with `reason`). */
  markNotReady(reason?: string): void;
  /** Readiness waits until `task` settles; a rejected task keeps startup failing. */
  addStartupTask(name: string, task: Promise<unknown>): void;
  /** Holds shutdown (up to `inFlightTimeout`) until the beacon is released. */
  beacon(name: string): Beacon;
  /** Tracks a server's sockets so shutdown drains it: stop accepting, close idle keep-alives, wait, cut. */
  attachServer(server: Server): void;
  /** Starts a standalone node:http server for the endpoints (all interfaces unless `host` is set; attached for shutdown; closed by `close()`). */
  listen(options?: { port?: number; host?: string }): Promise<HealthServer>;
  /** Adds a cleanup hook; hooks run in registration order after the servers closed (HTTP before DB). */
  onShutdown(name: string, hook: () => unknown, options?: { timeout?: Duration }): void;
  /** Runs the graceful shutdown once (later calls return the same promise), then calls `exit`. */
  shutdown(reason?: string): Promise<number>;
  /** Whether shutdown has started. */
  readonly isShuttingDown: boolean;
  /** The `service` option: `serviceId`, `version`, … at the top of every response (and in forwarded alerts). */
  readonly service: ServiceDescription;
  /**
   * Subscribes to an event (every payload carries `at`, epoch ms); returns the unsubscribe function. A listener
   * that throws or rejects is logged and never affects the checks. Core's `EventSource['on']`, except that the
   * listener may return any value (`health.on('check.failed', (event) => seen.push(event))`), as it always could.
   */
  on<E extends keyof HealthEvents>(event: E, listener: (payload: HealthEvents[E]) => void): () => void;
  /**
   * Stops pollers, removes signal listeners and closes the servers {@link Health.listen} started (their open
   * connections too), without running the shutdown sequence or exiting; servers passed to `attachServer` stay
   * yours to close. Afterwards `register` and `listen` throw.
   */
  close(): void;
}

/**
 * Creates the health registry of a service: register checks, mount `health.handler`, and let it drain the
 * service on SIGTERM.
 *
 * @example
 * ```ts
 * const health = createHealth({ registry: promRegistry, shutdown: { drainDelay: '5s' } });
 * health.register({ name: 'db', check: postgresProbe({ pool }), mode: { every: '5s' } });
 * health.register({ name: 'memory', check: memoryProbe({ maxRssBytes: 1_500_000_000 }), tags: ['live', 'ready'] });
 * health.attachServer(server);
 * health.onShutdown('database pool', () => pool.end());
 * server.on('request', toNodeHandler(health.handler, { fallback: app }));
 * health.markReady();
 * ```
 */
export function createHealth(options: HealthOptions = {}): Health {
  return new HealthRegistry(resolveHealthOptions(options));
}
