/** A JSON answer: status code and parsed body. */
export interface JsonAnswer<T = any> {
  status: number;
  body: T;
}

/** Sends a request to the backend (loopback) with an optional JSON body and parses the JSON answer. */
export async function requestJson<T = any>(
  url: string,
  options: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<JsonAnswer<T>> {
  const { method = 'GET', body, timeoutMs = 10_000 } = options;
  const response = await fetch(url, {
    method,
    signal: AbortSignal.timeout(timeoutMs),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: the raw text is what a failing assertion shows.
  }
  return { status: response.status, body: parsed as T };
}

/** Like {@link requestJson} but fails unless the status is 2xx. */
export async function okJson<T = any>(url: string, options: Parameters<typeof requestJson>[1] = {}): Promise<T> {
  const answer = await requestJson<T>(url, options);
  if (answer.status < 200 || answer.status >= 300) {
    throw new Error(`${options.method ?? 'GET'} ${url} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

/** Status codes seen by {@link sendTraffic}, e.g. `{ 200: 40, 503: 2 }`; `error` counts requests that got no answer. */
export type StatusCounts = Record<string, number>;

/**
 * Sends exactly `count` API requests (`GET /notes?limit=5`, round-robin over `baseUrls`), at most `concurrency` at a
 * time, and counts the answers by status. Bounded: every request has a 5 s deadline.
 */
export async function sendTraffic(
  baseUrls: readonly string[],
  options: { count: number; concurrency?: number; path?: string },
): Promise<StatusCounts> {
  const { count, concurrency = 8, path = '/notes?limit=5' } = options;
  const counts: StatusCounts = {};
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next;
      next += 1;
      const base = baseUrls[index % baseUrls.length] as string;
      let key: string;
      try {
        const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) });
        await response.arrayBuffer();
        key = String(response.status);
      } catch {
        key = 'error';
      }
      counts[key] = (counts[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return counts;
}

/** Adds the counts of `more` to `total`. */
export function addCounts(total: StatusCounts, more: StatusCounts): StatusCounts {
  for (const [key, value] of Object.entries(more)) total[key] = (total[key] ?? 0) + value;
  return total;
}
