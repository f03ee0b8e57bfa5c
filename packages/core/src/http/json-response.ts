import type { OpsResponse } from './types.js';

/**
 * Builds a JSON response. `content-type` defaults to `application/json; charset=utf-8`; pass another (e.g.
 * `application/health+json`) in `headers` to override it.
 *
 * @example
 * ```ts
 * return jsonResponse(503, { status: 'fail' }, { 'content-type': 'application/health+json', 'cache-control': 'no-store' });
 * ```
 */
export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): OpsResponse {
  const merged: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  for (const [name, headerValue] of Object.entries(headers)) merged[name.toLowerCase()] = headerValue;
  return { status, headers: merged, body: JSON.stringify(value) };
}

/** Builds a plain-text response (`text/plain; charset=utf-8`). */
export function textResponse(status: number, text: string, headers: Record<string, string> = {}): OpsResponse {
  const merged: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  for (const [name, headerValue] of Object.entries(headers)) merged[name.toLowerCase()] = headerValue;
  return { status, headers: merged, body: text };
}
