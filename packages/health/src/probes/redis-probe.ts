import type { CheckResult } from '@ops/core';
import { z } from 'zod';
import type { Probe } from '../registry/types.js';
import {
  countSchema,
  failRatioSchema,
  objectWithMethods,
  parseOptions,
  ratioSchema,
} from '../validation/option-schemas.js';
import { combine, defineProbe, elapsedSince, OutstandingCalls, raceAbort, stillPending } from './probe.js';

/** The parts of an `ioredis` client the probe uses. */
export interface RedisClientLike {
  ping(): Promise<string>;
  info(section: string): Promise<string>;
  options?: { password?: string | null | undefined; commandTimeout?: number | undefined };
  /**
   * ioredis' queue of sent commands awaiting a reply: read (never changed) to know whether a PING that timed out
   * under the client's `commandTimeout` is still queued.
   */
  readonly commandQueue?: { readonly length: number; peekBack?(): unknown; toArray?(): unknown[] };
}

/** Options of {@link redisProbe}. */
export interface RedisProbeOptions {
  /**
   * The application's ioredis client. The probe keeps at most one PING outstanding (tracked until Redis answers,
   * also past the client's `commandTimeout`, which rejects a command but leaves it queued).
   */
  redis: RedisClientLike;
  /** Warn when `used_memory / maxmemory` reaches this ratio (only when `maxmemory` is set). */
  memoryWarnRatio?: number;
  /** Fail when it reaches this ratio. */
  memoryFailRatio?: number;
  /** Warn when `connected_clients` exceeds this. */
  maxConnectedClients?: number;
  /** On a replica, fail when `master_link_status` is not `up`. Default `false`. */
  replication?: boolean;
}

/** Parses `INFO` output into a key → value map. */
export function parseRedisInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const index = line.indexOf(':');
    if (index > 0) out[line.slice(0, index)] = line.slice(index + 1);
  }
  return out;
}

const optionsSchema = z.strictObject({
  redis: objectWithMethods<RedisClientLike>(
    ['ping', 'info'],
    "the application's ioredis client (with ping() and info())",
  ),
  memoryWarnRatio: ratioSchema.optional(),
  memoryFailRatio: failRatioSchema.optional(),
  maxConnectedClients: countSchema.optional(),
  replication: z.boolean().optional(),
});

/**
 * Redis probe on the application's ioredis client: `PING` (expects `PONG`) raced against the probe's deadline,
 * and optionally memory vs `maxmemory`, connected clients and the replication link from `INFO`. While a PING it
 * sent has not been answered, it sends nothing and reports `fail` ("timed out, still pending"), so a frozen Redis
 * never accumulates probe commands in the client's queue.
 *
 * @example
 * ```ts
 * health.register({ name: 'cache', check: redisProbe({ redis, memoryWarnRatio: 0.9 }), critical: false });
 * ```
 */
export function redisProbe(options: RedisProbeOptions): Probe {
  parseOptions(optionsSchema, options, 'redisProbe');
  const { redis, memoryWarnRatio, memoryFailRatio, maxConnectedClients, replication = false } = options;
  const wantsInfo =
    memoryWarnRatio !== undefined || memoryFailRatio !== undefined || maxConnectedClients !== undefined || replication;
  const password = redis.options?.password;
  const outstanding = new OutstandingCalls();
  // Sends one command and tracks it until Redis answers it: ioredis keeps a command queued after rejecting it on
  // its own `commandTimeout`, so the promise settling is not enough; the queue entry is watched too.
  const send = <T>(command: () => Promise<T>): Promise<T> => {
    const queue = redis.commandQueue;
    const lengthBefore = queue?.length;
    const reply = command();
    const entry =
      queue && lengthBefore !== undefined && queue.length === lengthBefore + 1 ? queue.peekBack?.() : undefined;
    return outstanding.track(
      reply,
      entry === undefined ? undefined : () => queue?.toArray?.().includes(entry) === true,
    );
  };
  const run = async (signal: AbortSignal): Promise<CheckResult> => {
    if (outstanding.busy) return stillPending('the previous PING has not been answered; no new command sent');
    const startedAt = performance.now();
    const reply = await raceAbort(
      send(() => redis.ping()),
      signal,
    );
    const responseTimeMs = elapsedSince(startedAt);
    if (reply !== 'PONG')
      return {
        status: 'fail',
        output: `unexpected PING reply ${JSON.stringify(String(reply).slice(0, 40))}`,
        observed: responseTimeMs,
        observedUnit: 'ms',
      };
    if (!wantsInfo) return { status: 'pass', observed: responseTimeMs, observedUnit: 'ms' };
    const info = parseRedisInfo(
      await raceAbort(
        send(() => redis.info('everything')),
        signal,
      ),
    );
    const used = Number(info['used_memory'] ?? 0);
    const max = Number(info['maxmemory'] ?? 0);
    const ratio = max > 0 ? used / max : undefined;
    const clients = Number(info['connected_clients'] ?? 0);
    const role = info['role'];
    const link = info['master_link_status'];
    const details: Record<string, unknown> = {
      usedMemoryBytes: used,
      maxMemoryBytes: max,
      connectedClients: clients,
      role,
    };
    if (ratio !== undefined) details['memoryRatio'] = Math.round(ratio * 1000) / 1000;
    if (link !== undefined) details['masterLinkStatus'] = link;
    const verdict = combine([
      {
        status:
          ratio !== undefined && memoryFailRatio !== undefined && ratio >= memoryFailRatio
            ? 'fail'
            : ratio !== undefined && memoryWarnRatio !== undefined && ratio >= memoryWarnRatio
              ? 'warn'
              : 'pass',
        reason: `memory ${Math.round((ratio ?? 0) * 100)}% of maxmemory`,
      },
      {
        status: maxConnectedClients !== undefined && clients > maxConnectedClients ? 'warn' : 'pass',
        reason: `${clients} connected clients (limit ${maxConnectedClients})`,
      },
      {
        status: replication && role === 'slave' && link !== 'up' ? 'fail' : 'pass',
        reason: `replication link ${link ?? 'unknown'}`,
      },
    ]);
    return { ...verdict, observed: responseTimeMs, observedUnit: 'ms', details };
  };
  return defineProbe(run, {
    kind: 'dependency',
    componentType: 'datastore',
    measurement: 'responseTime',
    ...(typeof password === 'string' && password !== '' ? { secrets: [password] } : {}),
  });
}
