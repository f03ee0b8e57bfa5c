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
  /** `eval` (default): one Lua script per batch, falling back to `pipeline` when scripting is refused. */
  batchMode?: 'eval' | 'pipeline';
}

const DUMP_SCRIPT = "local out = {} for i, key in ipairs(KEYS) do out[2 * i - 1] = redis.call('DUMP', key) or '' out[2 * i] = redis.call('PTTL', key) end return out";

/**
 * A Readable of the scan-dump artifact: SCAN (never KEYS) in batches; per batch `DUMP` (binary) and `PTTL` of every
 * key, in one Lua script (or one pipeline where scripting is refused); expiries are stored as absolute times for
 * `RESTORE … ABSTTL`. The next batch is fetched only when the consumer wants more bytes, so memory stays at one batch. Keys deleted between SCAN and DUMP
 * are skipped. `stats` counts what was written.
 */
export function createScanDumpStream(options: ScanDumpOptions): Readable & { stats: { keys: number; skipped: number; largestPayloadBytes: number } } {
  const { redis, scanCount = 1000, match, now = Date.now, header = {}, batchMode = 'eval' } = options;
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

  // One EVAL per batch (DUMP + PTTL for every key inside the script) is about 3× faster than a pipeline of 2 × n
  // commands through ioredis; where scripting is refused (ACL, managed Redis) the pipeline is used instead.
  let useScript = batchMode === 'eval';
  async function dumpBatch(keys: Buffer[]): Promise<{ payload: Buffer | null; ttl: number }[]> {
    if (useScript) {
      try {
        const reply = (await redis.callBuffer('EVAL', DUMP_SCRIPT, keys.length, ...keys)) as (Buffer | number)[];
        return keys.map((_key, index) => ({ payload: reply[index * 2] as Buffer, ttl: Number(reply[index * 2 + 1]) }));
      } catch (error) {
        if (!/NOPERM|unknown command|NOSCRIPT|not allowed|disabled/i.test((error as Error).message)) throw error;
        useScript = false;
      }
    }
    const pipeline = redis.pipeline();
    for (const key of keys) {
      pipeline.dumpBuffer(key);
      pipeline.pttl(key);
    }
    const results = (await pipeline.exec()) ?? [];
    return keys.map((_key, index) => {
      const [dumpError, payload] = results[index * 2] ?? [new Error('missing reply'), null];
      const [ttlError, ttl] = results[index * 2 + 1] ?? [new Error('missing reply'), null];
      if (dumpError) throw dumpError;
      if (ttlError) throw ttlError;
      return { payload: payload as Buffer | null, ttl: Number(ttl) };
    });
  }

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
        const replies = await dumpBatch(keys);
        const at = now();
        // One buffer per batch: a million tiny chunks would each pay the cost of every stage (hash, gzip, age).
        const records: Buffer[] = [];
        for (let index = 0; index < keys.length; index++) {
          const { payload, ttl } = replies[index] as { payload: Buffer | null; ttl: number };
          if (payload === null || payload.length === 0 || ttl === -2) {
            stats.skipped++;
            continue;
          }
          const buffer = payload as Buffer;
          stats.keys++;
          stats.largestPayloadBytes = Math.max(stats.largestPayloadBytes, buffer.length);
          records.push(encodeDumpRecord({ key: keys[index] as Buffer, payload: buffer, expireAtMs: ttl > 0 ? at + ttl : -1 }));
        }
        if (records.length > 0) wantMore = stream.push(records.length === 1 ? (records[0] as Buffer) : Buffer.concat(records));
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
