import type { Server } from 'node:http';
import {
  createEmitter,
  parseOptionalDuration,
  safeErrorMessage,
  type CheckStatus,
  type Duration,
  type Emitter,
  type EventListener,
  type OpsHandler,
} from '@ops/core';
import { HealthError } from '../errors.js';
import { createHealthHandler } from '../http/health-handler.js';
import type { ServiceDescription } from '../http/health-json.js';
import { listenHealthServer, type HealthServer } from '../http/health-server.js';
import { GracefulShutdown, type Beacon } from '../lifecycle/graceful-shutdown.js';
import { Readiness } from '../lifecycle/readiness.js';
import { listenForShutdownSignals } from '../lifecycle/signal-listeners.js';
import { createHealthMetrics, type HealthMetrics } from '../metrics/health-metrics.js';
import { aggregateStatus } from './aggregate.js';
import { validateRegistration } from './check-registration.js';
import { CheckRunner, type RunnerDependencies } from './check-runner.js';
import { CheckSet } from './check-set.js';
import { cachedStatuses, evaluate, toCheckReport, type Evaluation } from './evaluation.js';
import type { Health } from './health.js';
import { emitCheckTransition, type HealthEvents } from './health-events.js';
import type { ResolvedHealthOptions } from './health-options.js';
import type { CapturedResult, CheckRegistration, Endpoint, HealthReport } from './types.js';

// Public methods stay callable when detached (`task.then(health.markReady)`), as they were when `Health` was a
// closure.
const DETACHABLE_METHODS = [
  'register',
  'unregister',
  'live',
  'ready',
  'startup',
  'check',
  'checkNames',
  'markReady',
  'markNotReady',
  'addStartupTask',
  'beacon',
  'attachServer',
  'listen',
  'onShutdown',
  'shutdown',
  'on',
  'close',
] as const satisfies ReadonlyArray<keyof Health>;

/**
 * The engine behind {@link createHealth}: owns the checks and combines them with the readiness state into the
 * endpoint reports; the HTTP handler, the shutdown sequence and the signal listeners are wired to it here.
 */
export class HealthRegistry implements Health {
  readonly handler: OpsHandler;
  readonly #options: ResolvedHealthOptions;
  readonly #checks = new CheckSet();
  readonly #readiness: Readiness;
  readonly #events: Emitter<HealthEvents>;
  readonly #shutdown: GracefulShutdown;
  readonly #metrics: HealthMetrics | undefined;
  readonly #removeSignalListeners: () => void;
  readonly #runnerDependencies: RunnerDependencies;
  #closed = false;
  /** Servers started by listen(): close() closes them. */
  readonly #servers = new Set<HealthServer>();

  constructor(options: ResolvedHealthOptions) {
    const { clock, logger, secrets, registry, startReady, defaultTimeoutMs, defaultMode } = options;
    this.#options = options;
    this.#readiness = new Readiness({ startReady, logger, secrets });
    this.#events = createEmitter<HealthEvents>({ logger, source: 'health' });
    this.#metrics = registry ? createHealthMetrics({ registry }) : undefined;
    this.#runnerDependencies = {
      clock,
      logger,
      defaultTimeoutMs,
      defaultMode,
      secrets,
      onResult: (runner, result, previous) => this.#onResult(runner, result, previous),
    };
    this.#shutdown = this.#createShutdown();
    this.handler = this.#createHandler();
    this.#removeSignalListeners = listenForShutdownSignals({
      signals: options.shutdown.signals,
      source: options.shutdown.signalSource,
      logger,
      isShuttingDown: () => this.#readiness.isShuttingDown,
      shutdown: (signal) => void this.shutdown(signal),
    });
    for (const name of DETACHABLE_METHODS)
      Object.defineProperty(this, name, { value: this[name].bind(this), writable: true, configurable: true });
  }

  register(registration: CheckRegistration): void {
    if (this.#closed) throw new HealthError('SHUTDOWN_IN_PROGRESS', 'health is closed');
    validateRegistration(registration, (name) => this.#checks.has(name));
    const runner = new CheckRunner(registration, this.#runnerDependencies);
    this.#checks.add(runner);
    if (!this.#readiness.isShuttingDown) runner.start();
  }

  unregister(name: string): boolean {
    return this.#checks.remove(name);
  }

  live(): Promise<HealthReport> {
    return this.#live();
  }

  ready(): Promise<HealthReport> {
    return this.#ready();
  }

  startup(): Promise<HealthReport> {
    return this.#startup();
  }

  async check(name: string): Promise<HealthReport> {
    const runner = this.#checks.get(name);
    if (!runner)
      throw new HealthError(
        'ARGUMENT_INVALID',
        `unknown check "${name}"; registered: ${this.#checks.names().join(', ') || 'none'}`,
      );
    return this.#report('check', await evaluate([runner]));
  }

  checkNames(): string[] {
    return this.#checks.names();
  }

  markReady(): void {
    this.#readiness.markReady();
  }

  markNotReady(reason?: string): void {
    this.#readiness.markNotReady(reason);
  }

  addStartupTask(name: string, task: Promise<unknown>): void {
    this.#readiness.addStartupTask(name, task);
  }

  beacon(name: string): Beacon {
    return this.#shutdown.beacon(name);
  }

  attachServer(server: Server): void {
    this.#shutdown.attachServer(server);
  }

  async listen(options: { port?: number; host?: string } = {}): Promise<HealthServer> {
    if (this.#closed) throw new HealthError('SHUTDOWN_IN_PROGRESS', 'health is closed');
    const { logger, secrets } = this.#options;
    const onError = (error: unknown) =>
      logger.error({ error: safeErrorMessage(error, { secrets }) }, 'health handler failed');
    const started = await listenHealthServer(this.handler, {
      ...options,
      onError,
      attach: (server) => this.attachServer(server),
    });
    const servers = this.#servers;
    const tracked: HealthServer = {
      ...started,
      close: () => {
        servers.delete(tracked);
        return started.close();
      },
    };
    servers.add(tracked);
    // close() may have run while the port was being bound.
    if (this.#closed) this.#closeServers();
    return tracked;
  }

  onShutdown(name: string, hook: () => unknown, options: { timeout?: Duration } = {}): void {
    let timeoutMs: number | undefined;
    try {
      timeoutMs = parseOptionalDuration(options.timeout, 'timeout');
    } catch (error) {
      throw new HealthError('ARGUMENT_INVALID', `onShutdown "${name}": ${(error as Error).message}`, { cause: error });
    }
    this.#shutdown.addHook(name, hook, timeoutMs);
  }

  shutdown(reason = 'shutdown() called'): Promise<number> {
    return this.#shutdown.run(reason);
  }

  get service(): ServiceDescription {
    return this.#options.service;
  }

  get isShuttingDown(): boolean {
    return this.#readiness.isShuttingDown;
  }

  on<E extends keyof HealthEvents>(event: E, listener: (payload: HealthEvents[E]) => void): () => void {
    // The emitter ignores a listener's return value unless it is a promise (whose rejection it logs).
    return this.#events.on(event, listener as EventListener<HealthEvents[E]>);
  }

  close(): void {
    this.#closed = true;
    this.#checks.stopAll();
    this.#removeSignalListeners();
    this.#shutdown.detachServers();
    this.#closeServers();
  }

  #closeServers(): void {
    const { logger, secrets } = this.#options;
    for (const server of [...this.#servers]) {
      server
        .close()
        .catch((error: unknown) =>
          logger.warn({ error: safeErrorMessage(error, { secrets }) }, 'health server did not close cleanly'),
        );
    }
  }

  async #live(withChecks = true): Promise<HealthReport> {
    return this.#report('live', await evaluate(this.#checks.withTags('live'), withChecks));
  }

  async #ready(withChecks = true): Promise<HealthReport> {
    const readiness = this.#readiness;
    if (readiness.isShuttingDown) return this.#report('ready', { checks: [], statuses: [] }, 'shutting down');
    let startupReason: string | undefined;
    if (!readiness.startupComplete) {
      const startupReport = await this.#startup(false);
      if (startupReport.status === 'fail') startupReason = startupReport.output ?? 'startup checks not passed yet';
    }
    const evaluation = await evaluate(this.#checks.withTags('live', 'ready'), withChecks);
    // Shutdown may have started while the checks ran; it wins over startup, which wins over markNotReady.
    const lifecycle = readiness.isShuttingDown ? 'shutting down' : (startupReason ?? readiness.notReadyReason);
    return this.#report('ready', evaluation, lifecycle);
  }

  async #startup(withChecks = true): Promise<HealthReport> {
    const selected = this.#checks.withTags('startup');
    if (this.#readiness.startupComplete) {
      const checks = selected.flatMap((runner) =>
        runner.last && withChecks ? [toCheckReport(runner, runner.last, true)] : [],
      );
      return this.#report('startup', { checks, statuses: [] });
    }
    const report = this.#report('startup', await evaluate(selected, withChecks), this.#readiness.startupTaskReason());
    if (report.status !== 'fail' && this.#readiness.completeStartup()) {
      // Startup-only checks have done their job; the ones also tagged live or ready keep running.
      for (const runner of selected) if (!runner.tags.includes('live') && !runner.tags.includes('ready')) runner.stop();
      this.#options.logger.info({}, 'startup complete');
      const at = this.#options.clock.now();
      this.#events.emit('startup.completed', { at, time: at });
    }
    return report;
  }

  // Synchronous terse reports for the probe hot path: only when every selected result is cached; `undefined`
  // sends the handler down the asynchronous path.
  #readyNow(): HealthReport | undefined {
    if (this.#readiness.isShuttingDown) return this.#report('ready', { checks: [], statuses: [] }, 'shutting down');
    if (!this.#readiness.startupComplete) return undefined;
    const statuses = cachedStatuses(this.#checks.withTags('live', 'ready'));
    return statuses ? this.#report('ready', { checks: [], statuses }, this.#readiness.notReadyReason) : undefined;
  }

  #liveNow(): HealthReport | undefined {
    const statuses = cachedStatuses(this.#checks.withTags('live'));
    return statuses ? this.#report('live', { checks: [], statuses }) : undefined;
  }

  /** A lifecycle reason (shutting down, startup pending, not ready) fails the endpoint whatever the checks say. */
  #report(endpoint: Endpoint, evaluation: Evaluation, lifecycle?: string): HealthReport {
    const status = lifecycle === undefined ? aggregateStatus(evaluation.statuses, this.#options.statusOrder) : 'fail';
    const report: HealthReport = { endpoint, status, checks: evaluation.checks, time: this.#options.clock.now() };
    if (lifecycle !== undefined) report.output = lifecycle;
    return report;
  }

  #onResult(runner: CheckRunner, result: CapturedResult, previous: CheckStatus | undefined): void {
    this.#metrics?.record(runner.name, result, previous);
    if (previous === result.status) return;
    const { logger } = this.#options;
    const fields = {
      check: runner.name,
      from: previous ?? null,
      to: result.status,
      output: result.output,
      critical: runner.critical,
    };
    if (result.status === 'fail') logger.warn(fields, `health check "${runner.name}" failed`);
    else if (result.status === 'warn') logger.warn(fields, `health check "${runner.name}" degraded`);
    else if (previous !== undefined) logger.info(fields, `health check "${runner.name}" recovered`);
    emitCheckTransition(this.#events, {
      at: result.time,
      name: runner.name,
      critical: runner.critical,
      from: previous,
      to: result.status,
      result,
    });
  }

  #createShutdown(): GracefulShutdown {
    const { clock, logger, secrets, shutdown } = this.#options;
    return new GracefulShutdown({
      clock,
      logger,
      secrets,
      timings: shutdown.timings,
      exit: shutdown.exit,
      onStarted: (reason) => {
        this.#readiness.beginShutdown();
        this.#metrics?.setShuttingDown(true);
        const at = clock.now();
        this.#events.emit('shutdown.started', { at, reason, time: at });
      },
      onDrained: () => this.#checks.stopAll(),
      onCompleted: (exitCode) => {
        this.#removeSignalListeners();
        const at = clock.now();
        this.#events.emit('shutdown.completed', { at, exitCode, time: at });
      },
    });
  }

  #createHandler(): OpsHandler {
    const { basePath, statusCodes, service, showDetails, secrets, logger } = this.#options;
    return createHealthHandler({
      basePath,
      live: (withChecks) => this.#live(withChecks),
      ready: (withChecks) => this.#ready(withChecks),
      startup: (withChecks) => this.#startup(withChecks),
      check: (name) => this.check(name),
      hasCheck: (name) => this.#checks.has(name),
      readyNow: () => this.#readyNow(),
      liveNow: () => this.#liveNow(),
      statusCodes,
      service,
      ...(showDetails === undefined ? {} : { showDetails }),
      secrets,
      logger,
    });
  }
}
