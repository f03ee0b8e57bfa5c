import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { encodeDumpHeader, encodeDumpRecord, encodeDumpTrailer } from './redis-dump-format.js';

/** Options of {@link createScanDumpStream}. */
export interface ScanDumpOptions {
  redis: Redis;
  /** SCAN COUNT hint per batch. Default 1000. */
  scanCount?: number;
  /** SCAN MATCH pattern. Default all keys. */
  match?: string;
  /** Clock for absolute expiries. */
  now?: () => number;
  /** Header fields recorded in the artifact. */
  header?: Record<string, unknown>;
}

/**
 * A Readable of the scan-dump artifact: SCAN (never KEYS) in batches, each batch one pipeline of `DUMP` (binary, via
 * `dumpBuffer`) and `PTTL` per key; expiries are stored as absolute times for `RESTORE … ABSTTL`. The next batch is
 * fetched only when the consumer wants more bytes, so memory stays at one batch. Keys deleted between SCAN and DUMP
 * are skipped. `stats` counts what was written.
 */
export function createScanDumpStream(options: ScanDumpOptions): Readable & { stats: { keys: number; skipped: number; largestPayloadBytes: number } } {
  const { redis, scanCount = 1000, match, now = Date.now, header = {} } = options;
  const stats = { keys: 0, skipped: 0, largestPayloadBytes: 0 };
  let cursor = '0';
  let started = false;
  let finished = false;
  let busy = false;

  const stream = new Readable({
    highWaterMark: 1024 * 1024,
    read() {
      if (busy || finished) return;
      busy = true;
      fill().then(
        () => {
          busy = false;
        },
        (error: unknown) => {
          busy = false;
          stream.destroy(error as Error);
        },
      );
    },
  }) as Readable & { stats: typeof stats };
  stream.stats = stats;

  async function fill(): Promise<void> {
    if (!started) {
      started = true;
      if (!stream.push(encodeDumpHeader({ ...header, createdAt: new Date(now()).toISOString() }))) return;
    }
    for (;;) {
      const [next, keys] = match ? await redis.scanBuffer(cursor, 'MATCH', match, 'COUNT', scanCount) : await redis.scanBuffer(cursor, 'COUNT', scanCount);
      cursor = next.toString();
      let wantMore = true;
      if (keys.length > 0) {
        const pipeline = redis.pipeline();
        for (const key of keys) {
          pipeline.dumpBuffer(key);
          pipeline.pttl(key);
        }
        const results = (await pipeline.exec()) ?? [];
        const at = now();
        for (let index = 0; index < keys.length; index++) {
          const [dumpError, payload] = results[index * 2] ?? [new Error('missing reply'), null];
          const [ttlError, ttl] = results[index * 2 + 1] ?? [new Error('missing reply'), null];
          if (dumpError) throw dumpError;
          if (ttlError) throw ttlError;
          if (payload === null || ttl === -2) {
            stats.skipped++;
            continue;
          }
          const buffer = payload as Buffer;
          stats.keys++;
          stats.largestPayloadBytes = Math.max(stats.largestPayloadBytes, buffer.length);
          wantMore = stream.push(encodeDumpRecord({ key: keys[index] as Buffer, payload: buffer, expireAtMs: (ttl as number) > 0 ? at + (ttl as number) : -1 }));
        }
      }
      if (cursor === '0') {
        finished = true;
        stream.push(encodeDumpTrailer(stats.keys));
        stream.push(null);
        return;
      }
      if (!wantMore) return;
    }
  }
  return stream;
}
