import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { backupFreshnessProbe } from '@ops/backup';
import {
  composeHandlers,
  createPeriodicTask,
  jsonResponse,
  listen,
  observeNodeExchange,
  parseDuration,
  safeErrorMessage,
  silentLogger,
  systemClock,
  textResponse,
  toNodeHandler,
  type Clock,
  type Duration,
  type Logger,
  type OpsHandler,
} from '@ops/core';
import { createPgPoolHolder, healerProbe, type PgPoolHolder, type ResettablePgPool } from '@ops/healing';
import {
  allowLoopback,
  createHealth,
  diskProbe,
  eventLoopProbe,
  forwardHealthAlerts,
  functionProbe,
  memoryProbe,
  postgresProbe,
  redisProbe,
  type Health,
} from '@ops/health';
import type { IncidentManager, StatusPage } from '@ops/incident';
import {
  createSloRequestObserver,
  createSloTracker,
  forwardSloAlerts,
  loadSloFile,
  type SloAlertEvent,
  type SloTracker,
} from '@ops/slo';
import { Redis } from 'ioredis';
import pg from 'pg';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { createAdminApi } from './admin.js';
import { apiRouteOf, createNotesApi } from './api.js';
import { createNotesBackupJob, NOTES_BACKUP_JOB, type NotesBackupJob, type NotesBackupOutcome } from './backup-job.js';
import { createMemoryNotesCache, createRedisNotesCache, type NotesCache } from './cache/notes-cache.js';
import { loadBackendConfig, type BackendConfig } from './config.js';
import { createFaultInjector, withInjectedFaults, type FaultInjector } from './faults.js';
import { createMemoryNotesRepository } from './notes/memory-notes-repository.js';
import type { NotesRepository } from './notes/notes-repository.js';
import { createPostgresNotesRepository } from './notes/postgres-notes-repository.js';
import { createCacheMemory, type CacheMemory } from './operations/cache-memory.js';
import { createNotesCapacity, type NotesCapacity } from './operations/capacity.js';
import {
  createMemoryConnectionPool,
  createNotesHealing,
  resettingHolder,
  type NotesHealing,
} from './operations/healing.js';
import { createNotesIncidents, groupNotesAlert, NOTES_SERVICE, type NotesIncidents } from './operations/incidents.js';
import { createProblemSink, type ProblemSink } from './operations/problem-sink.js';
import { createRequestStats, type RequestStats } from './operations/request-stats.js';

/** Version reported in health responses. */
export const SERVICE_VERSION = '0.2.0';

/** Above this share of the caches' memory budget the API sheds load (503) and `memory-budget` fails. */
export const SHED_ABOVE_RATIO = 0.9;

/** Options of {@link startReferenceBackend}. */
export interface ReferenceBackendOptions {
  /** Settings; anything left out takes the embedded default (see `loadBackendConfig`). */
  config?: Partial<BackendConfig>;
  /** Time source of SLO windows, caches, backups, health, incidents, healing and capacity. Default `systemClock`. */
  clock?: Clock;
  /** Logger (pino-compatible). Default: silent. */
  logger?: Logger;
  /**
   * How often the in-process alerting runs (readiness checks, then SLO alert evaluation); `false` leaves it to the
   * caller (`evaluateAlerts()`). Default `config.sloEvaluateEvery` (`SLO_EVALUATE_EVERY`, 30 s).
   */
  sloEvaluateEvery?: Duration | false;
  /** Start the healer's loop (every `HEAL_EVERY`). Default `true`; `false` leaves it to `healing.healer.tick()`. */
  healerAutoStart?: boolean;
  /** Start the incident manager's timer and delivery loop. Default `true`. */
  incidentLoop?: boolean;
  /** Signals that start the graceful shutdown. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly string[];
  /** Called with the exit code when the graceful shutdown finished. Default `process.exit`. */
  exit?: (code: number) => void;
}

/** A running reference backend. */
export interface ReferenceBackend {
  /** `http://host:port` of the service. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  readonly config: BackendConfig;
  /** Where notes live (`'memory'` or `'postgres'`) and where the cache is (`'memory'` or `'redis'`). */
  readonly storeKind: NotesRepository['kind'];
  readonly cacheKind: NotesCache['kind'];
  readonly health: Health;
  readonly slos: SloTracker;
  readonly registry: Registry;
  readonly backups: NotesBackupJob;
  readonly faults: FaultInjector;
  /** The notes store (with the injected faults applied). */
  readonly repository: NotesRepository;
  /** The incident manager (`incidents.incidents`), status page, Alertmanager receiver and notification log. */
  readonly incidents: NotesIncidents;
  /** The healer, its audit trail and runtime flags. */
  readonly healing: NotesHealing;
  /** Capacity samples and report. */
  readonly capacity: NotesCapacity;
  /** The caches' memory (what `memoryGrowthMb` grows and healing clears). */
  readonly cacheMemory: CacheMemory;
  /** Recent API requests (P95, rate, error ratio). */
  readonly requests: RequestStats;
  /** In-process alert grouping (undefined with `ALERT_SOURCE=alertmanager`). */
  readonly problems: ProblemSink | undefined;
  /** SLO alert transitions seen so far, oldest first. */
  readonly alerts: readonly SloAlertEvent[];
  /** Runs the readiness checks and evaluates the SLO alerts now (what the alerting loop does). */
  evaluateAlerts(): Promise<void>;
  /** Runs the backup job now (also `POST /admin/backups`). */
  backupNow(): Promise<NotesBackupOutcome>;
  /** Graceful shutdown (as on SIGTERM): readiness fails, drain, close listeners, run cleanup hooks. Resolves with the exit code. */
  shutdown(reason?: string): Promise<number>;
}

/** A pg-Pool-shaped view that always uses the holder's current pool (healing may swap it). */
function currentPoolOf<Pool extends object>(holder: PgPoolHolder<Pool & ResettablePgPool>): Pool {
  return new Proxy({} as Pool, {
    get(_target, property) {
      const pool = holder.pool as unknown as Record<PropertyKey, unknown>;
      const value = pool[property];
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(pool) : value;
    },
  });
}

/**
 * Starts the reference backend: a notes JSON API on node:http wiring all six @ops packages — health endpoints and
 * probes, SLO tracking and `/metrics`, incidents (escalation, notifications, status page at `/status`, Alertmanager
 * receiver at `/hooks/alertmanager`), healing ladders, capacity samples and a verified backup job. With no settings
 * at all everything is in memory and backups go under the OS temp dir; `databaseUrl` and `redisUrl` switch to
 * PostgreSQL (notes, incidents) and Redis (cache, shared faults, healing locks and audit).
 *
 * The listener is up before the store is initialised (liveness and startup probes answer during migrations);
 * readiness passes once initialisation finished, which is also when this function resolves.
 *
 * @example
 * ```ts
 * const backend = await startReferenceBackend({ config: loadBackendConfig(process.env), logger });
 * console.log(`listening on ${backend.url}`);
 * ```
 */
export async function startReferenceBackend(options: ReferenceBackendOptions = {}): Promise<ReferenceBackend> {
  const {
    clock = systemClock,
    logger = silentLogger,
    healerAutoStart = true,
    incidentLoop = true,
    signals = ['SIGTERM', 'SIGINT'],
    exit = (code: number) => process.exit(code),
  } = options;
  const config: BackendConfig = { ...loadBackendConfig({}), ...options.config };
  const sloEvaluateEvery = options.sloEvaluateEvery ?? config.sloEvaluateEvery;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  await mkdir(config.backupDirectory, { recursive: true, mode: 0o700 });
  let baseUrl = `http://${config.host}:${config.port}`;

  // Redis: the read cache's client, and a second one for fleet state (shared faults, healing locks and audit), so
  // healing's "reconnect Redis" step never drops the connection its own lock lives on.
  let redis: Redis | undefined;
  let opsRedis: Redis | undefined;
  let cache: NotesCache;
  if (config.redisUrl !== undefined) {
    const redisOptions = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      commandTimeout: 1_000,
      connectTimeout: 2_000,
      enableOfflineQueue: true,
    };
    redis = new Redis(config.redisUrl, redisOptions);
    redis.on('error', (error) => logger.warn({ error: safeErrorMessage(error) }, 'Redis connection error'));
    opsRedis = new Redis(config.redisUrl, { ...redisOptions, lazyConnect: false });
    opsRedis.on('error', (error) => logger.warn({ error: safeErrorMessage(error) }, 'Redis (fleet state) error'));
    cache = createRedisNotesCache({ redis });
  } else {
    cache = createMemoryNotesCache({ clock });
  }
  // Real-time polling of the shared faults: the drill must reach every replica whatever the demo's clock does.
  const faults = createFaultInjector({ ...(opsRedis ? { redis: opsRedis } : {}), logger });
  const cacheMemory = createCacheMemory({ budgetBytes: config.cacheMemoryBudgetMb * 1024 * 1024 });
  let grownMb = 0;
  faults.onChange((settings) => {
    if (settings.memoryGrowthMb > 0 && settings.memoryGrowthMb !== grownMb) {
      cacheMemory.grow(settings.memoryGrowthMb);
      logger.warn({ faults: { memoryGrowthMb: settings.memoryGrowthMb } }, 'caches grew (injected fault)');
    }
    grownMb = settings.memoryGrowthMb;
  });

  // Store: in memory by default, PostgreSQL when configured — behind a pool holder healing can reset.
  const connectionsReset = () =>
    void faults
      .connectionsReset()
      .catch((error: unknown) => logger.warn({ error: safeErrorMessage(error) }, 'could not clear the shared fault'));
  let pgPools: PgPoolHolder<pg.Pool> | undefined;
  let pools: PgPoolHolder<ResettablePgPool>;
  let baseRepository: NotesRepository;
  const memoryRepository = config.databaseUrl === undefined ? createMemoryNotesRepository({ clock }) : undefined;
  if (config.databaseUrl !== undefined) {
    const connectionString = config.databaseUrl;
    pgPools = resettingHolder(
      createPgPoolHolder(() => {
        const pool = new pg.Pool({
          connectionString,
          max: 10,
          connectionTimeoutMillis: 2_000,
          idleTimeoutMillis: 30_000,
          statement_timeout: 2_000,
          query_timeout: 3_000,
          application_name: `ops-reference-backend:${config.instanceId}`,
        });
        pool.on('error', (error) => {
          healing?.recordConnectionFailure();
          logger.warn({ error: safeErrorMessage(error) }, 'idle PostgreSQL connection failed');
        });
        return pool;
      }),
      connectionsReset,
    );
    pools = pgPools as unknown as PgPoolHolder<ResettablePgPool>;
    baseRepository = createPostgresNotesRepository({ pool: currentPoolOf<pg.Pool>(pgPools) });
  } else {
    pools = resettingHolder(
      createPgPoolHolder(() => createMemoryConnectionPool(() => faults.current().poisonedConnections)),
      connectionsReset,
    );
    baseRepository = memoryRepository as NotesRepository;
  }
  let healing: NotesHealing | undefined;
  const repository = withInjectedFaults(baseRepository, {
    faults,
    onConnectionFailure: () => healing?.recordConnectionFailure(),
  });
  const requests = createRequestStats({ clock });

  // SLOs from the YAML spec; alert transitions are logged and kept for the admin endpoint and the demo.
  const slos = createSloTracker({ slos: await loadSloFile(config.sloFile), clock, registry, logger });
  const alerts: SloAlertEvent[] = [];
  const onAlert = (event: SloAlertEvent) => {
    alerts.push(event);
    const fields = {
      slo: event.slo,
      tier: event.tier,
      severity: event.severity,
      burnRateLong: round(event.burnRates.long),
      burnRateShort: round(event.burnRates.short),
      threshold: round(event.threshold),
      budgetRemaining: round(event.budget.remainingRatio),
    };
    if (event.type === 'alert.firing') logger.warn(fields, `SLO alert firing: ${event.slo} ${event.tier}`);
    else logger.info(fields, `SLO alert resolved: ${event.slo} ${event.tier}`);
  };
  slos.on('alert.firing', onAlert);
  slos.on('alert.resolved', onAlert);
  const sloObserver = createSloRequestObserver({
    tracker: slos,
    availability: 'api-availability',
    latency: 'api-latency',
  });

  // Classic HTTP metrics next to the SLO metrics (what a Prometheus ratio SLI or a dashboard would use).
  const requestCounter = new Counter({
    name: 'http_requests_total',
    help: 'API requests by route, method and status code.',
    labelNames: ['route', 'method', 'code'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'API request duration.',
    labelNames: ['route', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  // Backups: pg_dump when on PostgreSQL, else the in-memory notes exported as files; verified after each run.
  const backups = createNotesBackupJob({
    target:
      config.databaseUrl !== undefined
        ? { kind: 'postgres', connectionString: config.databaseUrl }
        : { kind: 'memory', repository: memoryRepository as NonNullable<typeof memoryRepository> },
    directory: config.backupDirectory,
    registry,
    clock,
    logger,
  });

  const health = createHealth({
    clock,
    logger,
    registry,
    service: { serviceId: NOTES_SERVICE, version: SERVICE_VERSION, description: 'ops reference backend (notes API)' },
    showDetails: allowLoopback(),
    secrets: secretsOf(config),
    shutdown: {
      signals,
      exit,
      drainDelay: config.drainDelay,
      inFlightTimeout: '10s',
      forceExitAfter: parseDuration(config.drainDelay) + 20_000,
    },
  });

  // Incidents: store, escalation policy, notifiers, status page, Alertmanager receiver.
  const incidents = await createNotesIncidents({
    config,
    clock,
    logger,
    heal: (incident, context) =>
      healing
        ? healing.automation(incident, context)
        : Promise.resolve({ outcome: 'failed', detail: 'the healer is not running yet' }),
    publicUrl: () => baseUrl,
    autoStart: incidentLoop,
  });
  const manager: IncidentManager = incidents.incidents;
  manager.on('incident.triggered', ({ incident }) =>
    logger.warn(
      { incident: incident.id, severity: incident.severity, dedupKey: incident.dedupKey },
      `incident triggered: ${incident.title}`,
    ),
  );
  manager.on('incident.escalated', ({ incident, level, targets }) =>
    logger.warn({ incident: incident.id, level: level + 1, targets }, `incident escalated to L${level + 1}`),
  );
  manager.on('incident.mitigated', ({ incident }) => {
    logger.info({ incident: incident.id }, 'incident mitigated');
    void manager
      .postUpdate(incident.id, {
        body: 'A fix has been applied and verified; we are monitoring the notes API.',
        by: 'notes-service',
        statuspageStatus: 'monitoring',
      })
      .catch(() => undefined);
  });
  manager.on('incident.resolved', ({ incident }) => logger.info({ incident: incident.id }, 'incident resolved'));

  // In-process alerting: health check changes and SLO burn-rate alerts, grouped per problem, into the incident
  // manager. With ALERT_SOURCE=alertmanager only the webhook opens incidents.
  let problems: ProblemSink | undefined;
  const stopForwarding: Array<() => void> = [];
  if (config.alertSource === 'in-process') {
    problems = createProblemSink({ sink: manager.alertSink, group: groupNotesAlert, logger });
    stopForwarding.push(forwardSloAlerts(slos, problems.sink, { clock, logger }));
    stopForwarding.push(forwardHealthAlerts(health, problems.sink, { service: NOTES_SERVICE, clock, logger }));
  }

  // Healing: the runbooks' ladders on this process's signals; escalations open incidents.
  healing = createNotesHealing({
    config,
    clock,
    logger,
    pools,
    cacheMemory,
    requests,
    warmCaches: async () => {
      const notes = await repository.list({ limit: 100 });
      await Promise.all(notes.map((note) => cache.set(note)));
      return { detail: `warmed the ${cache.kind} cache with ${notes.length} notes` };
    },
    ...(redis ? { cacheRedis: redis } : {}),
    ...(opsRedis ? { healingRedis: opsRedis } : {}),
    alerts: manager.alertSink,
    sustainScale: config.healSustainScale,
    autoStart: healerAutoStart,
  });
  const healer = healing.healer;
  healer.on('episode.opened', (event) =>
    logger.warn({ rule: event.rule, target: event.target }, `healing episode opened: ${event.rule}`),
  );
  healer.on('step.completed', (event) =>
    logger.info(
      { rule: event.rule, target: event.target, step: event.step + 1, result: event.result },
      `healing step ${event.step + 1} (${event.action}): ${event.result}${event.detail ? ` — ${event.detail}` : ''}`,
    ),
  );
  healer.on('verify.completed', (event) =>
    logger.info(
      { rule: event.rule, step: event.step + 1 },
      `healing verify ${event.passed ? 'passed' : 'failed'}: ${event.detail}`,
    ),
  );
  healer.on('episode.escalated', (event) =>
    logger.warn({ rule: event.rule, reason: event.reason }, `healing escalated: ${event.detail}`),
  );
  healer.on('episode.closed', (event) => {
    logger.info({ rule: event.rule, target: event.target }, `healing episode closed: ${event.outcome}`);
    if (event.outcome !== 'healed') return;
    // The fix is verified: the paging incidents of the notes API are mitigated (they resolve when their alerts do).
    void (async () => {
      for (const incident of await manager.list({ open: true, service: NOTES_SERVICE })) {
        if (incident.urgency !== 'high' || incident.dedupKey.startsWith('healing:')) continue;
        if (incident.status !== 'triggered' && incident.status !== 'acknowledged') continue;
        await manager
          .mitigate(incident.id, {
            by: 'healing',
            note: `healing rule ${event.rule} healed ${event.target} and verified it (episode ${event.episodeId})`,
          })
          .catch(() => undefined); // another replica (or L1's automation) got there first
      }
    })().catch((error: unknown) => logger.warn({ error: safeErrorMessage(error) }, 'could not mitigate'));
  });

  // Capacity: request rate, P95, memory and store size sampled over time.
  const capacity = createNotesCapacity({
    clock,
    logger,
    every: config.capacitySampleEvery,
    signals: {
      requestRate: requests.rateSignal,
      p95: requests.p95Signal,
      memory: cacheMemory.signal,
      notes: { name: 'notes', read: () => baseRepository.count() },
    },
  });

  const eventLoop = eventLoopProbe({ warnDelayMs: 200, failDelayMs: 2_000 });
  health.register({
    name: 'notes-store',
    check: functionProbe(async (signal) => (await repository.ping(signal), true), {
      componentType: 'datastore',
      measurement: 'responseTime',
    }),
    critical: true,
  });
  if (pgPools)
    health.register({
      name: 'postgres',
      check: postgresProbe({ pool: currentPoolOf<pg.Pool>(pgPools), statementTimeout: '800ms' }),
      critical: true,
    });
  if (redis) health.register({ name: 'redis', check: redisProbe({ redis }), critical: false });
  health.register({ name: 'memory', check: memoryProbe({ maxHeapRatio: 0.95 }), tags: ['live', 'ready'] });
  health.register({
    name: 'memory-budget',
    check: async () => {
      const ratio = cacheMemory.ratio();
      const output = `caches hold ${(cacheMemory.usedBytes() / 1024 / 1024).toFixed(0)} of ${config.cacheMemoryBudgetMb} MiB`;
      const status = ratio > SHED_ABOVE_RATIO ? 'fail' : ratio > 0.85 ? 'warn' : 'pass';
      return {
        status,
        observed: Math.round(ratio * 1000) / 1000,
        observedUnit: 'ratio',
        ...(status === 'pass' ? {} : { output }),
      };
    },
    critical: true,
    componentType: 'system',
    measurement: 'utilization',
  });
  health.register({ name: 'event-loop', check: eventLoop, critical: false, mode: { every: '5s' } });
  health.register({
    name: 'disk',
    check: diskProbe({ path: config.backupDirectory, warnRatio: 0.85, failRatio: 0.95 }),
    critical: false,
    mode: { ttl: '10s' },
  });
  health.register({
    name: 'backup-freshness',
    check: backupFreshnessProbe({
      storage: backups.storage,
      job: NOTES_BACKUP_JOB,
      maxAge: config.backupMaxAge,
      requiredVerification: 'full-read',
      clock,
    }),
    critical: false,
    componentType: 'component',
    measurement: 'age',
    mode: { ttl: '5s' },
  });
  health.register({ name: 'healer', check: healerProbe({ healer }), critical: false, mode: { ttl: '5s' } });

  let backupRunning: Promise<NotesBackupOutcome> | undefined;
  const backupNow = (): Promise<NotesBackupOutcome> => {
    // One run at a time; a second caller shares the running one. Shutdown waits for it (beacon).
    backupRunning ??= (async () => {
      const beacon = health.beacon('backup');
      try {
        return await backups.run();
      } finally {
        beacon.release();
        backupRunning = undefined;
      }
    })();
    return backupRunning;
  };

  const evaluateAlerts = async () => {
    await health.ready();
    await slos.evaluate();
  };
  const alerting =
    sloEvaluateEvery === false || config.alertSource !== 'in-process'
      ? undefined
      : createPeriodicTask({
          name: 'in-process-alerting',
          every: sloEvaluateEvery,
          clock,
          logger,
          run: evaluateAlerts,
        });

  const api = createNotesApi({ repository, cache, logger });
  // Load shedding and the runtime flags healing flips, in front of the API.
  let inFlight = 0;
  const guard: OpsHandler = async (request) => {
    if (apiRouteOf(request.path) === undefined) return undefined;
    const headers = { 'cache-control': 'no-store', 'retry-after': '5' };
    if (cacheMemory.ratio() > SHED_ABOVE_RATIO)
      return jsonResponse(503, { error: 'memory pressure: shedding load' }, headers);
    if (request.method !== 'GET' && request.method !== 'HEAD' && healing?.flags.isOn('read-only'))
      return jsonResponse(503, { error: 'read-only mode: writes are paused' }, headers);
    if (healing?.flags.isOn('rate-limiting') && inFlight > 16)
      return jsonResponse(429, { error: 'rate limited' }, { ...headers, 'retry-after': '1' });
    return undefined;
  };
  const admin: OpsHandler = config.adminEnabled
    ? createAdminApi({
        faults,
        slos,
        alerts: () => alerts,
        backupNow,
        backups,
        logger,
        incidents: manager,
        notifications: incidents.notifications,
        healing,
        capacity,
        cacheMemory,
        instanceId: config.instanceId,
        clock,
      })
    : async () => undefined;
  const metrics: OpsHandler = async (request) => {
    if (request.path !== '/metrics' || request.method !== 'GET') return undefined;
    return textResponse(200, await registry.metrics(), { 'content-type': registry.contentType });
  };
  const root: OpsHandler = async (request) => {
    if (request.path !== '/' || request.method !== 'GET') return undefined;
    return jsonResponse(200, {
      service: NOTES_SERVICE,
      version: SERVICE_VERSION,
      instance: config.instanceId,
      store: repository.kind,
      cache: cache.kind,
      alertSource: config.alertSource,
      endpoints: [
        '/notes',
        '/notes/:id',
        '/health/live',
        '/health/ready',
        '/health/startup',
        '/metrics',
        '/status',
        '/hooks/alertmanager',
      ],
    });
  };
  const statusPage: StatusPage = incidents.statusPage;
  const handler = composeHandlers(
    health.handler,
    metrics,
    statusPage.handler,
    incidents.alertmanagerReceiver,
    guard,
    api,
    admin,
    root,
  );
  const nodeHandler = toNodeHandler(handler, {
    onError: (error) => logger.error({ error: safeErrorMessage(error) }, 'request handler failed'),
  });
  const observe = {
    clock: systemClock, // request durations are always real, even when the demo skips time
    observer: sloObserver,
  };
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    const route = apiRouteOf((request.url ?? '/').split('?')[0] ?? '/');
    if (route !== undefined) {
      const started = performance.now();
      inFlight++;
      observeNodeExchange(request, response, { ...observe, route: () => route });
      response.once('close', () => inFlight--);
      response.once('finish', () => {
        const method = (request.method ?? 'GET').toUpperCase();
        const seconds = (performance.now() - started) / 1000;
        requestCounter.inc({ route, method, code: String(response.statusCode) });
        durations.observe({ route, method }, seconds);
        requests.record(seconds * 1000, response.statusCode);
      });
    }
    nodeHandler(request, response);
  };
  const { server, url, port, close: closeServer } = await listen(listener, { port: config.port, host: config.host });
  baseUrl = url;
  server.keepAliveTimeout = 5_000;
  health.attachServer(server);

  const backupSchedule =
    config.backupEvery === undefined
      ? undefined
      : createPeriodicTask({
          name: 'backup-schedule',
          every: config.backupEvery,
          runOnStart: true,
          clock,
          logger,
          run: async () => {
            await backupNow();
          },
        });
  // Cleanup after the listeners closed, in order: stop producing work, then close clients (HTTP before DB).
  const stopWork = async () => {
    for (const stop of stopForwarding) stop();
    await alerting?.stop();
    await backupSchedule?.stop();
    await capacity.stop();
    await healing?.stop();
  };
  health.onShutdown('alerting, healing, capacity and backup schedule', stopWork);
  health.onShutdown('running backup', () => backupRunning);
  health.onShutdown('slo evaluation', () => slos.close());
  health.onShutdown('incidents', () => incidents.close());
  health.onShutdown('event-loop sampler', () => eventLoop.close());
  health.onShutdown('fault injection', () => faults.close());
  health.onShutdown('notes cache', () => cache.close());
  health.onShutdown('notes store', () => repository.close());
  health.onShutdown('fleet-state Redis', () => opsRedis?.quit().catch(() => opsRedis?.disconnect()));

  const initialised = (async () => {
    if (redis)
      await redis
        .connect()
        .catch((error: unknown) =>
          logger.warn(
            { error: safeErrorMessage(error) },
            'Redis not reachable at startup; the cache stays off until it is',
          ),
        );
    await faults.refresh();
    await repository.init();
  })();
  health.addStartupTask('notes-store-init', initialised);
  try {
    await initialised;
  } catch (error) {
    logger.error(
      { error: safeErrorMessage(error, { secrets: secretsOf(config) }) },
      'notes store initialisation failed',
    );
    health.close();
    server.closeAllConnections();
    await closeServer();
    await stopWork();
    eventLoop.close();
    await slos.close();
    await incidents.close();
    faults.close();
    await cache.close();
    await repository.close();
    opsRedis?.disconnect();
    throw error;
  }
  backupSchedule?.start();
  alerting?.start();
  capacity.start();
  health.markReady();
  logger.info(
    {
      url,
      instance: config.instanceId,
      store: repository.kind,
      cache: cache.kind,
      alertSource: config.alertSource,
      healingStore: healing.storeKind,
      backupDirectory: config.backupDirectory,
    },
    'reference backend ready',
  );

  return {
    url,
    port,
    server,
    config,
    storeKind: repository.kind,
    cacheKind: cache.kind,
    health,
    slos,
    registry,
    backups,
    faults,
    repository,
    incidents,
    healing,
    capacity,
    cacheMemory,
    requests,
    problems,
    alerts,
    evaluateAlerts,
    backupNow,
    shutdown: (reason) => health.shutdown(reason),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Passwords of the configured URLs, removed verbatim from health outputs and logs. */
function secretsOf(config: BackendConfig): string[] {
  const secrets: string[] = [];
  if (config.alertmanagerToken !== undefined) secrets.push(config.alertmanagerToken);
  if (config.notifyWebhookSecret !== undefined) secrets.push(config.notifyWebhookSecret);
  for (const text of [config.databaseUrl, config.redisUrl, config.smtpUrl]) {
    if (text === undefined) continue;
    try {
      const password = decodeURIComponent(new URL(text).password);
      if (password) secrets.push(password);
    } catch {
      // validated at load time; nothing to extract
    }
  }
  return secrets;
}
