import { jsonResponse, OpsError, safeErrorMessage, type Logger, type OpsRequest, type OpsResponse } from '@ops/core';
import { IncidentError } from '../errors.js';
import type { IngestRateLimiter } from '../ingest/rate-limiter.js';

/** Options every receiver shares. */
export interface ReceiverOptions {
  /** Path the handler answers (other paths resolve to `undefined`, so handlers compose). */
  path?: string;
  /** Largest accepted body, in bytes; a larger one is answered 400 with the reason and nothing is stored. */
  maxBodyBytes?: number;
  /**
   * Decides whether a request may post (e.g. checks `authorization`); `false` answers 401. Default: everyone (put the
   * receiver behind your network policy, or check a bearer token here).
   */
  authorize?: (request: OpsRequest) => boolean | Promise<boolean>;
  /**
   * Per-source rate limit ({@link createIngestRateLimiter}; share one between receivers): a source over its limit is
   * answered 429 with `Retry-After` and nothing is stored — the sender retries, so nothing is dropped silently.
   * Sources: an Alertmanager by its `externalURL`, a PagerDuty sender by its `routing_key`.
   */
  rateLimit?: IngestRateLimiter;
  /** Logger for refused payloads and store failures. */
  logger?: Logger;
}

/** A request refused before anything was stored. */
export class RefusedRequest extends Error {
  readonly status: number;
  readonly errors: readonly string[];
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    message: string,
    errors: readonly string[] = [message],
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.errors = errors;
    this.headers = headers;
  }
}

/** Method, auth and body checks shared by the receivers; resolves with the parsed JSON body. */
export async function readJsonBody(
  request: OpsRequest,
  options: { maxBodyBytes: number; authorize: ReceiverOptions['authorize'] },
): Promise<unknown> {
  if (request.method !== 'POST')
    throw new RefusedRequest(405, `method ${request.method} is not allowed; POST a JSON body`, undefined, {
      allow: 'POST',
    });
  if (options.authorize && !(await options.authorize(request))) throw new RefusedRequest(401, 'not authorized');
  if (!request.readBody) throw new RefusedRequest(400, 'the request has no body');
  const declared = Number(request.headers['content-length']);
  // Too large is a malformed webhook like any other: 400 with the reason (a sender that retries 413 would loop).
  if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
    throw new RefusedRequest(
      400,
      `the body of ${declared} bytes exceeds the limit of ${options.maxBodyBytes} bytes (maxBodyBytes)`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await request.readBody(options.maxBodyBytes);
  } catch (error) {
    if (OpsError.hasCode(error, 'ARGUMENT_INVALID'))
      throw new RefusedRequest(400, `the body exceeds the limit of ${options.maxBodyBytes} bytes (maxBodyBytes)`);
    throw error;
  }
  const text = utf8.decode(bytes);
  if (text.trim() === '') throw new RefusedRequest(400, 'the body is empty; expected a JSON object');
  try {
    const parsed = JSON.parse(text) as unknown;
    return needsSanitizing(parsed) ? sanitizeStrings(parsed) : parsed;
  } catch (error) {
    throw new RefusedRequest(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

// Whether sanitizeStrings would give anything but a copy: a NUL in a string or key, or a `__proto__` key (which its
// copy turns into the prototype). Walks without allocating; most payloads have neither. A deeply nested payload is left
// to sanitizeStrings, whatever it makes of it.
function needsSanitizing(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object') return false;
  if (depth > 100) return true;
  if (Array.isArray(value)) {
    for (const entry of value) if (needsSanitizing(entry, depth + 1)) return true;
    return false;
  }
  for (const key in value) {
    if (key === '__proto__' || key.includes('\u0000')) return true;
    if (needsSanitizing((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/**
 * Replaces NUL characters (which PostgreSQL text and jsonb cannot hold) with U+FFFD everywhere in a parsed payload,
 * so a stray byte never turns an alert into a store failure.
 */
export function sanitizeStrings(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
  if (Array.isArray(value)) return value.map(sanitizeStrings);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) out[sanitizeStrings(key) as string] = sanitizeStrings(entry);
    return out;
  }
  return value;
}

/**
 * The response for an error thrown while handling: a refused request as given (`body` builds the JSON), a store
 * failure as 503 (the sender retries), anything else as 500.
 */
export function errorResponse(
  error: unknown,
  logger: Logger,
  body: (message: string, errors: readonly string[]) => unknown,
): OpsResponse {
  if (error instanceof RefusedRequest) {
    return jsonResponse(error.status, body(error.message, error.errors), {
      'cache-control': 'no-store',
      ...error.headers,
    });
  }
  if (IncidentError.hasCode(error, 'RATE_LIMITED')) {
    const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
    return jsonResponse(429, body(error.message, [error.message]), {
      'cache-control': 'no-store',
      'retry-after': String(seconds),
    });
  }
  if (IncidentError.hasCode(error, 'PAYLOAD_INVALID') || IncidentError.hasCode(error, 'ARGUMENT_INVALID')) {
    return jsonResponse(400, body(error.message, [error.message]), { 'cache-control': 'no-store' });
  }
  const retryable =
    IncidentError.isInstance(error) && (error.code === 'STORE_FAILED' || error.code === 'STORE_CONFLICT');
  logger.error({ error: safeErrorMessage(error) }, 'incident receiver could not store a payload');
  const message = retryable ? 'the incident store is unavailable; retry later' : 'internal error';
  return jsonResponse(retryable ? 503 : 500, body(message, [message]), {
    'cache-control': 'no-store',
    ...(retryable ? { 'retry-after': '5' } : {}),
  });
}

/** Zod issues as `path: message` lines. */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('')
      .replace(/^\./, '');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}
