import type { Server } from 'node:http';
import { ExitCode, safeErrorMessage, withDeadline, type Clock, type ExitCodeValue, type Logger } from '@ops/core';
import { ServerDrainer } from './server-drainer.js';

/** A unit of non-HTTP work that holds shutdown until released (queue consumers, running jobs). */
export interface Beacon {
  /** Releases the beacon; shutdown no longer waits for it. Safe to call twice. */
  release(): void;
}

/** What the shutdown needs of a server: {@link ServerDrainer} for node:http servers, a fake in tests. */
export type Drainer = Pick<ServerDrainer, 'beginDrain' | 'stopAccepting' | 'whenIdle' | 'destroyAll' | 'detach'>;

/** The timings of a graceful shutdown, in milliseconds. */
export interface ShutdownTimings {
  /** Wait after readiness flipped to fail, before the listeners close. */
  drainDelayMs: number;
  /** How long in-flight requests and beacons may take after the listeners closed; then connections are cut. */
  inFlightTimeoutMs: number;
  /** Limit of a hook registered without its own timeout. */
  hookTimeoutMs: number;
  /** Hard deadline from the start of shutdown; then `exit(1)` whatever is still running. */
  forceExitAfterMs: number;
}

/** Options of {@link GracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** Clock of every wait and of the hard deadline. */
  clock: Clock;
  timings: ShutdownTimings;
  /** Ends the process with the exit code. */
  exit: (code: number) => void;
  logger: Logger;
  /** Secrets removed from the error messages of failed hooks. */
  secrets?: readonly string[];
  /** Called synchronously as shutdown starts, before anything is drained (readiness fails from here on). */
  onStarted?: (reason: string) => void;
  /** Called once the listeners closed and in-flight work finished or was cut, before the hooks. */
  onDrained?: () => void;
  /** Called after the hooks, before `exit`. */
  onCompleted?: (exitCode: number) => void;
}

interface ShutdownHook {
  name: string;
  hook: () => unknown;
  timeoutMs: number;
}

interface HeldBeacon {
  name: string;
  released: Promise<void>;
}

/**
 * Runs a graceful shutdown once, in this order: `onStarted`; the drainers answer with `Connection: close`; wait
 * `drainDelayMs` (load balancers notice the failing readiness); stop accepting and wait for in-flight requests and
 * beacons up to `inFlightTimeoutMs`, then cut what is left; `onDrained`; the hooks in registration order, each
 * bounded by its timeout; `onCompleted`; `exit(0)`, or `exit(1)` when a hook failed. If `forceExitAfterMs` passes
 * first, `exit(1)` is called then, and not again when the sequence finishes.
 */
export class GracefulShutdown {
  readonly #options: GracefulShutdownOptions;
  readonly #servers = new Set<Server>();
  readonly #drainers: Drainer[] = [];
  readonly #hooks: ShutdownHook[] = [];
  readonly #beacons = new Set<HeldBeacon>();
  #running: Promise<number> | undefined;

  constructor(options: GracefulShutdownOptions) {
    this.#options = options;
  }

  /** Whether the shutdown has started. */
  get started(): boolean {
    return this.#running !== undefined;
  }

  /** Drains `server` during shutdown: stop accepting, close idle keep-alives, wait, cut. Once per server. */
  attachServer(server: Server): void {
    if (this.#servers.has(server)) return;
    this.#servers.add(server);
    this.addDrainer(new ServerDrainer(server));
  }

  /** Adds something to drain during shutdown. */
  addDrainer(drainer: Drainer): void {
    this.#drainers.push(drainer);
  }

  /** Adds a cleanup hook; hooks run in registration order once the servers are drained. */
  addHook(name: string, hook: () => unknown, timeoutMs = this.#options.timings.hookTimeoutMs): void {
    this.#hooks.push({ name, hook, timeoutMs });
  }

  /** Holds the drain (up to `inFlightTimeoutMs`) until the returned beacon is released. */
  beacon(name: string): Beacon {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = { name, released };
    this.#beacons.add(held);
    return {
      release: () => {
        this.#beacons.delete(held);
        release();
      },
    };
  }

  /** Runs the shutdown once; later calls return the same promise. Resolves with the exit code. */
  run(reason: string): Promise<number> {
    this.#running ??= this.#sequence(reason);
    return this.#running;
  }

  /** Removes the listeners the drainers added to their servers, without shutting down. */
  detachServers(): void {
    for (const drainer of this.#drainers) drainer.detach();
  }

  async #sequence(reason: string): Promise<number> {
    const { clock, timings, logger, exit } = this.#options;
    logger.info(
      { reason, drainDelayMs: timings.drainDelayMs },
      'graceful shutdown started: readiness fails from now on',
    );
    this.#options.onStarted?.(reason);
    let forced = false;
    // A one-shot timer on purpose: the hard deadline must fire whatever the sequence below is stuck on.
    const hardDeadline = clock.setTimeout(() => {
      forced = true;
      logger.error({ forceExitAfterMs: timings.forceExitAfterMs }, 'graceful shutdown did not finish in time; exiting');
      exit(ExitCode.failure);
    }, timings.forceExitAfterMs);
    await this.#drain();
    this.#options.onDrained?.();
    const exitCode = await this.#runHooks();
    hardDeadline.cancel();
    this.#options.onCompleted?.(exitCode);
    logger.info({ exitCode }, 'graceful shutdown complete');
    if (!forced) exit(exitCode);
    return exitCode;
  }

  async #drain(): Promise<void> {
    const { clock, timings, logger } = this.#options;
    const drainers = this.#drainers;
    for (const drainer of drainers) drainer.beginDrain();
    await clock.sleep(timings.drainDelayMs);
    const listenersClosed = Promise.all(drainers.map((drainer) => drainer.stopAccepting()));
    const idle = Promise.all([
      ...drainers.map((drainer) => drainer.whenIdle()),
      ...[...this.#beacons].map((beacon) => beacon.released),
    ]);
    const limit = new AbortController();
    const timedOut = clock.sleep(timings.inFlightTimeoutMs, limit.signal).then(
      () => false,
      () => false,
    );
    const drained = await Promise.race([idle.then(() => true), timedOut]);
    limit.abort();
    if (!drained) {
      const held = [...this.#beacons].map((beacon) => beacon.name);
      const cut = drainers.reduce((total, drainer) => total + drainer.destroyAll(), 0);
      logger.warn(
        { inFlightTimeoutMs: timings.inFlightTimeoutMs, socketsCut: cut, beacons: held },
        'in-flight work did not finish in time; connections cut',
      );
    }
    await listenersClosed;
  }

  /** Runs every hook in order, each bounded by its timeout; a failed or timed-out hook makes the exit code 1. */
  async #runHooks(): Promise<ExitCodeValue> {
    const { clock, logger, secrets = [] } = this.#options;
    let exitCode: ExitCodeValue = ExitCode.ok;
    for (const { name, hook, timeoutMs } of this.#hooks) {
      try {
        await withDeadline(async () => hook(), { timeoutMs, clock, label: `shutdown hook "${name}"` });
        logger.info({ hook: name }, 'shutdown hook finished');
      } catch (error) {
        exitCode = ExitCode.failure;
        logger.error({ hook: name, error: safeErrorMessage(error, { secrets }) }, 'shutdown hook failed');
      }
    }
    return exitCode;
  }
}
