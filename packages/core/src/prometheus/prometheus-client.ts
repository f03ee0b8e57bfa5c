import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { formatPath } from '../errors/config-error.js';
import { OpsError } from '../errors/ops-error.js';
import { redactText, safeErrorMessage } from '../redaction/redact.js';
import { systemClock, type Clock } from '../time/clock.js';
import { withDeadline } from '../time/deadline.js';
import { parseDuration, type Duration } from '../time/duration.js';
import { PrometheusError } from './prometheus-error.js';

// undici is loaded on the first request: importing @ops/core (every CLI does) should not pay for an HTTP client
// it may never use (~200 ms of module loading).
let undici: Promise<typeof import('undici')> | undefined;
const loadUndici = () => (undici ??= import('undici'));

/** Options of {@link createPrometheusClient}. */
export interface PrometheusClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:9090` (a path prefix such as `/prometheus` is kept). */
  url: string;
  /** Deadline of each request, e.g. `'10s'`. The request is aborted when it passes. */
  timeout: Duration;
  /** Extra headers sent with every request (e.g. `authorization`). Never logged. */
  headers?: Record<string, string>;
  /** undici dispatcher (an `Agent`, `Pool`, proxy agent, or a `MockAgent` in a user's tests). */
  dispatcher?: Dispatcher;
  /** Clock for deadlines. Defaults to {@link systemClock}. */
  clock?: Clock;
}

/** A point in time: epoch milliseconds or a `Date`. */
export type PrometheusTime = number | Date;

/** Options of {@link PrometheusClient.query}. */
export interface InstantQueryOptions {
  /** Evaluation time; default the server's now. */
  time?: PrometheusTime;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/** Options of {@link PrometheusClient.queryRange}. */
export interface RangeQueryOptions {
  start: PrometheusTime;
  end: PrometheusTime;
  /** Resolution step, e.g. `'1m'` or milliseconds. */
  step: Duration;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/** A sample: epoch milliseconds and value (`NaN`, `±Infinity` included). */
export interface PrometheusSample {
  timeMs: number;
  value: number;
}

/** The result of an instant query, by Prometheus' `resultType`. */
export type InstantQueryResult =
  | {
      resultType: 'vector';
      series: Array<{ metric: Record<string, string>; sample: PrometheusSample }>;
      warnings: string[];
    }
  | { resultType: 'scalar'; sample: PrometheusSample; warnings: string[] }
  | { resultType: 'string'; timeMs: number; value: string; warnings: string[] }
  | {
      resultType: 'matrix';
      series: Array<{ metric: Record<string, string>; samples: PrometheusSample[] }>;
      warnings: string[];
    };

/** The result of a range query: one series per label set. */
export interface RangeQueryResult {
  resultType: 'matrix';
  series: Array<{ metric: Record<string, string>; samples: PrometheusSample[] }>;
  warnings: string[];
}

/** A small client of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`, `/-/ready`). */
export interface PrometheusClient {
  /** Evaluates `expr` at one instant. */
  query(expr: string, options?: InstantQueryOptions): Promise<InstantQueryResult>;
  /** Evaluates `expr` over a range. */
  queryRange(expr: string, options: RangeQueryOptions): Promise<RangeQueryResult>;
  /** `true` when `/-/ready` answers 200, `false` when it answers 503 (starting up or shutting down). */
  ready(options?: { signal?: AbortSignal }): Promise<boolean>;
}

// Prometheus writes sample values as strings: "1", "0.5", "NaN", "+Inf", "-Inf".
const sampleValue = z
  .string()
  .refine((text) => text === 'NaN' || text === '+Inf' || text === '-Inf' || Number.isFinite(Number(text)), {
    message: 'expected a number as a string',
  });
const sampleTuple = z.tuple([z.number(), sampleValue]);
const metric = z.record(z.string(), z.string());
const data = z.discriminatedUnion('resultType', [
  z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric, value: sampleTuple })) }),
  z.object({ resultType: z.literal('matrix'), result: z.array(z.object({ metric, values: z.array(sampleTuple) })) }),
  z.object({ resultType: z.literal('scalar'), result: sampleTuple }),
  z.object({ resultType: z.literal('string'), result: z.tuple([z.number(), z.string()]) }),
]);
const successBody = z.object({ status: z.literal('success'), data, warnings: z.array(z.string()).optional() });
const errorBody = z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() });

function toNumber(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

function toSample([seconds, text]: readonly [number, string]): PrometheusSample {
  return { timeMs: Math.round(seconds * 1000), value: toNumber(text) };
}

function toSeconds(time: PrometheusTime, name: string): string {
  const ms = time instanceof Date ? time.getTime() : time;
  if (!Number.isFinite(ms))
    throw new OpsError('ARGUMENT_INVALID', `${name}: expected epoch milliseconds or a valid Date, got ${String(time)}`);
  return (ms / 1000).toFixed(3);
}

/**
 * Creates a {@link PrometheusClient} over undici. Every call has a deadline (`timeout`); responses are validated
 * with zod; failures are {@link PrometheusError}s with a redacted URL.
 *
 * @example
 * ```ts
 * const prometheus = createPrometheusClient({ url: 'http://127.0.0.1:9090', timeout: '5s' });
 * const result = await prometheus.query('sum(rate(http_requests_total{code=~"5.."}[5m]))');
 * if (result.resultType === 'vector') console.log(result.series[0]?.sample.value);
 * ```
 */
export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const { headers = {}, dispatcher, clock = systemClock } = options;
  const timeoutMs = parseDuration(options.timeout, 'timeout');
  let base: URL;
  try {
    base = new URL(options.url);
  } catch (error) {
    throw new OpsError('ARGUMENT_INVALID', `url: not a valid URL: ${redactText(String(options.url))}`, {
      cause: error,
    });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new OpsError('ARGUMENT_INVALID', `url: expected http: or https:, got ${base.protocol}`);
  }
  const basePath = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
  const endpoint = (path: string) => {
    const url = new URL(base.href);
    url.pathname = basePath + path;
    url.search = '';
    url.hash = '';
    return url;
  };
  // Credentials in the URL (user:pass@) travel as a Basic header; the URL shown in errors never carries them.
  const authorization =
    base.username || base.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`
      : undefined;
  const shown = (url: URL) => {
    const copy = new URL(url.href);
    copy.username = '';
    copy.password = '';
    return redactText(copy.href);
  };

  const call = async (
    method: 'GET' | 'POST',
    path: string,
    form: URLSearchParams | undefined,
    signal: AbortSignal | undefined,
  ) => {
    const url = endpoint(path);
    const label = `Prometheus ${method} ${shown(url)}`;
    try {
      return await withDeadline(
        async (deadlineSignal) => {
          const { request } = await loadUndici();
          const response = await request(url, {
            method,
            headers: {
              accept: 'application/json',
              ...(authorization ? { authorization } : {}),
              ...headers,
              ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
            },
            ...(form ? { body: form.toString() } : {}),
            signal: deadlineSignal,
            ...(dispatcher ? { dispatcher } : {}),
          });
          const text = await response.body.text();
          return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), text };
        },
        { timeoutMs, clock, label, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      const reason = OpsError.hasCode(error, 'CHECK_TIMEOUT')
        ? `no answer within ${timeoutMs}ms`
        : safeErrorMessage(error);
      throw new PrometheusError(
        'PROMETHEUS_REQUEST_FAILED',
        `${label} failed: ${reason}`,
        { url: shown(url) },
        { cause: error, isRetryable: true },
      );
    }
  };

  const api = async (path: string, form: URLSearchParams, signal: AbortSignal | undefined) => {
    const url = endpoint(path);
    const response = await call('POST', path, form, signal);
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch (error) {
      if (response.status < 200 || response.status >= 300) {
        throw new PrometheusError(
          'PROMETHEUS_REQUEST_FAILED',
          `Prometheus ${shown(url)} answered HTTP ${response.status}: ${redactText(response.text.slice(0, 200).trim())}`,
          { url: shown(url), status: response.status },
          { cause: error, isRetryable: response.status >= 500 || response.status === 429 },
        );
      }
      throw new PrometheusError(
        'PROMETHEUS_RESPONSE_INVALID',
        `Prometheus ${shown(url)} answered HTTP ${response.status} with a body that is not JSON`,
        {
          url: shown(url),
          status: response.status,
        },
        { cause: error },
      );
    }
    const failed = errorBody.safeParse(body);
    if (failed.success) {
      const { errorType, error } = failed.data;
      throw new PrometheusError(
        'PROMETHEUS_QUERY_FAILED',
        `Prometheus query failed (${errorType}): ${redactText(error)}`,
        {
          url: shown(url),
          status: response.status,
          errorType,
        },
        { isRetryable: errorType === 'timeout' || errorType === 'unavailable' },
      );
    }
    if (response.status < 200 || response.status >= 300) {
      throw new PrometheusError(
        'PROMETHEUS_REQUEST_FAILED',
        `Prometheus ${shown(url)} answered HTTP ${response.status}`,
        { url: shown(url), status: response.status },
        {
          isRetryable: response.status >= 500 || response.status === 429,
        },
      );
    }
    const parsed = successBody.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue ? formatPath(issue.path) || '(root)' : '(root)';
      throw new PrometheusError(
        'PROMETHEUS_RESPONSE_INVALID',
        `Prometheus ${shown(url)} returned an unexpected body: ${path}: ${issue?.message ?? 'invalid'}`,
        {
          url: shown(url),
          status: response.status,
          path,
        },
        { cause: parsed.error },
      );
    }
    return parsed.data;
  };

  const convert = (body: z.output<typeof successBody>): InstantQueryResult => {
    const warnings = body.warnings ?? [];
    const result = body.data;
    switch (result.resultType) {
      case 'vector':
        return {
          resultType: 'vector',
          series: result.result.map((item) => ({ metric: item.metric, sample: toSample(item.value) })),
          warnings,
        };
      case 'matrix':
        return {
          resultType: 'matrix',
          series: result.result.map((item) => ({ metric: item.metric, samples: item.values.map(toSample) })),
          warnings,
        };
      case 'scalar':
        return { resultType: 'scalar', sample: toSample(result.result), warnings };
      case 'string':
        return { resultType: 'string', timeMs: Math.round(result.result[0] * 1000), value: result.result[1], warnings };
    }
  };

  const checkExpr = (expr: string) => {
    if (typeof expr !== 'string' || expr.trim() === '')
      throw new OpsError('ARGUMENT_INVALID', 'expr: expected a non-empty PromQL expression');
  };

  return {
    async query(expr, queryOptions = {}) {
      checkExpr(expr);
      const form = new URLSearchParams({ query: expr });
      if (queryOptions.time !== undefined) form.set('time', toSeconds(queryOptions.time, 'time'));
      return convert(await api('api/v1/query', form, queryOptions.signal));
    },
    async queryRange(expr, rangeOptions) {
      checkExpr(expr);
      const stepMs = parseDuration(rangeOptions.step, 'step');
      if (stepMs <= 0) throw new OpsError('ARGUMENT_INVALID', 'step: must be greater than 0');
      const form = new URLSearchParams({
        query: expr,
        start: toSeconds(rangeOptions.start, 'start'),
        end: toSeconds(rangeOptions.end, 'end'),
        step: (stepMs / 1000).toString(),
      });
      const result = convert(await api('api/v1/query_range', form, rangeOptions.signal));
      if (result.resultType !== 'matrix') {
        const url = shown(endpoint('api/v1/query_range'));
        throw new PrometheusError(
          'PROMETHEUS_RESPONSE_INVALID',
          `Prometheus ${url} returned resultType ${result.resultType} for a range query: data.resultType: expected "matrix"`,
          {
            url,
            path: 'data.resultType',
          },
        );
      }
      return result;
    },
    async ready(readyOptions = {}) {
      const response = await call('GET', '-/ready', undefined, readyOptions.signal);
      if (response.status === 200) return true;
      if (response.status === 503) return false;
      const url = shown(endpoint('-/ready'));
      throw new PrometheusError('PROMETHEUS_REQUEST_FAILED', `Prometheus ${url} answered HTTP ${response.status}`, {
        url,
        status: response.status,
      });
    },
  };
}
