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
import {
  allowLoopback,
  createHealth,
  diskProbe,
  eventLoopProbe,
  functionProbe,
  memoryProbe,
  postgresProbe,
  redisProbe,
  type Health,
  type HealthOptions,
} from '@ops/health';
import { createSloRequestObserver, createSloTracker, loadSloFile, type SloAlertEvent, type SloTracker } from '@ops/slo';
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

/** Version reported in health responses. */
export const SERVICE_VERSION = '0.1.0';

/** Options of {@link startReferenceBackend}. */
export interface ReferenceBackendOptions {
  /** Settings; anything left out takes the embedded default (see `loadBackendConfig`). */
  config?: Partial<BackendConfig>;
  /** Time source of SLO windows, caches, backups and health. Default `systemClock`. */
  clock?: Clock;
  /** Logger (pino-compatible). Default: silent. */
  logger?: Logger;
  /** How often SLO alerts are evaluated on a timer; `false` leaves it to the caller (`slos.evaluate()`). Default `'30s'`. */
  sloEvaluateEvery?: Duration | false;
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
  /** SLO alert transitions seen so far, oldest first. */
  readonly alerts: readonly SloAlertEvent[];
  /** Runs the backup job now (also `POST /admin/backups`). */
  backupNow(): Promise<NotesBackupOutcome>;
  /** Graceful shutdown (as on SIGTERM): readiness fails, drain, close listeners, run cleanup hooks. Resolves with the exit code. */
  shutdown(reason?: string): Promise<number>;
}

/**
 * Starts the reference backend: a notes JSON API on node:http with health endpoints, SLO tracking, `/metrics` and a
 * verified backup job. With no settings at all it keeps notes in memory and backs them up as files under the OS
 * temp dir; `databaseUrl` and `redisUrl` switch it to PostgreSQL and Redis.
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
    sloEvaluateEvery = '30s',
    signals = ['SIGTERM', 'SIGINT'],
    exit = (code: number) => process.exit(code),
  } = options;
  const config: BackendConfig = { ...loadBackendConfig({}), ...options.config };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  await mkdir(config.backupDirectory, { recursive: true, mode: 0o700 });

  // Store and cache: in memory by default, PostgreSQL / Redis when configured.
  let pool: pg.Pool | undefined;
  let baseRepository: NotesRepository;
  const memoryRepository = config.databaseUrl === undefined ? createMemoryNotesRepository({ clock }) : undefined;
  if (config.databaseUrl !== undefined) {
    pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: 10,
      connectionTimeoutMillis: 2_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 2_000,
      query_timeout: 3_000,
      application_name: 'ops-reference-backend',
    });
    pool.on('error', (error) => logger.warn({ error: safeErrorMessage(error) }, 'idle PostgreSQL connection failed'));
    baseRepository = createPostgresNotesRepository({ pool });
  } else {
    baseRepository = memoryRepository as NotesRepository;
  }
  let redis: Redis | undefined;
  let cache: NotesCache;
  if (config.redisUrl !== undefined) {
    redis = new Redis(config.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      commandTimeout: 1_000,
      connectTimeout: 2_000,
      enableOfflineQueue: true,
    });
    redis.on('error', (error) => logger.warn({ error: safeErrorMessage(error) }, 'Redis connection error'));
    cache = createRedisNotesCache({ redis });
  } else {
    cache = createMemoryNotesCache({ clock });
  }
  const faults = createFaultInjector();
  const repository = withInjectedFaults(baseRepository, { faults });

  // SLOs from the YAML spec; alert transitions are logged and kept for the admin endpoint and the demo.
  const slos = createSloTracker({
    slos: await loadSloFile(config.sloFile),
    clock,
    registry,
    logger,
    ...(sloEvaluateEvery === false ? {} : { evaluateEvery: sloEvaluateEvery }),
  });
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
  const requests = new Counter({
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
    service: { serviceId: 'notes', version: SERVICE_VERSION, description: 'ops reference backend (notes API)' },
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
  const eventLoop = eventLoopProbe({ warnDelayMs: 200, failDelayMs: 2_000 });
  health.register({
    name: 'notes-store',
    check: functionProbe(async (signal) => (await repository.ping(signal), true), {
      componentType: 'datastore',
      measurement: 'responseTime',
    }),
    critical: true,
  });
  if (pool)
    health.register({ name: 'postgres', check: postgresProbe({ pool, statementTimeout: '800ms' }), critical: true });
  if (redis) health.register({ name: 'redis', check: redisProbe({ redis }), critical: false });
  health.register({ name: 'memory', check: memoryProbe({ maxHeapRatio: 0.95 }), tags: ['live', 'ready'] });
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

  const api = createNotesApi({ repository, cache, logger });
  const admin: OpsHandler = config.adminEnabled
    ? createAdminApi({ faults, slos, alerts: () => alerts, backupNow, backups, logger })
    : async () => undefined;
  const metrics: OpsHandler = async (request) => {
    if (request.path !== '/metrics' || request.method !== 'GET') return undefined;
    return textResponse(200, await registry.metrics(), { 'content-type': registry.contentType });
  };
  const root: OpsHandler = async (request) => {
    if (request.path !== '/' || request.method !== 'GET') return undefined;
    return jsonResponse(200, {
      service: 'notes',
      version: SERVICE_VERSION,
      store: repository.kind,
      cache: cache.kind,
      endpoints: ['/notes', '/notes/:id', '/health/live', '/health/ready', '/health/startup', '/metrics'],
    });
  };
  const handler = composeHandlers(health.handler, metrics, api, admin, root);
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
      observeNodeExchange(request, response, { ...observe, route: () => route });
      response.once('finish', () => {
        const method = (request.method ?? 'GET').toUpperCase();
        requests.inc({ route, method, code: String(response.statusCode) });
        durations.observe({ route, method }, (performance.now() - started) / 1000);
      });
    }
    nodeHandler(request, response);
  };
  const { server, url, port, close: closeServer } = await listen(listener, { port: config.port, host: config.host });
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
  health.onShutdown('backup schedule', () => backupSchedule?.stop());
  health.onShutdown('running backup', () => backupRunning);
  health.onShutdown('slo evaluation', () => slos.close());
  health.onShutdown('event-loop sampler', () => eventLoop.close());
  health.onShutdown('notes cache', () => cache.close());
  health.onShutdown('notes store', () => repository.close());

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
    eventLoop.close();
    await slos.close();
    await cache.close();
    await repository.close();
    throw error;
  }
  backupSchedule?.start();
  health.markReady();
  logger.info(
    { url, store: repository.kind, cache: cache.kind, backupDirectory: config.backupDirectory },
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
    alerts,
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
  for (const text of [config.databaseUrl, config.redisUrl]) {
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
