import { parseRetryAfter, type Clock } from '@ops/core';
import { IncidentError } from '../errors.js';

/** The `fetch` a notifier uses (injectable: undici, a proxy-aware fetch, a test double). */
export type FetchFunction = (
  input: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/**
 * POSTs `body` and classifies the answer: 2xx resolves; 429, 408 and 5xx reject retryable (with `Retry-After`); other
 * statuses reject not retryable; network errors and timeouts reject retryable. Response bodies are cut to 200
 * characters in messages.
 */
export async function postJson(options: {
  fetch: FetchFunction;
  url: string;
  body: string;
  headers: Record<string, string>;
  signal: AbortSignal;
  clock: Clock;
  target: string;
}): Promise<void> {
  const { url, body, headers, signal, clock, target } = options;
  let response: Awaited<ReturnType<FetchFunction>>;
  try {
    response = await options.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal,
    });
  } catch (error) {
    throw new IncidentError(
      'NOTIFICATION_FAILED',
      `${target}: request failed: ${(error as Error).message ?? String(error)}`,
      { cause: error, isRetryable: true },
    );
  }
  const text = await response.text().catch(() => '');
  if (response.status >= 200 && response.status < 300) return;
  const retryable = response.status === 429 || response.status === 408 || response.status >= 500;
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), clock.now());
  throw new IncidentError(
    'NOTIFICATION_FAILED',
    `${target}: HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
    {
      isRetryable: retryable,
      ...(retryable && retryAfterMs !== undefined ? { retryAfterMs } : {}),
    },
  );
}

/** `globalThis.fetch` as a {@link FetchFunction}. */
export const defaultFetch: FetchFunction = (input, init) => fetch(input, init);
