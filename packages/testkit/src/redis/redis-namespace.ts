import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';

import { TestkitError } from '../errors.js';
import { delay } from '../process/process-utilities.js';
import { describeError, redactUrl } from '../redact-url.js';
import { connectOnce, pingRedis, redisUrlWithDatabase } from './redis-ping.js';
import { REDIS_INSTALL_HINT, startThrowawayRedis } from './throwaway-redis.js';
import type { ThrowawayRedis } from './throwaway-redis.js';

/** The usual local server of the development machines. */
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

/** Prefix of the lease keys, kept in database 0 of the server. */
export const REDIS_LEASE_KEY_PREFIX = 'ops-testkit:lease:db:';

const LEASE_TTL_MS = 10 * 60_000;
const LEASE_REFRESH_MS = 60_000;
const LEASE_WAIT_MS = 60_000;

const RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
const REFRESH_SCRIPT =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/** Where {@link resolveRedisServer} found a server. */
export interface RedisServer {
  /** URL of the server (any database path is ignored; namespaces pick their own). */
  url: string;
  /** Which step of the resolution order answered. */
  source: 'environment' | 'local' | 'throwaway';
  /** The server started for this process when `source` is `'throwaway'` (ended at exit). */
  throwaway?: ThrowawayRedis;
}

/** An isolated slice of a Redis server for one test file; see {@link createRedisNamespace}. */
export interface RedisNamespace {
  /** URL including the leased database index, e.g. `redis://127.0.0.1:6379/7`. */
  url: string;
  /** The leased database index (never 0, which holds the leases). */
  db: number;
  /** A unique key prefix (`ops-test:<random>:`) for code that also needs key-level separation. */
  keyPrefix: string;
  /**
   * A new ioredis client on the leased database. The key prefix is not applied unless you pass
   * `{ keyPrefix: namespace.keyPrefix }`. Every client is closed by `dispose()`.
   */
  client(options?: RedisOptions): Redis;
  /** Closes the clients, flushes the leased database and releases the lease. Safe to call twice. */
  dispose(): Promise<void>;
}

let serverPromise: Promise<RedisServer> | undefined;

/** One uncached pass of the resolution order (exported for tests; use the cached resolver). */
export async function locateRedisServer(
  environment: NodeJS.ProcessEnv = process.env,
  localUrl: string = LOCAL_REDIS_URL,
): Promise<RedisServer> {
  const fromEnvironment = environment['OPS_TEST_REDIS_URL'];
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    try {
      await pingRedis(fromEnvironment);
    } catch (error) {
      throw new TestkitError(
        'SERVICE_UNAVAILABLE',
        `OPS_TEST_REDIS_URL=${redactUrl(fromEnvironment)} did not answer PING: ${describeError(error)}. ` +
          'Start that server, fix the URL, or unset the variable to use 127.0.0.1:6379 or a throwaway redis-server.',
        { cause: error },
      );
    }
    return { url: fromEnvironment, source: 'environment' };
  }

  let localFailure: string;
  try {
    await pingRedis(localUrl);
    return { url: localUrl, source: 'local' };
  } catch (error) {
    localFailure = describeError(error);
  }

  try {
    const throwaway = await startThrowawayRedis();
    return { url: throwaway.url, source: 'throwaway', throwaway };
  } catch (error) {
    throw new TestkitError(
      'SERVICE_UNAVAILABLE',
      `No Redis for tests. OPS_TEST_REDIS_URL is not set; ${localUrl} did not answer (${localFailure}); ` +
        `a throwaway redis-server could not be started (${describeError(error)}). ` +
        "Start one with `redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save ''`. " +
        REDIS_INSTALL_HINT,
      { cause: error },
    );
  }
}

/**
 * Finds the Redis server tests use, once per process, in this order: `OPS_TEST_REDIS_URL` →
 * `redis://127.0.0.1:6379` → one throwaway redis-server from the local binary (shared by the whole process, ended
 * at exit) → a `SERVICE_UNAVAILABLE` error saying what to install or start.
 */
export function resolveRedisServer(): Promise<RedisServer> {
  serverPromise ??= locateRedisServer().catch((error: unknown) => {
    serverPromise = undefined;
    throw error;
  });
  return serverPromise;
}

async function countDatabases(control: Redis): Promise<number> {
  try {
    const reply = (await control.call('CONFIG', 'GET', 'databases')) as string[];
    const count = Number(reply[1]);
    return Number.isInteger(count) && count > 1 ? count : 16;
  } catch {
    return 16; // CONFIG may be disabled (managed servers); 16 is Redis' default.
  }
}

/**
 * Leases a Redis database of its own for one test file, on the server found by the resolution order
 * (`OPS_TEST_REDIS_URL` → 127.0.0.1:6379 → a throwaway redis-server → an error saying what to install).
 *
 * Isolation: a database index 1…n-1 is claimed with `SET ops-testkit:lease:db:<n> <token> NX PX` in database 0, so
 * test files running in parallel (even in different processes) never share one; it is flushed when claimed and
 * when released. The lease expires after 10 minutes unless refreshed (every minute while the namespace lives), so a
 * killed test process does not hold a database forever. Tests must not `FLUSHALL` the shared server.
 *
 * @example
 * ```ts
 * const namespace = await createRedisNamespace();
 * const redis = namespace.client();
 * await redis.set('greeting', 'hello');
 * await namespace.dispose(); // closes `redis`, flushes the database, releases the lease
 * ```
 */
export async function createRedisNamespace(): Promise<RedisNamespace> {
  const server = await resolveRedisServer();
  const control = connectOnce(redisUrlWithDatabase(server.url, 0));
  control.on('error', () => undefined);
  await control.connect();

  const token = `${process.pid}:${randomBytes(8).toString('hex')}`;
  let db = 0;
  try {
    const count = await countDatabases(control);
    const offset = Math.floor(Math.random() * (count - 1));
    const attempts = Math.ceil(LEASE_WAIT_MS / 200);
    for (let attempt = 0; attempt < attempts && db === 0; attempt += 1) {
      for (let index = 0; index < count - 1; index += 1) {
        const candidate = 1 + ((offset + index) % (count - 1));
        const claimed = await control.set(`${REDIS_LEASE_KEY_PREFIX}${candidate}`, token, 'PX', LEASE_TTL_MS, 'NX');
        if (claimed === 'OK') {
          db = candidate;
          break;
        }
      }
      if (db === 0) await delay(200);
    }
    if (db === 0) {
      throw new TestkitError(
        'SERVICE_UNAVAILABLE',
        `All ${count - 1} Redis databases of ${redactUrl(server.url)} stayed leased by other test files for ` +
          `${LEASE_WAIT_MS / 1000} s. Lower test parallelism or raise \`databases\` in the server configuration.`,
      );
    }
  } catch (error) {
    control.disconnect();
    throw error;
  }

  const url = redisUrlWithDatabase(server.url, db);
  const leaseKey = `${REDIS_LEASE_KEY_PREFIX}${db}`;
  const flush = async (): Promise<void> => {
    const client = connectOnce(url);
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.flushdb();
    } finally {
      client.disconnect();
    }
  };
  try {
    await flush();
  } catch (error) {
    await control.eval(RELEASE_SCRIPT, 1, leaseKey, token).catch(() => undefined);
    control.disconnect();
    throw error;
  }

  const refresh = setInterval(() => {
    control.eval(REFRESH_SCRIPT, 1, leaseKey, token, String(LEASE_TTL_MS)).catch(() => undefined);
  }, LEASE_REFRESH_MS);
  refresh.unref();

  const clients = new Set<Redis>();
  let disposed: Promise<void> | undefined;
  return {
    url,
    db,
    keyPrefix: `ops-test:${randomBytes(6).toString('hex')}:`,
    client(options = {}) {
      if (disposed !== undefined) throw new TestkitError('FIXTURE_DISPOSED', 'this Redis namespace was disposed');
      // The URL comes first so its database index wins over any `db` in options.
      const client = new Redis(url, options as Omit<RedisOptions, 'replyMapping'>);
      clients.add(client);
      return client;
    },
    dispose() {
      disposed ??= (async () => {
        clearInterval(refresh);
        await Promise.all(
          [...clients].map(async (client) => {
            if (client.status === 'ready') await client.quit().catch(() => undefined);
            client.disconnect();
          }),
        );
        try {
          await flush();
        } finally {
          await control.eval(RELEASE_SCRIPT, 1, leaseKey, token).catch(() => undefined);
          control.disconnect();
        }
      })();
      return disposed;
    },
  };
}
