import { redactText, type CheckResult } from '@ops/core';
import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { Probe } from '../registry/types.js';
import { functionSchema, objectWithMethods, parseOptions } from '../validation/option-schemas.js';
import { defineProbe, elapsedSince } from './probe.js';

/** Options of {@link httpProbe}. */
export interface HttpProbeOptions {
  /** The URL to call. Credentials in it are redacted from every output. */
  url: string | URL;
  /** Method. Default `'GET'`. */
  method?: 'GET' | 'HEAD' | 'POST' | 'OPTIONS';
  /** Request headers (values are never reported). */
  headers?: Record<string, string>;
  /** Which statuses pass: a list, or a predicate. Default 200–399. */
  expectStatus?: readonly number[] | ((status: number) => boolean);
  /** When given, the (capped) body must contain this text. */
  expectBodyIncludes?: string;
  /** At most this many body bytes are read; the rest is discarded. Default 64 KiB. */
  maxBodyBytes?: number;
  /** TLS settings for https URLs. */
  tls?: { ca?: string | Buffer | Array<string | Buffer>; rejectUnauthorized?: boolean; servername?: string };
  /** An undici dispatcher (Agent, Pool, ProxyAgent) to use instead of the global one. */
  dispatcher?: Dispatcher;
}

function isHttpUrl(value: unknown): boolean {
  try {
    const { protocol } = new URL(String(value));
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

const bytesSchema = z.union([z.string(), z.instanceof(Buffer)]);
const optionsSchema = z.strictObject({
  // The message never echoes the value: a malformed URL may still carry credentials.
  url: z.custom<string | URL>(
    (value) => (typeof value === 'string' || value instanceof URL) && isHttpUrl(value),
    'must be an absolute http or https URL',
  ),
  method: z.enum(['GET', 'HEAD', 'POST', 'OPTIONS']).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  expectStatus: z
    .union([
      z.array(z.number().int().min(100).max(599)).min(1),
      functionSchema<(status: number) => boolean>('a list of statuses or a function (status) => boolean'),
    ])
    .optional(),
  expectBodyIncludes: z.string().optional(),
  maxBodyBytes: z.number().int().min(1).optional(),
  tls: z
    .strictObject({
      ca: z.union([bytesSchema, z.array(bytesSchema)]).optional(),
      rejectUnauthorized: z.boolean().optional(),
      servername: z.string().optional(),
    })
    .optional(),
  dispatcher: objectWithMethods<Dispatcher>(['dispatch'], 'an undici Dispatcher (Agent, Pool, ProxyAgent)').optional(),
});

/**
 * HTTP dependency probe with undici: status predicate, body-size cap, TLS options, and the probe's AbortSignal
 * passed to the request so a deadline really ends it.
 *
 * @example
 * ```ts
 * health.register({ name: 'payments', check: httpProbe({ url: 'https://payments.internal/health', expectStatus: [200] }), critical: false });
 * ```
 */
export function httpProbe(options: HttpProbeOptions): Probe {
  parseOptions(optionsSchema, options, 'httpProbe');
  const {
    url,
    method = 'GET',
    headers = {},
    expectStatus,
    expectBodyIncludes,
    maxBodyBytes = 64 * 1024,
    tls,
    dispatcher,
  } = options;
  const target = url.toString();
  const shown = redactText(target);
  const accepts =
    typeof expectStatus === 'function'
      ? expectStatus
      : expectStatus
        ? (status: number) => expectStatus.includes(status)
        : (status: number) => status >= 200 && status < 400;
  const agent = dispatcher ?? (tls ? new Agent({ connect: { ...tls } }) : undefined);
  const run = async (signal: AbortSignal): Promise<CheckResult> => {
    const startedAt = performance.now();
    const response = await request(target, { method, headers, signal, ...(agent ? { dispatcher: agent } : {}) });
    const chunks: Buffer[] = [];
    let received = 0;
    let truncated = false;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      const room = maxBodyBytes - received;
      if (chunk.length >= room) {
        chunks.push(chunk.subarray(0, room));
        received += room;
        truncated = chunk.length > room;
        break;
      }
      chunks.push(chunk);
      received += chunk.length;
    }
    if (truncated || received >= maxBodyBytes) response.body.destroy();
    const responseTimeMs = elapsedSince(startedAt);
    const details = { statusCode: response.statusCode, bodyBytesRead: received, bodyTruncated: truncated };
    if (!accepts(response.statusCode))
      return {
        status: 'fail',
        output: `${method} ${shown} answered ${response.statusCode}`,
        observed: responseTimeMs,
        observedUnit: 'ms',
        details,
      };
    if (expectBodyIncludes !== undefined && !Buffer.concat(chunks).toString('utf8').includes(expectBodyIncludes)) {
      return {
        status: 'fail',
        output: `${method} ${shown}: body does not contain the expected text`,
        observed: responseTimeMs,
        observedUnit: 'ms',
        details,
      };
    }
    return { status: 'pass', observed: responseTimeMs, observedUnit: 'ms', details };
  };
  return defineProbe(run, { kind: 'dependency', componentType: 'component', measurement: 'responseTime' });
}
