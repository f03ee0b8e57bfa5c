import { durationSchema, parseDuration, redactText, safeErrorMessage, withDeadline, type CheckStatus } from '@ops/core';
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';

/** One endpoint the CLI probes. */
export interface EndpointSpec {
  name: string;
  url: string;
  timeoutMs: number;
  critical: boolean;
  expectStatus?: number[];
  headers?: Record<string, string>;
}

/** The outcome of probing one endpoint. */
export interface EndpointResult {
  name: string;
  url: string;
  critical: boolean;
  status: CheckStatus;
  httpStatus?: number;
  durationMs: number;
  output?: string;
}

/** The config file of `ops-health` (YAML or JSON). */
export const endpointsConfigSchema = z.strictObject({
  timeout: durationSchema.optional(),
  endpoints: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        url: z.url({ protocol: /^https?$/ }),
        timeout: durationSchema.optional(),
        critical: z.boolean().optional(),
        expectStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
        headers: z.record(z.string(), z.string()).optional(),
      }),
    )
    .min(1),
});

/** A parsed config file. */
export type EndpointsConfig = z.output<typeof endpointsConfigSchema>;

/** Turns a config into endpoint specs, using `defaultTimeoutMs` where an endpoint sets none. */
export function endpointsFromConfig(config: EndpointsConfig, defaultTimeoutMs: number): EndpointSpec[] {
  const timeoutMs = config.timeout === undefined ? defaultTimeoutMs : parseDuration(config.timeout);
  return config.endpoints.map((endpoint) => {
    const spec: EndpointSpec = {
      name: endpoint.name,
      url: endpoint.url,
      timeoutMs: endpoint.timeout === undefined ? timeoutMs : parseDuration(endpoint.timeout),
      critical: endpoint.critical ?? true,
    };
    if (endpoint.expectStatus) spec.expectStatus = endpoint.expectStatus;
    if (endpoint.headers) spec.headers = endpoint.headers;
    return spec;
  });
}

function statusFromBody(text: string): CheckStatus | undefined {
  try {
    const parsed = JSON.parse(text) as { status?: unknown };
    const status = String(parsed.status ?? '').toLowerCase();
    if (['pass', 'ok', 'up'].includes(status)) return 'pass';
    if (status === 'warn') return 'warn';
    if (['fail', 'error', 'down'].includes(status)) return 'fail';
  } catch {
    /* not JSON: the status code decides */
  }
  return undefined;
}

/**
 * Probes one endpoint within its deadline: the HTTP status decides (2xx–3xx pass, or `expectStatus`), and a
 * health+json `status: "warn"` body downgrades a pass to warn. Never throws.
 */
export async function probeEndpoint(spec: EndpointSpec, dispatcher?: Dispatcher): Promise<EndpointResult> {
  const startedAt = performance.now();
  const base = { name: spec.name, url: redactText(spec.url), critical: spec.critical };
  try {
    return await withDeadline(
      async (signal) => {
        const response = await request(spec.url, {
          method: 'GET',
          signal,
          headers: { accept: 'application/health+json, application/json;q=0.9, */*;q=0.1', ...spec.headers },
          ...(dispatcher ? { dispatcher } : {}),
        });
        const text = (await response.body.text()).slice(0, 64 * 1024);
        const durationMs = Math.round((performance.now() - startedAt) * 10) / 10;
        const accepted = spec.expectStatus
          ? spec.expectStatus.includes(response.statusCode)
          : response.statusCode >= 200 && response.statusCode < 400;
        if (!accepted)
          return {
            ...base,
            status: 'fail',
            httpStatus: response.statusCode,
            durationMs,
            output: `HTTP ${response.statusCode}`,
          };
        const bodyStatus = statusFromBody(text);
        if (bodyStatus === 'warn')
          return {
            ...base,
            status: 'warn',
            httpStatus: response.statusCode,
            durationMs,
            output: 'degraded (status warn)',
          };
        return { ...base, status: 'pass', httpStatus: response.statusCode, durationMs };
      },
      { timeoutMs: spec.timeoutMs, label: spec.name },
    );
  } catch (error) {
    const durationMs = Math.round((performance.now() - startedAt) * 10) / 10;
    return { ...base, status: 'fail', durationMs, output: safeErrorMessage(error) };
  }
}
