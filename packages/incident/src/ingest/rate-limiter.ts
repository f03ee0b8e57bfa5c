import { createEmitter, silentLogger, systemClock, type Clock, type EventSource, type Logger } from '@ops/core';
import { IncidentError } from '../errors.js';

/** Options of {@link createIngestRateLimiter}. */
export interface IngestRateLimiterOptions {
  /** Sustained rate each source may send, in requests (webhooks, events) per second. */
  perSecond: number;
  /** How many a source may send at once after a quiet spell (the bucket size). Default `max(1, 10 × perSecond)`. */
  burst?: number;
  /** Limits per source, by source key, replacing `perSecond`/`burst` for that source. */
  sources?: Record<string, { perSecond: number; burst?: number }>;
  /** Sources remembered at most (least recently seen forgotten first, with a full bucket). Default 10 000. */
  maxSources?: number;
  clock?: Clock;
  logger?: Logger;
}

/** Counts of one source. */
export interface IngestSourceCounts {
  accepted: number;
  /** Refused with 429 (the sender retries): counted, never dropped silently. */
  limited: number;
}

/** Events of an {@link IngestRateLimiter}. */
export interface IngestRateLimiterEvents {
  /** A request of `source` was refused (answered 429 with `Retry-After`). */
  'ingest.limited': { at: number; source: string; retryAfterMs: number };
}

/** A token bucket per source, shared by the receivers (`rateLimit` option) and `incidents.alertSink` wrappers. */
export interface IngestRateLimiter extends EventSource<IngestRateLimiterEvents> {
  /** Takes one token for `source`: `{ ok: true }`, or `{ ok: false, retryAfterMs }` when its bucket is empty. */
  take(source: string): { ok: true } | { ok: false; retryAfterMs: number };
  /** Like `take`, but throws `IncidentError` `RATE_LIMITED` (retryable, with `retryAfterMs`) when refused. */
  check(source: string): void;
  /** Accepted and refused requests per source since creation. */
  counts(): Record<string, IngestSourceCounts>;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  counts: IngestSourceCounts;
}

/**
 * Per-source rate limits on ingest (Grafana OnCall users asked for them per integration): a token bucket per source —
 * an Alertmanager (`externalURL`), a PagerDuty routing key — refilled at `perSecond` up to `burst`. A request over the
 * limit is refused with 429 and `Retry-After` by the receivers (the sender retries; nothing is dropped silently) and
 * counted per source.
 *
 * @example
 * ```ts
 * const rateLimit = createIngestRateLimiter({ perSecond: 5, burst: 50 });
 * const receiver = createAlertmanagerReceiver(incidents, { rateLimit });
 * ```
 */
export function createIngestRateLimiter(options: IngestRateLimiterOptions): IngestRateLimiter {
  const { clock = systemClock, maxSources = 10_000 } = options;
  const logger = options.logger ?? silentLogger;
  const limitOf = (source: string) => {
    const specific = options.sources?.[source];
    const perSecond = specific?.perSecond ?? options.perSecond;
    const burst = (specific ? specific.burst : options.burst) ?? Math.max(1, 10 * perSecond);
    return { perSecond, burst };
  };
  for (const [where, limit] of [
    ['', { perSecond: options.perSecond, burst: options.burst }],
    ...Object.entries(options.sources ?? {}),
  ] as const) {
    const label = where === '' ? '' : `sources.${where}.`;
    if (!(typeof limit.perSecond === 'number' && limit.perSecond > 0 && Number.isFinite(limit.perSecond)))
      throw new IncidentError('ARGUMENT_INVALID', `rate limit: ${label}perSecond must be a positive number`);
    if (limit.burst !== undefined && !(Number.isFinite(limit.burst) && limit.burst >= 1))
      throw new IncidentError('ARGUMENT_INVALID', `rate limit: ${label}burst must be at least 1`);
  }
  const events = createEmitter<IngestRateLimiterEvents>({ logger, source: 'ingest-rate-limiter' });
  const buckets = new Map<string, Bucket>();

  const take = (source: string): { ok: true } | { ok: false; retryAfterMs: number } => {
    const now = clock.now();
    const { perSecond, burst } = limitOf(source);
    let bucket = buckets.get(source);
    if (bucket)
      buckets.delete(source); // re-inserted below: the map stays in least-recently-seen order
    else {
      bucket = { tokens: burst, updatedAt: now, counts: { accepted: 0, limited: 0 } };
      if (buckets.size >= maxSources) buckets.delete(buckets.keys().next().value as string);
    }
    buckets.set(source, bucket);
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * perSecond);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.counts.accepted++;
      return { ok: true };
    }
    bucket.counts.limited++;
    const retryAfterMs = Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
    logger.warn({ source, retryAfterMs, limited: bucket.counts.limited }, 'incident ingest rate limit reached');
    events.emit('ingest.limited', { at: now, source, retryAfterMs });
    return { ok: false, retryAfterMs };
  };

  return {
    on: events.on,
    take,
    check(source) {
      const taken = take(source);
      if (!taken.ok)
        throw new IncidentError(
          'RATE_LIMITED',
          `ingest from ${JSON.stringify(source)} is over its rate limit; retry in ${Math.ceil(taken.retryAfterMs / 1000)} s`,
          { isRetryable: true, retryAfterMs: taken.retryAfterMs },
        );
    },
    counts: () => Object.fromEntries([...buckets].map(([source, bucket]) => [source, { ...bucket.counts }])),
  };
}
