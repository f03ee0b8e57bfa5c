import { Redis } from 'ioredis';

/** The same Redis URL with its database index (the path) replaced. */
export function redisUrlWithDatabase(url: string, database: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Opens a client that fails fast instead of retrying, for probes and bookkeeping. */
export function connectOnce(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
}

/** Resolves when a Redis server at `url` answers PING; rejects with the connection error otherwise. */
export async function pingRedis(url: string): Promise<void> {
  const client = connectOnce(url);
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}
