import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigError,
  durationSchema,
  parseDuration,
  parseWithSchema,
  safeErrorMessage,
  silentLogger,
  systemClock,
  toNodeHandler,
  withDeadline,
  type CheckStatus,
  type Clock,
  type Duration,
  type Logger,
  type OpsHandler,
  type TimerHandle,
} from '@ops/core';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { HealthError } from '../errors.js';
import { createHealthHandler } from '../http/health-handler.js';
import type { DetailsPredicate } from '../http/details-access.js';
import type { ServiceDescription } from '../http/health-json.js';
import { ServerDrainer } from '../lifecycle/server-drainer.js';
import { createHealthMetrics, type HealthMetrics } from '../metrics/health-metrics.js';
import { aggregateStatus, contribution, DEFAULT_STATUS_ORDER, type StatusOrder } from './aggregate.js';
import { CheckRunner, type CheckTransition } from './check-runner.js';
import type { CapturedResult, CheckRegistration, CheckReport, CheckTag, Endpoint, HealthReport, Probe } from './types.js';

/** Where signals come from: `process` by default; tests pass an `EventEmitter`. */
export interface SignalSource {
  on(signal: string, listener: () => void): unknown;
  off(signal: string, listener: () => void): unknown;
}

/** Graceful shutdown settings. */
export interface ShutdownOptions {
  /** Signals that start a graceful shutdown. Default `['SIGTERM', 'SIGINT']`; `[]` installs no listener. */
  signals?: readonly string[];
  /** Where signals are listened for. Default `process`. */
  signalSource?: SignalSource;
  /** Wait after readiness flipped to fail, before the listeners close (load balancers notice). Default `'5s'`. */
  drainDelay?: Duration;
  /** How long in-flight requests and beacons may take after the listeners closed. Default `'10s'`. */
  inFlightTimeout?: Duration;
  /** Limit of each cleanup hook. Default `'5s'`. */
  hookTimeout?: Duration;
  /** Hard deadline from the start of shutdown; then `exit(1)` whatever is still running. Default `'30s'`. */
  forceExitAfter?: Duration;
  /** Ends the process. Default `process.exit`. Pass a function that records the code in tests. */
  exit?: (code: number) => void;
}

/** Options of {@link createHealth}. */
export interface HealthOptions {
  /** Default deadline of a check run; keep it below the probe's `timeoutSeconds` (1 s in Kubernetes). Default `'900ms'`. */
  timeout?: Duration;
  /** Default evaluation mode of checks. Default `{ ttl: '1s' }`. */
  mode?: { every: Duration } | { ttl: Duration };
  /** Path prefix of the endpoints. Default `'/health'` (`/health/live`, `/health/ready`, `/health/startup`, `/health/<check>`). */
  basePath?: string;
  /** Who may see check details (outputs, observed values, timings). Default: nobody. */
  showDetails?: DetailsPredicate;
  /** HTTP status per aggregated status. Default `{ pass: 200, warn: 200, fail: 503 }`. */
  statusCodes?: Partial<Record<CheckStatus, number>>;
  /** Aggregation order, worst first. Default `['fail', 'warn', 'pass']`. */
  statusOrder?: StatusOrder;
  /** Readiness is `fail` until {@link Health.markReady} is called, unless this is `true`. Default `false`. */
  startReady?: boolean;
  /** Top-level `serviceId`, `version`, `releaseId`, `description` of responses. */
  service?: ServiceDescription;
  /** Secrets removed verbatim from every result and error message (e.g. database passwords). */
  secrets?: readonly string[];
  /** prom-client registry to register `ops_health_*` metrics on. */
  registry?: Registry;
  /** Graceful shutdown settings. */
  shutdown?: ShutdownOptions;
  /** Clock for deadlines, caches, polling and shutdown timers. Default `systemClock`. */
  clock?: Clock;
  /** Logger (pino-compatible). Logs status changes only, never every failed run. Default: silent. */
  logger?: Logger;
}

/** Events a {@link Health} emits. */
export interface HealthEvents {
  /** A check's effective status became `fail`. */
  'check.failed': CheckTransition;
  /** A check's effective status became `warn`. */
  'check.warned': CheckTransition;
  /** A check went from `warn`/`fail` back to `pass`. */
  'check.recovered': CheckTransition;
  /** Any status change of a check (including the first result). */
  'check.changed': CheckTransition;
  /** All startup checks and tasks passed once. */
  'startup.completed': { time: number };
  /** Graceful shutdown began; readiness now fails. */
  'shutdown.started': { reason: string; time: number };
  /** Graceful shutdown finished; `exit` is called next. */
  'shutdown.completed': { exitCode: number; time: number };
}

/** A unit of non-HTTP work that holds shutdown until released (queue consumers, running jobs). */
export interface Beacon {
  /** Releases the beacon; shutdown no longer waits for it. Safe to call twice. */
  release(): void;
}

/** A standalone health server started by {@link Health.listen}. */
export interface HealthServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

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
  /** Starts a standalone node:http server for the endpoints (attached for shutdown). */
  listen(options?: { port?: number; host?: string }): Promise<HealthServer>;
  /** Adds a cleanup hook; hooks run in registration order after the servers closed (HTTP before DB). */
  onShutdown(name: string, hook: () => unknown, options?: { timeout?: Duration }): void;
  /** Runs the graceful shutdown once (later calls return the same promise), then calls `exit`. */
  shutdown(reason?: string): Promise<number>;
  /** Whether shutdown has started. */
  readonly isShuttingDown: boolean;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof HealthEvents>(event: E, listener: (payload: HealthEvents[E]) => void): () => void;
  /** Stops pollers and removes signal listeners, without shutting the process down. */
  close(): void;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const RESERVED_NAMES = new Set(['live', 'ready', 'startup']);
const TAGS = ['live', 'ready', 'startup'] as const;

const modeSchema = z.union([z.strictObject({ every: durationSchema }), z.strictObject({ ttl: durationSchema })]);

const optionsSchema = z.looseObject({
  timeout: durationSchema.optional(),
  mode: modeSchema.optional(),
  basePath: z.string().regex(/^\/[^?#]*$/, 'must start with "/"').optional(),
  statusCodes: z.strictObject({ pass: z.number().int().min(200).max(599).optional(), warn: z.number().int().min(200).max(599).optional(), fail: z.number().int().min(200).max(599).optional() }).optional(),
  statusOrder: z.array(z.enum(['pass', 'warn', 'fail'])).min(1).optional(),
  startReady: z.boolean().optional(),
  secrets: z.array(z.string()).optional(),
  shutdown: z
    .looseObject({
      signals: z.array(z.string()).optional(),
      drainDelay: durationSchema.optional(),
      inFlightTimeout: durationSchema.optional(),
      hookTimeout: durationSchema.optional(),
      forceExitAfter: durationSchema.optional(),
    })
    .optional(),
});

const registrationSchema = z.looseObject({
  name: z.string().regex(NAME_PATTERN, 'must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 100 characters)'),
  check: z.custom<unknown>((value) => typeof value === 'function', 'must be a function (signal) => Promise<CheckResult>'),
  critical: z.boolean().optional(),
  timeout: durationSchema.optional(),
  tags: z.array(z.enum(TAGS)).min(1).optional(),
  mode: modeSchema.optional(),
  failAfter: z.number().int().min(1).optional(),
  failAfterDuration: durationSchema.optional(),
  recoverAfter: z.number().int().min(1).optional(),
  componentType: z.enum(['component', 'datastore', 'system']).optional(),
  measurement: z.string().regex(/^[^:]+$/, 'must not contain ":"').optional(),
});

type Listener = (payload: never) => void;

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
  parseWithSchema(optionsSchema, options, 'health options');
  const {
    timeout = '900ms',
    mode = { ttl: '1s' },
    basePath = '/health',
    showDetails,
    statusCodes = {},
    statusOrder = DEFAULT_STATUS_ORDER,
    startReady = false,
    service = {},
    secrets = [],
    registry,
    shutdown: shutdownOptions = {},
    clock = systemClock,
    logger = silentLogger,
  } = options;
  const {
    signals = ['SIGTERM', 'SIGINT'],
    signalSource = process,
    drainDelay = '5s',
    inFlightTimeout = '10s',
    hookTimeout = '5s',
    forceExitAfter = '30s',
    exit = (code: number) => process.exit(code),
  } = shutdownOptions;
  const defaultTimeoutMs = parseDuration(timeout);
  const defaultMode = 'every' in mode ? { every: parseDuration(mode.every) } : { ttl: parseDuration(mode.ttl) };
  const drainDelayMs = parseDuration(drainDelay);
  const inFlightTimeoutMs = parseDuration(inFlightTimeout);
  const hookTimeoutMs = parseDuration(hookTimeout);
  const forceExitAfterMs = parseDuration(forceExitAfter);
  if (forceExitAfterMs <= drainDelayMs + inFlightTimeoutMs) {
    throw new ConfigError(
      `invalid health options: shutdown.forceExitAfter (${forceExitAfterMs}ms) must be greater than drainDelay + inFlightTimeout (${drainDelayMs + inFlightTimeoutMs}ms)`,
      [{ path: 'shutdown.forceExitAfter', message: 'must be greater than drainDelay + inFlightTimeout' }],
    );
  }
  const codes: Record<CheckStatus, number> = { pass: statusCodes.pass ?? 200, warn: statusCodes.warn ?? 200, fail: statusCodes.fail ?? 503 };

  const runners = new Map<string, CheckRunner>();
  const listeners = new Map<keyof HealthEvents, Set<Listener>>();
  const drainers: ServerDrainer[] = [];
  const hooks: Array<{ name: string; hook: () => unknown; timeoutMs: number }> = [];
  const beacons = new Set<{ name: string; release: () => void; released: Promise<void> }>();
  const startupTasks = new Map<string, { state: 'pending' | 'done' | 'failed'; output?: string }>();
  const metrics: HealthMetrics | undefined = registry ? createHealthMetrics({ registry }) : undefined;
  let readyFlag = startReady;
  let notReadyReason = 'not ready';
  let startupComplete = false;
  let shuttingDown = false;
  let shutdownPromise: Promise<number> | undefined;
  let closed = false;

  const emit = <E extends keyof HealthEvents>(event: E, payload: HealthEvents[E]) => {
    for (const listener of listeners.get(event) ?? []) {
      try {
        (listener as (value: HealthEvents[E]) => void)(payload);
      } catch (error) {
        logger.error({ event, error: safeErrorMessage(error) }, 'health event listener threw');
      }
    }
  };

  const onResult = (runner: CheckRunner, result: CapturedResult, previous: CheckStatus | undefined) => {
    metrics?.record(runner.name, result, previous);
    if (previous === result.status) return;
    const transition: CheckTransition = { name: runner.name, from: previous, to: result.status, result };
    const fields = { check: runner.name, from: previous ?? null, to: result.status, output: result.output, critical: runner.critical };
    if (result.status === 'fail') logger.warn(fields, `health check "${runner.name}" failed`);
    else if (result.status === 'warn') logger.warn(fields, `health check "${runner.name}" degraded`);
    else if (previous !== undefined) logger.info(fields, `health check "${runner.name}" recovered`);
    emit('check.changed', transition);
    if (result.status === 'fail') emit('check.failed', transition);
    else if (result.status === 'warn') emit('check.warned', transition);
    else if (previous !== undefined) emit('check.recovered', transition);
  };

  const toReport = (runner: CheckRunner, result: CapturedResult, cached: boolean): CheckReport => {
    // Explicit fields rather than an object spread: this runs per check per verbose request.
    const report: CheckReport = {
      name: runner.name,
      status: result.status,
      rawStatus: result.rawStatus,
      time: result.time,
      durationMs: result.durationMs,
      timedOut: result.timedOut,
      critical: runner.critical,
      tags: runner.tags,
      contributes: contribution(result.status, runner.critical),
      cached,
      componentType: runner.componentType,
      measurement: runner.measurement,
    };
    if (result.output !== undefined) report.output = result.output;
    if (result.observed !== undefined) report.observed = result.observed;
    if (result.observedUnit !== undefined) report.observedUnit = result.observedUnit;
    if (result.details !== undefined) report.details = result.details;
    if (runner.componentId !== undefined) report.componentId = runner.componentId;
    return report;
  };

  interface Evaluation {
    checks: CheckReport[];
    /** What each check contributes, also when `checks` was not built (terse responses). */
    statuses: CheckStatus[];
  }

  const evaluate = async (selected: readonly CheckRunner[], withChecks = true): Promise<Evaluation> => {
    // Fast path: every result is cached (polled checks, fresh TTL entries): no awaiting, and for terse responses
    // no per-check objects either.
    const statuses: CheckStatus[] = [];
    const checks: CheckReport[] = [];
    let complete = true;
    for (const runner of selected) {
      const cached = runner.peek();
      if (!cached) {
        complete = false;
        break;
      }
      statuses.push(contribution(cached.status, runner.critical));
      if (withChecks) checks.push(toReport(runner, cached, true));
    }
    if (complete) return { checks, statuses };
    const all = await Promise.all(
      selected.map(async (runner) => {
        const { result, cached } = await runner.current();
        return toReport(runner, result, cached);
      }),
    );
    return { checks: withChecks ? all : [], statuses: all.map((check) => check.contributes) };
  };

  // Check lists per endpoint, rebuilt only when checks are added or removed (the request path only reads them).
  const selections = new Map<string, CheckRunner[]>();
  const withTags = (...tags: CheckTag[]): readonly CheckRunner[] => {
    const key = tags.join(',');
    let selected = selections.get(key);
    if (!selected) {
      selected = [...runners.values()].filter((runner) => runner.tags.some((tag) => tags.includes(tag)));
      selections.set(key, selected);
    }
    return selected;
  };

  const buildReport = (endpoint: Endpoint, evaluation: Evaluation, lifecycle?: string): HealthReport => {
    const status = lifecycle === undefined ? aggregateStatus(evaluation.statuses, statusOrder) : 'fail';
    const report: HealthReport = { endpoint, status, checks: evaluation.checks, time: clock.now() };
    if (lifecycle !== undefined) report.output = lifecycle;
    return report;
  };

  const startupLifecycle = (): string | undefined => {
    for (const [name, task] of startupTasks) {
      if (task.state === 'pending') return `startup task "${name}" pending`;
      if (task.state === 'failed') return `startup task "${name}" failed`;
    }
    return undefined;
  };

  const startup = async (withChecks = true): Promise<HealthReport> => {
    const selected = withTags('startup');
    if (startupComplete) {
      const checks = selected.flatMap((runner) => (runner.last && withChecks ? [toReport(runner, runner.last, true)] : []));
      return buildReport('startup', { checks, statuses: [] });
    }
    const report = buildReport('startup', await evaluate(selected, withChecks), startupLifecycle());
    if (report.status !== 'fail' && !startupComplete) {
      startupComplete = true;
      for (const runner of selected) if (!runner.tags.includes('live') && !runner.tags.includes('ready')) runner.stop();
      logger.info({}, 'startup complete');
      emit('startup.completed', { time: clock.now() });
    }
    return report;
  };

  const live = async (withChecks = true): Promise<HealthReport> => buildReport('live', await evaluate(withTags('live'), withChecks));

  const ready = async (withChecks = true): Promise<HealthReport> => {
    if (shuttingDown) return buildReport('ready', { checks: [], statuses: [] }, 'shutting down');
    let lifecycle: string | undefined;
    if (!startupComplete) {
      const startupReport = await startup(false);
      if (startupReport.status === 'fail') lifecycle = startupReport.output ?? 'startup checks not passed yet';
    }
    const evaluation = await evaluate(withTags('live', 'ready'), withChecks);
    if (shuttingDown) lifecycle = 'shutting down';
    else if (lifecycle === undefined && !readyFlag) lifecycle = notReadyReason;
    return buildReport('ready', evaluation, lifecycle);
  };

  // Synchronous terse reports for the probe hot path: only when startup is complete and every selected result is
  // cached (polled checks, fresh TTL entries); `undefined` sends the handler down the asynchronous path above.
  const cachedStatuses = (selected: readonly CheckRunner[]): CheckStatus[] | undefined => {
    const statuses: CheckStatus[] = [];
    for (const runner of selected) {
      const cached = runner.peek();
      if (!cached) return undefined;
      statuses.push(contribution(cached.status, runner.critical));
    }
    return statuses;
  };

  const readyNow = (): HealthReport | undefined => {
    if (shuttingDown) return buildReport('ready', { checks: [], statuses: [] }, 'shutting down');
    if (!startupComplete) return undefined;
    const statuses = cachedStatuses(withTags('live', 'ready'));
    if (!statuses) return undefined;
    return buildReport('ready', { checks: [], statuses }, readyFlag ? undefined : notReadyReason);
  };

  const liveNow = (): HealthReport | undefined => {
    const statuses = cachedStatuses(withTags('live'));
    return statuses ? buildReport('live', { checks: [], statuses }) : undefined;
  };

  const check = async (name: string): Promise<HealthReport> => {
    const runner = runners.get(name);
    if (!runner) throw new HealthError('ARGUMENT_INVALID', `unknown check "${name}"; registered: ${[...runners.keys()].join(', ') || 'none'}`);
    return buildReport('check', await evaluate([runner]));
  };

  const handler = createHealthHandler({
    basePath,
    live,
    ready,
    startup,
    check,
    hasCheck: (name) => runners.has(name),
    readyNow,
    liveNow,
    statusCodes: codes,
    service,
    ...(showDetails === undefined ? {} : { showDetails }),
    logger,
  });

  const onSignal = (signal: string) => () => {
    if (shuttingDown) {
      logger.warn({ signal }, 'signal received during shutdown; already shutting down');
      return;
    }
    logger.info({ signal }, 'signal received; starting graceful shutdown');
    void shutdown(signal);
  };
  const signalListeners = signals.map((signal) => ({ signal, listener: onSignal(signal) }));
  for (const { signal, listener } of signalListeners) signalSource.on(signal, listener);

  const removeSignalListeners = () => {
    for (const { signal, listener } of signalListeners) signalSource.off(signal, listener);
  };

  const stopRunners = () => {
    for (const runner of runners.values()) runner.stop();
  };

  const shutdown = (reason = 'shutdown() called'): Promise<number> => {
    shutdownPromise ??= (async () => {
      shuttingDown = true;
      metrics?.setShuttingDown(true);
      logger.info({ reason, drainDelayMs }, 'graceful shutdown started: readiness fails from now on');
      emit('shutdown.started', { reason, time: clock.now() });
      let forced = false;
      const hardKill: TimerHandle = clock.setTimeout(() => {
        forced = true;
        logger.error({ forceExitAfterMs }, 'graceful shutdown did not finish in time; exiting');
        exit(1);
      }, forceExitAfterMs);
      for (const drainer of drainers) drainer.beginDrain();
      await clock.sleep(drainDelayMs);
      const listenersClosed = Promise.all(drainers.map((drainer) => drainer.stopAccepting()));
      const idle = Promise.all([...drainers.map((drainer) => drainer.whenIdle()), ...[...beacons].map((beacon) => beacon.released)]);
      const limit = new AbortController();
      const drained = await Promise.race([idle.then(() => true), clock.sleep(inFlightTimeoutMs, limit.signal).then(() => false, () => false)]);
      limit.abort();
      if (!drained) {
        const held = [...beacons].map((beacon) => beacon.name);
        const cut = drainers.reduce((total, drainer) => total + drainer.destroyAll(), 0);
        logger.warn({ inFlightTimeoutMs, socketsCut: cut, beacons: held }, 'in-flight work did not finish in time; connections cut');
      }
      await listenersClosed;
      stopRunners();
      let exitCode = 0;
      for (const { name, hook, timeoutMs } of hooks) {
        try {
          await withDeadline(async () => hook(), { timeoutMs, clock, label: `shutdown hook "${name}"` });
          logger.info({ hook: name }, 'shutdown hook finished');
        } catch (error) {
          exitCode = 1;
          logger.error({ hook: name, error: safeErrorMessage(error, { secrets }) }, 'shutdown hook failed');
        }
      }
      hardKill.cancel();
      removeSignalListeners();
      emit('shutdown.completed', { exitCode, time: clock.now() });
      logger.info({ exitCode }, 'graceful shutdown complete');
      if (!forced) exit(exitCode);
      return exitCode;
    })();
    return shutdownPromise;
  };

  const health: Health = {
    register(registration) {
      if (closed) throw new HealthError('SHUTDOWN_IN_PROGRESS', 'health is closed');
      parseWithSchema(registrationSchema, registration, `check registration${typeof registration.name === 'string' ? ` "${registration.name}"` : ''}`);
      if (RESERVED_NAMES.has(registration.name)) throw new HealthError('ARGUMENT_INVALID', `check name "${registration.name}" is reserved for an endpoint`);
      if (runners.has(registration.name)) throw new HealthError('CHECK_DUPLICATE', `a check named "${registration.name}" is already registered`);
      const probe = registration.check as Partial<Probe>;
      if ((registration.tags ?? []).includes('live') && probe.kind === 'dependency') {
        throw new HealthError('ARGUMENT_INVALID', `check "${registration.name}" probes a remote dependency and cannot be tagged "live": liveness must stay process-local (a dependency outage would restart every instance)`);
      }
      const runner = new CheckRunner(registration, { clock, defaultTimeoutMs, defaultMode, secrets, onResult });
      runners.set(registration.name, runner);
      selections.clear();
      if (!shuttingDown) runner.start();
    },
    unregister(name) {
      const runner = runners.get(name);
      runner?.stop();
      selections.clear();
      return runners.delete(name);
    },
    live: () => live(),
    ready: () => ready(),
    startup: () => startup(),
    check,
    checkNames: () => [...runners.keys()],
    handler,
    markReady() {
      readyFlag = true;
    },
    markNotReady(reason = 'not ready') {
      readyFlag = false;
      notReadyReason = reason;
    },
    addStartupTask(name, task) {
      if (startupTasks.has(name)) throw new HealthError('CHECK_DUPLICATE', `a startup task named "${name}" is already registered`);
      startupTasks.set(name, { state: 'pending' });
      task.then(
        () => startupTasks.set(name, { state: 'done' }),
        (error: unknown) => {
          const output = safeErrorMessage(error, { secrets });
          startupTasks.set(name, { state: 'failed', output });
          logger.error({ task: name, error: output }, 'startup task failed');
        },
      );
    },
    beacon(name) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const entry = { name, release, released };
      beacons.add(entry);
      return {
        release() {
          beacons.delete(entry);
          release();
        },
      };
    },
    attachServer(server) {
      if (!drainers.some((drainer) => drainer.server === server)) drainers.push(new ServerDrainer(server));
    },
    async listen(listenOptions = {}) {
      const server = createServer(toNodeHandler(handler, { onError: (error) => logger.error({ error: safeErrorMessage(error, { secrets }) }, 'health handler failed') }));
      health.attachServer(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listenOptions.port ?? 0, listenOptions.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return {
        url: `http://${host}:${address.port}`,
        port: address.port,
        server,
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      };
    },
    onShutdown(name, hook, hookOptions = {}) {
      hooks.push({ name, hook, timeoutMs: hookOptions.timeout === undefined ? hookTimeoutMs : parseDuration(hookOptions.timeout) });
    },
    shutdown,
    get isShuttingDown() {
      return shuttingDown;
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as Listener);
      return () => set.delete(listener as Listener);
    },
    close() {
      closed = true;
      stopRunners();
      removeSignalListeners();
      for (const drainer of drainers) drainer.detach();
    },
  };
  return health;
}
