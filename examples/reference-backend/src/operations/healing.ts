import type { AlertSink, Clock, Logger } from '@ops/core';
import { parseDuration } from '@ops/core';
import Docker from 'dockerode';
import {
  containerAutoheal,
  createFlags,
  createHealer,
  createMemoryAuditStore,
  createMemoryHealingStore,
  createRedisAuditStore,
  createRedisHealingStore,
  databaseConnectionLadder,
  latencyLadder,
  memoryLadder,
  reconnectRedis,
  resetPgPool,
  type AuditStore,
  type ContainerAutoheal,
  type Flags,
  type Healer,
  type PgPoolHolder,
  type ResettablePgPool,
} from '@ops/healing';
import type { Automation, AutomationOutcome, Incident } from '@ops/incident';
import type { Redis } from 'ioredis';
import type { BackendConfig } from '../config.js';
import type { CacheMemory } from './cache-memory.js';
import type { RequestStats } from './request-stats.js';

/** Rule names of the notes service's healer. */
export const HEALING_RULES = {
  memory: 'memory',
  latency: 'latency',
  databaseConnections: 'database-connections',
  containers: 'container-autoheal',
} as const;

/** The fleet-wide target of the database connection ladder (one replica resets for everyone). */
export const DATABASE_TARGET = 'notes-db';

/** The runtime flags the healing steps flip and the API reads. */
export const FLAG_NAMES = { readOnly: 'read-only', rateLimiting: 'rate-limiting' } as const;

/** The healing side of the backend. */
export interface NotesHealing {
  readonly healer: Healer;
  readonly audit: AuditStore;
  readonly flags: Flags;
  /** Counts one failed connection of the notes store (feeds the database connection ladder). */
  recordConnectionFailure(): void;
  /** L1's automation for @ops/incident: run the ladder now and report whether it fixed the problem. */
  readonly automation: Automation;
  /** Where the healing state and audit live. */
  readonly storeKind: 'memory' | 'redis';
  /** Container autoheal, when `DOCKER_SOCKET` is set. */
  readonly containers: ContainerAutoheal | undefined;
  stop(): Promise<void>;
}

/** Options of {@link createNotesHealing}. */
export interface NotesHealingOptions {
  config: BackendConfig;
  clock: Clock;
  logger: Logger;
  /** The pool holder of the notes store (a real pg pool, or the in-memory store's stand-in). */
  pools: PgPoolHolder<ResettablePgPool>;
  cacheMemory: CacheMemory;
  requests: RequestStats;
  /** Warms the notes cache (latency ladder, step 2). */
  warmCaches: () => Promise<{ detail: string }>;
  /** The notes cache's Redis client, reconnected by the memory ladder's last step. */
  cacheRedis?: Redis;
  /** A Redis client for the healing store and audit stream (fleet lock, fencing, budget). */
  healingRedis?: Redis;
  /** Where escalations of exhausted ladders go (`incidents.alertSink`). */
  alerts: AlertSink;
  /** Scale of the rules' `for` (memory 10m, latency 5m) — `HEAL_SUSTAIN_SCALE`. Default 1. */
  sustainScale?: number;
  /** Start the evaluation loop (every `HEAL_EVERY`). Default `true`. */
  autoStart?: boolean;
}

/**
 * The runbooks' ladders on this process's signals, through @ops/healing's recipes:
 * - **memory** (per instance): the caches' memory above 85% of `CACHE_MEMORY_BUDGET_MB` for 10 minutes → clear the
 *   caches (frees what `memoryGrowthMb` grew) → `global.gc` → reconnect Redis;
 * - **latency** (per instance): API P95 above 2× its learned baseline for 5 minutes → rate limiting on → warm the
 *   notes cache → reset the store's pool;
 * - **database-connections** (target `notes-db`, one replica acts for the fleet): more than 5 failed store
 *   connections in a minute → reset the pool (clears `poisonedConnections`) → read-only mode.
 * With Redis, locks, fencing tokens, the disruption budget and the audit stream are shared by every replica.
 */
export function createNotesHealing(options: NotesHealingOptions): NotesHealing {
  const { config, clock, logger, pools, cacheMemory, requests, warmCaches, cacheRedis, healingRedis, alerts } = options;
  const sustainScale = options.sustainScale ?? 1;
  const flags = createFlags({ initial: { [FLAG_NAMES.readOnly]: false, [FLAG_NAMES.rateLimiting]: false } });
  const prefix = 'ops:reference-backend:healing:';
  const store = healingRedis ? createRedisHealingStore({ redis: healingRedis, prefix }) : createMemoryHealingStore();
  const audit = healingRedis
    ? createRedisAuditStore({ redis: healingRedis, key: `${prefix}audit`, maxLength: 10_000 })
    : createMemoryAuditStore({ maxRecords: 5_000 });
  const scaled = (duration: string) => Math.round(parseDuration(duration) * sustainScale);
  const instance = config.instanceId;

  const memory = memoryLadder({
    signal: cacheMemory.signal,
    for: scaled('10m'),
    settle: config.healSettle,
    clearCaches: () => {
      const freed = cacheMemory.clear();
      return { detail: `cleared the response cache: ${(freed / 1024 / 1024).toFixed(0)} MiB freed` };
    },
    restartConnections: cacheRedis ? [reconnectRedis(cacheRedis)] : [],
    targets: [instance],
  });
  const latency = latencyLadder({
    p95: requests.p95Signal,
    flags,
    rateLimitFlag: FLAG_NAMES.rateLimiting,
    for: scaled('5m'),
    settle: config.healSettle,
    warmCaches,
    restartSlowComponent: resetPgPool(pools, { drainDeadline: '5s' }),
    clock,
    targets: [instance],
  });
  // One pool reset per 5 minutes for the fleet, counted from the end of the reset and its verify: replicas still
  // counting failures from just before the reset (they see the shared fault cleared up to a poll later) wait it out.
  const database = databaseConnectionLadder({
    pools,
    flags,
    readOnlyFlag: FLAG_NAMES.readOnly,
    clock,
    targets: [DATABASE_TARGET],
    cooldown: '5m',
  });
  // docker-autoheal's job, with rails: containers labelled autoheal=true whose HEALTHCHECK says unhealthy.
  const containers =
    config.dockerSocket === undefined
      ? undefined
      : containerAutoheal({
          docker: new Docker({ socketPath: config.dockerSocket }),
          label: 'autoheal=true',
          restartsPerEpisode: 3,
          budget: { max: 1 },
          watch: { clock, logger },
        });

  const healer = createHealer({
    rules: containers ? [memory, latency, database, containers] : [memory, latency, database],
    store,
    audit,
    alerts,
    every: config.healEvery,
    instanceId: instance,
    autoStart: options.autoStart ?? true,
    clock,
    logger,
  });

  const automation: Automation = async (incident: Incident): Promise<AutomationOutcome> => {
    await healer.tick();
    await healer.idle();
    // Episodes that healed since the impact began (and not "later": a record stamped after now is another clock's).
    const since = incident.impactStartedAt ?? incident.triggeredAt;
    const now = clock.now();
    const healed = (await audit.list({ since, limit: 500 })).filter(
      (record) => record.kind === 'episode.closed' && record.reason === 'healed' && record.at <= now,
    );
    if (healed.length > 0) {
      const last = healed.at(-1)!;
      return { outcome: 'mitigated', detail: `healing ${last.rule} on ${last.target} healed and verified` };
    }
    const status = await healer.status();
    const watching = status.rules.flatMap((rule) =>
      rule.targets
        .filter((target) => target.condition !== 'inactive')
        .map((target) => `${rule.name} on ${target.target}: ${target.condition}${target.inFlight ? ', acting' : ''}`),
    );
    return {
      outcome: 'failed',
      detail:
        watching.length > 0
          ? `healing has not fixed it yet (${watching.join('; ')})`
          : 'no healing rule fires for this problem',
    };
  };

  const stopReacting = containers?.react(healer);
  containers?.watcher
    .start()
    .catch((error: unknown) =>
      logger.warn({ error: (error as Error).message }, 'container autoheal: the Docker engine is not reachable yet'),
    );

  return {
    healer,
    audit,
    flags,
    storeKind: healingRedis ? 'redis' : 'memory',
    containers,
    recordConnectionFailure: () => database.recordFailure(), // counted for DATABASE_TARGET, the rule's one target
    automation,
    async stop() {
      stopReacting?.();
      await healer.stop();
      await containers?.watcher.close();
    },
  };
}

/**
 * The in-memory store's stand-in for a pg pool, so the database connection ladder works without PostgreSQL: its
 * `query('SELECT 1')` fails while connections are poisoned, and a reset (a new pool) clears the poisoning.
 */
export function createMemoryConnectionPool(isPoisoned: () => boolean): ResettablePgPool {
  return {
    totalCount: 0,
    idleCount: 0,
    waitingCount: 0,
    async query() {
      if (isPoisoned()) throw new Error('connection terminated unexpectedly (poisoned connection)');
      return { rows: [{ '?column?': 1 }], rowCount: 1 };
    },
    async end() {
      return undefined;
    },
  };
}

/** Wraps a pool holder so a swap (healing's `resetPgPool`) also tells the fault injector the connections are new. */
export function resettingHolder<Pool extends ResettablePgPool>(
  inner: PgPoolHolder<Pool>,
  onSwap: () => void,
): PgPoolHolder<Pool> {
  return {
    get pool() {
      return inner.pool;
    },
    swap() {
      const previous = inner.swap();
      onSwap();
      return previous;
    },
  };
}
